"""tinydl.keras.ops against Keras 3.15 / TensorFlow 2.21 (tests/golden/record_keras_ops.py): values
and dtypes of every recorded call, the dtype promotion grid, gradients under GradientTape, finite
differences in float64, ops in a custom layer (eager and functional), optimizer.apply."""
import json
import os

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinydl.tf as tf
from tinydl.keras import backend, ops
from tinydl.testing import gradcheck
from golden.keras_ops_cases import (BINARY_DTYPE_OPS, CASES, DTYPES, GRAD_CASES, SCALARS, UNARY_DTYPE_OPS,
                                   binary_call, inputs, parts)

HERE = os.path.join(os.path.dirname(__file__), "golden")
G = np.load(os.path.join(HERE, "keras_ops.npz"), allow_pickle=False)
META = json.load(open(os.path.join(HERE, "keras_ops.json")))
X = {k[3:]: G[k] for k in G.files if k.startswith("in_")}


def test_recorded_versions_and_inputs():
    assert META["__version__"] == {"tensorflow": "2.21.0", "keras": "3.15.1"}
    for k, v in inputs().items():
        np.testing.assert_array_equal(X[k], v)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # edge_divide_int_by_zero: inf and nan, as Keras
@pytest.mark.parametrize("name", sorted(CASES))
def test_op_matches_keras(name):
    want = META["cases"][name]
    if isinstance(want, str):  # Keras refused the call (e.g. 'error:ValueError'): so must tinydl
        with pytest.raises((ValueError, TypeError)):  # TensorFlow's InvalidArgumentError is either
            CASES[name](ops, X)
        return
    got = parts(ops, CASES[name](ops, X))
    assert [[d, kind] for _, d, kind in got] == want, name
    for i, (arr, _, _) in enumerate(got):
        ref = G[f"{name}__{i}"]
        assert arr.shape == ref.shape, (name, i, arr.shape, ref.shape)
        if arr.dtype.kind == "f":
            tol = 1e-3 if arr.dtype == np.float16 else 1e-5
            np.testing.assert_allclose(arr, ref, rtol=tol, atol=tol, err_msg=name)
        else:
            np.testing.assert_array_equal(arr, ref, err_msg=name)


def _operand(name):
    return SCALARS[name] if name in SCALARS else ops.ones((2,), name)


def test_add_promotion_matches_keras_for_every_dtype_pair():
    """int32 + Python float is float32, float16 + float32 float32, int8 + int16 int16, bool + bool
    bool, uint8 + int8 int16, ... as Keras's result_type."""
    assert len(META["add_dtypes"]) == len(DTYPES) ** 2 + 2 * len(DTYPES) * len(SCALARS)
    for key, want in META["add_dtypes"].items():
        a, b = key.split("+")
        if want.startswith("error"):
            with pytest.raises((TypeError, ValueError)):
                ops.add(_operand(a), _operand(b))
        else:
            assert ops.dtype(ops.add(_operand(a), _operand(b))) == want, key
    assert backend.result_type("int32", float) == "float32" and backend.result_type("float16", float) == "float16"


def test_unary_result_dtypes_match_keras():
    """mean/var/sqrt/exp/floor of ints and bool are float32, sum/prod widen to int32/uint32, erf and
    softmax refuse integers, relu refuses bool, ..."""
    for key, want in META["unary_dtypes"].items():
        op, d = key.split(":")
        x = np.ones((2, 2), d)
        if want.startswith("error"):
            with pytest.raises(TypeError):
                getattr(ops, op)(x)
        else:
            assert ops.dtype(getattr(ops, op)(x)) == want, key
    assert sorted({k.split(":")[0] for k in META["unary_dtypes"]}) == sorted(UNARY_DTYPE_OPS)


def test_binary_result_dtypes_match_keras():
    """subtract/multiply/divide/maximum/minimum/power/equal/where/concatenate/stack over every pair
    of dtypes and Python scalars; two bools are refused where TensorFlow refuses them."""
    for key, want in META["binary_dtypes"].items():
        op, pair = key.split(":")
        a, b = pair.split("+")
        if want.startswith("error"):
            with pytest.raises((TypeError, ValueError)):
                binary_call(ops, op, _operand(a), _operand(b))
        else:
            assert ops.dtype(binary_call(ops, op, _operand(a), _operand(b))) == want, key
    assert sorted({k.split(":")[0] for k in META["binary_dtypes"]}) == sorted(BINARY_DTYPE_OPS)


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_gradient_matches_tensorflow(name):
    key, fn = GRAD_CASES[name]
    v = tf.Variable(X[key])
    w = G[f"grad_{name}__w"]
    with tf.GradientTape() as tape:
        loss = ops.sum(ops.multiply(fn(ops, tf.convert_to_tensor(v)), w))
    np.testing.assert_allclose(tape.gradient(loss, v).numpy(), G[f"grad_{name}"], rtol=1e-4, atol=1e-5,
                               err_msg=name)


@settings(deadline=None)
@given(st.integers(1, 4), st.integers(2, 4), st.integers(0, 2**16))
def test_composite_ops_gradients_match_finite_differences(rows, cols, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, cols)) + np.arange(cols) * 0.1  # distinct values: sort/top_k are smooth
    idx = rng.integers(0, cols, size=(rows, 3))
    for fn in (lambda t: ops.norm(t, axis=1) + ops.std(t, axis=1),
               lambda t: ops.tensordot(t, ops.transpose(t), axes=1),
               lambda t: ops.take_along_axis(t, idx, axis=1),
               lambda t: ops.sort(t, axis=-1) * ops.cumsum(t, axis=1),
               lambda t: ops.top_k(t, 2)[0],
               lambda t: ops.repeat(ops.tile(t, 2), 2, axis=0),
               lambda t: ops.softplus(t) + ops.elu(t) + ops.selu(t) + ops.log_sigmoid(t) + ops.gelu(t),
               lambda t: ops.categorical_crossentropy(ops.softmax(t), ops.sigmoid(t)),
               lambda t: ops.segment_sum(t, np.arange(rows) % 2, num_segments=2),
               lambda t: ops.moments(t, axes=[0])[1] + ops.var(t, axis=0),
               lambda t: ops.normalize(t) + ops.normalize(t, axis=0, order=1) + ops.logsumexp(t, axis=0),
               lambda t: ops.dot(t, ops.transpose(t)) + ops.einsum("ij,kj->ik", t, t),
               lambda t: ops.slice_update(t, (0, 0), ops.square(ops.slice(t, (0, 1), (1, 1)))),
               lambda t: ops.scatter(np.array([[0], [0], [1]]), ops.take(t, [0, 1, -1]), (2,)),
               lambda t: ops.pad(ops.roll(ops.flip(t, axis=1), 1, axis=1), ((1, 0), (0, 2))),
               lambda t: ops.moveaxis(ops.expand_dims(t, 0), 0, -1) * 2.0,
               lambda t: ops.hard_sigmoid(t) + ops.softsign(t) + ops.silu(t) + ops.erf(t) + ops.rsqrt(t * t + 1),
               lambda t: ops.binary_crossentropy(np.full(t.shape, 0.3), ops.sigmoid(t)),
               lambda t: ops.sparse_categorical_crossentropy(np.arange(rows) % cols, ops.softmax(t)),
               lambda t: ops.clip(t, -0.5, 0.5) + ops.where(t > 0, t, ops.exp(t)) + ops.nan_to_num(t),
               lambda t: ops.prod(t, axis=1) + ops.max(t, axis=1) - ops.min(t, axis=1),
               lambda t: ops.layer_normalization(t, np.arange(cols) + 1.0, 0.5) + ops.rms_normalization(t, axis=0),
               lambda t: ops.mod(t, 0.7) + ops.arctan(t) + ops.tan(t * 0.3) + ops.sinh(t) + ops.cosh(t),
               lambda t: ops.log2(t * t + 1) + ops.log10(t * t + 1) + ops.reciprocal(t * t + 1),
               lambda t: ops.arcsin(ops.tanh(t) * 0.9) + ops.arccos(ops.tanh(t) * 0.9),
               lambda t: ops.outer(ops.unstack(t)[0], ops.hstack([t[0], t[-1]])) * 1.0,
               lambda t: ops.vstack([t, ops.copy(t)]),
               lambda t: ops.dot_product_attention(*(ops.reshape(t, (1, rows, 1, cols)),) * 3, is_causal=True)):
        assert gradcheck(fn, x, atol=1e-5, rtol=1e-4)


def test_backend_helpers():
    assert backend.floatx() == "float32" and backend.epsilon() == 1e-7
    assert backend.standardize_dtype(int) == "int64" and backend.standardize_dtype(np.float16) == "float16"
    assert backend.standardize_dtype(ops.ones((1,), "uint8")) == "uint8"
    assert backend.result_type() == "float32" and backend.result_type(int) == "int32"
    assert backend.result_type("uint64", "uint8") == "uint32" and backend.result_type(float, int) == "float32"


def test_unimplemented_keras_names_raise_not_implemented():
    for name in ops.NOT_IMPLEMENTED:
        with pytest.raises(NotImplementedError, match=f"keras.ops.{name} "):
            getattr(ops, name)
    with pytest.raises(NotImplementedError, match="keras.ops.svd"):
        from tinydl.keras.ops import svd  # noqa: F401
    with pytest.raises(AttributeError):
        ops.not_a_keras_name
    assert "fft" in ops.NOT_IMPLEMENTED and "add" not in ops.NOT_IMPLEMENTED
    assert set(ops.__all__) <= ops.KERAS_OPS_NAMES  # no invented names
    assert len(ops.__all__) + len(ops.NOT_IMPLEMENTED) == len(ops.KERAS_OPS_NAMES) == 341
    assert tf.keras.ops is ops


def test_ops_refuse_symbolic_tensors_and_bad_arguments():
    from tinydl.keras import Input
    kt = Input(shape=(3,), dtype="int32")
    with pytest.raises(NotImplementedError, match="ops.add on a symbolic KerasTensor"):
        ops.add(kt, 1.0)
    with pytest.raises(NotImplementedError, match="ops.concatenate on a symbolic KerasTensor"):
        ops.concatenate([kt, kt])
    assert ops.shape(kt) == (None, 3) and ops.dtype(kt) == "int32" and not ops.is_tensor(kt)  # as Keras
    with pytest.raises(ValueError, match="split"):
        ops.split(ops.zeros((5,)), 2)
    with pytest.raises(ValueError, match="pad_width"):
        ops.pad(ops.zeros((2, 2)), 1)
    with pytest.raises(TypeError, match="sigmoid"):
        ops.sigmoid(np.ones(2, np.int32))
    with pytest.raises(ValueError, match="squeeze"):
        ops.squeeze(ops.zeros((2, 3)), axis=0)
    with pytest.raises(ValueError, match="norm"):
        ops.norm(ops.ones((2, 2, 2)))  # axis=None: all axes, at most two
    with pytest.raises(NotImplementedError, match="nuc"):
        ops.norm(ops.ones((2, 2)), ord="nuc")
    with pytest.raises(NotImplementedError, match="prod: dtype="):
        ops.prod(ops.ones((2,)), dtype="float64")
    with pytest.raises(TypeError, match="clip"):
        ops.clip(np.arange(3), -0.5, 0.5)
    assert ops.dtype(ops.einsum("i,i->", np.ones(2, np.int8), np.ones(2, np.int8))) == "int32"
    with pytest.raises(ValueError, match="segment ids"):
        ops.segment_sum(ops.zeros((3, 2)), [0, 1])


def test_stability_at_extremes():
    big = np.array([-1e30, 1e30], np.float32)
    for fn in (ops.softmax, ops.log_softmax, ops.sigmoid, ops.softplus, ops.log_sigmoid, ops.gelu, ops.silu,
               lambda t: ops.binary_crossentropy(np.array([0.0, 1.0], np.float32), t, from_logits=True)):
        assert np.isfinite(fn(big).numpy()).all(), fn
    half = np.array([-1e4, 1e4], np.float16)
    assert np.isfinite(ops.softmax(half).numpy()).all() and np.isfinite(ops.sigmoid(half).numpy()).all()
    assert np.isnan(ops.add(np.array([np.nan], np.float32), 1.0).numpy()).all()


def _ops_layer():
    from tinydl.keras import layers

    class Scaled(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], 2), initializer="ones")

        def call(self, x):
            h = ops.matmul(x, self.w)
            return ops.softmax(ops.concatenate([h, ops.mean(h, axis=-1, keepdims=True)], axis=-1))
    return Scaled()


def test_ops_in_a_custom_layer_eager_and_functional():
    from tinydl.keras import Input, Model
    x = np.arange(6, dtype=np.float32).reshape(2, 3) / 6
    layer = _ops_layer()
    eager = layer(x).numpy()
    inp = Input(shape=(3,))
    model = Model(inp, _ops_layer()(inp))
    assert model.output_shape == (None, 3)
    np.testing.assert_allclose(model(x).numpy(), eager, rtol=1e-6)
    with tf.GradientTape() as tape:
        loss = ops.sum(ops.square(model(x)))
    grads = tape.gradient(loss, model.trainable_variables)
    assert grads[0].shape == (3, 2) and np.isfinite(grads[0].numpy()).all()


def test_optimizer_apply_is_apply_gradients():
    from tinydl.keras import optimizers
    w1, w2 = tf.Variable(np.ones(3, np.float32)), tf.Variable(np.ones(3, np.float32))
    g = np.array([0.5, -1.0, 2.0], np.float32)
    a, b = optimizers.Adam(0.1), optimizers.Adam(0.1)
    for _ in range(3):
        a.apply([g], [w1])
        b.apply_gradients([(g, w2)])
    np.testing.assert_array_equal(w1.numpy(), w2.numpy())
    assert a.iterations == b.iterations == 3
    a.apply([g])  # the variables it was built on
    assert a.iterations == 4 and not np.allclose(w1.numpy(), w2.numpy())
    c = optimizers.SGD(0.1)
    with pytest.raises(ValueError, match="build"):
        c.apply([g])
    c.build([w2])
    with pytest.raises(ValueError, match="2 gradients for 1 variables"):
        c.apply([g, g])
    with pytest.raises(ValueError, match="no gradients"):
        c.apply([None], [w2])
