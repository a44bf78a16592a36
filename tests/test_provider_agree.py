"""The Numba provider against the reference for the sequence-model and optimizer functions of the
provider interface (GELU, LayerNorm, the recurrent scans, the embedding gradient, the fused
optimizer updates); the image functions are in ``test_kernels_agree.py``.  The reference's own
optimizer updates are checked against ``tinydl.optim``'s per-parameter rules.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinydl as td
from tinydl import backends

fast = backends.get_provider("numba_cpu")  # delegated functions included
ref = backends.get_provider("reference")

DTYPES = [np.float32, np.float64]
ACTS = ["sigmoid", "tanh"]


def tol(dtype):
    return dict(rtol=2e-4, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-11)


def check(got, want, dtype):
    for g, w in zip(got, want):
        if w is None:
            assert g is None
            continue
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape and g.dtype == w.dtype == np.dtype(dtype), (g.shape, w.shape, g.dtype, w.dtype)
        np.testing.assert_allclose(g, w, **tol(dtype))


def rand(rng, shape, dtype, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gelu_tanh(dtype):
    rng = np.random.default_rng(0)
    x, g = rand(rng, (5, 33), dtype, 3), rand(rng, (5, 33), dtype)
    (y1, t1), (y0, t0) = fast.gelu_tanh_forward(x), ref.gelu_tanh_forward(x)
    check((y1, t1), (y0, t0), dtype)
    check((fast.gelu_tanh_backward(x, t1, g),), (ref.gelu_tanh_backward(x, t0, g),), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_layernorm(dtype):
    rng = np.random.default_rng(1)
    x, g = rand(rng, (3, 4, 16), dtype, 2), rand(rng, (3, 4, 16), dtype)
    gamma, beta = rand(rng, (16,), dtype), rand(rng, (16,), dtype)
    y1, m1, r1 = fast.layernorm_forward(x, gamma, beta, 1e-5)
    y0, m0, r0 = ref.layernorm_forward(x, gamma, beta, 1e-5)
    check((y1,), (y0,), dtype)
    check(fast.layernorm_backward(x, g, gamma, m1, r1), ref.layernorm_backward(x, g, gamma, m0, r0), dtype)
    dx, _, _ = fast.layernorm_backward(x, g, gamma, m1, r1, want_dx=False)
    assert dx is None


def _scan_inputs(rng, dtype, gates, steps=6, n=3, hd=5):
    xs = rand(rng, (steps, n, gates * hd), dtype)
    u = rand(rng, (hd, gates * hd), dtype, 0.5)
    return xs, u, rand(rng, (n, hd), dtype, 0.5), rand(rng, (n, hd), dtype, 0.5)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act,ract", [("tanh", "sigmoid"), ("tanh", "tanh"), ("sigmoid", "sigmoid")])
def test_lstm_scan(dtype, act, ract):
    rng = np.random.default_rng(2)
    xs, u, h0, c0 = _scan_inputs(rng, dtype, 4)
    f1, f0 = fast.lstm_scan_forward(xs, u, h0, c0, act, ract), ref.lstm_scan_forward(xs, u, h0, c0, act, ract)
    check(f1, f0, dtype)
    g = rand(rng, f0[0].shape, dtype)
    check(fast.lstm_scan_backward(g, u, h0, c0, *f1, act, ract),
          ref.lstm_scan_backward(g, u, h0, c0, *f0, act, ract), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act,ract", [("tanh", "sigmoid"), ("tanh", "tanh"), ("relu", "sigmoid")])
def test_gru_scan(dtype, act, ract):
    rng = np.random.default_rng(3)
    xs, u, h0, _ = _scan_inputs(rng, dtype, 3)
    b = rand(rng, (u.shape[1],), dtype)
    f1, f0 = fast.gru_scan_forward(xs, u, b, h0, act, ract), ref.gru_scan_forward(xs, u, b, h0, act, ract)
    check(f1, f0, dtype)
    g = rand(rng, f0[0].shape, dtype)
    check(fast.gru_scan_backward(g, u, h0, *f1, act, ract), ref.gru_scan_backward(g, u, h0, *f0, act, ract), dtype)


@pytest.mark.parametrize("act", ["tanh", "relu"])
def test_rnn_scan_reference_matches_direct_loop(act):
    rng = np.random.default_rng(4)
    xs, u, h0, _ = _scan_inputs(rng, np.float64, 1)
    f = np.tanh if act == "tanh" else (lambda a: np.maximum(a, 0))
    h, want = h0, []
    for t in range(xs.shape[0]):
        h = f(xs[t] + h @ u)
        want.append(h)
    hs = fast.rnn_scan_forward(xs, u, h0, act)  # delegated: the reference's
    np.testing.assert_allclose(hs, np.stack(want), rtol=1e-12)
    da, du, dh0 = fast.rnn_scan_backward(np.ones_like(hs), u, h0, hs, act)
    assert da.shape == xs.shape and du.shape == u.shape and dh0.shape == h0.shape


def test_embedding_backward_matches_add_at():
    rng = np.random.default_rng(5)
    ids = rng.integers(0, 7, (4, 9))
    g = rng.standard_normal((4, 9, 3))
    want = np.zeros((7, 3))
    np.add.at(want, ids.reshape(-1), g.reshape(-1, 3))
    np.testing.assert_allclose(fast.embedding_backward(g, ids, 7), want, rtol=1e-12)
    want[2] = 0
    np.testing.assert_allclose(ref.embedding_backward(g, ids, 7, padding_idx=2), want, rtol=1e-12)


@given(dtype=st.sampled_from(DTYPES), rows=st.integers(1, 6), shape=st.lists(st.integers(0, 5), max_size=3).map(tuple),
       padding=st.sampled_from([None, 0, -1]), seed=st.integers(0, 2 ** 16))
def test_embedding_backward_kernel_is_the_reference(dtype, rows, shape, padding, seed):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, rows, shape)
    g = rand(rng, shape + (3,), dtype)
    check([fast.embedding_backward(g, ids, rows, padding)], [ref.embedding_backward(g, ids, rows, padding)], dtype)


def test_embedding_backward_kernel_leaves_odd_ids_to_the_reference():
    g = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(fast.embedding_backward(g, np.array([-1, 0]), 4),
                                  ref.embedding_backward(g, np.array([-1, 0]), 4))
    with pytest.raises(IndexError):
        fast.embedding_backward(g, np.array([4, 0]), 4)


def _params(rng, dtype):
    return [rand(rng, s, dtype) for s in ((3, 4), (5,), (2, 2, 2))]


@pytest.mark.parametrize("decoupled", [False, True])
def test_adam_step_matches_the_optimizer(decoupled):
    rng = np.random.default_rng(6)
    ps = _params(rng, np.float64)
    grads = [[rand(rng, p.shape, np.float64) for p in ps] for _ in range(3)]
    cls = td.optim.AdamW if decoupled else td.optim.Adam
    tensors = [td.Tensor(p.copy(), requires_grad=True) for p in ps]
    opt = cls(tensors, lr=0.01, weight_decay=0.1)
    mine = [p.copy() for p in ps]
    ms, vs = [np.zeros_like(p) for p in ps], [np.zeros_like(p) for p in ps]
    for step, gs in enumerate(grads, 1):
        for t, g in zip(tensors, gs):
            t.grad = td.Tensor(g)
        opt.step()
        fast.adam_step(mine, gs, ms, vs, 0.01, 0.9, 0.999, 1e-8, step, 0.1, decoupled=decoupled)
    for t, p in zip(tensors, mine):
        np.testing.assert_allclose(p, t.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("decoupled,wd", [(False, 0.0), (False, 0.1), (True, 0.1)])
def test_adam_step_kernel_is_the_per_parameter_rule_bit_for_bit(dtype, decoupled, wd):
    """The optimizer runs the provider's adam_step on the CPU too: the Numba kernel and the
    reference must both be exactly ``Adam._update`` (PyTorch's order of operations)."""
    rng = np.random.default_rng(9)
    ps = _params(rng, dtype) + [rand(rng, (300,), dtype), np.asfortranarray(rand(rng, (7, 5), dtype))]
    grads = [[rand(rng, p.shape, dtype, 1e-3) for p in ps] for _ in range(4)]
    cls = td.optim.AdamW if decoupled else td.optim.Adam
    rule = [td.Tensor(p.copy(), requires_grad=True) for p in ps]
    opt = cls(rule, lr=0.01, weight_decay=wd)
    group = opt.param_groups[0]
    mine = {name: ([p.copy(order="K") for p in ps], [np.zeros_like(p) for p in ps], [np.zeros_like(p) for p in ps])
            for name in ("fast", "ref")}
    for step, gs in enumerate(grads, 1):
        for t, g in zip(rule, gs):
            opt._update(t, g, opt.state.setdefault(t, {}), group, 0.01)
        for name, provider in (("fast", fast), ("ref", ref)):
            params, ms, vs = mine[name]
            provider.adam_step(params, gs, ms, vs, 0.01, 0.9, 0.999, 1e-8, step, wd, decoupled=decoupled)
    for name in ("fast", "ref"):
        for t, p, m in zip(rule, mine[name][0], mine[name][1]):
            np.testing.assert_array_equal(p, t.detach().numpy())
            np.testing.assert_array_equal(m, opt.state[t]["exp_avg"].detach().numpy())


def test_adam_step_kernel_takes_the_reference_for_odd_arrays():
    rng = np.random.default_rng(10)
    p, g = rand(rng, (4, 6), np.float32), rand(rng, (4, 6), np.float32)
    want = [p.copy(), np.zeros_like(p), np.zeros_like(p)]
    ref.adam_step([want[0]], [g], [want[1]], [want[2]], 0.01, 0.9, 0.999, 1e-8, 1)
    for grad in (g.astype(np.float64), np.asfortranarray(g)):
        got = [p.copy(), np.zeros_like(p), np.zeros_like(p)]
        fast.adam_step([got[0]], [grad], [got[1]], [got[2]], 0.01, 0.9, 0.999, 1e-8, 1)
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("momentum,nesterov", [(0.0, False), (0.9, False), (0.9, True)])
def test_sgd_step_matches_the_optimizer(momentum, nesterov):
    rng = np.random.default_rng(7)
    ps = _params(rng, np.float64)
    grads = [[rand(rng, p.shape, np.float64) for p in ps] for _ in range(3)]
    tensors = [td.Tensor(p.copy(), requires_grad=True) for p in ps]
    opt = td.optim.SGD(tensors, lr=0.05, momentum=momentum, nesterov=nesterov, weight_decay=0.01)
    mine = [p.copy() for p in ps]
    bufs = [np.zeros_like(p) for p in ps] if momentum else None
    for gs in grads:
        for t, g in zip(tensors, gs):
            t.grad = td.Tensor(g)
        opt.step()
        ref.sgd_step(mine, gs, bufs, 0.05, momentum, nesterov, 0.01)
    for t, p in zip(tensors, mine):
        np.testing.assert_allclose(p, t.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_fused_conv_bias_act_reference_composes_the_primitives():
    rng = np.random.default_rng(8)
    x, w, b = rng.standard_normal((2, 6, 6, 3)), rng.standard_normal((3, 3, 3, 4)), rng.standard_normal(4)
    args = ((1, 1), ((1, 1), (1, 1)), (1, 1))
    y = ref.conv2d_bias_act_forward(x, w, b, "relu", *args)
    np.testing.assert_allclose(y, np.maximum(ref.conv2d_forward(x, w, *args) + b, 0), rtol=1e-12)
    gy = rng.standard_normal(y.shape)
    gx, gw, gb = ref.conv2d_bias_act_backward(x, w, y, gy, "relu", *args)
    g = gy * (y > 0)
    wx, ww = ref.conv2d_backward(x, w, g, *args)
    np.testing.assert_allclose(gx, wx, rtol=1e-12)
    np.testing.assert_allclose(gw, ww, rtol=1e-12)
    np.testing.assert_allclose(gb, g.sum(axis=(0, 1, 2)), rtol=1e-12)
    with backends.use_reference():
        assert backends.provider_for(x).conv2d_bias_act_forward is ref.conv2d_bias_act_forward


# ---- the attention softmax: the kernels' row layout for masks that repeat over leading axes,
# the reference for other broadcasts; NaN, +-inf, fully masked rows

MASK_KINDS = ["causal", "full", "scalar_true", "scalar_false", "rows", "padding"]


def _softmax_case(rng, dtype, shape, kind):
    s = rand(rng, shape, dtype, 4)
    length = shape[-1]
    keep = {"causal": lambda: np.tril(np.ones((shape[-2], length), bool)),
            "full": lambda: rng.random(shape) < 0.7,
            "scalar_true": lambda: np.array(True),
            "scalar_false": lambda: np.array(False),
            "rows": lambda: (rng.random((1,) + shape[-2:]) < 0.5),  # some rows fully masked
            "padding": lambda: rng.random(shape[:-2] + (1, length)) < 0.7}[kind]()  # reference path
    return s, keep


@given(dtype=st.sampled_from(DTYPES), kind=st.sampled_from(MASK_KINDS),
       shape=st.lists(st.integers(1, 5), min_size=2, max_size=4).map(tuple), seed=st.integers(0, 2 ** 16))
def test_masked_softmax_forward_and_backward(dtype, kind, shape, seed):
    rng = np.random.default_rng(seed)
    s, keep = _softmax_case(rng, dtype, shape, kind)
    y = fast.masked_softmax_forward(s, keep)
    check([y], [ref.masked_softmax_forward(s, keep)], dtype)
    g = rand(rng, shape, dtype)
    check([fast.softmax_backward(y, g)], [ref.softmax_backward(y, g)], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_masked_softmax_nonfinite_rows_as_the_reference(dtype):
    s = np.array([[1.0, np.nan, 2.0, 0.5], [np.inf, 1.0, 2.0, 0.0], [-np.inf] * 4,
                  [1e30, -1e30, 3.0, 1e30], [5.0, 1.0, -np.inf, 2.0]], dtype)
    for keep in (np.array(True), np.array([True, True, False, True]), np.ones((5, 4), bool)):
        with np.errstate(invalid="ignore", over="ignore"):
            want = ref.masked_softmax_forward(s, keep)
        np.testing.assert_allclose(fast.masked_softmax_forward(s, keep), want, **tol(dtype))
