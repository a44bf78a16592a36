"""Second order for the nn-level fused ops: convolution, transposed convolution, pooling, dense
with fused bias + activation, the softmax cross-entropy, LayerNorm, BatchNorm, embedding and
attention's masked softmax. Each is differentiated twice (create_graph=True goes through its
``composite``, core ops) and checked against central differences of its first-order gradient
(the fused kernels), in float64, on hypothesis-drawn shapes, strides, paddings and dilations.
The composites' forward values equal the fused kernels'."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinydl as td
from tinydl.nn import composite, channels_last as F, ops
from tinydl.testing import OpSpec, check_op_spec_second_order, gradgradcheck


@st.composite
def conv_case(draw, transpose=False):
    n, c, o = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pad = tuple((draw(st.integers(0, 1)), draw(st.integers(0, 1))) for _ in range(2))
    h = draw(st.integers((kh - 1) * dilation[0] + 1, 5))
    w = draw(st.integers((kw - 1) * dilation[1] + 1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    return rng.standard_normal((n, h, w, c)), rng.standard_normal((kh, kw, c, o)), stride, pad, dilation


def _conv(x, w, stride, pad, dil):
    return ops.Conv2D.apply(x, w, stride=stride, padding=pad, dilation=dil)


@settings(max_examples=4, deadline=None)
@given(conv_case())
def test_conv2d_second_order(case):
    x, w, stride, pad, dil = case
    gradgradcheck(lambda a, b: _conv(a, b, stride, pad, dil), x, w)
    np.testing.assert_allclose(composite.conv2d(td.Tensor(x), td.Tensor(w), stride, pad, dil).detach().numpy(),
                               _conv(td.Tensor(x), td.Tensor(w), stride, pad, dil).detach().numpy(), atol=1e-12)


@settings(max_examples=4, deadline=None)
@given(conv_case(), st.sampled_from(["linear", "relu", "tanh", "sigmoid"]))
def test_conv2d_bias_act_second_order(case, act):
    x, w, stride, pad, dil = case
    b = np.linspace(-0.5, 0.5, w.shape[3])
    fn = lambda a, k, c: ops.Conv2DBiasAct.apply(a, k, c, stride=stride, padding=pad, dilation=dil, act=act)  # noqa: E731
    if act == "relu":  # away from the kink: the relu's input must not sit at 0
        z = _conv(td.Tensor(x), td.Tensor(w), stride, pad, dil).detach().numpy() + b
        if np.abs(z).min() < 1e-3:
            return
    gradgradcheck(fn, x, w, b)


@settings(max_examples=4, deadline=None)
@given(conv_case())
def test_conv2d_transpose_second_order(case):
    x, w, stride, pad, dil = case
    out_shape = _conv(td.Tensor(x), td.Tensor(w), stride, pad, dil).shape
    y = np.random.default_rng(1).standard_normal(out_shape[:3] + (w.shape[3],))
    fn = lambda a, k: ops.Conv2DTranspose.apply(a, k, stride=stride, padding=pad, dilation=dil,  # noqa: E731
                                                out_shape=x.shape)
    gradgradcheck(fn, y, w)
    np.testing.assert_allclose(composite.conv2d_transpose(td.Tensor(y), td.Tensor(w), stride, pad, dil,
                                                          x.shape).detach().numpy(),
                               fn(td.Tensor(y), td.Tensor(w)).detach().numpy(), atol=1e-12)


@st.composite
def pool_case(draw):
    ph, pw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pad = ((draw(st.integers(0, ph - 1)), draw(st.integers(0, ph - 1))),
           (draw(st.integers(0, pw - 1)), draw(st.integers(0, pw - 1))))
    h, w = draw(st.integers(ph, 5)), draw(st.integers(pw, 5))
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    values = np.random.default_rng(draw(st.integers(0, 2 ** 16))).permutation(n * h * w * c)
    return values.reshape(n, h, w, c) * 0.1, (ph, pw), stride, pad  # distinct: no ties


@settings(max_examples=4, deadline=None)
@given(pool_case())
def test_pooling_second_order(case):
    x, pool, stride, pad = case
    for op in (ops.MaxPool2D, ops.AvgPool2D):
        # the squared input makes the second derivative non-zero
        gradgradcheck(lambda a: op.apply(a * a, pool=pool, stride=stride, padding=pad), x + 0.05)


@settings(max_examples=5, deadline=None)
@given(st.integers(1, 3), st.integers(1, 4), st.sampled_from(["linear", "sigmoid", "tanh", "relu"]),
       st.integers(0, 2 ** 16))
def test_dense_fused_bias_act_second_order(n, k, act, seed):
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal((n, 3)), rng.standard_normal((3, k)), rng.standard_normal(k)
    if act == "relu" and np.abs(x @ w + b).min() < 1e-3:
        return
    gradgradcheck(lambda a, m, c: F.bias_act(a @ m, c, act), x, w, b)


@settings(max_examples=5, deadline=None)
@given(st.integers(1, 4), st.integers(2, 4), st.integers(0, 2 ** 16))
def test_cross_entropies_second_order(n, k, seed):
    rng = np.random.default_rng(seed)
    logits, labels = rng.standard_normal((n, k)), rng.integers(0, k, n)
    onehot = np.eye(k)[labels]
    gradgradcheck(lambda z: td.nn.functional.cross_entropy(z, labels, reduction="none"), logits)
    gradgradcheck(lambda z: td.nn.losses.sparse_categorical_crossentropy(labels, z, from_logits=True), logits)
    gradgradcheck(lambda z: td.nn.losses.categorical_crossentropy(onehot, z, from_logits=True), logits)
    gradgradcheck(lambda z: td.nn.functional.binary_cross_entropy_with_logits(z, onehot), logits)
    gradgradcheck(lambda z: td.log_softmax(z, axis=1), logits)


@settings(max_examples=5, deadline=None)
@given(st.integers(1, 3), st.integers(2, 5), st.booleans(), st.integers(0, 2 ** 16))
def test_layer_norm_second_order(n, d, last_axis_only, seed):
    from tinydl.nn.sequence_ops import LayerNormOp
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 2, d))
    axes = (2,) if last_axis_only else (1, 2)
    gamma, beta = rng.standard_normal(d), rng.standard_normal(d)
    gradgradcheck(lambda a, g, b: LayerNormOp.apply(a, g, b, axes=axes, eps=1e-5), x, gamma, beta)


@settings(max_examples=4, deadline=None)
@given(st.integers(2, 4), st.integers(1, 3), st.integers(0, 2 ** 16))
def test_batch_norm_second_order(n, c, seed):
    """BatchNorm (training mode, batch statistics) is made of core ops: twice differentiable."""
    rng = np.random.default_rng(seed)
    layer = td.nn.BatchNormalization()
    x = rng.standard_normal((n, c))
    layer(td.Tensor(x))  # build
    gradgradcheck(lambda a: layer(a) * td.tanh(a), x)


@settings(max_examples=5, deadline=None)
@given(st.integers(2, 5), st.integers(1, 3), st.booleans(), st.integers(0, 2 ** 16))
def test_embedding_second_order(rows, dim, with_padding, seed):
    from tinydl.nn.sequence_ops import EmbeddingLookup
    rng = np.random.default_rng(seed)
    table, ids = rng.standard_normal((rows, dim)), rng.integers(0, rows, (2, 3))
    pad = 0 if with_padding else None
    gradgradcheck(lambda t: EmbeddingLookup.apply(t * t, td.Tensor(ids), padding_idx=pad), table)


@settings(max_examples=5, deadline=None)
@given(st.integers(1, 3), st.integers(1, 4), st.integers(0, 2 ** 16))
def test_masked_softmax_and_attention_second_order(q, k, seed):
    from tinydl.nn.sequence_ops import MaskedSoftmax
    rng = np.random.default_rng(seed)
    s = rng.standard_normal((2, q, k))
    keep = rng.random((q, k)) > 0.3
    gradgradcheck(lambda a: MaskedSoftmax.apply(a, td.Tensor(keep)), s)
    qs, ks, vs = rng.standard_normal((2, q, 3)), rng.standard_normal((2, k, 3)), rng.standard_normal((2, k, 3))
    gradgradcheck(lambda a, b, c: MaskedSoftmax.apply(a @ td.swapaxes(b, 1, 2) / np.sqrt(3), td.Tensor(keep)) @ c,
                  qs, ks, vs)


def test_recurrent_scans_stay_once_differentiable():
    from tinydl.nn.sequence_ops import GRUScan, LSTMScan, RNNScan
    assert all(op.once_differentiable for op in (RNNScan, LSTMScan, GRUScan))


def test_small_cnn_double_backward_matches_finite_differences():
    """A whole CNN (conv + fused bias/relu, max pooling, dense, cross-entropy): H v by double
    backward against central differences of the gradient."""
    rng = np.random.default_rng(0)
    x, y = rng.random((3, 6, 6, 1)), rng.integers(0, 3, 3)
    w1, b1, w2 = rng.standard_normal((3, 3, 1, 2)), rng.standard_normal(2) * 0.1, rng.standard_normal((8, 3))

    def loss(k1, c1, k2):
        h = F.max_pool2d(F.conv2d(td.Tensor(x), k1, c1, activation="relu"), 2)
        return td.nn.functional.cross_entropy(h.reshape(3, -1) @ k2, y)

    gradgradcheck(loss, w1, b1, w2, atol=1e-5, rtol=1e-4)


SECOND_ORDER = [OpSpec(name, None, None, None, covers) for name, covers in [
    ("conv2d", ["Conv2D"]), ("conv2d_bias_act", ["Conv2DBiasAct"]), ("conv2d_transpose", ["Conv2DTranspose"]),
    ("pooling", ["MaxPool2D", "AvgPool2D"]), ("bias_act", ["BiasAct"]), ("xent", ["SoftmaxCrossEntropy"]),
    ("layer_norm", ["LayerNormOp"]), ("embedding", ["EmbeddingLookup"]), ("masked_softmax", ["MaskedSoftmax"]),
]]  # the tests above run gradgradcheck for these (the inventory reads this list)
assert check_op_spec_second_order and pytest
