"""Layers: forward against plain NumPy loops, gradients by gradcheck, on hypothesis-drawn configs."""
import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

import tinydl as td
from tinydl.backends import to_host
from tinydl import nn
from tinydl.nn import channels_last as F
from tinydl.testing import OpSpec, gradcheck
from tinydl.testing import strategies as tst

RNG = np.random.default_rng(0)


# ---------------------------------------------------------------- plain references (loops)
def conv_ref(x, w, stride, pads, dil):
    """NHWC cross-correlation by looping over output positions."""
    (pt, pb), (pl, pr) = pads
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    kh, kw, _, o = w.shape
    oh = (xp.shape[1] - dil[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (xp.shape[2] - dil[1] * (kw - 1) - 1) // stride[1] + 1
    y = np.zeros((x.shape[0], oh, ow, o))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, i * stride[0]: i * stride[0] + dil[0] * (kh - 1) + 1: dil[0],
                       j * stride[1]: j * stride[1] + dil[1] * (kw - 1) + 1: dil[1], :]
            y[:, i, j, :] = np.tensordot(patch, w, axes=([1, 2, 3], [0, 1, 2]))
    return y


def conv_transpose_ref(x, w, stride, lo, out_hw, dil=(1, 1)):
    """Scatter each input pixel's kernel-weighted copy into the output, then crop the padding."""
    n, h, wd, _ = x.shape
    kh, kw, cout, _ = w.shape
    full = np.zeros((n, (h - 1) * stride[0] + dil[0] * (kh - 1) + 1 + out_hw[0],
                     (wd - 1) * stride[1] + dil[1] * (kw - 1) + 1 + out_hw[1], cout))
    for i in range(h):
        for j in range(wd):
            for a in range(kh):
                for b in range(kw):
                    full[:, i * stride[0] + a * dil[0], j * stride[1] + b * dil[1], :] += x[:, i, j, :] @ w[a, b].T
    return full[:, lo[0]: lo[0] + out_hw[0], lo[1]: lo[1] + out_hw[1], :]


def pool_ref(x, pool, stride, pads, kind):
    (pt, pb), (pl, pr) = pads
    fill = -np.inf if kind == "max" else np.nan
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=fill)
    oh = (xp.shape[1] - pool[0]) // stride[0] + 1
    ow = (xp.shape[2] - pool[1]) // stride[1] + 1
    y = np.zeros((x.shape[0], oh, ow, x.shape[3]))
    for i in range(oh):
        for j in range(ow):
            win = xp[:, i * stride[0]: i * stride[0] + pool[0], j * stride[1]: j * stride[1] + pool[1], :]
            y[:, i, j, :] = win.max(axis=(1, 2)) if kind == "max" else np.nanmean(win, axis=(1, 2))
    return y


def same_pads(hw, k, s, d=(1, 1)):
    out = []
    for n, kk, ss, dd in zip(hw, k, s, d):
        total = max((-(-n // ss) - 1) * ss + (kk - 1) * dd + 1 - n, 0)
        out.append((total // 2, total - total // 2))
    return tuple(out)


# ---------------------------------------------------------------- drawn configurations
@st.composite
def conv_configs(draw):
    n, c, o = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = draw(st.sampled_from(["valid", "same", 0, 1, 2]))
    layout = draw(st.sampled_from(["channels_last", "channels_first"]))
    pads = (((0, 0), (0, 0)) if padding == "valid" else same_pads((h, w), k, s, d) if padding == "same"
            else ((padding, padding), (padding, padding)))
    assume(h + sum(pads[0]) >= d[0] * (k[0] - 1) + 1 and w + sum(pads[1]) >= d[1] * (k[1] - 1) + 1)
    return dict(n=n, c=c, o=o, hw=(h, w), k=k, s=s, d=d, padding=padding, pads=pads, layout=layout)


def _nchw(a, layout):
    return a.transpose(0, 3, 1, 2) if layout == "channels_first" else a


@given(conv_configs())
def test_conv2d_forward_and_gradients(cfg):
    x = RNG.standard_normal((cfg["n"], *cfg["hw"], cfg["c"]))
    w = RNG.standard_normal((*cfg["k"], cfg["c"], cfg["o"]))
    b = RNG.standard_normal(cfg["o"])
    want = conv_ref(x, w, cfg["s"], cfg["pads"], cfg["d"]) + b
    layout = cfg["layout"]

    def f(xx, ww, bb):
        return F.conv2d(xx, ww, bb, cfg["s"], cfg["padding"], cfg["d"], data_format=layout)
    got = f(td.Tensor(_nchw(x, layout)), td.Tensor(w), td.Tensor(b)).detach().numpy()
    np.testing.assert_allclose(got, _nchw(want, layout), rtol=1e-10, atol=1e-10)
    gradcheck(f, _nchw(x, layout), w, b)


@given(conv_configs(), st.sampled_from([None, "relu", "tanh", "sigmoid"]))
def test_conv2d_with_bias_and_activation_fused_and_reference_paths(cfg, act):
    """The Numba provider fuses conv + bias + activation (Conv2DBiasAct); the reference does not."""
    x = RNG.standard_normal((cfg["n"], *cfg["hw"], cfg["c"]))
    w = RNG.standard_normal((*cfg["k"], cfg["c"], cfg["o"]))
    b = RNG.standard_normal(cfg["o"])
    z = conv_ref(x, w, cfg["s"], cfg["pads"], cfg["d"]) + b
    if act == "relu":
        assume(np.abs(z).min() > 1e-3)  # away from relu's kink for the finite differences
    want = {None: z, "relu": np.maximum(z, 0), "tanh": np.tanh(z), "sigmoid": 1 / (1 + np.exp(-z))}[act]

    def f(xx, ww, bb):
        return F.conv2d(xx, ww, bb, cfg["s"], cfg["padding"], cfg["d"], activation=act)
    for reference in (False, True):
        with td.use_reference(reference):
            np.testing.assert_allclose(f(td.Tensor(x), td.Tensor(w), td.Tensor(b)).detach().numpy(), want,
                                       rtol=1e-10, atol=1e-10)
            gradcheck(f, x, w, b)


@given(conv_configs())
def test_conv2d_layer_both_layouts_match_functional(cfg):
    layer = nn.Conv2D(cfg["o"], cfg["k"], strides=cfg["s"], padding=cfg["padding"], dilation_rate=cfg["d"],
                      data_format=cfg["layout"], activation="relu", dtype="float64")
    x = _nchw(RNG.standard_normal((cfg["n"], *cfg["hw"], cfg["c"])), cfg["layout"])
    got = layer(td.Tensor(x)).detach().numpy()
    want = _nchw(np.maximum(conv_ref(_nchw(x, cfg["layout"]) if cfg["layout"] == "channels_last"
                                     else x.transpose(0, 2, 3, 1), layer.kernel.detach().numpy(), cfg["s"], cfg["pads"],
                                     cfg["d"]) + layer.bias.detach().numpy(), 0), cfg["layout"])
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


@st.composite
def transpose_configs(draw):
    n, c, o = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = draw(st.sampled_from(["valid", "same", 0, 1]))
    if padding == "valid":
        lo, out = (0, 0), ((h - 1) * s[0] + k[0], (w - 1) * s[1] + k[1])
    elif padding == "same":
        lo = (max(k[0] - s[0], 0) // 2, max(k[1] - s[1], 0) // 2)
        out = (h * s[0], w * s[1])
    else:
        lo = (padding, padding)
        out = ((h - 1) * s[0] - 2 * padding + k[0], (w - 1) * s[1] - 2 * padding + k[1])
    assume(min(out) >= 1)
    return dict(n=n, c=c, o=o, hw=(h, w), k=k, s=s, padding=padding, lo=lo, out=out)


@given(transpose_configs())
def test_conv2d_transpose_forward_and_gradients(cfg):
    x = RNG.standard_normal((cfg["n"], *cfg["hw"], cfg["c"]))
    w = RNG.standard_normal((*cfg["k"], cfg["o"], cfg["c"]))
    want = conv_transpose_ref(x, w, cfg["s"], cfg["lo"], cfg["out"])

    def f(xx, ww):
        return F.conv2d_transpose(xx, ww, None, cfg["s"], cfg["padding"])
    got = f(td.Tensor(x), td.Tensor(w)).detach().numpy()
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
    gradcheck(f, x, w)


def test_conv2d_transpose_layers_both_flavours():
    keras_layer = nn.Conv2DTranspose(3, 4, strides=2, padding="same", dtype="float64")
    x = RNG.standard_normal((2, 5, 5, 2))
    y = keras_layer(td.Tensor(x))
    assert y.shape == (2, 10, 10, 3) and keras_layer.kernel.shape == (4, 4, 3, 2)
    torch_layer = nn.ConvTranspose2d(2, 3, 4, stride=2, padding=1, dtype="float64")
    out = torch_layer(td.Tensor(x.transpose(0, 3, 1, 2)))
    assert out.shape == (2, 3, 10, 10)  # (5-1)*2 - 2*1 + 4 = 10
    want = conv_transpose_ref(x, torch_layer.weight.detach().numpy().transpose(2, 3, 1, 0), (2, 2), (1, 1), (10, 10)) + torch_layer.bias.detach().numpy()
    np.testing.assert_allclose(out.detach().numpy(), want.transpose(0, 3, 1, 2), rtol=1e-10, atol=1e-10)


@st.composite
def pool_configs(draw):
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    p = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = draw(st.sampled_from(["valid", "same"]))
    pads = ((0, 0), (0, 0)) if padding == "valid" else same_pads((h, w), p, s)
    assume(h + sum(pads[0]) >= p[0] and w + sum(pads[1]) >= p[1])
    kind = draw(st.sampled_from(["max", "avg"]))
    layout = draw(st.sampled_from(["channels_last", "channels_first"]))
    return dict(shape=(n, h, w, c), p=p, s=s, padding=padding, pads=pads, kind=kind, layout=layout)


@given(pool_configs())
def test_pooling_forward_and_gradients(cfg):
    x = RNG.permutation(np.prod(cfg["shape"])).reshape(cfg["shape"]) * 0.01  # distinct: no ties
    fn = F.max_pool2d if cfg["kind"] == "max" else F.avg_pool2d
    layout = cfg["layout"]

    def f(xx):
        return fn(xx, cfg["p"], cfg["s"], cfg["padding"], data_format=layout)
    got = f(td.Tensor(_nchw(x, layout))).detach().numpy()
    np.testing.assert_allclose(got, _nchw(pool_ref(x, cfg["p"], cfg["s"], cfg["pads"], cfg["kind"]), layout),
                               rtol=1e-12, atol=1e-12)
    gradcheck(f, _nchw(x, layout), eps=1e-4)


def test_maxpool_ties_send_gradient_to_the_first_maximum():
    x = td.Tensor(np.ones((1, 2, 2, 1)), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.detach().numpy()[0, :, :, 0], [[1, 0], [0, 0]])


def test_seed_worked_example():
    """SEED-NOTES: a 5x5 input of ones, the 3x3 kernel [[1,-1,0],[1,-1,0],[0,0,1]], ReLU, 2x2 max pool.

    Checked by hand: every 3x3 window of an all-ones input sees the whole kernel, so every output is
    the kernel's sum, 1 + (-1) + 0 + 1 + (-1) + 0 + 0 + 0 + 1 = 1. The feature map is all ones, not the
    seed's [[2,2,2],[2,0,-2],[0,-2,0]] (a constant input cannot give a varying map); ReLU leaves it;
    2x2 pooling with stride 2 gives [[1]] (the seed's 2x2 pooled map would need stride 1, and would be
    all ones as well).
    """
    x = td.Tensor(np.ones((1, 5, 5, 1)))
    k = td.Tensor(np.array([[1, -1, 0], [1, -1, 0], [0, 0, 1]], float).reshape(3, 3, 1, 1))
    fmap = F.conv2d(x, k)
    np.testing.assert_array_equal(fmap.detach().numpy()[0, :, :, 0], np.ones((3, 3)))
    relu = td.relu(fmap)
    np.testing.assert_array_equal(relu.detach().numpy()[0, :, :, 0], np.ones((3, 3)))
    np.testing.assert_array_equal(F.max_pool2d(relu, 2).detach().numpy()[0, :, :, 0], [[1.0]])
    np.testing.assert_array_equal(F.max_pool2d(relu, 2, strides=1).detach().numpy()[0, :, :, 0], np.ones((2, 2)))


# ---------------------------------------------------------------- fused ops (inventory specs)
@st.composite
def _bias_act_inputs(draw):
    shape = draw(tst.shapes(1, 3))
    x = draw(tst.arrays(shape, tst.away_from([0.0], 0.05)))
    b = draw(tst.arrays((shape[-1],), tst.floats(-0.02, 0.02)))
    return x, b


@st.composite
def _xent_inputs(draw):
    n, k = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    logits = draw(tst.arrays((n, k), tst.floats(-5, 5)))
    labels = np.asarray(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)), dtype=np.int64)
    return logits, labels


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


SPECS = [
    OpSpec(f"bias_act_{act}", lambda x, b, act=act: F.bias_act(x, b, act), ref, _bias_act_inputs(), ["BiasAct"])
    for act, ref in [("linear", lambda x, b: x + b), ("relu", lambda x, b: np.maximum(x + b, 0)),
                     ("sigmoid", lambda x, b: _sigmoid(x + b)), ("tanh", lambda x, b: np.tanh(x + b))]
] + [
    OpSpec("softmax_cross_entropy", lambda z, y: nn.functional.cross_entropy(z, y, reduction="none"),
           lambda z, y: np.log(np.exp(z).sum(1)) - z[np.arange(len(y)), y], _xent_inputs(),
           ["SoftmaxCrossEntropy"], wrt=[0]),
]
# Conv2D, Conv2DTranspose, MaxPool2D and AvgPool2D are gradchecked by the hypothesis tests above.
EXTRA_COVERED = {"Conv2D", "Conv2DTranspose", "MaxPool2D", "AvgPool2D", "Conv2DBiasAct"}


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@given(data=st.data())
def test_fused_op(spec, data):
    from tinydl.testing import check_op_spec
    check_op_spec(spec, data.draw(spec.inputs))


# ---------------------------------------------------------------- other layers
@given(st.integers(1, 4), st.integers(1, 5), st.integers(1, 4), st.sampled_from([None, "relu", "tanh", "sigmoid", "softmax"]))
def test_dense_forward_and_gradients(n, fin, units, act):
    layer = nn.Dense(units, activation=act, dtype="float64")
    x = RNG.standard_normal((n, fin))
    layer(td.Tensor(x))
    k, b = layer.kernel.detach().numpy(), layer.bias.detach().numpy()
    z = x @ k + b
    ref = {None: z, "relu": np.maximum(z, 0), "tanh": np.tanh(z), "sigmoid": _sigmoid(z),
           "softmax": np.exp(z) / np.exp(z).sum(1, keepdims=True)}[act]
    np.testing.assert_allclose(layer(td.Tensor(x)).detach().numpy(), ref, rtol=1e-10, atol=1e-12)
    if act == "relu":
        assume(np.abs(z).min() > 0.05)  # away from relu's kink
    gradcheck(lambda xx, kk, bb: nn.layers.activate(xx @ kk, act, bb), x, k, b)


def test_keras_dropout_called_alone_is_inactive_unless_training():
    from tinydl.keras import layers
    x = td.Tensor(np.ones((20, 50)))
    drop = layers.Dropout(0.5)
    np.testing.assert_array_equal(np.asarray(drop(x)), np.asarray(x))  # as Keras: inference by default
    assert (np.asarray(drop(x, training=True)) == 0).any()
    np.testing.assert_array_equal(np.asarray(drop(x)), np.asarray(x))  # training=True was for that call only


def test_dropout_train_and_eval():
    td.manual_seed(1)
    layer = nn.Dropout(0.25)
    x = td.Tensor(np.ones((200, 50)))
    y = layer(x).detach().numpy()
    assert set(np.unique(y)) <= {0.0, 1 / 0.75}
    assert abs((y == 0).mean() - 0.25) < 0.02
    layer.eval()
    np.testing.assert_array_equal(layer(x).detach().numpy(), x.detach().numpy())


@given(st.integers(2, 5), st.sampled_from([(3,), (2, 3, 4)]))
def test_batchnorm_train_eval_and_gradients(n, feat):
    layer = nn.BatchNormalization(momentum=0.9, epsilon=1e-3, dtype="float64")
    assert not layer.training  # Keras: a standalone layer runs in inference mode unless told otherwise
    layer.train()
    x = RNG.standard_normal((n,) + feat) * 2 + 1
    y = layer(td.Tensor(x)).detach().numpy()
    axes = tuple(range(x.ndim - 1))
    want = (x - x.mean(axes)) / np.sqrt(x.var(axes) + 1e-3)
    np.testing.assert_allclose(y, want, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(to_host(layer.moving_mean), 0.1 * x.mean(axes), rtol=1e-9)
    layer.eval()
    np.testing.assert_allclose(layer(td.Tensor(x)).detach().numpy(),
                               (x - to_host(layer.moving_mean)) / np.sqrt(to_host(layer.moving_variance) + 1e-3), rtol=1e-9)
    layer.train()
    g, b = RNG.uniform(0.5, 1.5, feat[-1]), RNG.uniform(-1, 1, feat[-1])

    def f(xx, gg, bb):
        fresh = nn.BatchNormalization(dtype="float64")
        fresh(xx)  # builds
        fresh.gamma, fresh.beta = gg, bb  # plain tensors in place of the parameters, for gradcheck
        return fresh(xx)
    gradcheck(f, x, g, b)


def test_batchnorm_torch_flavour_running_stats():
    bn = nn.BatchNorm2d(2)
    x = np.random.default_rng(0).standard_normal((4, 2, 3, 3)).astype(np.float32)
    bn(td.Tensor(x))
    np.testing.assert_allclose(bn.running_mean.detach().numpy(), 0.1 * x.mean((0, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.detach().numpy(), 0.9 + 0.1 * x.var((0, 2, 3), ddof=1), rtol=1e-5)
    assert bn.num_batches_tracked.detach().numpy() == 1 and bn.num_batches_tracked.dtype == np.int64


def test_global_average_pooling_flatten_reshape():
    x = RNG.standard_normal((2, 3, 4, 5))
    np.testing.assert_allclose(nn.GlobalAveragePooling2D()(td.Tensor(x)).detach().numpy(), x.mean((1, 2)))
    assert nn.Flatten()(td.Tensor(x)).shape == (2, 60)
    assert nn.Reshape((12, 5))(td.Tensor(x)).shape == (2, 12, 5)
    gradcheck(lambda t: nn.GlobalAveragePooling2D()(t), x)


def test_initializers_have_keras_statistics():
    td.manual_seed(0)
    k = nn.init.glorot_uniform((300, 200), "float64")
    assert abs(k.max()) <= np.sqrt(6 / 500) and abs(k.std() - np.sqrt(2 / 500)) < 0.002
    h = nn.init.he_normal((3, 3, 64, 128), "float64")
    assert abs(h.std() - np.sqrt(2 / (9 * 64))) < 0.003
    q = nn.init.orthogonal((16, 16), "float64")
    np.testing.assert_allclose(q @ q.T, np.eye(16), atol=1e-10)
    layer = nn.Dense(4, kernel_initializer="he_uniform", bias_initializer="ones")
    layer(td.ones(1, 3))
    assert (layer.bias.detach().numpy() == 1).all()


def test_layer_errors_name_the_layer_and_shapes():
    dense = nn.Dense(10, name="hidden")
    dense(td.zeros(2, 784))
    with pytest.raises(ValueError, match=r"hidden \(Dense\): expected input with last dimension 784.*\(2, 10\)"):
        dense(td.zeros(2, 10))
    conv = nn.Conv2D(8, 3, name="conv_a")
    conv(td.zeros(1, 28, 28, 1))
    with pytest.raises(ValueError, match=r"conv_a \(Conv2D\): expected channels_last.*\(1, 1, 28, 28\).*channels-first"):
        conv(td.zeros(1, 1, 28, 28))
    with pytest.raises(ValueError, match=r"kernel \(5, 5\).*larger than the padded input"):
        nn.Conv2D(2, 5)(td.zeros(1, 3, 3, 1))


def test_module_api_state_dict_and_freezing():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3)
            self.bn = nn.BatchNorm2d(2)
            self.fc = nn.Linear(2 * 4 * 4, 3)

        def forward(self, x):
            return self.fc(td.relu(self.bn(self.conv(x))).reshape(x.shape[0], -1))

    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["conv.weight", "conv.bias", "bn.weight", "bn.bias",
                                                      "fc.weight", "fc.bias"]
    assert len(list(net.children())) == 3
    out = net(td.Tensor(np.ones((2, 1, 6, 6), np.float32)))
    assert out.shape == (2, 3)
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    sd = net.state_dict()
    assert list(sd)[2:7] == ["bn.weight", "bn.bias", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"]
    other = Net()
    other.load_state_dict(sd)
    np.testing.assert_array_equal(other.fc.weight.detach().numpy(), net.fc.weight.detach().numpy())
    bad = dict(sd)
    bad["fc.weight"] = np.zeros((3, 3), np.float32)
    with td.no_grad():
        other.conv.weight.copy_(5)
    with pytest.raises(RuntimeError, match=r"size mismatch for fc.weight: copying a param with shape \(3, 3\) from "
                                           r"checkpoint, the shape in current model is \(3, 32\)"):
        other.load_state_dict(bad)
    assert (other.conv.weight.detach().numpy() == 5).all()  # untouched on failure
    with pytest.raises(RuntimeError, match='Error\\(s\\) in loading state_dict for Net:\n\tMissing key\\(s\\) in '
                                           'state_dict: "fc.bias". '):
        other.load_state_dict({k: v for k, v in sd.items() if k != "fc.bias"})
    res = other.load_state_dict({**{k: v for k, v in sd.items() if k != "fc.bias"}, "extra": sd["fc.bias"]},
                                strict=False)
    assert res.missing_keys == ["fc.bias"] and res.unexpected_keys == ["extra"]
    net.conv.requires_grad_(False)
    assert not net.conv.weight.requires_grad
    net.eval()
    assert not net.bn.training
