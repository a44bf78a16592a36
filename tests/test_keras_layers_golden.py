"""tinydl.keras against values recorded from Keras 3 / TensorFlow 2.21
(tests/golden/record_keras_layers.py): layer outputs, input gradients, weight shapes and
parameter counts with the same weights; activations, losses, metrics, optimizer trajectories,
schedules, text vectorization, lookups and utils."""
import json
import os

import numpy as np
import pytest

import tinydl
from tinydl.keras import activations, constraints, initializers, layers, losses, metrics, optimizers, regularizers
from tinydl.keras import utils

HERE = os.path.join(os.path.dirname(__file__), "golden")
with open(os.path.join(HERE, "keras_layers.json")) as _f:
    META = json.load(_f)
with np.load(os.path.join(HERE, "keras_layers.npz"), allow_pickle=False) as _f:
    _BLOB = _f["blob"].tobytes()
# every recorded array: a slice of the one byte buffer, per the JSON index
G = {key: np.frombuffer(_BLOB, dtype=np.dtype(dt), count=int(np.prod(shape, dtype=np.int64)),
                        offset=off).reshape(shape)
     for key, (off, shape, dt) in META["index"].items()}


def test_recorded_with_tensorflow_2_21():
    assert META["__version__"] == "2.21.0"


def _make(cls, kwargs):
    kw = {k: _make(v["class"], v["kwargs"]) if isinstance(v, dict) and "class" in v else
          (tuple(tuple(x) if isinstance(x, list) else x for x in v) if isinstance(v, list) and k != "shared_axes" else v)
          for k, v in kwargs.items()}
    return getattr(layers, cls)(**kw)


def _cotangent(name, shape):
    """The record script's fixed output weights for a case (drawn from the case name)."""
    seed = sum(ord(c) * (i + 1) for i, c in enumerate(name))
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _call(layer, cls, xs):
    if cls == "MultiHeadAttention":   # Keras calls it as layer(query, value)
        return layer(*xs)
    return layer(xs if len(xs) > 1 else xs[0])


@pytest.mark.parametrize("case", sorted(META["layers"]))
def test_layer_matches_keras(case):
    spec = META["layers"][case]
    layer = _make(spec["class"], spec["kwargs"])
    with tinydl.no_grad():  # build
        _call(layer, spec["class"], [tinydl.Tensor(G[f"input/{n}"]) for n in spec["inputs"]])
    assert [list(w.shape) for w in layer.get_weights()] == spec["weight_shapes"]
    assert sum(int(np.prod(s)) for s in spec["weight_shapes"]) == spec["count_params"]
    weights = [G[f"layer/{case}/weight_{i}"] for i in range(len(spec["weight_shapes"]))]
    if weights:
        layer.set_weights(weights)
    layer.eval()
    xs = [tinydl.Tensor(G[f"input/{n}"], requires_grad=G[f"input/{n}"].dtype.kind == "f") for n in spec["inputs"]]
    y = _call(layer, spec["class"], xs)
    np.testing.assert_allclose(y.detach().numpy(), G[f"layer/{case}/output"], rtol=2e-4, atol=2e-4)
    (y * tinydl.Tensor(_cotangent(case, y.shape))).sum().backward()
    for n, x in zip(spec["inputs"], xs):
        key = f"layer/{case}/grad_{n}"
        if key in G:
            got = x.grad.detach().numpy() if x.grad is not None else np.zeros_like(G[key])
            np.testing.assert_allclose(got, G[key], rtol=2e-4, atol=2e-4)
    # every Keras config key is in ours, but for arguments of features tinydl does not have
    # (Keras's quantization and LoRA; the constraints/activity regularizer of the older layers)
    missing = set(spec["config_keys"]) - set(layer.get_config()) - NOT_IN_CONFIG - KNOWN_MISSING.get(spec["class"], set())
    assert not missing, missing


# Keras arguments of features tinydl does not have (quantization, LoRA, seeds of its own RNG)
NOT_IN_CONFIG = {"seed", "quantization_config", "lora_rank", "lora_alpha"}
# Arguments the older tinydl.nn layers do not take (passing one raises TypeError); listed in
# docs/conformance/keras_layers.md
_CONSTRAINTS = {"activity_regularizer", "kernel_constraint", "bias_constraint"}
KNOWN_MISSING = {
    "Dense": _CONSTRAINTS, "Conv2D": _CONSTRAINTS | {"groups"}, "Conv2DTranspose": _CONSTRAINTS | {"groups"},
    "BatchNormalization": {"beta_constraint", "beta_initializer", "beta_regularizer", "gamma_constraint",
                           "gamma_initializer", "gamma_regularizer", "moving_mean_initializer",
                           "moving_variance_initializer", "renorm", "renorm_clipping", "renorm_momentum",
                           "synchronized"},
    "LayerNormalization": {"beta_constraint", "gamma_constraint", "rms_scaling", "beta_initializer",
                           "gamma_initializer", "beta_regularizer", "gamma_regularizer"},
    "Dropout": {"noise_shape"}, "Flatten": {"data_format"},
    "Embedding": {"embeddings_constraint", "activity_regularizer"},
    "MultiHeadAttention": {"activity_regularizer", "attention_axes", "bias_constraint", "kernel_constraint",
                           "sliding_window", "use_gate"},
    "SimpleRNN": {"recurrent_constraint", "zero_output_for_mask"} | _CONSTRAINTS,
    "LSTM": {"recurrent_constraint", "zero_output_for_mask"} | _CONSTRAINTS,
    "GRU": {"recurrent_constraint", "zero_output_for_mask"} | _CONSTRAINTS,
}


def test_normalization_matches_keras():
    norm = layers.Normalization()
    norm.adapt(G["layer/normalization_adapt/adapt_data"])
    np.testing.assert_allclose(norm(G["input/x2"]).detach().numpy(), G["layer/normalization_adapt/output"], rtol=1e-4,
                               atol=1e-4)
    special = META["layers_special"]["normalization"]
    assert [list(w.shape) for w in norm.get_weights()] == special["weight_shapes"]
    given = layers.Normalization(mean=[1.0, 2.0, 3.0, 4.0], variance=[1.0, 4.0, 9.0, 0.0])
    np.testing.assert_allclose(given(G["input/x2"]).detach().numpy(), G["layer/normalization_given/output"], rtol=1e-5)
    inv = layers.Normalization(mean=[1.0, 2.0, 3.0, 4.0], variance=[1.0, 4.0, 9.0, 16.0], invert=True)
    np.testing.assert_allclose(inv(G["input/x2"]).detach().numpy(), G["layer/normalization_invert/output"], rtol=1e-5)


ACTIVATIONS = sorted(k.split("/")[1] for k in G if k.startswith("activation/") and k.endswith("/value"))


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_matches_keras(name):
    x = tinydl.Tensor(G["activation/x"][None, :] if name in ("softmax", "log_softmax") else G["activation/x"],
                      requires_grad=True)
    y = activations.get(name)(x)
    np.testing.assert_allclose(y.detach().numpy(), G[f"activation/{name}/value"], rtol=1e-5, atol=1e-6)
    (y * tinydl.Tensor(np.cos(x.detach().numpy()))).sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), G[f"activation/{name}/grad"], rtol=1e-4, atol=1e-5)
    # and as a string in a layer
    np.testing.assert_allclose(layers.Activation(name)(x).detach().numpy(), G[f"activation/{name}/value"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", sorted(META["losses"]))
def test_loss_matches_keras(case):
    spec = META["losses"][case]
    loss = getattr(losses, spec["class"])(**spec["kwargs"])
    yt = G[f"loss_input/{spec['y_true']}"]
    yp = tinydl.Tensor(G[f"loss_input/{spec['y_pred']}"], requires_grad=True)
    value = loss(yt, yp)
    np.testing.assert_allclose(value.detach().numpy(), G[f"loss/{case}/value"], rtol=1e-4, atol=1e-6)
    value.backward()
    np.testing.assert_allclose(yp.grad.detach().numpy(), G[f"loss/{case}/grad"], rtol=1e-4, atol=1e-6)
    if f"loss/{case}/weighted" in G:
        weighted = loss(yt, G[f"loss_input/{spec['y_pred']}"], sample_weight=G["loss_input/sw"])
        np.testing.assert_allclose(weighted.detach().numpy(), G[f"loss/{case}/weighted"], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("case", sorted(META["metrics"]))
def test_metric_matches_keras(case):
    spec = META["metrics"][case]
    m = getattr(metrics, spec["class"])(**spec["kwargs"])
    t, p = G[f"metric_input/{spec['y_true']}"], G[f"metric_input/{spec['y_pred']}"]
    half = len(t) // 2
    m.update_state(t[:half], p[:half])
    m.update_state(t[half:], p[half:])
    np.testing.assert_allclose(np.asarray(m.result()), G[f"metric/{case}/value"], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("case", sorted(META["optimizers"]))
def test_optimizer_trajectory_matches_keras(case):
    spec = META["optimizers"][case]
    kwargs = dict(spec["kwargs"])
    if isinstance(kwargs.get("learning_rate"), dict):
        s = kwargs["learning_rate"]
        kwargs["learning_rate"] = getattr(optimizers.schedules, s["schedule"])(**s["kwargs"])
    opt = getattr(optimizers, spec["class"])(**kwargs)
    c, target = G["optimizer_input/c"], G["optimizer_input/target"]
    w = tinydl.Tensor(G["optimizer_input/w0"].copy(), requires_grad=True)
    traj = []
    for _ in range(6):
        grad = 2 * c * (w.detach().numpy() - target) + 0.4 * w.detach().numpy() ** 3
        opt.apply_gradients([(tinydl.Tensor(grad.astype(np.float32)), w)])
        traj.append(w.detach().numpy().copy())
    np.testing.assert_allclose(np.stack(traj), G[f"optimizer/{case}/trajectory"], rtol=1e-4, atol=1e-5)
    # Keras's defaults, as recorded from its get_config
    ours = opt.get_config()
    for key, value in spec["defaults"].items():
        if key in ours and key != "name" and isinstance(value, (int, float)) and not isinstance(ours[key], dict):
            assert ours[key] == pytest.approx(value), key


@pytest.mark.parametrize("case", sorted(META["schedules"]))
def test_schedule_matches_keras(case):
    spec = META["schedules"][case]
    s = getattr(optimizers.schedules, spec["class"])(**spec["kwargs"])
    np.testing.assert_allclose([s(step) for step in range(21)], G[f"schedule/{case}/values"], rtol=1e-5)


@pytest.mark.parametrize("case", sorted(META["text"]["cases"]))
def test_text_vectorization_matches_keras(case):
    spec = META["text"]["cases"][case]
    tv = layers.TextVectorization(**spec["kwargs"])
    tv.adapt(META["text"]["corpus"])
    assert tv.get_vocabulary() == spec["vocabulary"]
    np.testing.assert_allclose(tv(META["text"]["test"]).detach().numpy(), G[f"text/{case}/output"], rtol=1e-5, atol=1e-6)


def test_lookups_match_keras():
    sl = layers.StringLookup()
    sl.adapt(np.array(["b", "a", "c", "a", "b", "a"]))
    assert sl.get_vocabulary() == META["lookup"]["string_vocab"]
    np.testing.assert_array_equal(sl(np.array([["a", "d"], ["c", "b"]])).detach().numpy(), G["lookup/string/output"])
    slm = layers.StringLookup(vocabulary=["x", "y"], mask_token="[M]")
    np.testing.assert_array_equal(slm(np.array(["y", "[M]", "q", "x"])).detach().numpy(), G["lookup/string_mask/output"])
    slh = layers.StringLookup(vocabulary=["x", "y", "z"], output_mode="multi_hot")
    np.testing.assert_array_equal(slh(np.array([["x", "z"], ["q", "q"]])).detach().numpy(), G["lookup/string_multi_hot/output"])
    il = layers.IntegerLookup()
    il.adapt(np.array([7, 3, 7, 9, 3, 7]))
    assert il.get_vocabulary() == META["lookup"]["integer_vocab"]
    np.testing.assert_array_equal(il(np.array([3, 7, 42, 9])).detach().numpy(), G["lookup/integer/output"])
    ili = layers.IntegerLookup(vocabulary=[10, 20, 30], invert=True)
    np.testing.assert_array_equal(np.asarray(ili(np.array([1, 3, 0])), dtype=np.int64), G["lookup/integer_invert/output"])
    for mode in ("one_hot", "multi_hot", "count"):
        data = np.array([3, 1, 4]) if mode == "one_hot" else np.array([[0, 1, 1], [4, 4, 2]])
        out = layers.CategoryEncoding(num_tokens=5, output_mode=mode)(data).detach().numpy()
        np.testing.assert_array_equal(out, G[f"lookup/category_{mode}/output"])


def test_utils_match_keras():
    for name, kwargs in META["utils"]["pad_cases"].items():
        got = utils.pad_sequences(META["utils"]["sequences"], **kwargs)
        np.testing.assert_array_equal(got, G[f"utils/pad/{name}"])
        assert got.dtype == G[f"utils/pad/{name}"].dtype
    np.testing.assert_array_equal(utils.to_categorical(np.array([0, 2, 1, 2]), num_classes=4), G["utils/to_categorical"])
    np.testing.assert_allclose(utils.normalize(G["utils/normalize_input"]), G["utils/normalize"], rtol=1e-6)


@pytest.mark.parametrize("name", sorted(META["initializers"]))
def test_initializer_matches_keras(name):
    spec = META["initializers"][name]
    tinydl.manual_seed(3)
    v = np.asarray(initializers.get(name)(tuple(spec["shape"])))
    assert v.shape == tuple(spec["shape"])
    if f"initializer/{name}" in G:
        np.testing.assert_array_equal(v, G[f"initializer/{name}"])
    else:
        assert v.std() == pytest.approx(spec["std"], rel=0.03)
        assert abs(v.mean() - spec["mean"]) < 5 * spec["std"] / np.sqrt(v.size)
        assert v.max() <= spec["max_abs"] * 1.1 + 1e-6


def test_constant_initializer_constraints_and_regularizers_match_keras():
    np.testing.assert_array_equal(initializers.Constant(2.5)((2, 3)), G["initializer/Constant"])
    w = G["constraint_input"]
    for key, spec in META["names"]["constraints"].items():
        got = getattr(constraints, spec["class"])(**spec["kwargs"])(w)
        np.testing.assert_allclose(got, G[f"constraint/{key}"], rtol=1e-5, atol=1e-6)
    for key, reg in [("l1", regularizers.l1(0.3)), ("l2", regularizers.l2(0.2)),
                     ("l1_l2", regularizers.l1_l2(l1=0.1, l2=0.4)), ("L1L2_default", regularizers.L1L2())]:
        np.testing.assert_allclose(reg(tinydl.Tensor(w)).detach().numpy(), G[f"regularizer/{key}"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fn", sorted(META["loss_functions"]))
def test_loss_function_matches_keras(fn):
    yt, yp = META["loss_functions"][fn]
    got = getattr(losses, fn)(G[f"loss_input/{yt}"], tinydl.Tensor(G[f"loss_input/{yp}"]))
    np.testing.assert_allclose(got.detach().numpy(), G[f"loss_fn/{fn}"], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("fn", sorted(META["metric_functions"]))
def test_metric_function_matches_keras(fn):
    yt, yp = META["metric_functions"][fn]
    t, p = G[f"metric_input/{yt}"], G[f"metric_input/{yp}"]
    if fn == "binary_accuracy":
        t, p = t[:, None], p[:, None]
    np.testing.assert_allclose(np.asarray(getattr(metrics, fn)(t, p), dtype=np.float64), G[f"metric_fn/{fn}"],
                               rtol=1e-6)
