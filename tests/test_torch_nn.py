"""tinydl.nn against PyTorch 2.13's torch.nn: golden values recorded by
tests/golden/record_torch_nn.py (state_dicts, inputs, outputs, input and parameter gradients)."""
import json
import math
import os
import warnings

import numpy as np
import pytest

import tinydl
from tinydl import nn
from tinydl.nn import functional as F

HERE = os.path.join(os.path.dirname(__file__), "golden")
with open(os.path.join(HERE, "torch_nn.json")) as _f:
    META = json.load(_f)
_NPZ = np.load(os.path.join(HERE, "torch_nn.npz"), allow_pickle=False)
_BLOBS = {k: _NPZ[k] for k in _NPZ.files}


def get(key):
    dt, off, shape = META["index"][key]
    n = int(np.prod(shape))
    return _BLOBS[dt][off:off + n].reshape(shape).copy()


def has(key):
    return key in META["index"]


def test_fixture_version():
    assert str(_BLOBS["__version__"]) == META["__version__"] and META["__version__"].startswith("2.13")


def _close(actual, expected, what, rtol=1e-7, atol=1e-9):
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=rtol, atol=atol, err_msg=what)


def _build(name):
    spec = META["layers"][name]
    m = eval(spec["ctor"], {"nn": nn})
    m.double() if hasattr(m, "double") else None
    return m, spec


@pytest.mark.parametrize("name", sorted(META["layers"]))
def test_layer_matches_pytorch(name):
    """A real PyTorch state_dict loads (same keys, same order) and gives the same outputs and gradients."""
    m, spec = _build(name)
    sd = m.state_dict()
    assert list(sd) == spec["keys"], f"{name}: state_dict keys differ from PyTorch's"
    assert [k for k, _ in m.named_parameters()] == spec["params"]
    state = {k: get(f"layers|{name}|sd|{k}") for k in spec["keys"]}
    result = m.load_state_dict(state)
    assert result.missing_keys == [] and result.unexpected_keys == []
    m.train(spec["mode"] == "train")
    xs = []
    for i, (kind, *_shape) in enumerate(spec["inputs"]):
        a = get(f"layers|{name}|in|{i}")
        xs.append(tinydl.Tensor(a, requires_grad=kind == "f"))
    if name.startswith("mha"):
        out = m(*xs, key_padding_mask=get(f"layers|{name}|kpm").astype(bool))
    else:
        out = m(*xs)
    outs = list(out) if isinstance(out, tuple) else [out]
    flat = []
    for o in outs:
        flat.extend(list(o) if isinstance(o, tuple) else [o])
    assert len(flat) == spec["n_out"]
    loss = None
    for i, o in enumerate(flat):
        _close(o.detach().numpy(), get(f"layers|{name}|out|{i}"), f"{name}: output {i}")
        term = (o * tinydl.Tensor(get(f"layers|{name}|gout|{i}"))).sum()
        loss = term if loss is None else loss + term
    if loss is not None and loss.requires_grad:
        loss.backward()
    for i, t in enumerate(xs):
        if has(f"layers|{name}|gin|{i}"):
            _close(t.grad.detach().numpy(), get(f"layers|{name}|gin|{i}"), f"{name}: input gradient {i}", rtol=1e-6)
    params = dict(m.named_parameters())
    for k in spec["params"]:
        if has(f"layers|{name}|gp|{k}"):
            _close(params[k].grad.detach().numpy(), get(f"layers|{name}|gp|{k}"), f"{name}: gradient of {k}", rtol=1e-6)
    after = m.state_dict()
    for k in spec["keys"]:
        if has(f"layers|{name}|after|{k}"):
            _close(after[k].detach().numpy(), get(f"layers|{name}|after|{k}"), f"{name}: {k} after the forward")
    assert repr(m) == spec["repr"] or name in _REPR_DIFFERS, f"{name}: repr {repr(m)!r} != {spec['repr']!r}"


# repr text that differs from PyTorch's (only containers of layers whose repr PyTorch formats
# with details tinydl does not print)
_REPR_DIFFERS = {"mha", "mha_batch_first", "transformer_encoder_layer", "transformer_encoder_layer_prenorm",
                 "rnn", "lstm", "gru", "gru_h0", "conv2d_same", "identity"}


# ---- losses ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(META["losses"]))
def test_loss_matches_pytorch(name):
    spec = META["losses"][name]
    for red in spec["reductions"]:
        env = {"F": F, "math": math}
        ts = []
        for i in range(spec["n_args"]):
            a = get(f"losses|{name}|arg|{i}")
            t = tinydl.Tensor(a, requires_grad=i in spec["grad_args"])
            ts.append(t)
            env[f"a{i}"] = t
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = eval(spec["call"].replace("RED", red), env)
        _close(out.detach().numpy(), get(f"losses|{name}|{red}|out"), f"{name} ({red})")
        (out * tinydl.Tensor(get(f"losses|{name}|{red}|gout"))).sum().backward()
        for i in spec["grad_args"]:
            _close(ts[i].grad.detach().numpy(), get(f"losses|{name}|{red}|gin|{i}"), f"{name} ({red}): gradient of arg {i}",
                   rtol=1e-6)


@pytest.mark.parametrize("cls, call", [
    (nn.MSELoss, "mse"), (nn.L1Loss, "l1"), (lambda **k: nn.SmoothL1Loss(beta=0.5, **k), "smooth_l1"),
    (lambda **k: nn.HuberLoss(delta=0.7, **k), "huber"), (nn.CrossEntropyLoss, "cross_entropy"),
    (nn.BCELoss, "bce"), (nn.BCEWithLogitsLoss, "bce_logits"), (nn.KLDivLoss, "kl_div")])
def test_loss_modules_match_pytorch(cls, call):
    for red in ("mean", "sum", "none"):
        args = [tinydl.Tensor(get(f"losses|{call}|arg|{i}")) for i in range(2)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = cls(reduction=red)(*args)
        _close(out.detach().numpy(), get(f"losses|{call}|{red}|out"), f"{call} module ({red})")


def test_weighted_loss_modules_match_pytorch():
    a = [tinydl.Tensor(get(f"losses|cross_entropy_smoothing|arg|{i}")) for i in range(3)]
    out = nn.CrossEntropyLoss(weight=a[2], ignore_index=3, label_smoothing=0.2)(a[0], a[1])
    _close(out.detach().numpy(), get("losses|cross_entropy_smoothing|mean|out"), "CrossEntropyLoss(weight, ignore, smoothing)")
    a = [tinydl.Tensor(get(f"losses|nll|arg|{i}")) for i in range(3)]
    _close(nn.NLLLoss(weight=a[2], ignore_index=0, reduction="sum")(a[0], a[1]).detach().numpy(),
           get("losses|nll|sum|out"), "NLLLoss")
    a = [tinydl.Tensor(get(f"losses|bce_logits_pos_weight|arg|{i}")) for i in range(4)]
    _close(nn.BCEWithLogitsLoss(weight=a[3], pos_weight=a[2])(a[0], a[1]).detach().numpy(),
           get("losses|bce_logits_pos_weight|mean|out"), "BCEWithLogitsLoss(pos_weight)")
    a = [tinydl.Tensor(get(f"losses|kl_div_log_target|arg|{i}")) for i in range(2)]
    _close(nn.KLDivLoss(reduction="sum", log_target=True)(a[0], a[1]).detach().numpy(), get("losses|kl_div_log_target|sum|out"),
           "KLDivLoss(log_target)")
    a = [tinydl.Tensor(get(f"losses|kl_div_batchmean|arg|{i}")) for i in range(2)]
    _close(nn.KLDivLoss(reduction="batchmean")(a[0], a[1]).detach().numpy(), get("losses|kl_div_batchmean|mean|out"),
           "KLDivLoss(batchmean)")


def test_bce_clamps_log_and_keeps_pytorch_gradient_on_saturated_outputs():
    p = tinydl.Tensor(np.array([0.0, 1.0, 0.0, 1.0], np.float32), requires_grad=True)
    t = tinydl.Tensor(np.array([1.0, 0.0, 0.0, 1.0], np.float32))
    loss = nn.BCELoss(reduction="none")(p, t)
    np.testing.assert_allclose(loss.detach().numpy(), [100.0, 100.0, 0.0, 0.0])
    loss.sum().backward()
    np.testing.assert_allclose(p.grad.detach().numpy(), [-1e12, 1e12, 0.0, 0.0], rtol=1e-6)


def test_extremes_stay_finite_and_match_pytorch():
    x = tinydl.Tensor(get("extreme|logits"))
    labels = tinydl.Tensor(np.array([1, 1]))
    for got, key in ((F.cross_entropy(x, labels, reduction="none"), "ce"), (F.softmax(x, dim=1), "softmax"),
                     (F.log_softmax(x, dim=1), "log_softmax"),
                     (F.binary_cross_entropy_with_logits(x, tinydl.Tensor(np.ones((2, 3), np.float32)),
                                                         reduction="none"), "bce_logits")):
        assert got.dtype == np.float32 and np.isfinite(got.detach().numpy()).all(), key
        np.testing.assert_allclose(got.detach().numpy(), get(f"extreme|{key}"), rtol=1e-6, err_msg=key)
    h = tinydl.Tensor(get("extreme16|logits"), requires_grad=True)
    ce = F.cross_entropy(h, labels, reduction="none")
    bce = F.binary_cross_entropy_with_logits(h, tinydl.Tensor(np.ones((2, 3), np.float16)), reduction="none")
    sm = F.softmax(h, dim=1)
    for got in (ce, bce, sm):
        assert got.dtype == np.float16 and np.isfinite(got.detach().numpy().astype(np.float64)).all()
    np.testing.assert_allclose(ce.detach().numpy().astype(np.float64), get("extreme16|ce"), rtol=1e-3)
    np.testing.assert_allclose(bce.detach().numpy().astype(np.float64), get("extreme16|bce_logits"), rtol=1e-3)
    (ce.sum() + bce.sum()).backward()
    assert np.isfinite(h.grad.detach().numpy().astype(np.float64)).all()


# ---- functional -----------------------------------------------------------------------------------
def test_functional_odds_and_ends_match_pytorch():
    x = tinydl.Tensor(get("functional|pad|x"))
    _close(F.pad(x, (1, 2, 0, 1), value=0.5).detach().numpy(), get("functional|pad|out"), "pad")
    ids = tinydl.Tensor(get("functional|one_hot|ids"))
    oh = F.one_hot(ids, 5)
    assert oh.dtype == np.int64
    np.testing.assert_array_equal(oh.detach().numpy(), get("functional|one_hot|out"))
    np.testing.assert_array_equal(F.one_hot(ids).detach().numpy(), get("functional|one_hot|auto"))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        got = F.softmax(tinydl.Tensor(get("functional|softmax_implicit|x")))
    _close(got.detach().numpy(), get("functional|softmax_implicit|out"), "softmax without dim")
    xb = tinydl.Tensor(get("functional|batch_norm|x"))
    rm, rv = tinydl.Tensor(get("functional|batch_norm|rm")), tinydl.Tensor(get("functional|batch_norm|rv"))
    _close(F.batch_norm(xb, rm, rv).detach().numpy(), get("functional|batch_norm|eval_out"), "batch_norm eval")
    _close(F.batch_norm(xb, rm, rv, training=True, momentum=0.3).detach().numpy(), get("functional|batch_norm|train_out"),
           "batch_norm train")
    _close(rm.detach().numpy(), get("functional|batch_norm|rm_after"), "batch_norm running_mean")
    _close(rv.detach().numpy(), get("functional|batch_norm|rv_after"), "batch_norm running_var")


def test_functional_dropout_and_embedding():
    x = tinydl.Tensor(np.ones((200, 50)))
    assert F.dropout(x, 0.3, training=False) is x
    y = F.dropout(x, 0.3).detach().numpy()
    assert set(np.unique(y).round(6)) <= {0.0, round(1 / 0.7, 6)} and 0.25 < (y == 0).mean() < 0.35
    np.testing.assert_array_equal(F.dropout(x, 1.0).detach().numpy(), 0)
    w = nn.Parameter(np.arange(12.0).reshape(4, 3))
    out = F.embedding(tinydl.Tensor(np.array([[1, 3], [3, 0]])), w, padding_idx=3)
    np.testing.assert_array_equal(out.detach().numpy()[0, 1], [9, 10, 11])
    out.sum().backward()
    np.testing.assert_array_equal(w.grad.detach().numpy()[:, 0], [1, 1, 0, 0])
    with pytest.raises(IndexError, match="index out of range"):
        F.embedding(tinydl.Tensor(np.array([4])), w)


# ---- init -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [k for k in META["init"] if k not in ("gains", "linear_default")])
def test_init_statistics_match_pytorch(name):
    spec = META["init"][name]
    t = tinydl.Tensor(np.full(spec["shape"], 7.0, np.float64))
    version = t._version
    tinydl.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = eval(spec["call"], {"nn": nn, "t": t, "math": math})
    assert out is t and t._version > version and t.grad_fn is None
    a = t.detach().numpy()
    if spec["std"] == 0 or name in ("eye_",):
        np.testing.assert_allclose([a.mean(), a.min(), a.max()], [spec["mean"], spec["min"], spec["max"]])
        return
    n = a.size
    assert abs(a.mean() - spec["mean"]) < 5 * spec["std"] / math.sqrt(n) + 1e-3, (a.mean(), spec["mean"])
    assert abs(a.std() / spec["std"] - 1) < 0.05, (a.std(), spec["std"])
    if "uniform" in name or "trunc" in name:  # the bounds of the support
        span = spec["max"] - spec["min"]  # PyTorch's extremes of the same number of draws
        assert abs(a.min() - spec["min"]) < 0.01 * span and abs(a.max() - spec["max"]) < 0.01 * span
    if name == "orthogonal_":
        np.testing.assert_allclose(a @ a.T, 1.5 ** 2 * np.eye(a.shape[0]), atol=1e-9)


def test_calculate_gain_and_default_layer_init_match_pytorch():
    for key, gain in META["init"]["gains"].items():
        args = key.split(",")
        got = nn.init.calculate_gain(args[0], float(args[1])) if len(args) > 1 else nn.init.calculate_gain(args[0])
        assert got == pytest.approx(gain), key
    spec = META["init"]["linear_default"]
    lin = nn.Linear(400, 300)
    w, b = np.abs(lin.weight.detach().numpy()).max(), np.abs(lin.bias.detach().numpy()).max()
    assert spec["bound"] * 0.99 < w <= spec["bound"] and spec["bound"] * 0.95 < b <= spec["bound"]
    assert spec["weight_absmax"] == pytest.approx(w, rel=0.01)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init.xavier_uniform_(tinydl.Tensor(np.zeros(3)))


def test_scaled_dot_product_attention_matches_pytorch():
    q, k, v, m = (get(f"functional|sdpa|{i}") for i in range(4))
    got = F.scaled_dot_product_attention(tinydl.Tensor(q), tinydl.Tensor(k), tinydl.Tensor(v),
                                         attn_mask=tinydl.Tensor(m.astype(bool)))
    _close(got.detach().numpy(), get("functional|sdpa|masked"), "sdpa with a boolean mask")
    got = F.scaled_dot_product_attention(tinydl.Tensor(q), tinydl.Tensor(q), tinydl.Tensor(q[..., :3]),
                                         is_causal=True, scale=0.3)
    _close(got.detach().numpy(), get("functional|sdpa|causal"), "sdpa causal")


# ---- nn.utils -------------------------------------------------------------------------------------
def _params_with_grads():
    ps = []
    for i in range(2):
        g = get(f"utils|grad|{i}")
        p = nn.Parameter(np.zeros(g.shape))
        p.grad = tinydl.Tensor(g.copy())
        ps.append(p)
    return ps


@pytest.mark.parametrize("tag, kw", [("norm2", dict(max_norm=1.0)),
                                     ("norm_inf", dict(max_norm=0.5, norm_type=float("inf"))),
                                     ("norm1_noclip", dict(max_norm=100.0, norm_type=1.0))])
def test_clip_grad_norm_matches_pytorch(tag, kw):
    ps = _params_with_grads()
    total = nn.utils.clip_grad_norm_(ps, **kw)
    assert isinstance(total, tinydl.Tensor) and total.ndim == 0
    _close(total.detach().numpy(), get(f"utils|{tag}|total"), f"{tag}: total norm")
    for i, p in enumerate(ps):
        _close(p.grad.detach().numpy(), get(f"utils|{tag}|{i}"), f"{tag}: clipped gradient {i}")


def test_clip_grad_value_vectors_and_nonfinite_norms():
    ps = _params_with_grads()
    assert nn.utils.clip_grad_value_(ps, 0.4) is None
    for i, p in enumerate(ps):
        _close(p.grad.detach().numpy(), get(f"utils|value|{i}"), f"clip_grad_value_ {i}")
    ps = [nn.Parameter(get(f"utils|grad|{i}")) for i in range(2)]
    vec = nn.utils.parameters_to_vector(ps)
    _close(vec.detach().numpy(), get("utils|vector"), "parameters_to_vector")
    nn.utils.vector_to_parameters(vec * 2, ps)
    _close(ps[1].detach().numpy(), 2 * get("utils|grad|1"), "vector_to_parameters")
    bad = _params_with_grads()
    bad[0].grad.data[0, 0] = np.inf
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(bad, 1.0, error_if_nonfinite=True)
    assert not np.isfinite(float(nn.utils.clip_grad_norm_(_params_with_grads() + bad[:1], 1.0)))


# ---- the Module API ---------------------------------------------------------------------------------
class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
        self.heads = nn.ModuleList([nn.Linear(4, 2), nn.Linear(4, 1)])
        self.extra = nn.ParameterList([nn.Parameter(np.ones(2, np.float32))])
        self.table = nn.ParameterDict({"scale": nn.Parameter(np.ones(1, np.float32))})
        self.register_buffer("steps", tinydl.Tensor(np.zeros((), np.int64)))
        self.register_buffer("scratch", tinydl.Tensor(np.zeros(2, np.float32)), persistent=False)

    def forward(self, x):
        h = self.body(x)
        return self.heads[0](h) * self.table["scale"] + self.extra[0]


def test_module_api_follows_pytorch():
    net = _Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["body.0.weight", "body.0.bias", "heads.0.weight", "heads.0.bias", "heads.1.weight",
                     "heads.1.bias", "extra.0", "table.scale"]
    gen = net.parameters()
    assert iter(gen) is gen and next(gen) is net.body[0].weight  # a generator, as PyTorch's
    assert len(list(net.parameters(recurse=False))) == 0
    assert [n for n, _ in net.named_buffers()] == ["steps", "scratch"]
    assert list(net.state_dict())[0] == "steps" and "scratch" not in net.state_dict()  # own buffers, then children
    assert [n for n, _ in net.named_children()] == ["body", "heads", "extra", "table"]
    assert [n for n, _ in net.named_modules()][:5] == ["", "body", "body.0", "body.1", "heads"]
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen[-1] == "_Net" and seen[:3] == ["Linear", "ReLU", "Sequential"]  # children first
    # Sequential: indexing, slicing (keeping names), len, append, OrderedDict
    import collections
    seq = nn.Sequential(collections.OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.Tanh())]))
    assert isinstance(seq[-1], nn.Tanh) and len(seq) == 2 and list(seq[1:]._modules) == ["act"]
    seq.append(nn.Identity())
    assert len(seq) == 3 and [n for n, _ in seq.named_children()] == ["fc", "act", "2"]
    # hooks: pre-hooks may replace the arguments, forward hooks the output; handles remove them
    lin = nn.Linear(2, 2)
    h1 = lin.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    h2 = lin.register_forward_hook(lambda m, args, out: out + 1)
    out = lin(tinydl.Tensor(np.ones((1, 2), np.float32)))
    np.testing.assert_allclose(out.detach().numpy(), lin.bias.detach().numpy()[None] + 1, rtol=1e-6)
    h1.remove()
    h2.remove()
    assert not lin._forward_hooks and not lin._forward_pre_hooks
    # train/eval, zero_grad, requires_grad_, dtype and device moves
    assert net.eval() is net and not net.body[0].training and net.train().heads[1].training
    net(tinydl.Tensor(np.ones((2, 3), np.float32))).sum().backward()
    net.zero_grad(set_to_none=False)
    assert (net.body[0].weight.grad.detach().numpy() == 0).all()
    net.zero_grad()
    assert net.body[0].weight.grad is None
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    assert net.double() is net and net.body[0].weight.dtype == np.float64 and net.steps.dtype == np.int64
    net.to(np.float32)
    assert net.body[0].weight.dtype == np.float32
    net.to("cpu")
    with pytest.raises(TypeError, match="floating point"):
        net.to(np.int32)
    # load_state_dict: PyTorch's result and error text
    other = _Net()
    res = other.load_state_dict(net.state_dict())
    assert res.missing_keys == [] and res.unexpected_keys == [] and repr(res) == "<All keys matched successfully>"
    with pytest.raises(RuntimeError, match='Unexpected key\\(s\\) in state_dict: "bogus". '):
        other.load_state_dict({**net.state_dict(), "bogus": np.zeros(1)})
    with pytest.raises(TypeError, match="cannot assign"):
        other.register_parameter("w", tinydl.Tensor(np.zeros(1)))
    with pytest.raises(KeyError, match="contain"):
        other.add_module("a.b", nn.ReLU())
    assert repr(nn.Linear(3, 4, bias=False)) == "Linear(in_features=3, out_features=4, bias=False)"
    p = nn.Parameter(tinydl.Tensor(np.ones(2)))
    assert p.requires_grad and repr(p).startswith("Parameter containing:")


def test_layers_create_parameters_eagerly_so_an_optimizer_trains_them():
    """Built in __init__: an optimizer made right after construction trains every parameter."""
    for layer, x in ((nn.LayerNorm(4), np.arange(8.0).reshape(2, 4) ** 2), (nn.Linear(4, 3), np.ones((2, 4))),
                     (nn.BatchNorm1d(4), np.arange(8.0).reshape(2, 4)), (nn.Conv2d(1, 2, 3), np.ones((1, 1, 4, 4))),
                     (nn.Embedding(5, 3), np.array([1, 2])), (nn.GRU(4, 3), np.ones((2, 1, 4)))):
        before = [p.detach().numpy().copy() for p in layer.parameters()]
        assert before, type(layer).__name__
        opt = tinydl.optim.SGD(layer.parameters(), lr=0.1)
        out = layer(tinydl.Tensor(x.astype(np.float32)) if x.dtype.kind == "f" else tinydl.Tensor(x))
        out = out[0] if isinstance(out, tuple) else out
        (out * tinydl.Tensor(np.random.default_rng(0).standard_normal(out.shape).astype(np.float32))).sum().backward()
        opt.step()
        assert all(not np.array_equal(b, p.detach().numpy()) for b, p in zip(before, layer.parameters())), type(layer).__name__


def test_keras_names_keep_keras_semantics():
    from tinydl.keras import layers
    assert layers.LeakyReLU().negative_slope == 0.3 and nn.LeakyReLU().negative_slope == 0.01
    assert layers.Dense is nn.Dense and layers.Conv2D is nn.Conv2D
    d = layers.Dense(3)
    d(tinydl.ones(2, 5))
    assert tuple(d.kernel.shape) == (5, 3)


def test_embedding_padding_idx_errors_as_pytorch():
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        nn.Embedding(10, 4, padding_idx=-11)
    assert nn.Embedding(10, 4, padding_idx=-1).padding_idx == 9


@pytest.mark.parametrize("module", ["tinydl.nn.functional", "tinydl.nn.loss_functions", "tinydl.nn.torch_init",
                                    "tinydl.nn.utils", "tinydl.nn.module", "tinydl.nn"])
def test_docstring_examples(module):
    import doctest
    import importlib
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_conformance_table_covers_every_name():
    """docs/conformance/pytorch_nn.md: a row for every public PyTorch name of tinydl.nn (the
    modules), nn.functional, nn.init and nn.utils, each naming a check that exists."""
    import pathlib
    import re
    from tinydl.nn import modules, torch_init, utils
    root = pathlib.Path(__file__).parent.parent
    text = (root / "docs" / "conformance" / "pytorch_nn.md").read_text()
    rows = {}
    for line in text.splitlines():
        m = re.match(r"^\| `([\w.]+)` \| (same|differs|NotImplementedError) \| `([^`]+)` \|", line)
        if m:
            rows[m.group(1)] = m.group(3)
    names = (["nn.Module", "nn.Parameter"] + [f"nn.{n}" for n in modules.__all__]
             + [f"nn.functional.{n}" for n in F.__all__] + [f"nn.init.{n}" for n in torch_init.__all__]
             + [f"nn.utils.{n}" for n in utils.__all__])
    missing = [n for n in names if n not in rows]
    assert not missing, f"no conformance row for {missing}"
    for name, check in rows.items():
        path, _, test = check.partition("::")
        func, _, param = test.partition("[")
        source = (root / path).read_text()
        assert re.search(rf"^def {re.escape(func)}\(", source, re.M), f"{name}: {check} does not exist"
        if param:
            param = param.rstrip("]")
            assert (param in META["layers"] or param in META["losses"] or param in META["init"]
                    or f'"{param}"' in source), f"{name}: no case {param!r} for {check}"


def test_a_real_pytorch_checkpoint_loads_and_gives_pytorch_outputs():
    """torch.save(model.state_dict()) written by PyTorch 2.13, read by tinydl.load (no torch), loaded
    with load_state_dict into the same architecture written with tinydl.nn: the same outputs."""
    sd = tinydl.load(os.path.join(HERE, "torch_nn_cnn.pt"))
    cnn = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Linear(4 * 3 * 3, 5))
    assert list(sd) == list(cnn.state_dict())
    result = cnn.load_state_dict(sd)
    assert not result.missing_keys and not result.unexpected_keys
    assert int(cnn[1].num_batches_tracked.item()) == 3
    cnn.eval()
    out = cnn(tinydl.Tensor(get("checkpoint|x")))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.detach().numpy(), get("checkpoint|out"), rtol=1e-5, atol=1e-6)
