"""The array primitives behind conv / pooling / bias+activation / softmax-xent.

Three layers of checks:
* the NumPy reference (``tinydl.backends.reference``) against plain direct loops written here,
* the Numba provider (``tinydl.backends.numba_cpu``) against the reference,
* gradients against central finite differences (float64, small shapes),
plus the max-pool tie rule, the +-1e4 stability of sigmoid and softmax-xent, dtypes, layouts.
"""
import contextlib
import math
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tinydl.backends import numba_cpu as fast
from tinydl.backends import reference as ref

DTYPES = [np.float32, np.float64]
ACTS = ["linear", "relu", "sigmoid", "tanh"]
FEW = settings(deadline=None, max_examples=60)
FEWER = settings(deadline=None, max_examples=20)


@pytest.fixture(autouse=True, scope="module")
def _numba_kernels_even_on_tiny_arrays():
    """The fast provider hands tiny elementwise arrays to NumPy; here the kernels must run."""
    saved = fast.SMALL_ELEMENTWISE
    fast.SMALL_ELEMENTWISE = 0
    yield
    fast.SMALL_ELEMENTWISE = saved


def assert_close(actual, expected, dtype):
    """Same shape and dtype, C-contiguous, and equal up to the dtype's tolerance."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    assert actual.dtype == np.dtype(dtype), (actual.dtype, dtype)
    assert actual.flags.c_contiguous
    rtol = 1e-4 if np.dtype(dtype) == np.float32 else 1e-10
    finite = np.abs(expected[np.isfinite(expected)])
    scale = max(1.0, float(np.max(finite, initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


def out_len(size, k, s, lo, hi, d):
    return (size + lo + hi - d * (k - 1) - 1) // s + 1


# ----------------------------------------------------------------------------- configurations


@st.composite
def conv_configs(draw, max_size=9):
    cfg = dict(
        n=draw(st.integers(1, 3)), c=draw(st.integers(1, 4)), o=draw(st.integers(1, 4)),
        h=draw(st.integers(1, max_size)), w=draw(st.integers(1, max_size)),
        k=(draw(st.integers(1, 4)), draw(st.integers(1, 4))),
        stride=(draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        dilation=(draw(st.integers(1, 2)), draw(st.integers(1, 2))),
        padding=tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(2)),
        seed=draw(st.integers(0, 2**31)),
    )
    (pt, pb), (pl, pr) = cfg["padding"]
    cfg["oh"] = out_len(cfg["h"], cfg["k"][0], cfg["stride"][0], pt, pb, cfg["dilation"][0])
    cfg["ow"] = out_len(cfg["w"], cfg["k"][1], cfg["stride"][1], pl, pr, cfg["dilation"][1])
    assume(cfg["oh"] >= 1 and cfg["ow"] >= 1)
    return cfg


@st.composite
def pool_configs(draw, max_size=9):
    cfg = dict(
        n=draw(st.integers(1, 3)), c=draw(st.integers(1, 4)),
        h=draw(st.integers(1, max_size)), w=draw(st.integers(1, max_size)),
        pool=(draw(st.integers(1, 4)), draw(st.integers(1, 4))),
        stride=(draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        padding=tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(2)),
        ties=draw(st.booleans()),
        seed=draw(st.integers(0, 2**31)),
    )
    (pt, pb), (pl, pr) = cfg["padding"]
    cfg["oh"] = out_len(cfg["h"], cfg["pool"][0], cfg["stride"][0], pt, pb, 1)
    cfg["ow"] = out_len(cfg["w"], cfg["pool"][1], cfg["stride"][1], pl, pr, 1)
    assume(cfg["oh"] >= 1 and cfg["ow"] >= 1)
    return cfg


def conv_arrays(cfg, dtype):
    rng = np.random.default_rng(cfg["seed"])
    x = rng.standard_normal((cfg["n"], cfg["h"], cfg["w"], cfg["c"])).astype(dtype)
    w = rng.standard_normal((*cfg["k"], cfg["c"], cfg["o"])).astype(dtype)
    gy = rng.standard_normal((cfg["n"], cfg["oh"], cfg["ow"], cfg["o"])).astype(dtype)
    return x, w, gy


def pool_arrays(cfg, dtype):
    rng = np.random.default_rng(cfg["seed"])
    shape = (cfg["n"], cfg["h"], cfg["w"], cfg["c"])
    if cfg["ties"]:  # few distinct values: many ties inside windows
        x = rng.integers(-2, 3, shape).astype(dtype)
    else:
        x = rng.standard_normal(shape).astype(dtype)
    gy = rng.standard_normal((cfg["n"], cfg["oh"], cfg["ow"], cfg["c"])).astype(dtype)
    return x, gy


# ----------------------------------------------------------------------------- direct loops


def conv_direct(x, w, stride, padding, dilation):
    """y[:, i, j, :] = sum over taps (a, b) of x[:, h, w, :] @ w[a, b], looping over outputs."""
    n, h_in, w_in, _ = x.shape
    kh, kw, _, o = w.shape
    (sh, sw), ((pt, pb), (pl, pr)), (dh, dw) = stride, padding, dilation
    oh, ow = out_len(h_in, kh, sh, pt, pb, dh), out_len(w_in, kw, sw, pl, pr, dw)
    y = np.zeros((n, oh, ow, o), dtype=np.float64)
    for i in range(oh):
        for j in range(ow):
            for a in range(kh):
                for b in range(kw):
                    h, v = i * sh - pt + a * dh, j * sw - pl + b * dw
                    if 0 <= h < h_in and 0 <= v < w_in:
                        y[:, i, j, :] += x[:, h, v, :] @ w[a, b]
    return y


def conv_direct_backward(x, w, gy, stride, padding, dilation):
    n, h_in, w_in, _ = x.shape
    kh, kw, _, _ = w.shape
    (sh, sw), ((pt, _), (pl, _)), (dh, dw) = stride, padding, dilation
    gx, gw = np.zeros(x.shape), np.zeros(w.shape)
    for i in range(gy.shape[1]):
        for j in range(gy.shape[2]):
            for a in range(kh):
                for b in range(kw):
                    h, v = i * sh - pt + a * dh, j * sw - pl + b * dw
                    if 0 <= h < h_in and 0 <= v < w_in:
                        gx[:, h, v, :] += gy[:, i, j, :] @ w[a, b].T
                        gw[a, b] += x[:, h, v, :].T @ gy[:, i, j, :]
    return gx, gw


def pool_windows_direct(x_shape, pool, stride, padding, oh, ow):
    """Yield (n, i, j, c, taps) with taps the window's positions in row-major order,
    each (h, w) or None for padding."""
    n_img, h_in, w_in, c_in = x_shape
    (ph, pw), (sh, sw), ((pt, _), (pl, _)) = pool, stride, padding
    for n in range(n_img):
        for i in range(oh):
            for j in range(ow):
                taps = []
                for a in range(ph):
                    for b in range(pw):
                        h, v = i * sh - pt + a, j * sw - pl + b
                        taps.append((h, v) if 0 <= h < h_in and 0 <= v < w_in else None)
                for c in range(c_in):
                    yield n, i, j, c, taps


def maxpool_direct(x, gy, pool, stride, padding):
    """Forward and backward with the tie rule spelled out: the first maximum in row-major order."""
    oh, ow = gy.shape[1:3]
    y = np.empty(gy.shape, dtype=np.float64)
    gx = np.zeros(x.shape, dtype=np.float64)
    for n, i, j, c, taps in pool_windows_direct(x.shape, pool, stride, padding, oh, ow):
        vals = [-math.inf if t is None else float(x[n, t[0], t[1], c]) for t in taps]
        best = max(vals)
        first = vals.index(best)
        y[n, i, j, c] = best
        if taps[first] is not None:
            gx[n, taps[first][0], taps[first][1], c] += gy[n, i, j, c]
    return y, gx


def avgpool_direct(x, gy, pool, stride, padding):
    oh, ow = gy.shape[1:3]
    y = np.empty(gy.shape, dtype=np.float64)
    gx = np.zeros(x.shape, dtype=np.float64)
    for n, i, j, c, taps in pool_windows_direct(x.shape, pool, stride, padding, oh, ow):
        inside = [t for t in taps if t is not None]
        y[n, i, j, c] = sum(float(x[n, h, v, c]) for h, v in inside) / max(len(inside), 1)
        for h, v in inside:
            gx[n, h, v, c] += gy[n, i, j, c] / len(inside)
    return y, gx


def bias_act_direct(x, b, gy, act):
    """Element by element with math: y, dL/dx, dL/db."""
    z = (x + b).astype(np.float64).ravel()
    g = gy.astype(np.float64).ravel()
    y, gx = np.empty_like(z), np.empty_like(z)
    for t, v in enumerate(z):
        if act == "linear":
            y[t], d = v, 1.0
        elif act == "relu":
            y[t], d = max(v, 0.0), float(v > 0)
        elif act == "sigmoid":
            s = 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))
            y[t], d = s, s * (1 - s)
        else:
            y[t] = math.tanh(v)
            d = 1 - y[t] ** 2
        gx[t] = g[t] * d
    gx = gx.reshape(x.shape)
    return y.reshape(x.shape), gx, gx.reshape(-1, x.shape[-1]).sum(axis=0)


def softmax_xent_direct(logits, labels, gloss):
    loss = np.empty(logits.shape[0])
    probs = np.empty(logits.shape)
    for r, row in enumerate(logits.astype(np.float64)):
        m = max(row)
        s = math.fsum(math.exp(v - m) for v in row)
        loss[r] = math.log(s) + m - row[labels[r]]
        probs[r] = [math.exp(v - m) / s for v in row]
    g = probs.copy()
    g[np.arange(len(labels)), labels] -= 1
    return loss, probs, g * gloss[:, None]


def numeric_grad(f, a, eps=1e-6):
    """Central differences of the scalar f() with respect to every entry of a (in place)."""
    g = np.zeros_like(a)
    for idx in np.ndindex(a.shape):
        keep = a[idx]
        a[idx] = keep + eps
        up = f()
        a[idx] = keep - eps
        down = f()
        a[idx] = keep
        g[idx] = (up - down) / (2 * eps)
    return g


# ----------------------------------------------------------------------------- convolution


def geometry(cfg):
    return cfg["stride"], cfg["padding"], cfg["dilation"]


@FEW
@given(cfg=conv_configs())
def test_conv_reference_matches_direct_loops(cfg):
    x, w, gy = conv_arrays(cfg, np.float64)
    geo = geometry(cfg)
    assert_close(ref.conv2d_forward(x, w, *geo), conv_direct(x, w, *geo), np.float64)
    gx, gw = ref.conv2d_backward(x, w, gy, *geo)
    gx_d, gw_d = conv_direct_backward(x, w, gy, *geo)
    assert_close(gx, gx_d, np.float64)
    assert_close(gw, gw_d, np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
@FEW
@given(cfg=conv_configs())
def test_conv_numba_matches_reference(dtype, cfg):
    x, w, gy = conv_arrays(cfg, dtype)
    geo = geometry(cfg)
    assert_close(fast.conv2d_forward(x, w, *geo), ref.conv2d_forward(x, w, *geo), dtype)
    gx_r, gw_r = ref.conv2d_backward(x, w, gy, *geo)
    gx, gw = fast.conv2d_backward(x, w, gy, *geo)
    assert_close(gx, gx_r, dtype)
    assert_close(gw, gw_r, dtype)
    # only what is asked for; gx from the shape alone
    for p in (ref, fast):
        gx_only, none = p.conv2d_backward(None, w, gy, *geo, need_gw=False, x_shape=x.shape)
        assert none is None
        assert_close(gx_only, gx_r, dtype)
        none, gw_only = p.conv2d_backward(x, w, gy, *geo, need_gx=False)
        assert none is None
        assert_close(gw_only, gw_r, dtype)


@pytest.mark.parametrize("provider", [ref, fast], ids=["reference", "numba"])
@FEWER
@given(cfg=conv_configs(max_size=5))
def test_conv_gradients_finite_differences(provider, cfg):
    x, w, r = conv_arrays(cfg, np.float64)
    geo = geometry(cfg)

    def loss():
        return float(np.sum(provider.conv2d_forward(x, w, *geo) * r))

    gx, gw = provider.conv2d_backward(x, w, r, *geo)
    np.testing.assert_allclose(gx, numeric_grad(loss, x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(gw, numeric_grad(loss, w), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("provider", [ref, fast], ids=["reference", "numba"])
def test_conv_backward_gx_for_a_transposed_convolution(provider):
    """gx needs only x's shape: any shape with the same output size works (as for a transposed
    convolution with output padding), and rows/columns no window reaches get zero."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 2, 2, 3))
    gy = rng.standard_normal((2, 3, 4, 3))
    geo = ((2, 2), ((1, 0), (0, 0)), (1, 1))
    small = (2, 6, 8, 2)  # (6 + 1 - 3)//2 + 1 == 3, (8 - 2)//2 + 1 == 4
    big = (2, 7, 9, 2)  # same output size, one more row and column
    gx_small, _ = provider.conv2d_backward(None, w, gy, *geo, need_gw=False, x_shape=small)
    gx_big, _ = provider.conv2d_backward(None, w, gy, *geo, need_gw=False, x_shape=big)
    assert gx_big.shape == big
    np.testing.assert_allclose(gx_big[:, :6, :8], gx_small, rtol=1e-12)
    assert not gx_big[:, 6:].any() and not gx_big[:, :, 8:].any()
    gx_d, _ = conv_direct_backward(np.zeros(big), w, gy, *geo)
    np.testing.assert_allclose(gx_big, gx_d, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError):
        provider.conv2d_backward(None, w, gy, *geo, need_gw=False, x_shape=(2, 9, 8, 2))
    with pytest.raises(ValueError):
        provider.conv2d_backward(None, w, gy, *geo, x_shape=small)  # gw needs x


@contextlib.contextmanager
def conv_tiles(tile_bytes):
    """Run the Numba provider's convolutions in tiles of at most ``tile_bytes`` (1: one row)."""
    saved, fast.CONV_TILE_BYTES = fast.CONV_TILE_BYTES, tile_bytes
    try:
        yield
    finally:
        fast.CONV_TILE_BYTES = saved


@pytest.mark.parametrize("dtype", DTYPES)
@FEW
@given(cfg=conv_configs(), tile_bytes=st.sampled_from([1, 40, 200, 1000]))
def test_conv_numba_tiles_match_reference(dtype, cfg, tile_bytes):
    """Small tiles: row tiles that start and end inside output rows and images, both layouts
    of the column matrix (one input channel or more), padding, stride, dilation."""
    x, w, gy = conv_arrays(cfg, dtype)
    geo = geometry(cfg)
    gx_r, gw_r = ref.conv2d_backward(x, w, gy, *geo)
    with conv_tiles(tile_bytes):
        assert_close(fast.conv2d_forward(x, w, *geo), ref.conv2d_forward(x, w, *geo), dtype)
        gx, gw = fast.conv2d_backward(x, w, gy, *geo)
        gx_only, _ = fast.conv2d_backward(None, w, gy, *geo, need_gw=False, x_shape=x.shape)
    assert_close(gx, gx_r, dtype)
    assert_close(gw, gw_r, dtype)
    assert_close(gx_only, gx_r, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@FEW
@given(cfg=conv_configs(), act=st.sampled_from(ACTS), tile_bytes=st.sampled_from([1, 200, 1 << 20]),
       needs=st.sampled_from([(True, True, True), (False, True, True), (True, False, False),
                              (False, False, True)]))
def test_conv_bias_act_fused_matches_reference(dtype, cfg, act, tile_bytes, needs):
    """The optional fused entry points equal the reference's conv then bias+activation."""
    x, w, gy = conv_arrays(cfg, dtype)
    geo = geometry(cfg)
    b = np.random.default_rng(cfg["seed"] + 1).standard_normal(cfg["o"]).astype(dtype)
    y_r = ref.bias_act_forward(ref.conv2d_forward(x, w, *geo), b, act)
    g_r, gb_r = ref.bias_act_backward(y_r, gy, act)
    gx_r, gw_r = ref.conv2d_backward(x, w, g_r, *geo)
    need_gx, need_gw, need_gb = needs
    with conv_tiles(tile_bytes):
        y = fast.conv2d_bias_act_forward(x, w, b, act, *geo)
        gx, gw, gb = fast.conv2d_bias_act_backward(
            x if need_gw else None, w, y_r, gy, act, *geo,
            need_gx=need_gx, need_gw=need_gw, need_gb=need_gb, x_shape=x.shape)
    assert_close(y, y_r, dtype)
    for got, want, need in ((gx, gx_r, need_gx), (gw, gw_r, need_gw), (gb, gb_r, need_gb)):
        if need:
            assert_close(got, want, dtype)
        else:
            assert got is None


def test_conv_bias_act_fused_mnist_shapes():
    """The seed CNN's three layers at a real batch, float32, with the default tiles (several
    per call), against the reference in float64."""
    rng = np.random.default_rng(3)
    geo = ((1, 1), ((0, 0), (0, 0)), (1, 1))
    for hw, cin, cout, need_gx in ((28, 1, 32, False), (13, 32, 64, True), (5, 64, 64, True)):
        x = rng.random((40, hw, hw, cin))
        w = rng.standard_normal((3, 3, cin, cout)) / np.sqrt(9 * cin)
        b = rng.standard_normal(cout) * 0.1
        gy = rng.standard_normal((40, hw - 2, hw - 2, cout))
        y_r = ref.bias_act_forward(ref.conv2d_forward(x, w, *geo), b, "relu")
        g_r, gb_r = ref.bias_act_backward(y_r, gy, "relu")
        gx_r, gw_r = ref.conv2d_backward(x, w, g_r, *geo)
        f32 = [a.astype(np.float32) for a in (x, w, b, gy, y_r)]
        y = fast.conv2d_bias_act_forward(f32[0], f32[1], f32[2], "relu", *geo)
        gx, gw, gb = fast.conv2d_bias_act_backward(f32[0], f32[1], f32[4], f32[3], "relu", *geo,
                                                   need_gx=need_gx)
        assert_close(y, y_r.astype(np.float32), np.float32)
        assert_close(gw, gw_r.astype(np.float32), np.float32)
        assert_close(gb, gb_r.astype(np.float32), np.float32)
        if need_gx:
            assert_close(gx, gx_r.astype(np.float32), np.float32)
        else:
            assert gx is None
        # and the unfused provider calls on the same data
        assert_close(fast.conv2d_forward(f32[0], f32[1], *geo),
                     ref.conv2d_forward(x, w, *geo).astype(np.float32), np.float32)
        gx, gw = fast.conv2d_backward(f32[0], f32[1], g_r.astype(np.float32), *geo, need_gx=need_gx)
        assert_close(gw, gw_r.astype(np.float32), np.float32)


def test_conv_scratch_memory_is_bounded():
    """The reused tile buffers stay within a few tiles however big the batch gets."""
    geo = ((1, 1), ((0, 0), (0, 0)), (1, 1))
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 3, 8, 16)).astype(np.float32)
    for n in (1, 8, 64, 256):
        x = rng.standard_normal((n, 20, 20, 8)).astype(np.float32)
        b = np.zeros(16, np.float32)
        y = fast.conv2d_bias_act_forward(x, w, b, "relu", *geo)
        fast.conv2d_bias_act_backward(x, w, y, np.ones_like(y), "relu", *geo)
    held = sum(a.nbytes for a in fast._scratch_local.bufs.values())
    assert held <= 4 * fast.CONV_TILE_BYTES + 4 * 9 * 8 * 16 * 8


def test_conv_impossible_config_raises():
    x, w = np.zeros((1, 2, 2, 1)), np.zeros((3, 3, 1, 1))
    for p in (ref, fast):
        with pytest.raises(ValueError):
            p.conv2d_forward(x, w, (1, 1), ((0, 0), (0, 0)), (1, 1))


# ----------------------------------------------------------------------------- pooling


def pool_geometry(cfg):
    return cfg["pool"], cfg["stride"], cfg["padding"]


@FEW
@given(cfg=pool_configs())
def test_pool_reference_matches_direct_loops(cfg):
    x, gy = pool_arrays(cfg, np.float64)
    geo = pool_geometry(cfg)
    y, argmax = ref.maxpool2d_forward(x, *geo)
    y_d, gx_d = maxpool_direct(x, gy, *geo)
    assert_close(y, y_d, np.float64)
    assert argmax.dtype == np.int32 and argmax.shape == y.shape
    assert_close(ref.maxpool2d_backward(gy, argmax, x.shape, *geo), gx_d, np.float64)
    y_d, gx_d = avgpool_direct(x, gy, *geo)
    assert_close(ref.avgpool2d_forward(x, *geo), y_d, np.float64)
    assert_close(ref.avgpool2d_backward(gy, x.shape, *geo), gx_d, np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
@FEW
@given(cfg=pool_configs())
def test_pool_numba_matches_reference(dtype, cfg):
    x, gy = pool_arrays(cfg, dtype)
    geo = pool_geometry(cfg)
    y_r, am_r = ref.maxpool2d_forward(x, *geo)
    y, am = fast.maxpool2d_forward(x, *geo)
    np.testing.assert_array_equal(y, y_r)  # a max is exact
    assert y.dtype == dtype and y.flags.c_contiguous
    np.testing.assert_array_equal(am, am_r)  # same index representation, same tie rule
    assert am.dtype == np.int32
    gx_r = ref.maxpool2d_backward(gy, am_r, x.shape, *geo)
    assert_close(fast.maxpool2d_backward(gy, am, x.shape, *geo), gx_r, dtype)
    assert_close(fast.avgpool2d_forward(x, *geo), ref.avgpool2d_forward(x, *geo), dtype)
    assert_close(fast.avgpool2d_backward(gy, x.shape, *geo),
                 ref.avgpool2d_backward(gy, x.shape, *geo), dtype)


@pytest.mark.parametrize("provider", [ref, fast], ids=["reference", "numba"])
@FEWER
@given(cfg=pool_configs(max_size=6))
def test_pool_gradients_finite_differences(provider, cfg):
    rng = np.random.default_rng(cfg["seed"])
    shape = (cfg["n"], cfg["h"], cfg["w"], cfg["c"])
    # distinct values, at least 0.01 apart: no ties, so max pooling is differentiable at x
    x = (rng.permutation(int(np.prod(shape))).reshape(shape) * 0.01).astype(np.float64)
    r = rng.standard_normal((cfg["n"], cfg["oh"], cfg["ow"], cfg["c"]))
    geo = pool_geometry(cfg)

    def max_loss():
        y = provider.maxpool2d_forward(x, *geo)[0]
        return float(np.sum(np.where(np.isinf(y), 0, y) * r))  # all-padding windows give -inf

    def avg_loss():
        return float(np.sum(provider.avgpool2d_forward(x, *geo) * r))

    am = provider.maxpool2d_forward(x, *geo)[1]
    gx = provider.maxpool2d_backward(r, am, x.shape, *geo)
    np.testing.assert_allclose(gx, numeric_grad(max_loss, x, eps=1e-4), rtol=1e-6, atol=1e-8)
    gx = provider.avgpool2d_backward(r, x.shape, *geo)
    np.testing.assert_allclose(gx, numeric_grad(avg_loss, x), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("provider", [ref, fast], ids=["reference", "numba"])
def test_maxpool_tie_rule_first_maximum_in_row_major_order(provider, dtype):
    x = np.array([[1, 5, 5, 0],
                  [5, 2, 3, 3],
                  [7, 7, 4, 4],
                  [7, 7, 4, 4]], dtype=dtype)[None, :, :, None]
    geo = ((2, 2), (2, 2), ((0, 0), (0, 0)))
    y, am = provider.maxpool2d_forward(x, *geo)
    np.testing.assert_array_equal(y[0, :, :, 0], [[5, 5], [7, 4]])
    np.testing.assert_array_equal(am[0, :, :, 0], [[1, 0], [0, 0]])
    gx = provider.maxpool2d_backward(np.ones_like(y), am, x.shape, *geo)
    expect = np.zeros((4, 4))
    expect[0, 1] = expect[0, 2] = expect[2, 0] = expect[2, 2] = 1
    np.testing.assert_array_equal(gx[0, :, :, 0], expect)
    # overlapping windows (stride 1): an element that is the first maximum of several
    # windows collects all their gradients; padding is -inf and never wins
    x = np.array([[2, 2, 2]], dtype=dtype)[None, :, :, None]
    geo = ((1, 2), (1, 1), ((0, 0), (1, 1)))
    y, am = provider.maxpool2d_forward(x, *geo)
    np.testing.assert_array_equal(y[0, 0, :, 0], [2, 2, 2, 2])
    gx = provider.maxpool2d_backward(np.ones_like(y), am, x.shape, *geo)
    np.testing.assert_array_equal(gx[0, 0, :, 0], [2, 1, 1])


# ----------------------------------------------------------------------------- bias + activation


@st.composite
def bias_act_cases(draw):
    lead = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    c = draw(st.integers(1, 6))
    return tuple(lead) + (c,), draw(st.sampled_from(ACTS)), draw(st.integers(0, 2**31))


@FEW
@given(case=bias_act_cases())
def test_bias_act_reference_matches_direct(case):
    shape, act, seed = case
    rng = np.random.default_rng(seed)
    x, b, gy = rng.standard_normal(shape) * 3, rng.standard_normal(shape[-1]), rng.standard_normal(shape)
    y_d, gx_d, gb_d = bias_act_direct(x, b, gy, act)
    y = ref.bias_act_forward(x, b, act)
    assert_close(y, y_d, np.float64)
    gx, gb = ref.bias_act_backward(y, gy, act)
    assert_close(gx, gx_d, np.float64)
    assert_close(gb, gb_d, np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
@FEW
@given(case=bias_act_cases())
def test_bias_act_numba_matches_reference(dtype, case):
    shape, act, seed = case
    rng = np.random.default_rng(seed)
    x, b = (rng.standard_normal(shape) * 3).astype(dtype), rng.standard_normal(shape[-1]).astype(dtype)
    gy = rng.standard_normal(shape).astype(dtype)
    y = ref.bias_act_forward(x, b, act)
    assert_close(fast.bias_act_forward(x, b, act), y, dtype)
    gx_r, gb_r = ref.bias_act_backward(y, gy, act)
    gx, gb = fast.bias_act_backward(y, gy, act)
    assert_close(gx, gx_r, dtype)
    assert_close(gb, gb_r, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", ACTS)
def test_bias_act_large_arrays(act, dtype):
    """Arrays past the small-array cut-off, run with the provider's real settings."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 30, 30, 24)).astype(dtype)
    b, gy = rng.standard_normal(24).astype(dtype), rng.standard_normal(x.shape).astype(dtype)
    fast.SMALL_ELEMENTWISE, saved = 1 << 14, fast.SMALL_ELEMENTWISE
    try:
        y = fast.bias_act_forward(x, b, act)
        gx, gb = fast.bias_act_backward(y, gy, act)
    finally:
        fast.SMALL_ELEMENTWISE = saved
    assert_close(y, ref.bias_act_forward(x, b, act), dtype)
    gx_r, gb_r = ref.bias_act_backward(y, gy, act)
    assert_close(gx, gx_r, dtype)
    # a sum over 3600 float32 rows: compare with the float64 sum, not float32 rounding
    np.testing.assert_allclose(gb, gx_r.astype(np.float64).reshape(-1, 24).sum(0),
                               rtol=1e-4 if dtype == np.float32 else 1e-10,
                               atol=1e-3 if dtype == np.float32 else 1e-10)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("provider", [ref, fast], ids=["reference", "numba"])
def test_sigmoid_tanh_stable_at_1e4(provider, dtype):
    x = np.array([[-1e4, -100.0, -1.0, 0.0, 1.0, 100.0, 1e4]], dtype=dtype)
    b = np.zeros(7, dtype=dtype)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        y = provider.bias_act_forward(x, b, "sigmoid")
        t = provider.bias_act_forward(x, b, "tanh")
        gx, gb = provider.bias_act_backward(y, np.ones_like(y), "sigmoid")
    assert y.dtype == dtype and np.isfinite(y).all() and np.isfinite(gx).all()
    assert y[0, 0] == 0 and y[0, -1] == 1 and y[0, 3] == 0.5
    np.testing.assert_allclose(y[0], [0, 0, 0.2689414213699951, 0.5, 0.7310585786300049, 1, 1],
                               rtol=1e-6, atol=1e-30)
    np.testing.assert_array_equal(t[0, [0, -1]], [-1, 1])


def test_bias_act_unknown_activation():
    for p in (ref, fast):
        with pytest.raises(ValueError):
            p.bias_act_forward(np.zeros((2, 3)), np.zeros(3), "gelu")


# ----------------------------------------------------------------------------- softmax + cross-entropy


@st.composite
def xent_cases(draw):
    n, k = draw(st.integers(1, 6)), draw(st.integers(1, 7))
    labels = draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n))
    return n, k, np.array(labels), draw(st.integers(0, 2**31))


@pytest.mark.parametrize("dtype", DTYPES)
@FEW
@given(case=xent_cases())
def test_softmax_xent_agree(dtype, case):
    n, k, labels, seed = case
    rng = np.random.default_rng(seed)
    logits = (rng.standard_normal((n, k)) * 5).astype(dtype)
    gloss = rng.standard_normal(n).astype(dtype)
    loss_d, probs_d, g_d = softmax_xent_direct(logits, labels, gloss)
    loss_r, probs_r = ref.softmax_xent_forward(logits, labels)
    assert_close(loss_r, loss_d, dtype)
    assert_close(probs_r, probs_d, dtype)
    assert_close(ref.softmax_xent_backward(probs_r, labels, gloss), g_d, dtype)
    loss, probs = fast.softmax_xent_forward(logits, labels)
    assert_close(loss, loss_r, dtype)
    assert_close(probs, probs_r, dtype)
    assert_close(fast.softmax_xent_backward(probs_r, labels, gloss),
                 ref.softmax_xent_backward(probs_r, labels, gloss), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("provider", [ref, fast], ids=["reference", "numba"])
def test_softmax_xent_stable_at_1e4(provider, dtype):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4]], dtype=dtype)
    labels = np.array([1, 2, 0])
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        loss, probs = provider.softmax_xent_forward(logits, labels)
        g = provider.softmax_xent_backward(probs, labels, np.ones(3, dtype=dtype))
    assert loss.dtype == probs.dtype == g.dtype == dtype
    assert np.isfinite(loss).all() and np.isfinite(probs).all() and np.isfinite(g).all()
    np.testing.assert_allclose(loss, [2e4, math.log(3), math.log(2)], rtol=1e-6)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-6)


@pytest.mark.parametrize("provider", [ref, fast], ids=["reference", "numba"])
def test_softmax_xent_label_out_of_range(provider):
    for bad in ([0, 3], [-1, 0]):
        with pytest.raises(ValueError):
            provider.softmax_xent_forward(np.zeros((2, 3)), np.array(bad))
        with pytest.raises(ValueError):
            provider.softmax_xent_backward(np.full((2, 3), 1 / 3), np.array(bad), np.ones(2))


# ----------------------------------------------------------------------------- the reference on CuPy


@pytest.mark.gpu
def test_reference_is_array_module_generic_on_cupy():
    """The same reference functions, given CuPy arrays, compute on the GPU and agree with NumPy."""
    cp = pytest.importorskip("cupy", reason="CuPy is not installed (pip install 'tinydl[gpu]')")
    try:
        if cp.cuda.runtime.getDeviceCount() == 0:
            pytest.skip("CuPy is installed but no CUDA device is visible")
    except Exception as e:  # driver/runtime missing
        pytest.skip(f"CuPy is installed but no CUDA device answers: {e}")
    rng = np.random.default_rng(3)

    def same(got, want):
        assert isinstance(got, cp.ndarray) and got.flags.c_contiguous and got.dtype == want.dtype
        np.testing.assert_allclose(cp.asnumpy(got), want, rtol=1e-10, atol=1e-10)

    x, w = rng.standard_normal((2, 7, 6, 3)), rng.standard_normal((3, 2, 3, 4))
    geo = ((2, 1), ((1, 0), (2, 1)), (1, 2))
    y = ref.conv2d_forward(x, w, *geo)
    same(ref.conv2d_forward(cp.asarray(x), cp.asarray(w), *geo), y)
    gy = rng.standard_normal(y.shape)
    for got, want in zip(ref.conv2d_backward(cp.asarray(x), cp.asarray(w), cp.asarray(gy), *geo),
                         ref.conv2d_backward(x, w, gy, *geo)):
        same(got, want)
    pgeo = ((3, 2), (2, 1), ((1, 1), (0, 1)))
    (y, am), (y_c, am_c) = ref.maxpool2d_forward(x, *pgeo), ref.maxpool2d_forward(cp.asarray(x), *pgeo)
    same(y_c, y)
    same(am_c, am)
    gp = rng.standard_normal(y.shape)
    same(ref.maxpool2d_backward(cp.asarray(gp), am_c, x.shape, *pgeo),
         ref.maxpool2d_backward(gp, am, x.shape, *pgeo))
    same(ref.avgpool2d_forward(cp.asarray(x), *pgeo), ref.avgpool2d_forward(x, *pgeo))
    same(ref.avgpool2d_backward(cp.asarray(gp), x.shape, *pgeo), ref.avgpool2d_backward(gp, x.shape, *pgeo))
    b = rng.standard_normal(3)
    for act in ACTS:
        y = ref.bias_act_forward(x, b, act)
        same(ref.bias_act_forward(cp.asarray(x), cp.asarray(b), act), y)
        for got, want in zip(ref.bias_act_backward(cp.asarray(y), cp.asarray(x), act),
                             ref.bias_act_backward(y, x, act)):
            same(got, want)
    logits, labels, gl = rng.standard_normal((5, 4)), np.array([0, 3, 1, 1, 2]), rng.standard_normal(5)
    for got, want in zip(ref.softmax_xent_forward(cp.asarray(logits), cp.asarray(labels)),
                         ref.softmax_xent_forward(logits, labels)):
        same(got, want)
    probs = ref.softmax_xent_forward(logits, labels)[1]
    same(ref.softmax_xent_backward(cp.asarray(probs), cp.asarray(labels), cp.asarray(gl)),
         ref.softmax_xent_backward(probs, labels, gl))


# ----------------------------------------------------------------------------- imports


def test_reference_does_not_import_numba():
    code = "import sys, tinydl.backends.reference; assert 'numba' not in sys.modules, 'numba imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
