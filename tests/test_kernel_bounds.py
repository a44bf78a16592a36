"""Every Numba kernel's Python boundary checks the shapes it passes: no caller can make a kernel
read or write out of bounds.  (CI also runs this file and the agreement tests with
NUMBA_BOUNDSCHECK=1, where any out-of-bounds index inside a kernel raises IndexError.)"""
import os

import numpy as np
import pytest

import tinydl
from tinydl.backends import numba_cpu as fast
from tinydl.kernels.cpu import elementwise, layernorm, recurrent
from tinydl.nn import ops

F32 = np.float32


def _r(*shape):
    return np.random.default_rng(0).normal(size=shape).astype(F32)


@pytest.fixture(autouse=True)
def _kernels_even_on_tiny_arrays(monkeypatch):
    monkeypatch.setattr(fast, "SMALL_ELEMENTWISE", 0)


BAD_CALLS = [
    ("softmax_xent labels", lambda: fast.softmax_xent_forward(_r(5, 3), np.array([0, 1]))),
    ("softmax_xent 2-d labels", lambda: fast.softmax_xent_forward(_r(2, 3), np.array([[0, 1]]))),
    ("softmax_xent float labels", lambda: fast.softmax_xent_forward(_r(2, 3), np.array([0.0, 1.0]))),
    ("softmax_xent 1-d logits", lambda: fast.softmax_xent_forward(_r(3), np.array([0, 1, 2]))),
    ("softmax_xent_backward labels", lambda: fast.softmax_xent_backward(_r(5, 3), np.array([0]), _r(5))),
    ("softmax_xent_backward gloss", lambda: fast.softmax_xent_backward(_r(5, 3), np.zeros(5, int), _r(2))),
    ("bias_act bias", lambda: fast.bias_act_forward(_r(4, 6), _r(3), "relu")),
    ("bias_act_backward gy", lambda: fast.bias_act_backward(_r(4, 6), _r(2, 6), "tanh")),
    ("conv bias", lambda: fast.conv2d_bias_act_forward(_r(1, 5, 5, 2), _r(3, 3, 2, 4), _r(3), "relu", 1, 0, 1)),
    ("conv 3-d input", lambda: fast.conv2d_forward(_r(5, 5, 2), _r(3, 3, 2, 4), 1, 0, 1)),
    ("conv gy", lambda: fast.conv2d_backward(_r(1, 5, 5, 2), _r(3, 3, 2, 4), _r(1, 2, 2, 4), 1, 0, 1)),
    ("conv y", lambda: fast.conv2d_bias_act_backward(_r(1, 5, 5, 2), _r(3, 3, 2, 4), _r(1, 2, 3, 4),
                                                     _r(1, 3, 3, 4), "relu", 1, 0, 1)),
    ("maxpool 3-d", lambda: fast.maxpool2d_forward(_r(4, 4, 2), 2, 2, 0)),
    ("maxpool_backward gy", lambda: fast.maxpool2d_backward(_r(1, 3, 2, 2), np.zeros((1, 3, 2, 2), np.int32),
                                                            (1, 4, 4, 2), 2, 2, 0)),
    ("maxpool_backward argmax", lambda: fast.maxpool2d_backward(_r(1, 2, 2, 2), np.zeros((1, 2, 2), np.int32),
                                                                (1, 4, 4, 2), 2, 2, 0)),
    ("avgpool_backward gy", lambda: fast.avgpool2d_backward(_r(2, 2, 2, 2), (1, 4, 4, 2), 2, 2, 0)),
    ("layernorm gamma", lambda: layernorm.layernorm_forward(_r(3, 4), np.ones(3), np.zeros(4), 1e-5)),
    ("layernorm_backward mean", lambda: layernorm.layernorm_backward(_r(3, 4), _r(3, 4), np.ones(4),
                                                                     np.zeros(2), np.ones(3))),
    ("layernorm_backward g", lambda: layernorm.layernorm_backward(_r(3, 4), _r(2, 4), np.ones(4),
                                                                  np.zeros(3), np.ones(3))),
    ("gelu_backward t", lambda: elementwise.gelu_tanh_backward(_r(3, 4), _r(2, 4), _r(3, 4))),
    ("gelu_backward g", lambda: elementwise.gelu_tanh_backward(_r(3, 4), _r(3, 4), _r(12))),
    ("lstm step", lambda: recurrent.lstm_fwd_step32(_r(2, 8), np.zeros((2, 8)), _r(1, 4), 3, 2, _r(2, 8),
                                                    _r(2, 4), _r(2, 2))),
    ("lstm pre", lambda: recurrent.lstm_fwd_pre(np.zeros((2, 8)), np.zeros((3, 8)), 3, 2)),
    ("lstm post", lambda: recurrent.lstm_fwd_post(np.zeros((2, 8)), np.zeros((2, 3)), 3, 2,
                                                  np.zeros((2, 8)), np.zeros((2, 4)))),
    ("lstm backward", lambda: recurrent.lstm_bwd_step(np.zeros((2, 4)), np.zeros((2, 2)), np.zeros((2, 1)),
                                                      np.zeros((2, 8)), np.zeros((2, 2)), np.zeros((2, 4)),
                                                      3, 2, np.zeros((2, 8)))),
    ("gru step", lambda: recurrent.gru_fwd_step32(_r(2, 6), _r(2, 6), _r(5), _r(2, 2), 3, 2, _r(2, 4),
                                                  _r(2, 2), _r(2, 2), _r(2, 2))),
    ("gru backward", lambda: recurrent.gru_bwd_step(np.zeros((2, 2)), np.zeros((2, 2)), np.zeros((2, 4)),
                                                    np.zeros((2, 2)), np.zeros((2, 2)), np.zeros((2, 2)),
                                                    3, 2, np.zeros((2, 5)), np.zeros((2, 6)))),
    ("tanh32", lambda: recurrent.tanh32(_r(5), _r(3))),
    ("int8_matmul K", lambda: fast.int8_matmul(np.zeros((2, 5), np.int8), np.zeros((3, 4), np.int8))),
    ("int8_matmul K > int32 range", lambda: fast.int8_matmul(np.zeros((1, 131072), np.int8),
                                                             np.zeros((1, 131072), np.int8))),
    ("int8_conv2d w columns", lambda: fast.int8_conv2d(np.zeros((1, 5, 5, 3), np.int8), np.zeros((4, 12), np.int8),
                                                       (3, 3), 1, 0, 1)),
    ("int8_conv2d 3-d x", lambda: fast.int8_conv2d(np.zeros((5, 5, 3), np.int8), np.zeros((4, 27), np.int8),
                                                   (3, 3), 1, 0, 1)),
    ("dequantize_bias_act scale", lambda: fast.dequantize_bias_act(np.zeros((2, 4), np.int32), _r(3), _r(4), "relu")),
    ("int8_matmul_bias_act bias", lambda: fast.int8_matmul_bias_act(np.zeros((2, 4), np.int8), np.zeros((3, 4), np.int8),
                                                                    _r(3), _r(2), "relu")),
    ("int8_conv2d_bias_act scale", lambda: fast.int8_conv2d_bias_act(
        np.zeros((1, 5, 5, 1), np.int8), np.zeros((4, 9), np.int8), 3, 1, 0, 1, _r(5), _r(4), "linear")),
    ("int8_conv2d_requant pool", lambda: fast.int8_conv2d_requant(
        np.zeros((1, 5, 5, 1), np.int8), np.zeros((4, 9), np.int8), 3, 1, 0, 1, _r(4), _r(4), "relu", 0.1, 4, 1)),
]


@pytest.mark.parametrize("what,call", BAD_CALLS, ids=[b[0] for b in BAD_CALLS])
def test_mismatched_shapes_never_reach_a_kernel(what, call):
    with pytest.raises((ValueError, TypeError)):
        call()


def test_softmax_cross_entropy_op_with_fewer_labels_than_rows():
    """The issue's example: the internal op read past the end of the labels."""
    logits = tinydl.Tensor(_r(6, 4), requires_grad=True)
    with pytest.raises(ValueError, match=r"labels has shape \(3,\), expected \(6,\)"):
        ops.SoftmaxCrossEntropy.apply(logits, tinydl.Tensor(np.array([0, 1, 2])))


def test_complex_arrays_never_reach_a_kernel():
    with pytest.raises(TypeError, match="complex"):
        fast.bias_act_forward(_r(3, 4).astype(np.complex64), _r(4), "relu")


@pytest.mark.skipif(os.environ.get("NUMBA_BOUNDSCHECK") != "1",
                    reason="only meaningful in CI's NUMBA_BOUNDSCHECK=1 run (.ci/run)")
def test_the_boundscheck_run_really_checks_bounds():
    """Calling a raw kernel past its Python boundary, with labels shorter than the rows: under
    NUMBA_BOUNDSCHECK=1 (and a fresh cache) the out-of-bounds read raises IndexError."""
    from tinydl.kernels.cpu import softmax_xent
    logits = _r(5, 3)
    with pytest.raises(IndexError):
        softmax_xent.softmax_xent_fwd(logits, np.zeros(2, np.int64), np.empty(5, F32), np.empty_like(logits))
