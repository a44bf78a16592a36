"""tinydl.tf against values recorded from TensorFlow 2.21 (tests/golden/record_keras_tf.py):
the array functions with TensorFlow's meanings, GradientTape, tf.data."""
import json
import os

import numpy as np
import pytest

import tinydl.tf as tf

HERE = os.path.join(os.path.dirname(__file__), "golden")
G = np.load(os.path.join(HERE, "keras_tf.npz"), allow_pickle=False)
META = json.load(open(os.path.join(HERE, "keras_tf.json")))


def close(got, key, tol=1e-5):
    want = G[key]
    got = np.asarray(got.detach().numpy() if hasattr(got, "numpy") else got)
    assert got.shape == want.shape, (key, got.shape, want.shape)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol, err_msg=key)


def test_recorded_version():
    assert str(G["__version__"]) == META["__version__"] == "2.21.0"


a, b, idx, labels, probs = G["in_a"], G["in_b"], G["in_idx"], G["in_labels"], G["in_probs"]

CASES = {
    "tf_split_int": lambda: tf.split(a, 2, axis=1)[1],
    "tf_split_sizes": lambda: tf.split(a, [1, -1], axis=1)[1],
    "tf_transpose": lambda: tf.transpose(a),
    "tf_gather": lambda: tf.gather(a, idx),
    "tf_gather_axis1": lambda: tf.gather(a, idx, axis=1),
    "tf_where1": lambda: tf.where(tf.constant(a) > 0),
    "tf_where3": lambda: tf.where(a > 0, tf.constant(a), tf.zeros_like(a)),
    "tf_argmax": lambda: tf.argmax(a),
    "tf_argmax1": lambda: tf.argmax(a, axis=1),
    "tf_reduce_sum_keep": lambda: tf.reduce_sum(a, axis=1, keepdims=True),
    "tf_reduce_mean_01": lambda: tf.reduce_mean(a, axis=[0, 1]),
    "tf_reduce_max": lambda: tf.reduce_max(a, axis=0),
    "tf_reduce_prod": lambda: tf.reduce_prod(a, axis=1),
    "tf_reduce_std": lambda: tf.math.reduce_std(a, axis=0),
    "tf_one_hot": lambda: tf.one_hot(idx, 4),
    "tf_tile": lambda: tf.tile(a, [2, 1]),
    "tf_matmul_tb": lambda: tf.matmul(a, b, transpose_b=True),
    "tf_concat": lambda: tf.concat([a, a], axis=0),
    "tf_stack": lambda: tf.stack([a, a], axis=1),
    "tf_clip": lambda: tf.clip_by_value(a, -0.5, 0.5),
    "tf_range": lambda: tf.range(1, 10, 2),
    "tf_range_f": lambda: tf.range(0.0, 1.0, 0.25),
    "tf_linspace": lambda: tf.linspace(0.0, 1.0, 5),
    "tf_nn_softmax": lambda: tf.nn.softmax(a),
    "tf_nn_log_softmax": lambda: tf.nn.log_softmax(a),
    "tf_nn_sce": lambda: tf.nn.softmax_cross_entropy_with_logits(labels=probs, logits=a),
    "tf_nn_sparse_sce": lambda: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=a),
    "tf_nn_sigmoid_ce": lambda: tf.nn.sigmoid_cross_entropy_with_logits(labels=probs, logits=a * 30),
    "tf_nn_l2_loss": lambda: tf.nn.l2_loss(a),
    "tf_nn_moments_mean": lambda: tf.nn.moments(a, axes=[0])[0],
    "tf_nn_moments_var": lambda: tf.nn.moments(a, axes=[0])[1],
    "tf_math_top_k_values": lambda: tf.math.top_k(a, k=2)[0],
    "tf_linalg_norm": lambda: tf.linalg.norm(a, axis=1),
    "tf_squeeze": lambda: tf.squeeze(tf.expand_dims(a, 0)),
    "tf_cast_trunc": lambda: tf.cast(tf.constant([-1.7, 1.7, 2.5]), tf.int32),
    "tf_l2_normalize": lambda: tf.math.l2_normalize(a, axis=1),
    "tf_nn_softplus": lambda: tf.nn.softplus(a),
    "tf_nn_elu": lambda: tf.nn.elu(a),
}


@pytest.mark.parametrize("key", sorted(CASES))
def test_function_matches_tensorflow(key):
    got = CASES[key]()
    close(got, key)
    assert np.asarray(got.detach().numpy()).dtype.kind == G[key].dtype.kind, key


def test_constant_dtypes_follow_tensorflow():
    assert tf.constant([1, 2]).dtype.name == str(G["tf_const_int_dtype"])
    assert tf.constant(1.5).dtype.name == str(G["tf_const_float_dtype"])
    assert tf.constant(np.zeros(2)).dtype == tf.float64


def test_gradient_tape_nested_structures_persistent_and_watch():
    w = tf.Variable(G["gt_w"])
    x = tf.constant(G["gt_x"])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = tf.reduce_sum(tf.tanh(tf.matmul(x, w)) ** 2)
        z = tf.reduce_mean(tf.matmul(x, w))
    g = tape.gradient(y, {"w": w, "inputs": [x]})
    close(g["w"], "gt_dy_dw"), close(g["inputs"][0], "gt_dy_dx")
    close(tape.gradient(z, w), "gt_dz_dw")


def test_gradient_tape_output_gradients_jacobian_and_second_order():
    w = tf.Variable(G["gt_w"])
    x = tf.constant(G["gt_x"])
    with tf.GradientTape() as tape:
        p = tf.matmul(x, w)
    close(tape.gradient(p, w, output_gradients=tf.constant(G["gt_seed"])), "gt_output_gradients")
    with tf.GradientTape() as tape:
        jt = tf.matmul(x, w)
    close(tape.jacobian(jt, w), "gt_jacobian")
    v = tf.Variable(1.5)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            yv = v ** 3
        dy = inner.gradient(yv, v)
    close(dy, "gt_first"), close(outer.gradient(dy, v), "gt_second")


def test_gradient_tape_unconnected_unwatched_and_single_use():
    v, u = tf.Variable(2.0), tf.Variable(3.0)
    c = tf.constant(4.0)
    with tf.GradientTape() as tape:
        y = v * c
    gv, gu, gc = tape.gradient(y, [v, u, c])
    assert float(gv) == 4.0 and gu is None and gc is None  # u unused; c never watched
    with pytest.raises(RuntimeError, match="non-persistent GradientTape"):
        tape.gradient(y, v)
    with tf.GradientTape() as tape:
        y = v * u
    zero = tape.gradient(y * 0 + v, [c], unconnected_gradients="zero")
    assert float(zero[0]) == 0.0
    frozen = tf.Variable(1.0, trainable=False)
    with tf.GradientTape() as tape:
        y = frozen * 2
    assert tape.gradient(y, frozen) is None
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        y = v * v
    assert tape.gradient(y, v) is None
    with tf.GradientTape() as tape:
        with tape.stop_recording():
            y = v * v
    assert tape.gradient(y, v) is None


def test_variable_assign_and_attributes():
    v = tf.Variable([1.0, 2.0], name="v")
    assert v.assign_add([1.0, 1.0]) is v and v.detach().numpy().tolist() == [2.0, 3.0]
    v.assign_sub([0.5, 0.5]); v.assign(v * 2)
    assert v.detach().numpy().tolist() == [3.0, 5.0] and v.name == "v" and v.shape == (2,) and v.dtype == tf.float32
    assert v.trainable and not tf.Variable(1, name="i").trainable
    with pytest.raises(ValueError, match="shape"):
        v.assign([1.0, 2.0, 3.0])


def test_function_is_an_eager_pass_through():
    calls = []

    @tf.function
    def f(x):
        calls.append(1)
        return x * 2

    assert float(f(tf.constant(2.0))) == 4.0 and float(f(tf.constant(3.0))) == 6.0 and len(calls) == 2
    assert float(tf.function(jit_compile=True)(lambda x: x + 1)(tf.constant(1.0))) == 2.0


def test_random_shapes_seeding_and_categorical():
    tf.random.set_seed(3)
    a1 = tf.random.normal((2, 3)).detach().numpy()
    tf.random.set_seed(3)
    assert np.array_equal(a1, tf.random.normal((2, 3)).detach().numpy())
    u = tf.random.uniform((1000,), minval=2, maxval=3).detach().numpy()
    assert u.dtype == np.float32 and u.min() >= 2 and u.max() < 3
    s = tf.random.categorical(tf.constant([[0.0, 1e9]]), 5)
    assert s.detach().numpy().tolist() == [[1] * 5]
    assert sorted(tf.random.shuffle(tf.range(5)).detach().numpy().tolist()) == [0, 1, 2, 3, 4]


def test_dataset_pipeline():
    ds = tf.data.Dataset.from_tensor_slices((np.arange(10), np.arange(10) * 2))
    assert int(ds.cardinality()) == 10
    ev = ds.filter(lambda x, y: tf.equal(tf.math.floormod(x, 2), 0)).map(lambda x, y: (x, y + 1))
    assert [tuple(e) for e in ev.as_numpy_iterator()] == [(0, 1), (2, 5), (4, 9), (6, 13), (8, 17)]
    b = ds.batch(4)
    assert int(b.cardinality()) == 3 and [len(x) for x, _ in b] == [4, 4, 2]
    assert int(ds.batch(4, drop_remainder=True).cardinality()) == 2
    assert [int(x) for x, _ in b.unbatch()] == list(range(10))
    assert int(ds.repeat().cardinality()) == tf.data.INFINITE_CARDINALITY
    assert [int(x) for x, _ in ds.repeat().skip(8).take(4)] == [8, 9, 0, 1]
    sh = [int(x) for x, _ in ds.shuffle(4).prefetch(tf.data.AUTOTUNE)]
    assert sorted(sh) == list(range(10))
    z = tf.data.Dataset.zip((tf.data.Dataset.range(3), tf.data.Dataset.range(5)))
    assert int(z.cardinality()) == 3
    cached, seen = [], []
    c = tf.data.Dataset.range(3).map(lambda x: (seen.append(1), x)[1]).cache()
    cached = [list(c.as_numpy_iterator()), list(c.as_numpy_iterator())]
    assert cached[0] == cached[1] and len(seen) == 3

    def gen():
        for i in range(3):
            yield np.full((2,), i), i

    g = tf.data.Dataset.from_generator(gen, output_signature=(tf.TensorSpec(shape=(2,), dtype=tf.float32),
                                                              tf.TensorSpec(shape=(), dtype=tf.int32)))
    first = next(g.as_numpy_iterator())
    assert first[0].dtype == np.float32 and first[1].dtype == np.int32
    assert int(tf.data.Dataset.from_tensors(np.zeros((3, 2))).cardinality()) == 1


def test_list_physical_devices_reflects_the_backends():
    from tinydl.backends import gpu_available
    kinds = [d.device_type for d in tf.config.list_physical_devices()]
    assert kinds[0] == "CPU" and ("GPU" in kinds) == gpu_available()
    assert len(tf.config.list_physical_devices("GPU")) == int(gpu_available())


def test_import_rule_spellings():
    from tinydl.tf import keras
    from tinydl.tf.keras import layers
    import tinydl.keras.layers as real
    import tinydl.tf.keras.layers as alias
    assert keras is tf.keras and layers is real is alias


def test_tensorflow_meanings_differ_from_pytorch_top_level():
    import tinydl
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert tf.argmax(x).detach().numpy().tolist() == [1, 1, 1]  # TF: axis 0 by default
    assert int(tinydl.argmax(tinydl.Tensor(x)).detach().numpy()) == 5  # PyTorch: flattened
    assert tf.transpose(np.zeros((2, 3, 4))).shape == (4, 3, 2)
    assert [p.shape for p in tf.split(np.zeros((6, 2)), [1, 5])] == [(1, 2), (5, 2)]


x_pos = np.abs(a) + 0.5
NUMPY_REFS = {
    "add": (lambda: tf.add(a, 1.0), lambda: a + 1), "subtract": (lambda: tf.subtract(a, a), lambda: a * 0),
    "multiply": (lambda: tf.multiply(a, 2.0), lambda: a * 2), "divide": (lambda: tf.divide(a, 2.0), lambda: a / 2),
    "square": (lambda: tf.square(a), lambda: a * a), "sqrt": (lambda: tf.sqrt(x_pos), lambda: np.sqrt(x_pos)),
    "exp": (lambda: tf.exp(a), lambda: np.exp(a)), "math.log": (lambda: tf.math.log(x_pos), lambda: np.log(x_pos)),
    "abs": (lambda: tf.abs(a), lambda: np.abs(a)), "maximum": (lambda: tf.maximum(a, 0.0), lambda: np.maximum(a, 0)),
    "minimum": (lambda: tf.minimum(a, 0.0), lambda: np.minimum(a, 0)), "pow": (lambda: tf.pow(x_pos, 2.0),
                                                                             lambda: x_pos ** 2),
    "negative": (lambda: tf.negative(a), lambda: -a), "sigmoid": (lambda: tf.sigmoid(a), lambda: 1 / (1 + np.exp(-a))),
    "tanh": (lambda: tf.tanh(a), lambda: np.tanh(a)), "add_n": (lambda: tf.add_n([a, a, a]), lambda: 3 * a),
    "reduce_min": (lambda: tf.reduce_min(a, axis=1), lambda: a.min(1)),
    "reduce_any": (lambda: tf.reduce_any(a > 1, axis=0), lambda: (a > 1).any(0)),
    "reduce_all": (lambda: tf.reduce_all(a > -5), lambda: (a > -5).all()),
    "reduce_logsumexp": (lambda: tf.reduce_logsumexp(a, axis=1), lambda: np.log(np.exp(a).sum(1))),
    "reduce_variance": (lambda: tf.math.reduce_variance(a, axis=0), lambda: a.var(0)),
    "argmin": (lambda: tf.argmin(a), lambda: a.argmin(0)), "reshape": (lambda: tf.reshape(a, [-1, 2]),
                                                                     lambda: a.reshape(-1, 2)),
    "shape": (lambda: tf.shape(a), lambda: np.array([3, 4])), "size": (lambda: tf.size(a), lambda: 12),
    "rank": (lambda: tf.rank(a), lambda: 2), "unstack": (lambda: tf.unstack(a, axis=1)[2], lambda: a[:, 2]),
    "gather_nd": (lambda: tf.gather_nd(a, [[0, 1], [2, 3]]), lambda: a[[0, 2], [1, 3]]),
    "zeros": (lambda: tf.zeros([2, 3]), lambda: np.zeros((2, 3))), "ones": (lambda: tf.ones((2,)), lambda: np.ones(2)),
    "fill": (lambda: tf.fill([2, 2], 7.0), lambda: np.full((2, 2), 7.0)),
    "ones_like": (lambda: tf.ones_like(a), lambda: np.ones_like(a)),
    "eye": (lambda: tf.eye(3, 2), lambda: np.eye(3, 2)), "identity": (lambda: tf.identity(a), lambda: a),
    "stop_gradient": (lambda: tf.stop_gradient(a), lambda: a),
    "equal": (lambda: tf.equal(a, a), lambda: a == a), "not_equal": (lambda: tf.not_equal(a, 0.0), lambda: a != 0),
    "less": (lambda: tf.less(a, 0.0), lambda: a < 0), "less_equal": (lambda: tf.less_equal(a, 0.0), lambda: a <= 0),
    "greater": (lambda: tf.greater(a, 0.0), lambda: a > 0),
    "greater_equal": (lambda: tf.greater_equal(a, 0.0), lambda: a >= 0),
    "logical_and": (lambda: tf.logical_and(a > 0, a < 1), lambda: (a > 0) & (a < 1)),
    "logical_or": (lambda: tf.logical_or(a > 1, a < -1), lambda: (a > 1) | (a < -1)),
    "logical_not": (lambda: tf.logical_not(a > 0), lambda: ~(a > 0)),
    "round": (lambda: tf.round(tf.constant([0.5, 1.5, -2.5])), lambda: np.array([0.0, 2.0, -2.0])),
    "sign": (lambda: tf.sign(a), lambda: np.sign(a)), "floor": (lambda: tf.floor(a), lambda: np.floor(a)),
    "math.ceil": (lambda: tf.math.ceil(a), lambda: np.ceil(a)),
    "math.log1p": (lambda: tf.math.log1p(x_pos), lambda: np.log1p(x_pos)),
    "math.reciprocal": (lambda: tf.math.reciprocal(x_pos), lambda: 1 / x_pos),
    "math.rsqrt": (lambda: tf.math.rsqrt(x_pos), lambda: 1 / np.sqrt(x_pos)),
    "math.is_nan": (lambda: tf.math.is_nan(tf.constant([np.nan, 1.0])), lambda: np.array([True, False])),
    "math.is_finite": (lambda: tf.math.is_finite(tf.constant([np.inf, 1.0])), lambda: np.array([False, True])),
    "math.is_inf": (lambda: tf.math.is_inf(tf.constant([np.inf, 1.0])), lambda: np.array([True, False])),
    "math.floormod": (lambda: tf.math.floormod(tf.constant([-3, 5]), 3), lambda: np.array([0, 2])),
    "math.count_nonzero": (lambda: tf.math.count_nonzero(a > 0), lambda: (a > 0).sum()),
    "linalg.matmul": (lambda: tf.linalg.matmul(a, b, transpose_b=True), lambda: a @ b.T),
    "linalg.matrix_transpose": (lambda: tf.linalg.matrix_transpose(a), lambda: a.T),
    "linalg.trace": (lambda: tf.linalg.trace(a[:, :3]), lambda: np.trace(a[:, :3])),
    "linalg.diag_part": (lambda: tf.linalg.diag_part(a), lambda: np.diagonal(a)),
    "linalg.eye": (lambda: tf.linalg.eye(2), lambda: np.eye(2)),
    "nn.relu": (lambda: tf.nn.relu(a), lambda: np.maximum(a, 0)),
    "nn.relu6": (lambda: tf.nn.relu6(a * 10), lambda: np.clip(a * 10, 0, 6)),
    "nn.sigmoid": (lambda: tf.nn.sigmoid(a), lambda: 1 / (1 + np.exp(-a))),
    "nn.tanh": (lambda: tf.nn.tanh(a), lambda: np.tanh(a)),
    "nn.leaky_relu": (lambda: tf.nn.leaky_relu(a), lambda: np.where(a > 0, a, 0.2 * a)),
    "nn.silu": (lambda: tf.nn.silu(a), lambda: a / (1 + np.exp(-a))),
    "nn.bias_add": (lambda: tf.nn.bias_add(a, np.ones(4, np.float32)), lambda: a + 1),
    "nn.l2_normalize": (lambda: tf.nn.l2_normalize(a, axis=0), lambda: a / np.sqrt((a * a).sum(0))),
}


@pytest.mark.parametrize("name", sorted(NUMPY_REFS))
def test_function_matches_numpy(name):
    fn, ref = NUMPY_REFS[name]
    np.testing.assert_allclose(np.asarray(fn().detach().numpy(), dtype=np.float64),
                               np.asarray(ref(), dtype=np.float64), rtol=1e-5, atol=1e-6, err_msg=name)


def test_gradients_through_tf_functions_match_finite_differences():
    from tinydl.testing import gradcheck
    import tinydl
    x = tinydl.Tensor(np.random.default_rng(0).normal(size=(3, 4)), requires_grad=True)
    for f in (lambda t: tf.reduce_prod(t, axis=1), lambda t: tf.tile(t, [2, 1]), lambda t: tf.gather(t, [2, 0], axis=1),
              lambda t: tf.split(t, [1, -1], axis=1)[1], lambda t: tf.transpose(t), lambda t: tf.nn.softplus(t),
              lambda t: tf.nn.sigmoid_cross_entropy_with_logits(labels=np.full((3, 4), 0.3), logits=t),
              lambda t: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[0, 3, 1], logits=t),
              lambda t: tf.nn.moments(t, axes=[0])[1], lambda t: tf.linalg.norm(t, axis=1), lambda t: tf.nn.elu(t)):
        gradcheck(f, x)


def test_conversions_and_dtypes_follow_tensorflow():
    cases = {"conv_np_float_to_int": lambda: tf.constant(np.array([1.5, -1.5]), dtype=tf.int32),
             "conv_where_scalars": lambda: tf.where(tf.constant([True, False]), 1.0, 0),
             "conv_int_mean": lambda: tf.reduce_mean(tf.constant([1, 2])),
             "conv_linspace_ints": lambda: tf.linspace(0, 1, 3),
             "conv_int_prod": lambda: tf.reduce_prod(tf.constant([[1, 2], [3, 4]])),
             "conv_cast_bool": lambda: tf.cast(tf.constant([0.5, 0.0]), tf.bool),
             "conv_one_hot_negative": lambda: tf.one_hot([1, -1], 3),
             "conv_np_int64": lambda: tf.constant(np.arange(3))}
    for key, fn in cases.items():
        got = fn().detach().numpy()
        assert got.dtype == G[key].dtype, (key, got.dtype, G[key].dtype)
        np.testing.assert_array_equal(got, G[key], err_msg=key)
    errors = {"TypeError": TypeError, "ValueError": ValueError}
    for expr, err in META["conv_errors"].items():
        with pytest.raises(errors[err]):
            eval(expr)


def test_submodule_reexports_and_small_names():
    for name in tf.math.__all__:
        if hasattr(tf, name):
            assert getattr(tf.math, name) is getattr(tf, name), name  # one function, two spellings
    assert tf.linalg.l2_normalize is tf.nn.l2_normalize is tf.math.l2_normalize
    assert tf.nn.swish is tf.nn.silu and tf.math.softplus is tf.nn.softplus
    assert [tf.as_dtype(d) for d in ("float16", "int8", "int16", "int64", "uint8", "uint16", "uint32", "uint64")] == [
        tf.float16, tf.int8, tf.int16, tf.int64, tf.uint8, tf.uint16, tf.uint32, tf.uint64]
    assert tf.half is tf.float16 and tf.double is tf.float64 and tf.DType("float32") == tf.float32
    assert tf.is_tensor(tf.convert_to_tensor([1.0])) and not tf.is_tensor(np.ones(1))
    assert tf.convert_to_tensor(np.ones(2), dtype_hint=tf.float32).dtype == tf.float64  # the hint only for Python data
    assert tf.constant(np.ones((2, 3)))[:, tf.newaxis].shape == (2, 1, 3)
    with pytest.raises(TypeError):
        tf.as_dtype("string")


def test_print_dropout_gelu_truncated_normal_logical_devices(capsys):
    tf.print("value", tf.constant([1.0, 2.0]))
    assert capsys.readouterr().out.strip() == "value [1. 2.]"
    tf.random.set_seed(0)
    x = tf.ones((200, 200))
    y = tf.nn.dropout(x, rate=0.25).detach().numpy()  # always applied, kept values scaled by 1/(1-rate)
    assert set(np.unique(y).tolist()) == {0.0, np.float32(1 / 0.75)} and abs((y == 0).mean() - 0.25) < 0.02
    g = tf.nn.gelu(a).detach().numpy()
    from math import erf
    np.testing.assert_allclose(g, [[v * 0.5 * (1 + erf(v / np.sqrt(2))) for v in row] for row in a], rtol=1e-5)
    t = tf.random.truncated_normal((5000,), mean=1.0, stddev=0.5).detach().numpy()
    assert np.abs(t - 1.0).max() <= 1.0 and abs(t.mean() - 1.0) < 0.03
    assert tf.config.list_logical_devices("CPU")[0].device_type == "CPU"
    assert tf.config.experimental.set_memory_growth(tf.config.list_physical_devices()[0], True) is None
    assert isinstance(tf.config.list_physical_devices()[0], tf.config.PhysicalDevice)


def test_dataset_concatenate_enumerate_reduce_element_spec_and_missing_methods():
    a_ds, b_ds = tf.data.Dataset.range(2), tf.data.Dataset.range(3)
    cat = a_ds.concatenate(b_ds)
    assert [int(v) for v in cat] == [0, 1, 0, 1, 2] and int(cat.cardinality()) == 5
    assert [(int(i), int(v)) for i, v in tf.data.Dataset.range(3).enumerate(start=1)] == [(1, 0), (2, 1), (3, 2)]
    total = tf.data.Dataset.range(5).reduce(tf.constant(0, dtype=tf.int64), lambda s, v: s + v)
    assert int(total) == 10
    spec = tf.data.Dataset.from_tensor_slices((np.zeros((4, 3), np.float32), np.arange(4))).element_spec
    assert spec == (tf.TensorSpec((3,), tf.float32), tf.TensorSpec((), tf.int64))
    gen = tf.data.Dataset.from_generator(lambda: iter([1, 2]), output_signature=tf.TensorSpec((), tf.int32))
    assert int(gen.cardinality()) == tf.data.UNKNOWN_CARDINALITY and tf.data.AUTOTUNE == -1
    assert int(tf.data.experimental.cardinality(a_ds)) == 2
    for name in ("padded_batch", "interleave"):
        with pytest.raises(NotImplementedError, match=name):
            getattr(a_ds, name)(2)
    with pytest.raises(NotImplementedError, match="file"):
        a_ds.cache("/tmp/x")
