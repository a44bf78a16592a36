"""The fused Numba CPU kernels for GELU (tanh approximation) and LayerNorm (last axis).

* forward outputs and every gradient on the kernel path agree with the NumPy reference path
  (``tinydl.use_reference()``): float32 to ~1e-5, float64 to ~1e-12 (relative to the scale,
  and for LayerNorm times the rows' conditioning max|x| / std(x));
* hypothesis draws the shapes, value scales and parameter presence;
* ``gradcheck`` runs through the kernel path in float64;
* the dispatch: which arrays take the kernel path, and that reference mode does not.
"""
import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

import tinydl as td
from tinydl.core.ops import elementwise as E
from tinydl.nn.layers import layernorm as LN
from tinydl.testing import gradcheck

TOL = {np.float32: 1e-5, np.float64: 1e-12}
dtypes = st.sampled_from([np.float32, np.float64])
shapes = st.lists(st.integers(1, 7), min_size=1, max_size=3)


def close(got, want, dtype, cond=1.0):
    rtol = TOL[dtype] * cond
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * max(1.0, float(np.max(np.abs(want)))))


def run_both(fn, *arrays):
    """``fn``'s output and the gradients of ``sum(out * w)`` on the kernel and reference paths."""
    results = []
    for reference in (False, True):
        with td.use_reference(reference):
            leaves = [td.Tensor(a, requires_grad=True) for a in arrays]
            out = fn(*leaves)
            w = np.random.default_rng(1).standard_normal(out.shape).astype(out.dtype)
            (out * td.Tensor(w)).sum().backward()
            results.append([out.detach().numpy()] + [t.grad.detach().numpy() for t in leaves])
    return results


@given(shape=shapes, dtype=dtypes, scale=st.sampled_from([0.1, 1.0, 3.0, 8.0]), seed=st.integers(0, 99))
def test_gelu_tanh_kernel_matches_reference(shape, dtype, scale, seed):
    x = (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)
    kern, ref = run_both(lambda t: td.gelu(t, approximate="tanh"), x)
    for got, want in zip(kern, ref):
        assert got.dtype == dtype
        close(got, want, dtype)


@given(lead=st.lists(st.integers(1, 6), min_size=0, max_size=2), d=st.integers(2, 40), dtype=dtypes,
       scale=st.sampled_from([0.01, 1.0, 50.0]), affine=st.booleans(), seed=st.integers(0, 99))
def test_layernorm_kernel_matches_reference(lead, d, dtype, scale, affine, seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(lead + [d]) * scale + rng.standard_normal()).astype(dtype)
    # The NumPy path subtracts the mean in the input's precision: its error grows with
    # |x| / std(x) per row (the kernel accumulates in float64), so the tolerance does too.
    xd = x.astype(np.float64)
    cond = float(np.max(np.abs(xd).max(-1) / (xd.std(-1) + 1e-300)))
    assume(cond < 1e3)
    if affine:
        gamma = rng.standard_normal(d).astype(dtype)
        beta = rng.standard_normal(d).astype(dtype)
        kern, ref = run_both(lambda t, g, b: LN.layer_norm(t, d, g, b), x, gamma, beta)
    else:
        kern, ref = run_both(lambda t: LN.normalize(t, (-1,)), x)
    for got, want in zip(kern, ref):
        assert got.dtype == dtype and got.shape == want.shape
        close(got, want, dtype, max(1.0, cond))


@given(shape=shapes, seed=st.integers(0, 99))
def test_gelu_tanh_kernel_gradcheck(shape, seed):
    x = np.random.default_rng(seed).standard_normal(shape) * 2
    assert gradcheck(lambda t: td.gelu(t, approximate="tanh"), x)


@given(lead=st.lists(st.integers(1, 4), min_size=0, max_size=2), d=st.integers(2, 9), seed=st.integers(0, 99))
def test_layernorm_kernel_gradcheck(lead, d, seed):
    rng = np.random.default_rng(seed)
    x, gamma, beta = rng.standard_normal(lead + [d]), rng.standard_normal(d), rng.standard_normal(d)
    assert gradcheck(lambda t, g, b: LN.layer_norm(t, d, g, b, eps=1e-5), x, gamma, beta)
    assert gradcheck(lambda t: LN.normalize(t, (-1,)), x)


def test_layer_module_takes_kernel_path_and_matches():
    layer = td.nn.LayerNorm(8)
    x = np.random.default_rng(0).standard_normal((3, 5, 8)).astype(np.float32)
    out = layer(td.Tensor(x))
    mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    close(out.detach().numpy(), (x - mu) / np.sqrt(var + 1e-5), np.float32)


def _kernel_calls(monkeypatch):
    """Count the calls into the Numba GELU and LayerNorm kernel modules."""
    from tinydl.backends import numba_cpu
    calls = []
    for mod_name in ("_elementwise", "_layernorm"):
        mod = getattr(numba_cpu, mod_name)
        spy = type("Spy", (), {})()
        for fn in ("gelu_tanh_forward", "gelu_tanh_backward", "layernorm_forward", "layernorm_backward"):
            if hasattr(mod, fn):
                real = getattr(mod, fn)
                setattr(spy, fn, (lambda real, fn: lambda *a, **k: calls.append(fn) or real(*a, **k))(real, fn))
        monkeypatch.setattr(numba_cpu, mod_name, spy)
    return calls


def test_dispatch(monkeypatch):
    """Which inputs the Numba provider runs in its kernels (the rest go to the reference)."""
    calls = _kernel_calls(monkeypatch)

    def used_kernel(fn):
        calls.clear()
        fn()
        return bool(calls)

    x32 = np.ones((4, 6), np.float32)
    gelu = lambda x, approximate="tanh": td.gelu(td.Tensor(x), approximate=approximate)  # noqa: E731
    assert used_kernel(lambda: gelu(x32))
    assert used_kernel(lambda: gelu(np.ones((4, 6), np.float64)))
    assert not used_kernel(lambda: gelu(x32.T))  # not C-contiguous
    assert not used_kernel(lambda: gelu(np.ones(3, np.float16)))
    assert not used_kernel(lambda: gelu(x32, "none"))
    g, b = np.ones((1, 6), np.float32), np.zeros((1, 6), np.float32)

    def ln(axes, gamma, beta):
        return LN.normalize(td.Tensor(x32), axes, td.Tensor(gamma), td.Tensor(beta))
    assert used_kernel(lambda: ln((1,), g[0], b[0]))
    assert used_kernel(lambda: LN.LayerNormOp.apply(td.Tensor(x32), td.Tensor(np.ones((), np.float32)),
                                                     td.Tensor(np.zeros((), np.float32)), axes=(1,), eps=1e-5))
    assert not used_kernel(lambda: LN.LayerNormOp.apply(td.Tensor(x32), td.Tensor(g), td.Tensor(b),
                                                         axes=(0, 1), eps=1e-5))
    assert not used_kernel(lambda: ln((1,), g[0].astype(np.float64), b[0]))
    with td.use_reference():
        assert not used_kernel(lambda: gelu(x32))
        assert not used_kernel(lambda: ln((1,), g[0], b[0]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_tanh_extremes(dtype):
    x = np.array([-1e4, -30.0, -9.0, -1e-30, 0.0, 1e-30, 9.0, 30.0, 1e4, np.inf, -np.inf], dtype)
    y = td.gelu(td.Tensor(x), approximate="tanh").detach().numpy()
    with td.use_reference():
        with np.errstate(all="ignore"):
            ref = td.gelu(td.Tensor(x), approximate="tanh").detach().numpy()
    np.testing.assert_array_equal(np.isnan(y), np.isnan(ref))
    finite = np.isfinite(ref)
    close(y[finite], ref[finite], dtype)


@pytest.mark.parametrize("n", range(10))
def test_row_sums_in_partial_sums_match_fsum(n):
    """The four-partial-sum row reductions of the layer-norm and softmax kernels, every tail length."""
    import math

    from tinydl.kernels.cpu import rowsum
    rng = np.random.default_rng(n)
    a = rng.standard_normal(n).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    assert rowsum.sum64(a) == pytest.approx(math.fsum(a64), rel=1e-14, abs=1e-14)
    assert rowsum.dot64(a, b) == pytest.approx(math.fsum(a64 * b64), rel=1e-14, abs=1e-14)
    assert rowsum.centered_sq64(a, 0.25) == pytest.approx(math.fsum((a64 - 0.25) ** 2), rel=1e-14, abs=1e-14)
    assert np.isnan(rowsum.sum64(np.array([1, np.nan, 2, 3, 4], np.float32)))
