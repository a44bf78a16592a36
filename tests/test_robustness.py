"""Property-based robustness: hypothesis draws a public layer or loss, its configuration and an
input (zero-size dimensions, NaN/inf, +-1e30 / +-1e4 extremes, float16/float32/float64/int/bool/
complex dtypes, non-contiguous and negative-stride layouts) and checks that the fast path either

* raises the same clear error as the reference path, naming the layer (or loss), or
* returns the reference path's result: same shape and dtype, NaN exactly where the reference
  has NaN, the other values equal up to rounding.

Complex inputs must always be refused.  The reference path is ``tinydl.use_reference()`` (the
readable NumPy providers), the fast path the Numba kernels.
"""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinydl
from tinydl import nn
from tinydl.backends import numba_cpu as fast
from tinydl.keras import layers
from tinydl.nn import losses

DTYPES = ["float16", "float32", "float64", "int32", "bool", "complex64"]
EXTREME = {"float16": 1e4, "float32": 1e30, "float64": 1e30}
TOL = {"float16": 2e-2, "float32": 2e-4, "float64": 1e-9}


@pytest.fixture(autouse=True)
def _kernels_even_on_tiny_arrays(monkeypatch):
    monkeypatch.setattr(fast, "SMALL_ELEMENTWISE", 0)


# ---------------------------------------------------------------------------- what is drawn

def _image_layer(draw):
    kind = draw(st.sampled_from(["conv", "conv_t", "max", "avg", "gap"]))
    k = draw(st.integers(1, 3))
    s = draw(st.integers(1, 2))
    pad = draw(st.sampled_from(["valid", "same"]))
    if kind == "conv":
        act = draw(st.sampled_from([None, "relu", "tanh", "sigmoid"]))
        return layers.Conv2D(draw(st.integers(1, 3)), k, strides=s, padding=pad, activation=act,
                             use_bias=draw(st.booleans())), 4
    if kind == "conv_t":
        return layers.Conv2DTranspose(draw(st.integers(1, 3)), k, strides=s, padding=pad), 4
    if kind == "max":
        return layers.MaxPooling2D(k, strides=s, padding=pad), 4
    if kind == "avg":
        return layers.AveragePooling2D(k, strides=s, padding=pad), 4
    return layers.GlobalAveragePooling2D(), 4


def _vector_layer(draw):
    kind = draw(st.sampled_from(["dense", "act", "bn", "ln", "flatten", "softmax", "leaky", "dropout"]))
    if kind == "dense":
        return layers.Dense(draw(st.integers(1, 4)), activation=draw(st.sampled_from(
            [None, "relu", "tanh", "sigmoid", "softmax", "gelu"]))), 2
    if kind == "act":
        return layers.Activation(draw(st.sampled_from(["relu", "sigmoid", "tanh", "softmax", "linear"]))), 2
    if kind == "bn":
        layer = layers.BatchNormalization()
        layer.training = draw(st.booleans())
        return layer, 2
    if kind == "ln":
        return layers.LayerNormalization(), draw(st.sampled_from([2, 3]))
    if kind == "flatten":
        return layers.Flatten(), 3
    if kind == "softmax":
        return layers.Softmax(), 2
    if kind == "leaky":
        return layers.LeakyReLU(0.1), 2
    layer = layers.Dropout(0.5)
    layer.training = False
    return layer, 2


def _sequence_layer(draw):
    kind = draw(st.sampled_from(["rnn", "lstm", "gru", "mha", "block"]))
    if kind == "rnn":
        return layers.SimpleRNN(3, return_sequences=draw(st.booleans())), 3
    if kind == "lstm":
        return layers.LSTM(3, return_sequences=draw(st.booleans())), 3
    if kind == "gru":
        return layers.GRU(3), 3
    if kind == "mha":
        return layers.MultiHeadAttention(2, 2), 3
    return nn.TransformerBlock(4, 2), 3


@st.composite
def layer_and_input(draw):
    tinydl.manual_seed(draw(st.integers(0, 3)))
    family = draw(st.sampled_from(["image", "vector", "sequence"]))
    layer, ndim = {"image": _image_layer, "vector": _vector_layer, "sequence": _sequence_layer}[family](draw)
    if ndim == 4:
        shape = (draw(st.integers(0, 2)), draw(st.integers(1, 5)), draw(st.integers(1, 5)), draw(st.integers(1, 3)))
    elif ndim == 3:
        shape = (draw(st.integers(0, 2)), draw(st.integers(1, 4)), 4 if family == "sequence" else draw(st.integers(1, 4)))
    else:
        shape = (draw(st.integers(0, 3)), draw(st.integers(0, 4)))
    return layer, draw(arrays(shape))


@st.composite
def arrays(draw, shape):
    dtype = draw(st.sampled_from(DTYPES))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    base = rng.normal(size=shape) * draw(st.sampled_from([1.0, 3.0]))
    layout = draw(st.sampled_from(["contiguous", "strided", "reversed"]))
    if dtype in EXTREME and base.size:
        special = draw(st.lists(st.sampled_from(["nan", "inf", "-inf", "big", "-big"]), max_size=3))
        for value in special:
            v = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf,
                 "big": EXTREME[dtype], "-big": -EXTREME[dtype]}[value]
            base.reshape(-1)[rng.integers(base.size)] = v
        if draw(st.booleans()):  # a whole array at the extreme (the norms' overflow case)
            base = np.sign(base) * EXTREME[dtype] * rng.uniform(0.1, 1, size=shape)
    if dtype == "bool":
        x = base > 0
    elif dtype == "int32":
        x = np.round(base).astype(np.int32)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x = base.astype(dtype)
    if layout == "strided" and x.ndim:
        big = np.zeros(x.shape[:-1] + (2 * x.shape[-1],), x.dtype)
        big[..., ::2] = x
        x = big[..., ::2]
    elif layout == "reversed" and x.ndim:
        x = np.ascontiguousarray(x[::-1])[::-1]
    return x


# ---------------------------------------------------------------------------- the check

def _run(fn, reference):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # overflow warnings are expected at the extremes
        with tinydl.use_reference(reference), np.errstate(all="ignore"):
            try:
                out = fn()
            except (ValueError, TypeError, NotImplementedError) as exc:
                return exc
    if isinstance(out, (tuple, list)):
        out = out[0]
    return out.detach().numpy() if hasattr(out, "numpy") else np.asarray(out)


def _agree(fast_out, ref_out, who, dtype_name):
    if isinstance(ref_out, Exception) or isinstance(fast_out, Exception):
        assert isinstance(ref_out, Exception) and isinstance(fast_out, Exception), (fast_out, ref_out)
        assert type(fast_out) is type(ref_out), (fast_out, ref_out)
        assert any(w in str(fast_out) for w in who), f"the error does not name {who}: {fast_out}"
        return
    assert fast_out.shape == ref_out.shape and fast_out.dtype == ref_out.dtype, (fast_out, ref_out)
    np.testing.assert_array_equal(np.isnan(fast_out), np.isnan(ref_out))
    tol = TOL.get(str(ref_out.dtype), 1e-6)
    with np.errstate(all="ignore"):
        a, b = fast_out.astype(np.float64), ref_out.astype(np.float64)
    finite = np.isfinite(b)
    np.testing.assert_array_equal(a[~finite], b[~finite])
    scale = np.abs(b[finite]).max(initial=0.0)
    np.testing.assert_allclose(a[finite], b[finite], rtol=tol, atol=tol * max(scale, 1.0))


@settings(deadline=None)
@given(layer_and_input())
def test_every_layer_either_names_itself_in_an_error_or_matches_the_reference(case):
    layer, x = case
    who = (layer.name, type(layer).__name__)
    if x.dtype.kind == "c":
        with pytest.raises(TypeError, match=f"{type(layer).__name__} '{layer.name}'"):
            layer(x)
        return
    build = _run(lambda: layer(np.zeros((1,) + x.shape[1:], np.float32)), True)  # the same weights for both
    if isinstance(build, Exception):  # a configuration that does not fit this input size
        assert any(w in str(build) for w in who), build
        return
    _agree(_run(lambda: layer(x), False), _run(lambda: layer(x), True), who, x.dtype.name)


LOSSES = [losses.mean_squared_error, losses.mean_absolute_error, losses.binary_crossentropy,
          losses.categorical_crossentropy, nn.functional.binary_cross_entropy_with_logits, nn.functional.mse_loss]


@st.composite
def loss_and_inputs(draw):
    loss = draw(st.sampled_from(LOSSES + ["sparse", "cross_entropy"]))
    shape = (draw(st.integers(0, 3)), draw(st.integers(1, 4)))
    pred = draw(arrays(shape))
    if loss in ("sparse", "cross_entropy"):
        labels = np.random.default_rng(0).integers(0, shape[1], size=shape[0])
        return loss, pred, labels
    return loss, pred, draw(arrays(shape))


@settings(deadline=None)
@given(loss_and_inputs())
def test_every_loss_either_names_itself_in_an_error_or_matches_the_reference(case):
    loss, pred, target = case
    if loss == "sparse":
        name, fn = "sparse_categorical_crossentropy", lambda: losses.sparse_categorical_crossentropy(
            target, tinydl.Tensor(pred), from_logits=True)
    elif loss == "cross_entropy":
        name, fn = "cross_entropy", lambda: nn.functional.cross_entropy(tinydl.Tensor(pred), target)
    else:
        name = loss.__name__
        torch_order = name in ("binary_cross_entropy_with_logits", "mse_loss")
        fn = (lambda: loss(tinydl.Tensor(pred), target)) if torch_order else (lambda: loss(target, tinydl.Tensor(pred)))
    if pred.dtype.kind == "c" or target.dtype.kind == "c":
        with pytest.raises(TypeError, match=name):
            fn()
        return
    _agree(_run(fn, False), _run(fn, True), (name,), pred.dtype.name)
