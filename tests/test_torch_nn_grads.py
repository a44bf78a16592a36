"""Gradients of tinydl.nn's PyTorch face (functional, losses, modules) against central finite
differences in float64, first and second order, on hypothesis-drawn shapes; forwards against
direct NumPy references. (Values against PyTorch itself: tests/test_torch_nn.py.)"""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinydl
from tinydl import nn
from tinydl.nn import functional as F
from tinydl.testing import OpSpec, check_op_spec, check_op_spec_second_order, gradcheck
from tinydl.testing import strategies as tst


# for tests/test_op_inventory.py: the Function these tests add (first and second order below)
EXTRA_COVERED = {"BinaryCrossEntropy"}
EXTRA_SECOND_ORDER = {"BinaryCrossEntropy"}


def _sp(z):
    return np.logaddexp(0, z)


def _arrays(*shapes, elements=None):
    return st.tuples(*[tst.arrays(s, elements) for s in shapes])


def _same_shape(n, elements=None, min_dims=1):
    return tst.shapes(min_dims, 3).flatmap(lambda s: _arrays(*([s] * n), elements=elements))


def _labels(n, c, seed):
    return np.random.default_rng(seed).integers(0, c, n)


# conv: (N, C, H, W) input and (O, C/g, kh, kw) weight with drawn stride/padding/dilation/groups
@st.composite
def _conv2d_case(draw):
    g = draw(st.integers(1, 2))
    cin, cout = g * draw(st.integers(1, 2)), g * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    s, p, d = draw(st.integers(1, 2)), draw(st.integers(0, 1)), draw(st.integers(1, 2))
    h, w = (draw(st.integers((k - 1) * d + 1, (k - 1) * d + 3)) for k in (kh, kw))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    x = rng.standard_normal((draw(st.integers(1, 2)), cin, h, w))
    wt = rng.standard_normal((cout, cin // g, kh, kw))
    b = rng.standard_normal(cout)
    return (x, wt, b), dict(stride=s, padding=p, dilation=d, groups=g)


def _conv2d_ref(x, w, b, stride, padding, dilation, groups):
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    oh = (h + 2 * padding - dilation * (kh - 1) - 1) // stride + 1
    ow = (wd + 2 * padding - dilation * (kw - 1) - 1) // stride + 1
    out = np.zeros((n, o, oh, ow))
    og = o // groups
    for oc in range(o):
        gi = oc // og
        for i in range(oh):
            for j in range(ow):
                patch = xp[:, gi * cg:(gi + 1) * cg, i * stride:i * stride + dilation * (kh - 1) + 1:dilation,
                           j * stride:j * stride + dilation * (kw - 1) + 1:dilation]
                out[:, oc, i, j] = (patch * w[oc]).sum(axis=(1, 2, 3)) + b[oc]
    return out


@settings(max_examples=6, deadline=None)
@given(_conv2d_case())
def test_conv2d_nchw_groups_forward_first_and_second_order(case):
    arrays, kw = case
    fn = lambda x, w, b: F.conv2d(x, w, b, **kw)
    spec = OpSpec("conv2d_nchw", fn, lambda x, w, b: _conv2d_ref(x, w, b, **kw), None, ["Conv2D"])
    check_op_spec(spec, arrays)
    check_op_spec_second_order(spec, arrays)


@given(st.integers(1, 3), st.integers(1, 2), st.integers(0, 1), st.integers(0, 2 ** 16))
def test_conv1d_and_conv_transpose2d_gradients(k, s, p, seed):
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal((2, 2, 6)), rng.standard_normal((3, 2, k)), rng.standard_normal(3)
    ref = _conv2d_ref(x[:, :, None], w[:, :, None], b, s, 0, 1, 1)[:, :, 0] if p == 0 else None
    if ref is not None:
        np.testing.assert_allclose(F.conv1d(tinydl.Tensor(x), tinydl.Tensor(w), tinydl.Tensor(b), s).detach().numpy(), ref,
                                   atol=1e-12)
    gradcheck(lambda a, c, d: F.conv1d(a, c, d, s, p), x, w, b)
    xt, wt = rng.standard_normal((1, 2, 3, 3)), rng.standard_normal((2, 3, k, k))
    op = min(s - 1, 1)
    gradcheck(lambda a, c, d: F.conv_transpose2d(a, c, d, s, p if k > p else 0, op), xt, wt, b)


@st.composite
def _pool_case(draw):
    k = draw(st.integers(1, 3))
    s, p = draw(st.integers(1, 2)), draw(st.integers(0, k // 2))
    h, w = draw(st.integers(k, k + 3)), draw(st.integers(k, k + 3))
    # distinct values: no ties for the max
    x = np.random.default_rng(draw(st.integers(0, 2 ** 16))).permutation(2 * 2 * h * w).reshape(2, 2, h, w) / 7.0
    return x, k, s, p


def _avg_ref(x, k, s, p, include_pad):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    ones = np.pad(np.ones((h, w)), p)
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    out = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            win = xp[:, :, i * s:i * s + k, j * s:j * s + k]
            cnt = k * k if include_pad else ones[i * s:i * s + k, j * s:j * s + k].sum()
            out[:, :, i, j] = win.sum(axis=(2, 3)) / cnt
    return out


@given(_pool_case(), st.booleans())
def test_pooling_nchw_forward_first_and_second_order(case, include_pad):
    x, k, s, p = case
    avg = OpSpec("avg_pool2d", lambda a: F.avg_pool2d(a, k, s, p, count_include_pad=include_pad),
                 lambda a: _avg_ref(a, k, s, p, include_pad), None, ["AvgPool2D"])
    check_op_spec(avg, (x,))
    check_op_spec_second_order(avg, (x,))
    mx = OpSpec("max_pool2d", lambda a: F.max_pool2d(a, k, s, p), None, None, ["MaxPool2D"])
    check_op_spec(mx, (x,))
    check_op_spec_second_order(mx, (x,))
    gradcheck(lambda a: F.adaptive_avg_pool2d(a, (2, 1)), x)
    gradcheck(lambda a: F.max_pool1d(a, k, s, p), x[:, :, 0])


@given(st.integers(2, 4), st.sampled_from([(2, 2), (2, 4), (1, 3)]), st.integers(0, 2 ** 16))
def test_norms_first_and_second_order(n, gc, seed):
    groups, c = gc
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal((n, c, 3)), rng.standard_normal(c), rng.standard_normal(c)
    bn = OpSpec("batch_norm", lambda a, ww, bb: F.batch_norm(a, None, None, ww, bb, training=True),
                lambda a, ww, bb: (a - a.mean((0, 2), keepdims=True)) / np.sqrt(a.var((0, 2), keepdims=True) + 1e-5)
                * ww[:, None] + bb[:, None], None, ["LayerNormOp"])
    gn_ref = lambda a, ww, bb: (((a.reshape(n, groups, -1) - a.reshape(n, groups, -1).mean(-1, keepdims=True))
                                 / np.sqrt(a.reshape(n, groups, -1).var(-1, keepdims=True) + 1e-5)).reshape(a.shape)
                                * ww[:, None] + bb[:, None])
    gn = OpSpec("group_norm", lambda a, ww, bb: F.group_norm(a, groups, ww, bb), gn_ref, None, ["LayerNormOp"])
    for spec in (bn, gn):
        check_op_spec(spec, (x, w, b))
        check_op_spec_second_order(spec, (x, w, b))


def _labels_strategy():
    return st.tuples(st.integers(1, 4), st.integers(2, 4), st.integers(0, 2 ** 16))


@given(_labels_strategy(), st.sampled_from(["mean", "sum", "none"]), st.floats(0, 0.5))
def test_cross_entropy_and_nll_first_and_second_order(nck, reduction, smoothing):
    n, c, seed = nck
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((n, c)) * 2, rng.uniform(0.5, 2, c)
    y = rng.integers(0, c, n)
    y[0] = -100 if n > 1 else y[0]  # one ignored target

    def ref(a, ww):
        logp = a - np.log(np.exp(a - a.max(1, keepdims=True)).sum(1, keepdims=True)) - a.max(1, keepdims=True)
        valid = y != -100
        yy = np.where(valid, y, 0)
        nll = -ww[yy] * logp[np.arange(n), yy] * valid
        smooth = -(logp * ww).sum(1) * valid
        if reduction == "none":
            return (1 - smoothing) * nll + smoothing / c * smooth
        if reduction == "sum":
            return (1 - smoothing) * nll.sum() + smoothing / c * smooth.sum()
        d = (ww[yy] * valid).sum()
        return (1 - smoothing) * nll.sum() / d + smoothing / c * smooth.sum() / d

    ce = OpSpec("cross_entropy", lambda a, ww: F.cross_entropy(a, y, weight=ww, reduction=reduction,
                                                               label_smoothing=smoothing),
                ref, None, ["LogSoftmax"], wrt=[0])
    check_op_spec(ce, (x, w))
    check_op_spec_second_order(ce, (x, w))
    probs = rng.dirichlet(np.ones(c), n)
    gradcheck(lambda a, t: F.cross_entropy(a, t, reduction=reduction, label_smoothing=smoothing), x, probs)
    logp = np.log(rng.dirichlet(np.ones(c), n))
    gradcheck(lambda a: F.nll_loss(a, y, weight=tinydl.Tensor(w), reduction=reduction), logp)
    xn = rng.standard_normal((2, c, 2, 1))
    gradcheck(lambda a: F.cross_entropy(a, rng.integers(0, c, (2, 2, 1)).clip(0, c - 1) * 0 + 1 % c,
                                        reduction=reduction), xn)


@given(_same_shape(2, tst.floats(0.05, 0.95)), st.sampled_from(["mean", "sum", "none"]))
def test_binary_cross_entropy_first_and_second_order(pt, reduction):
    p, t = pt
    red = {"mean": np.mean, "sum": np.sum, "none": lambda a: a}[reduction]
    spec = OpSpec("binary_cross_entropy", lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction),
                  lambda a, b: red(-(b * np.log(a) + (1 - b) * np.log(1 - a))), None, ["BinaryCrossEntropy"])
    check_op_spec(spec, (p, t))
    check_op_spec_second_order(spec, (p, t))


@settings(max_examples=5, deadline=None)
@given(_same_shape(3), st.sampled_from(["mean", "sum", "none"]))
def test_pointwise_losses_first_and_second_order(arrays, reduction):
    x, y, pw = arrays
    t = 1 / (1 + np.exp(-y))  # targets in (0, 1)
    red = {"mean": np.mean, "sum": np.sum, "none": lambda a: a}[reduction]
    d = lambda a, b: np.abs(a - b)
    specs = [
        OpSpec("mse_loss", lambda a, b: F.mse_loss(a, b, reduction=reduction), lambda a, b: red((a - b) ** 2), None),
        OpSpec("smooth_l1_loss", lambda a, b: F.smooth_l1_loss(a, b, reduction=reduction, beta=0.7),
               lambda a, b: red(np.where(d(a, b) < 0.7, 0.5 * d(a, b) ** 2 / 0.7, d(a, b) - 0.35)), None),
        OpSpec("huber_loss", lambda a, b: F.huber_loss(a, b, reduction=reduction, delta=0.6),
               lambda a, b: red(np.where(d(a, b) <= 0.6, 0.5 * d(a, b) ** 2, 0.6 * (d(a, b) - 0.3))), None),
        OpSpec("bce_with_logits", lambda a, b, c: F.binary_cross_entropy_with_logits(
            a, b, reduction=reduction, pos_weight=tinydl.Tensor(np.abs(c.detach().numpy()) + 0.5).astype(a.dtype)),
            lambda a, b, c: red((1 - b) * a + (1 + (np.abs(c) + 0.5 - 1) * b) * _sp(-a)), None, wrt=[0, 1]),
        OpSpec("kl_div", lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=True),
               lambda a, b: red(np.exp(b) * (b - a)), None),
    ]
    for spec in specs:
        arrays = (x, t, pw) if spec.name == "bce_with_logits" else (x, y)
        if all(np.abs(np.abs(x - y) - k).min() > 1e-3 for k in (0.6, 0.7)):  # away from the kinks
            check_op_spec(spec, arrays)
            check_op_spec_second_order(spec, arrays)
    if np.abs(x - y).min() > 1e-3:
        gradcheck(lambda a, b: F.l1_loss(a, b, reduction=reduction), x, y)


ACTIVATIONS = [
    ("elu", lambda a: F.elu(a, 0.7), lambda a: np.where(a > 0, a, 0.7 * np.expm1(np.minimum(a, 0))), (0.0,)),
    ("silu", F.silu, lambda a: a / (1 + np.exp(-a)), ()),
    ("softplus", lambda a: F.softplus(a, 1.5, 2.0), lambda a: np.where(a * 1.5 > 2, a, _sp(1.5 * a) / 1.5), (4 / 3,)),
    ("mish", F.mish, lambda a: a * np.tanh(_sp(a)), ()),
    ("logsigmoid", F.logsigmoid, lambda a: -_sp(-a), ()),
    ("hardtanh", lambda a: F.hardtanh(a, -0.5, 0.8), lambda a: np.clip(a, -0.5, 0.8), (-0.5, 0.8)),
    ("relu6", lambda a: F.relu6(a * 3), lambda a: np.clip(a * 3, 0, 6), (0.0, 2.0)),
    ("leaky_relu", F.leaky_relu, lambda a: np.where(a > 0, a, 0.01 * a), (0.0,)),
    ("gelu", F.gelu, lambda a: a * 0.5 * (1 + np.vectorize(math.erf)(a / math.sqrt(2))), ()),
    ("softmax", lambda a: F.softmax(a, dim=0), lambda a: np.exp(a - a.max(0)) / np.exp(a - a.max(0)).sum(0), ()),
    ("log_softmax", lambda a: F.log_softmax(a, dim=-1),
     lambda a: a - a.max(-1, keepdims=True) - np.log(np.exp(a - a.max(-1, keepdims=True)).sum(-1, keepdims=True)), ()),
]


@pytest.mark.parametrize("name, fn, ref, kinks", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
@given(data=st.data())
def test_activations_first_and_second_order(name, fn, ref, kinks, data):
    x = data.draw(tst.arrays(tst.shapes(1, 3), tst.away_from(kinks, 0.01) if kinks else tst.floats()))
    spec = OpSpec(name, fn, ref, None)
    check_op_spec(spec, (x,))
    check_op_spec_second_order(spec, (x,))


@given(st.integers(1, 3), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2 ** 16))
def test_linear_and_embedding_first_and_second_order(n, i, o, seed):
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal((n, 2, i)), rng.standard_normal((o, i)), rng.standard_normal(o)
    spec = OpSpec("linear", F.linear, lambda a, ww, bb: a @ ww.T + bb, None)
    check_op_spec(spec, (x, w, b))
    check_op_spec_second_order(spec, (x, w, b))
    ids = rng.integers(0, 4, (n, 3))
    emb = OpSpec("embedding", lambda t: F.embedding(ids, t), lambda t: t[ids], None)
    check_op_spec(emb, (rng.standard_normal((4, o)),))


def _params_gradcheck(module, call, *inputs):
    """gradcheck of ``call`` with respect to its inputs and every parameter of ``module``."""
    slots = [(m, name) for m in module.modules() for name in m._parameters]
    originals = [getattr(m, name) for m, name in slots]

    def fn(*args):
        xs, ps = args[:len(inputs)], args[len(inputs):]
        for (m, name), p in zip(slots, ps):
            object.__setattr__(m, name, p)
        try:
            return call(*xs)
        finally:
            for (m, name), p in zip(slots, originals):
                object.__setattr__(m, name, p)
    gradcheck(fn, *inputs, *[p.detach().numpy() for p in originals], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU], ids=lambda c: c.__name__)
@settings(max_examples=4, deadline=None)
@given(bidirectional=st.booleans(), batch_first=st.booleans(), seed=st.integers(0, 99))
def test_recurrent_modules_gradients(cls, bidirectional, batch_first, seed):
    tinydl.manual_seed(seed)
    m = cls(2, 2, num_layers=2, bidirectional=bidirectional, batch_first=batch_first, dtype=np.float64)
    x = np.random.default_rng(seed).uniform(-1, 1, (2, 3, 2))

    def call(xx):
        out, hn = m(xx)
        parts = [out] + (list(hn) if isinstance(hn, tuple) else [hn])
        return tinydl.concatenate([tinydl.reshape(p, (-1,)) for p in parts]) if hasattr(tinydl, "concatenate") else \
            sum((p * p).sum() for p in parts)
    _params_gradcheck(m, call, x)


def test_attention_and_transformer_gradients():
    tinydl.manual_seed(3)
    m = nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0, dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((3, 2, 4))
    _params_gradcheck(m, lambda xx: m(xx, is_causal=True, src_mask=np.triu(np.ones((3, 3), bool), 1)), x)
    gn = nn.GroupNorm(2, 4, dtype=np.float64)
    _params_gradcheck(gn, gn, np.random.default_rng(1).standard_normal((2, 4, 3)))
