"""The Keras-semantics layers of tinydl.keras.layers: gradients against central finite
differences in float64 (inputs and weights) on hypothesis-drawn shapes and arguments, forward
values against NumPy loops, get_config/from_config round trips for every layer, and the names
that must not fall back to PyTorch's classes. (Values against Keras itself:
tests/test_keras_layers_golden.py.)"""
import json

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinydl
from tinydl.keras import layers
from tinydl.testing import gradcheck


def _param_gradcheck(layer, args, eps=1e-6, tol=1e-5, seed=0):
    """Each weight's gradient (backward) against central differences of a random projection."""
    out = layer(*args)
    proj = np.random.default_rng(seed).standard_normal(out.shape)
    for p in layer.parameters():
        p.grad = None
    (out * tinydl.Tensor(proj)).sum().backward()
    for p in layer.parameters():
        if not p.requires_grad:
            continue
        analytic = np.zeros(p.shape) if p.grad is None else p.grad.detach().numpy()
        numeric = np.zeros(p.shape)
        for i in np.ndindex(*p.shape):  # (the array may be Fortran-ordered: no flat view)
            old = p.data[i]
            p.data[i] = old + eps
            up = float((layer(*args).detach().numpy() * proj).sum())
            p.data[i] = old - eps
            down = float((layer(*args).detach().numpy() * proj).sum())
            p.data[i] = old
            numeric[i] = (up - down) / (2 * eps)
        np.testing.assert_allclose(analytic, numeric, rtol=tol, atol=tol, err_msg=f"{layer.name}: {p.name}")


def _check(layer, *xs, weights=True):
    """gradcheck of the inputs, then of the weights (float64 layer and data)."""
    xs = [np.asarray(x, dtype=np.float64) for x in xs]
    if len(xs) == 1:
        gradcheck(lambda x: layer(x), xs[0])
    else:
        gradcheck(lambda *t: layer(list(t)), *xs)
    if weights and list(layer.parameters()):  # (a generator, as PyTorch's)
        arg = [tinydl.Tensor(x) for x in xs]
        _param_gradcheck(layer, [arg] if len(arg) > 1 else arg)


def _x(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


# ------------------------------------------------------------------ convolutions
@given(k=st.integers(1, 3), s=st.integers(1, 2), d=st.integers(1, 2), steps=st.integers(3, 7),
       padding=st.sampled_from(["valid", "same", "causal"]), act=st.sampled_from([None, "tanh", "swish"]))
def test_conv1d_gradients_and_loop_reference(k, s, d, steps, padding, act):
    if padding == "valid" and (k - 1) * d + 1 > steps:
        return
    if s > 1 and d > 1:
        d = 1
    layer = layers.Conv1D(2, k, strides=s, dilation_rate=d, padding=padding, activation=act, dtype="float64")
    x = _x(2, steps, 3)
    y = layer(x).detach().numpy()
    w, b = layer.kernel.detach().numpy(), layer.bias.detach().numpy()
    span = (k - 1) * d + 1
    if padding == "causal":
        xp = np.pad(x, ((0, 0), (span - 1, 0), (0, 0)))
    elif padding == "same":
        out = -(-steps // s)
        total = max((out - 1) * s + span - steps, 0)
        xp = np.pad(x, ((0, 0), (total // 2, total - total // 2), (0, 0)))
    else:
        xp = x
    n_out = (xp.shape[1] - span) // s + 1
    ref = np.stack([np.einsum("nkc,kcf->nf", xp[:, i * s: i * s + span: d], w) for i in range(n_out)], 1) + b
    if act == "tanh":
        ref = np.tanh(ref)
    elif act == "swish":
        ref = ref / (1 + np.exp(-ref))
    np.testing.assert_allclose(y, ref, rtol=1e-10, atol=1e-10)
    _check(layer, x)


@given(k=st.integers(1, 3), s=st.integers(1, 2), m=st.integers(1, 2), padding=st.sampled_from(["valid", "same"]))
def test_depthwise_conv2d_gradients_and_loop_reference(k, s, m, padding):
    layer = layers.DepthwiseConv2D(k, strides=s, padding=padding, depth_multiplier=m, dtype="float64")
    x = _x(1, 4, 5, 2)
    y = layer(x).detach().numpy()
    w, b = layer.kernel.detach().numpy(), layer.bias.detach().numpy()
    if padding == "same":
        pads = []
        for n in (4, 5):
            total = max((-(-n // s) - 1) * s + k - n, 0)
            pads.append((total // 2, total - total // 2))
        x_p = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    else:
        x_p = x
    oh, ow = (x_p.shape[1] - k) // s + 1, (x_p.shape[2] - k) // s + 1
    ref = np.zeros((1, oh, ow, 2 * m))
    for i in range(oh):
        for j in range(ow):
            patch = x_p[:, i * s: i * s + k, j * s: j * s + k, :]          # (1, k, k, C)
            ref[:, i, j, :] = np.einsum("nabc,abcm->ncm", patch, w).reshape(1, -1)
    np.testing.assert_allclose(y, ref + b, rtol=1e-10, atol=1e-10)
    _check(layer, x)


@given(k=st.integers(1, 2), m=st.integers(1, 2), act=st.sampled_from([None, "relu6", "elu"]))
def test_separable_conv2d_gradients(k, m, act):
    _check(layers.SeparableConv2D(2, k, depth_multiplier=m, activation=act, dtype="float64"), _x(1, 3, 4, 2))


# ------------------------------------------------------------------ pooling and reshaping
@given(pool=st.integers(1, 3), strides=st.sampled_from([None, 1, 2]), padding=st.sampled_from(["valid", "same"]),
       kind=st.sampled_from(["max", "avg"]))
def test_pooling1d_gradients(pool, strides, padding, kind):
    cls = layers.MaxPooling1D if kind == "max" else layers.AveragePooling1D
    x = np.random.default_rng(1).permutation(2 * 6 * 2).reshape(2, 6, 2) * 0.1  # distinct: no max ties
    _check(cls(pool, strides, padding, dtype="float64"), x)


@pytest.mark.parametrize("make,shape", [
    (lambda: layers.GlobalAveragePooling1D(), (2, 5, 3)),
    (lambda: layers.GlobalMaxPooling1D(), (2, 5, 3)),
    (lambda: layers.GlobalMaxPooling2D(keepdims=True), (2, 3, 4, 2)),
    (lambda: layers.UpSampling1D(3), (2, 3, 2)),
    (lambda: layers.UpSampling2D((2, 3)), (1, 2, 3, 2)),
    (lambda: layers.UpSampling2D(2, interpolation="bilinear"), (1, 3, 2, 2)),
    (lambda: layers.ZeroPadding2D(((1, 0), (2, 1))), (1, 2, 3, 2)),
    (lambda: layers.Cropping2D(((1, 0), (0, 1))), (1, 3, 3, 2)),
    (lambda: layers.RepeatVector(3), (2, 4)),
    (lambda: layers.Permute((2, 1)), (2, 3, 4)),
    (lambda: layers.Masking(), (2, 4, 3)),
    (lambda: layers.ELU(0.7), (2, 5)),
    (lambda: layers.ReLU(max_value=1.5, negative_slope=0.2, threshold=0.1), (2, 5)),
    (lambda: layers.Softmax(axis=1), (2, 3, 4)),
    (lambda: layers.Rescaling(0.5, 1.0), (2, 3)),
    (lambda: layers.Resizing(3, 5), (1, 4, 3, 2)),
    (lambda: layers.Resizing(2, 2, interpolation="nearest"), (1, 4, 3, 2)),
    (lambda: layers.CenterCrop(2, 2), (1, 4, 3, 2)),
    (lambda: layers.Normalization(mean=[1.0, 2.0], variance=[4.0, 9.0]), (3, 2)),
])
def test_shape_and_elementwise_layers_gradients(make, shape):
    layer = make()
    x = np.random.default_rng(2).permutation(int(np.prod(shape))).reshape(shape) * 0.37 - 1.3
    _check(layer, x)


def test_masking_zeroes_masked_steps():
    x = _x(2, 4, 3)
    x[0, 1] = 0.0
    layer = layers.Masking()
    assert layer.compute_mask(x).tolist() == [[True, False, True, True], [True] * 4]
    assert np.all(layer(x).detach().numpy()[0, 1] == 0)


@given(shared=st.sampled_from([None, [1], [1, 2]]))
def test_prelu_gradients(shared):
    layer = layers.PReLU(alpha_initializer="ones", shared_axes=shared, dtype="float64")
    layer(np.zeros((1, 3, 2)))
    layer.alpha.data[...] = np.random.default_rng(0).uniform(0.1, 0.5, layer.alpha.shape)
    _check(layer, _x(2, 3, 2) + 0.05)


# ------------------------------------------------------------------ wrappers, attention, merging
@given(kind=st.sampled_from(["LSTM", "GRU", "SimpleRNN"]), merge=st.sampled_from(["concat", "sum", "mul", "ave"]),
       seqs=st.booleans())
def test_bidirectional_gradients(kind, merge, seqs):
    layer = layers.Bidirectional(getattr(layers, kind)(2, return_sequences=seqs, dtype="float64"), merge_mode=merge,
                                 dtype="float64")
    _check(layer, _x(2, 3, 2), weights=False)
    x = tinydl.Tensor(_x(2, 3, 2))
    _param_gradcheck(layer.forward_layer, [x])


def test_bidirectional_backward_layer_reads_the_sequence_reversed():
    fwd = layers.SimpleRNN(2, return_sequences=True, dtype="float64")
    bi = layers.Bidirectional(fwd, merge_mode=None, dtype="float64")
    x = _x(1, 4, 3)
    bi(x)
    bi.backward_layer.set_weights(fwd.get_weights())
    y_f, y_b = [t.detach().numpy() for t in bi(x)]
    np.testing.assert_allclose(y_b[:, ::-1], fwd(x[:, ::-1]).detach().numpy(), rtol=1e-12)
    assert bi.count_params() if hasattr(bi, "count_params") else True
    assert len(bi.get_weights()) == 6


def test_time_distributed_gradients():
    _check(layers.TimeDistributed(layers.Dense(3, activation="tanh", dtype="float64"), dtype="float64"), _x(2, 4, 2),
           weights=False)


@given(kind=st.sampled_from(["dot", "scaled", "concat", "additive"]), with_key=st.booleans(), causal=st.booleans())
def test_attention_gradients(kind, with_key, causal):
    if kind == "additive":
        layer = layers.AdditiveAttention(dtype="float64")
    else:
        layer = layers.Attention(use_scale=kind != "dot", score_mode="concat" if kind == "concat" else "dot",
                                 dtype="float64")
    xs = [_x(2, 3, 4, seed=1), _x(2, 3, 4, seed=2)] + ([_x(2, 3, 4, seed=3)] if with_key else [])
    gradcheck(lambda *t: layer(list(t), use_causal_mask=causal), *xs)
    if list(layer.parameters()):
        _param_gradcheck(layer, [[tinydl.Tensor(x) for x in xs]])


def test_attention_masks_drop_values_and_queries():
    q, v = _x(1, 2, 3, seed=1), _x(1, 3, 3, seed=2)
    layer = layers.Attention()
    out, w = layer([q, v], mask=[np.array([[True, False]]), np.array([[True, True, False]])],
                   return_attention_scores=True)
    assert np.allclose(w.detach().numpy()[..., 2], 0) and np.allclose(out.detach().numpy()[0, 1], 0)


@pytest.mark.parametrize("make", [layers.Add, layers.Subtract, layers.Multiply, layers.Average, layers.Maximum,
                                  layers.Minimum, lambda: layers.Concatenate(axis=1),
                                  lambda: layers.Dot(axes=2), lambda: layers.Dot(axes=(1, 1), normalize=True)])
def test_merge_layer_gradients(make):
    a = np.random.default_rng(3).permutation(24).reshape(2, 3, 4) * 0.1
    b = np.random.default_rng(4).permutation(24).reshape(2, 3, 4) * 0.1 + 0.05
    _check(make(), a, b)


def test_merge_layers_refuse_mismatched_inputs():
    with pytest.raises(ValueError, match="Add"):
        layers.Add()([np.zeros((2, 3)), np.zeros((2, 4))])
    with pytest.raises(ValueError, match="exactly 2"):
        layers.Subtract()([np.zeros((2, 3))] * 3)


def test_functional_merge_spellings():
    a, b = layers.Input((3,)), layers.Input((3,))
    for fn in (layers.concatenate, layers.add, layers.subtract, layers.multiply, layers.average, layers.maximum,
               layers.minimum):
        assert fn([a, b]).shape[0] is None
    assert layers.dot([a, b], axes=1).shape == (None, 1)


# ------------------------------------------------------------------ random layers
def test_random_layers_act_only_in_training():
    x = np.random.default_rng(0).uniform(0, 255, size=(4, 6, 6, 3)).astype("float32")
    for layer in (layers.RandomFlip(seed=1), layers.RandomRotation(0.2, seed=1), layers.RandomZoom(0.3, seed=1),
                  layers.RandomTranslation(0.2, 0.2, seed=1), layers.RandomContrast(0.5, seed=1),
                  layers.GaussianNoise(1.0, seed=1)):
        np.testing.assert_array_equal(layer(x).detach().numpy(), x)
        assert not np.array_equal(layer(x, training=True).detach().numpy(), x), type(layer).__name__


def test_random_flip_flips_whole_images():
    x = np.arange(2 * 3 * 4).reshape(2, 3, 4, 1).astype("float32")
    y = layers.RandomFlip("horizontal", seed=0)(x, training=True).detach().numpy()
    for i in range(2):
        assert np.array_equal(y[i], x[i]) or np.array_equal(y[i], x[i, :, ::-1])


def test_random_rotation_by_a_full_turn_is_the_identity_and_refuses_gradients():
    x = np.random.default_rng(0).normal(size=(1, 5, 5, 1))
    np.testing.assert_allclose(layers.RandomRotation((1.0, 1.0))(x, training=True).detach().numpy(), x, atol=1e-6)
    with pytest.raises(NotImplementedError, match="RandomRotation"):
        layers.RandomRotation(0.1)(tinydl.Tensor(x, requires_grad=True), training=True)


# ------------------------------------------------------------------ configs
CONFIG_EXAMPLES = {
    "Dense": lambda: layers.Dense(3, activation="swish", kernel_initializer="he_normal"),
    "Flatten": layers.Flatten, "Reshape": lambda: layers.Reshape((2, 3)), "Dropout": lambda: layers.Dropout(0.3),
    "Activation": lambda: layers.Activation("gelu"), "ReLU": lambda: layers.ReLU(max_value=6.0),
    "LeakyReLU": lambda: layers.LeakyReLU(0.1), "ELU": lambda: layers.ELU(0.5), "PReLU": lambda: layers.PReLU(),
    "Softmax": lambda: layers.Softmax(axis=1), "Conv1D": lambda: layers.Conv1D(4, 3, padding="causal"),
    "Conv2D": lambda: layers.Conv2D(4, 3, strides=2), "Conv2DTranspose": lambda: layers.Conv2DTranspose(2, 3),
    "DepthwiseConv2D": lambda: layers.DepthwiseConv2D(3, depth_multiplier=2),
    "SeparableConv2D": lambda: layers.SeparableConv2D(4, 3, kernel_constraint=None) if False else
    layers.SeparableConv2D(4, 3),
    "MaxPooling1D": lambda: layers.MaxPooling1D(3), "MaxPooling2D": lambda: layers.MaxPooling2D((2, 2)),
    "AveragePooling1D": lambda: layers.AveragePooling1D(), "AveragePooling2D": lambda: layers.AveragePooling2D(),
    "GlobalAveragePooling1D": layers.GlobalAveragePooling1D, "GlobalAveragePooling2D": layers.GlobalAveragePooling2D,
    "GlobalMaxPooling1D": layers.GlobalMaxPooling1D, "GlobalMaxPooling2D": layers.GlobalMaxPooling2D,
    "UpSampling1D": lambda: layers.UpSampling1D(3), "UpSampling2D": lambda: layers.UpSampling2D(2),
    "ZeroPadding2D": lambda: layers.ZeroPadding2D(2), "Cropping2D": lambda: layers.Cropping2D(1),
    "RepeatVector": lambda: layers.RepeatVector(4), "Permute": lambda: layers.Permute((2, 1)),
    "BatchNormalization": lambda: layers.BatchNormalization(momentum=0.9),
    "LayerNormalization": lambda: layers.LayerNormalization(), "Embedding": lambda: layers.Embedding(10, 4),
    "SimpleRNN": lambda: layers.SimpleRNN(3), "LSTM": lambda: layers.LSTM(3, return_sequences=True),
    "GRU": lambda: layers.GRU(3), "Bidirectional": lambda: layers.Bidirectional(layers.LSTM(3), merge_mode="sum"),
    "TimeDistributed": lambda: layers.TimeDistributed(layers.Dense(2)),
    "MultiHeadAttention": lambda: layers.MultiHeadAttention(2, 4),
    "Attention": lambda: layers.Attention(use_scale=True), "AdditiveAttention": lambda: layers.AdditiveAttention(),
    "Concatenate": lambda: layers.Concatenate(axis=1), "Add": layers.Add, "Subtract": layers.Subtract,
    "Multiply": layers.Multiply, "Average": layers.Average, "Maximum": layers.Maximum, "Minimum": layers.Minimum,
    "Dot": lambda: layers.Dot(axes=1), "Masking": lambda: layers.Masking(-1.0),
    "GaussianNoise": lambda: layers.GaussianNoise(0.2), "Normalization": lambda: layers.Normalization(axis=-1),
    "Rescaling": lambda: layers.Rescaling(1 / 255), "Resizing": lambda: layers.Resizing(4, 5),
    "CenterCrop": lambda: layers.CenterCrop(2, 3), "RandomFlip": lambda: layers.RandomFlip("horizontal"),
    "RandomRotation": lambda: layers.RandomRotation(0.1), "RandomZoom": lambda: layers.RandomZoom(0.1),
    "RandomTranslation": lambda: layers.RandomTranslation(0.1, 0.2), "RandomContrast": lambda: layers.RandomContrast(0.2),
    "TextVectorization": lambda: layers.TextVectorization(max_tokens=20, output_sequence_length=4),
    "StringLookup": lambda: layers.StringLookup(vocabulary=["a", "b"]), "IntegerLookup": lambda: layers.IntegerLookup(),
    "CategoryEncoding": lambda: layers.CategoryEncoding(4, output_mode="count"),
}
NOT_CONFIGURABLE = {"Layer": "the abstract base", "InputLayer": "made by Input()",
                    "Lambda": "its function is code, not data (see test_lambda_config_keeps_the_function)"}


def test_every_layer_name_has_a_config_example():
    assert set(layers.LAYER_NAMES) == set(CONFIG_EXAMPLES) | set(NOT_CONFIGURABLE)


@pytest.mark.parametrize("name", sorted(CONFIG_EXAMPLES))
def test_config_round_trip_gives_an_equal_layer(name):
    layer = CONFIG_EXAMPLES[name]()
    config = layer.get_config()
    json.dumps(config)  # plain data
    clone = type(layer).from_config(config)
    assert type(clone) is type(layer)
    assert clone.get_config() == config
    assert config["name"] == layer.name


def test_lambda_config_keeps_the_function():
    fn = lambda t: t * 2  # noqa: E731
    layer = layers.Lambda(fn)
    assert layers.Lambda.from_config(layer.get_config()).function is fn


def test_round_tripped_layer_computes_the_same():
    for layer, x in ((layers.Conv1D(3, 2, activation="mish"), _x(2, 5, 2)),
                     (layers.Bidirectional(layers.GRU(2, return_sequences=True)), _x(2, 4, 3)),
                     (layers.SeparableConv2D(2, 2), _x(1, 3, 3, 2))):
        y = layer(x).detach().numpy()
        clone = type(layer).from_config(layer.get_config())
        clone(x)
        clone.set_weights(layer.get_weights())
        np.testing.assert_allclose(clone(x).detach().numpy(), y, rtol=1e-6)


# ------------------------------------------------------------------ names
def test_keras_names_never_fall_back_to_pytorch_layers():
    with pytest.raises(NotImplementedError, match="RNN"):
        layers.RNN(layers.SimpleRNN(2))
    with pytest.raises(NotImplementedError, match="Conv3D"):
        layers.Conv3D(2, 3)
    for name in ("Linear", "Conv2d", "BatchNorm2d", "TransformerBlock", "LayerNorm", "MultiheadAttention"):
        with pytest.raises(AttributeError, match=name):
            getattr(layers, name)
    assert layers.LSTM.__module__.endswith("recurrent") and layers.Embedding.__name__ == "Embedding"
    assert layers.ReLU(max_value=6.0)(np.array([7.0])).detach().numpy().tolist() == [6.0]


def test_dense_accepts_every_keras_activation_string():
    from tinydl.keras import activations
    x = _x(2, 3)
    for name in activations.NAMES:
        if name in ("softmax", "log_softmax"):
            continue
        layer = layers.Dense(2, activation=name, dtype="float64")
        gradcheck(lambda t: layer(t), x)


@pytest.mark.parametrize("name", ["swish", "elu", "selu", "softplus", "softsign", "gelu", "mish", "hard_sigmoid",
                                  "relu6"])
def test_activations_finite_for_extreme_float32(name):
    from tinydl.keras import activations
    x = tinydl.Tensor(np.array([-1e30, -1e4, 0.0, 1e4, 1e30], dtype=np.float32), requires_grad=True)
    y = activations.get(name)(x)
    assert np.all(np.isfinite(y.detach().numpy())), y
    y.sum().backward()
    assert np.all(np.isfinite(x.grad.detach().numpy()))


# ------------------------------------------------------------------ name modules
def test_name_modules_resolve_and_serialize():
    from tinydl.keras import activations, constraints, initializers, optimizers, regularizers
    assert activations.get("swish") is activations.swish and activations.serialize(activations.mish) == "mish"
    assert activations.deserialize("selu") is activations.selu and activations.get(None) is activations.linear
    init = initializers.get("GlorotUniform")
    assert isinstance(init, initializers.GlorotUniform) and initializers.get(initializers.HeNormal).get_config() == {
        "seed": None}
    assert initializers.deserialize(initializers.serialize(initializers.RandomNormal(stddev=0.3))).stddev == 0.3
    assert isinstance(initializers.get("lecun_normal"), initializers.LecunNormal)
    assert initializers.VarianceScaling(2.0, "fan_out", "uniform")((50, 40)).std() == pytest.approx(
        np.sqrt(2.0 / 40), rel=0.1)
    assert regularizers.deserialize(regularizers.serialize(regularizers.l1_l2(0.1, 0.2))).l2 == 0.2
    assert regularizers.get("l2").l2 == 0.01
    assert isinstance(constraints.deserialize(constraints.serialize(constraints.MaxNorm(3))), constraints.MaxNorm)
    assert isinstance(constraints.get("non_neg"), constraints.NonNeg)
    opt = optimizers.deserialize(optimizers.serialize(optimizers.Nadam(0.01)))
    assert isinstance(opt, optimizers.Nadam) and opt.get_config()["learning_rate"] == 0.01
    sched = optimizers.schedules.deserialize(optimizers.schedules.serialize(optimizers.schedules.PolynomialDecay(0.1, 5)))
    assert sched(5) == pytest.approx(0.0001)
    from tinydl.keras.optimizers.schedules import InverseTimeDecay  # Keras's module path
    assert InverseTimeDecay(1.0, 1, 1.0)(1) == 0.5
    for name in ("adagrad", "adamax", "nadam", "rmsprop", "adamw"):
        assert type(optimizers.get(name)).__name__.lower() == name


def test_kernel_constraints_are_applied_after_each_update():
    from tinydl.keras import constraints, optimizers
    layer = layers.Conv1D(2, 2, kernel_constraint=constraints.NonNeg(), bias_constraint="max_norm")
    layer(np.ones((1, 3, 2), np.float32))
    opt = optimizers.SGD(1.0)
    opt.apply_gradients([(np.ones(layer.kernel.shape, np.float32), layer.kernel),
                         (np.full(layer.bias.shape, -5.0, np.float32), layer.bias)])
    assert layer.kernel.detach().numpy().min() >= 0
    assert np.linalg.norm(layer.bias.detach().numpy()) <= 2 + 1e-5


def test_set_random_seed_repeats_draws():
    from tinydl.keras import utils
    utils.set_random_seed(11)
    a = (np.random.random(), layers.Dense(3)(np.ones((1, 2), np.float32)).detach().numpy())
    utils.set_random_seed(11)
    b = (np.random.random(), layers.Dense(3)(np.ones((1, 2), np.float32)).detach().numpy())
    assert a[0] == b[0] and np.array_equal(a[1], b[1])
    with pytest.raises(ValueError, match="seed"):
        utils.set_random_seed(1.5)


def test_pad_sequences_and_to_categorical_errors():
    from tinydl.keras import utils
    with pytest.raises(ValueError, match="padding"):
        utils.pad_sequences([[1]], padding="middle")
    with pytest.raises(ValueError, match="dtype"):
        utils.pad_sequences([["a"]], value="x")
    assert utils.pad_sequences([["a", "b"], ["c"]], dtype=object, value="").tolist() == [["a", "b"], ["", "c"]]
    with pytest.raises(ValueError, match="labels"):
        utils.to_categorical([0, 3], num_classes=3)
