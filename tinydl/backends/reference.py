"""The readable NumPy reference provider: every function of ``interface.KernelProvider``.

This is the path to read when learning how a layer works, and the oracle that the
fast providers (``tinydl.backends.numba_cpu``) are tested against.  It never
imports numba.  Every function works on NumPy arrays and, unchanged, on CuPy
arrays: the array module ``xp`` is taken from the input.

Conventions shared by every provider
------------------------------------
* Images are channels-last: ``x`` is ``(N, H, W, C)``.
* Convolution kernels use the Keras layout ``(KH, KW, C_in, C_out)``.
* ``stride``/``dilation``/``pool`` are pairs ``(along H, along W)``;
  ``padding`` is ``((top, bottom), (left, right))``.  For convenience an int
  stands for the same value on every side.
* Output spatial size: ``OH = (H + pt + pb - dh*(KH-1) - 1) // sh + 1`` (and
  the same along W); a configuration with ``OH < 1`` or ``OW < 1`` raises
  ``ValueError``.
* float32 and float64 are supported; outputs keep the dtype of the main input
  and are C-contiguous.

How convolution is computed here (im2col)
-----------------------------------------
The zero-padded input is viewed, without copying, as a 6-d array of windows
``(N, OH, OW, KH, KW, C)`` with ``as_strided``.  Reshaping that view to
``(N*OH*OW, KH*KW*C)`` copies it into the "column" matrix, and a single matrix
product with the kernel reshaped to ``(KH*KW*C, O)`` gives every output pixel.
The backward pass runs the same product the other way round and scatters the
column gradients back onto the image ("col2im"), one kernel tap at a time.
"""
import math

import numpy as np

from .activations import KERNEL_ACTIVATIONS as ACTIVATIONS
from .interface import compose_conv2d_bias_act

DELEGATED = ()  # the reference defines every function of the interface


# ----------------------------------------------------------------------------- helpers


def get_xp(x):
    """The array module of ``x``: cupy for a CuPy array, numpy otherwise (cupy imported lazily)."""
    if type(x).__module__.startswith("cupy"):
        import cupy

        return cupy
    return np


def pair(v):
    """``3 -> (3, 3)``; ``(2, 1) -> (2, 1)``."""
    if type(v) is tuple:  # the usual case, without np.ndim's cost (per op call)
        a, b = v
        return (int(a), int(b))
    if np.ndim(v) == 0:
        return (int(v), int(v))
    a, b = v
    return (int(a), int(b))


def pad_pairs(padding):
    """``1 -> ((1, 1), (1, 1))``; ``(1, 2) -> ((1, 1), (2, 2))``; ``((0, 1), (1, 0))`` kept."""
    if type(padding) is not tuple and np.ndim(padding) == 0:
        p = int(padding)
        return ((p, p), (p, p))
    ph, pw = padding
    return pair(ph), pair(pw)


def out_size(size, k, stride, pad_lo, pad_hi, dilation):
    """Number of window positions along one axis."""
    return (size + pad_lo + pad_hi - dilation * (k - 1) - 1) // stride + 1


def window_geometry(x_shape, kernel, stride, padding, dilation):
    """Normalise the arguments and compute ``(OH, OW)``; raise if there is no window position."""
    (kh, kw), (sh, sw), (dh, dw) = pair(kernel), pair(stride), pair(dilation)
    (pt, pb), (pl, pr) = pad_pairs(padding)
    if min(kh, kw, sh, sw, dh, dw) < 1 or min(pt, pb, pl, pr) < 0:
        raise ValueError("kernel, stride and dilation must be >= 1 and padding >= 0")
    _, h, w, _ = x_shape
    oh = out_size(h, kh, sh, pt, pb, dh)
    ow = out_size(w, kw, sw, pl, pr, dw)
    if oh < 1 or ow < 1:
        raise ValueError(
            f"input {tuple(x_shape)} with kernel {(kh, kw)}, stride {(sh, sw)}, padding "
            f"{((pt, pb), (pl, pr))}, dilation {(dh, dw)} leaves no output position"
        )
    return (kh, kw), (sh, sw), ((pt, pb), (pl, pr)), (dh, dw), (oh, ow)


def _windows(xpad, kernel, stride, dilation, out_hw):
    """A read-only strided view ``(N, OH, OW, KH, KW, C)`` of the windows of a padded NHWC image.

    ``view[n, i, j, a, b, c] == xpad[n, i*sh + a*dh, j*sw + b*dw, c]``; no data is copied.
    """
    xp = get_xp(xpad)
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out_hw
    n, _, _, c = xpad.shape
    s_n, s_h, s_w, s_c = xpad.strides
    return xp.lib.stride_tricks.as_strided(
        xpad,
        shape=(n, oh, ow, kh, kw, c),
        strides=(s_n, s_h * sh, s_w * sw, s_h * dh, s_w * dw, s_c),
    )


def _tap(a, i, j, stride, out_hw):
    """The ``(N, OH, OW, C)`` slice of padded image ``a`` that kernel tap ``(i*dh, j*dw)`` touches.

    ``i``, ``j`` are already multiplied by the dilation.  Assigning into the slice writes ``a``.
    """
    (sh, sw), (oh, ow) = stride, out_hw
    return a[:, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw, :]


def _pad(x, padding, value):
    xp = get_xp(x)
    (pt, pb), (pl, pr) = padding
    if pt == pb == pl == pr == 0:
        return x
    return xp.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=value)


def _crop(a, x_shape, padding):
    """Drop the padding rows/columns from a padded-image gradient."""
    (pt, _), (pl, _) = padding
    _, h, w, _ = x_shape
    return get_xp(a).ascontiguousarray(a[:, pt : pt + h, pl : pl + w, :])


def _im2col(x, kernel, stride, padding, dilation, out_hw):
    """The column matrix ``(N*OH*OW, KH*KW*C)``: row = output pixel, column = (tap, channel)."""
    win = _windows(_pad(x, padding, 0), kernel, stride, dilation, out_hw)
    n, oh, ow, kh, kw, c = win.shape
    return win.reshape(n * oh * ow, kh * kw * c)  # this reshape is the copy


# ----------------------------------------------------------------------------- convolution


def conv2d_forward(x, w, stride, padding, dilation):
    """2-d cross-correlation, no bias: ``x (N,H,W,C)``, ``w (KH,KW,C,O)`` -> ``y (N,OH,OW,O)``.

    ``y[n,i,j,o] = sum_{a,b,c} xpad[n, i*sh + a*dh, j*sw + b*dw, c] * w[a,b,c,o]``.
    """
    kh, kw, c, o = w.shape
    if x.shape[3] != c:
        raise ValueError(f"x has {x.shape[3]} channels, kernel expects {c}")
    k, s, p, d, (oh, ow) = window_geometry(x.shape, (kh, kw), stride, padding, dilation)
    cols = _im2col(x, k, s, p, d, (oh, ow))
    y = cols @ w.reshape(kh * kw * c, o).astype(x.dtype, copy=False)
    return y.reshape(x.shape[0], oh, ow, o)


def conv2d_backward(x, w, gy, stride, padding, dilation, need_gx=True, need_gw=True, x_shape=None):
    """Gradients of :func:`conv2d_forward`: returns ``(gx, gw)``, ``None`` for what is not needed.

    ``x`` may be ``None`` when only ``gx`` is wanted (``need_gw=False``); then pass the input's
    shape as ``x_shape``.  ``gx`` only needs the shape, so this also serves as the forward pass
    of a transposed convolution: any ``x_shape`` whose output size (formula above) equals
    ``gy.shape[1:3]`` is accepted, and input rows/columns that no window reaches get zero.
    Outputs take the dtype of ``gy``.
    """
    xp = get_xp(gy)
    if x is not None:
        x_shape = x.shape
    elif need_gw:
        raise ValueError("conv2d_backward: x is needed for the kernel gradient")
    elif x_shape is None:
        raise ValueError("conv2d_backward: pass x or x_shape")
    x_shape = tuple(int(v) for v in x_shape)
    kh, kw, c, o = w.shape
    if x_shape[3] != c:
        raise ValueError(f"x has {x_shape[3]} channels, kernel expects {c}")
    k, s, p, d, (oh, ow) = window_geometry(x_shape, (kh, kw), stride, padding, dilation)
    n = x_shape[0]
    if tuple(gy.shape) != (n, oh, ow, o):
        raise ValueError(f"gy has shape {tuple(gy.shape)}, expected {(n, oh, ow, o)}")
    gy2 = gy.reshape(n * oh * ow, o)
    w2 = w.reshape(kh * kw * c, o).astype(gy.dtype, copy=False)
    gx = gw = None
    if need_gw:
        cols = _im2col(x.astype(gy.dtype, copy=False), k, s, p, d, (oh, ow))
        gw = (cols.T @ gy2).reshape(kh, kw, c, o)
    if need_gx:
        gcols = (gy2 @ w2.T).reshape(n, oh, ow, kh, kw, c)
        (pt, pb), (pl, pr) = p
        gxpad = xp.zeros((n, x_shape[1] + pt + pb, x_shape[2] + pl + pr, c), dtype=gy.dtype)
        for a in range(kh):  # col2im: add each tap's gradient onto the pixels it read
            for b in range(kw):
                _tap(gxpad, a * d[0], b * d[1], s, (oh, ow))[...] += gcols[:, :, :, a, b, :]
        gx = _crop(gxpad, x_shape, p)
    return gx, gw


# ----------------------------------------------------------------------------- pooling


def maxpool2d_forward(x, pool, stride, padding):
    """Max pooling: returns ``(y, argmax)``, both ``(N, OH, OW, C)``.

    Padding is ``-inf`` and so never selected over a real value.  ``argmax`` (int32) holds, for
    every output, the offset ``a*PW + b`` of the chosen element inside its window (row-major over
    the window's rows ``a`` and columns ``b``, padding positions included); the chosen input pixel
    is ``(i*sh - pt + a, j*sw - pl + b)``.  Ties go to the FIRST maximal element in that order.
    (A window made only of padding yields ``-inf`` and offset 0, which the backward drops.)
    A NaN beats every number, as in ``numpy.argmax`` and PyTorch: a window holding NaN yields NaN
    and the offset of its first NaN; every provider follows this rule.
    """
    xp = get_xp(x)
    (ph, pw), s, p, d, out_hw = window_geometry(x.shape, pool, stride, padding, 1)
    win = _windows(_pad(x, p, -xp.inf), (ph, pw), s, d, out_hw)
    n, oh, ow, _, _, c = win.shape
    flat = win.reshape(n, oh, ow, ph * pw, c)  # copies; the window axis is now one axis
    argmax = flat.argmax(axis=3)  # argmax returns the first maximum: the tie rule
    y = xp.take_along_axis(flat, argmax[:, :, :, None, :], axis=3)[:, :, :, 0, :]
    return xp.ascontiguousarray(y), argmax.astype(xp.int32)


def maxpool2d_backward(gy, argmax, x_shape, pool, stride, padding):
    """Route each output gradient to the input pixel ``argmax`` names; overlapping windows add up."""
    xp = get_xp(gy)
    (ph, pw), s, p, d, out_hw = window_geometry(x_shape, pool, stride, padding, 1)
    n, h, w, c = x_shape
    (pt, pb), (pl, pr) = p
    gxpad = xp.zeros((n, h + pt + pb, w + pl + pr, c), dtype=gy.dtype)
    for a in range(ph):
        for b in range(pw):
            hit = argmax == a * pw + b
            _tap(gxpad, a, b, s, out_hw)[...] += xp.where(hit, gy, 0)
    return _crop(gxpad, x_shape, p)


def _avg_counts(x_shape, pool, stride, padding, out_hw, xp, dtype):
    """``(OH, OW, 1)``: how many in-bounds (non-padding) pixels each window covers."""
    _, h, w, _ = x_shape
    ones = _pad(xp.ones((1, h, w, 1), dtype=dtype), padding, 0)
    return _windows(ones, pool, stride, (1, 1), out_hw).sum(axis=(3, 4))[0]


def avgpool2d_forward(x, pool, stride, padding):
    """Average pooling over each window's in-bounds pixels only (padding is not counted)."""
    xp = get_xp(x)
    k, s, p, d, out_hw = window_geometry(x.shape, pool, stride, padding, 1)
    sums = _windows(_pad(x, p, 0), k, s, d, out_hw).sum(axis=(3, 4))
    counts = _avg_counts(x.shape, k, s, p, out_hw, xp, x.dtype)
    # a window of padding only (possible when padding >= pool) averages to 0
    return xp.ascontiguousarray(sums / xp.maximum(counts, 1))


def avgpool2d_backward(gy, x_shape, pool, stride, padding):
    """Each output's gradient, divided by its count, goes to every in-bounds pixel of its window."""
    xp = get_xp(gy)
    (ph, pw), s, p, d, out_hw = window_geometry(x_shape, pool, stride, padding, 1)
    n, h, w, c = x_shape
    (pt, pb), (pl, pr) = p
    g = gy / xp.maximum(_avg_counts(x_shape, (ph, pw), s, p, out_hw, xp, gy.dtype), 1)
    gxpad = xp.zeros((n, h + pt + pb, w + pl + pr, c), dtype=gy.dtype)
    for a in range(ph):
        for b in range(pw):
            _tap(gxpad, a, b, s, out_hw)[...] += g
    return _crop(gxpad, x_shape, p)


# ----------------------------------------------------------------------------- bias + activation


def sigmoid(z):
    """``1 / (1 + exp(-z))`` without overflow: only ever exponentiates ``-|z|``."""
    xp = get_xp(z)
    e = xp.exp(-xp.abs(z))
    return xp.where(z >= 0, 1 / (1 + e), e / (1 + e))


def bias_act_forward(x, b, act):
    """``act(x + b)`` with ``x (..., C)``, ``b (C,)``; act in linear, relu, sigmoid, tanh."""
    xp = get_xp(x)
    z = x + b.astype(x.dtype, copy=False)
    if act == "linear":
        return z
    if act == "relu":
        return xp.maximum(z, 0, out=z)
    if act == "sigmoid":
        return sigmoid(z)
    if act == "tanh":
        return xp.tanh(z, out=z)
    raise ValueError(f"unknown activation {act!r}; expected one of {ACTIVATIONS}")


def bias_act_backward(y, gy, act):
    """From the forward OUTPUT ``y``: returns ``(gx, gb)``, ``gb`` summed over all leading axes.

    relu' = (y > 0), sigmoid' = y (1 - y), tanh' = 1 - y^2.  Outputs take the dtype of ``y``.
    """
    xp = get_xp(y)
    gy = gy.astype(y.dtype, copy=False)
    if act == "linear":
        gx = xp.array(gy, copy=True)
    elif act == "relu":
        gx = xp.where(y > 0, gy, 0).astype(y.dtype, copy=False)
    elif act == "sigmoid":
        gx = gy * y * (1 - y)
    elif act == "tanh":
        gx = gy * (1 - y * y)
    else:
        raise ValueError(f"unknown activation {act!r}; expected one of {ACTIVATIONS}")
    gb = gx.reshape(-1, y.shape[-1]).sum(axis=0)
    return gx, gb


# ----------------------------------------------------------------------------- softmax + cross-entropy


def _check_labels(xp, labels, k):
    """``labels`` as an array; negative ones would silently index from the end, so refuse
    anything outside [0, K)."""
    labels = xp.asarray(labels)
    if labels.size and (int(labels.min()) < 0 or int(labels.max()) >= k):
        raise ValueError(f"softmax_xent: labels must lie in [0, {k})")
    return labels


def softmax_xent_forward(logits, labels):
    """Per-sample cross-entropy of softmax(logits): returns ``(loss (N,), probs (N, K))``.

    ``loss = logsumexp(logits) - logits[label]``, computed after subtracting the row maximum so
    that logits of any magnitude stay finite.
    """
    xp = get_xp(logits)
    n = logits.shape[0]
    labels = _check_labels(xp, labels, logits.shape[1])
    z = logits - logits.max(axis=1, keepdims=True)  # the largest entry of each row is now 0
    e = xp.exp(z)
    s = e.sum(axis=1)
    loss = xp.log(s) - z[xp.arange(n), labels]
    probs = e / s[:, None]
    return loss, probs


def softmax_xent_backward(probs, labels, gloss):
    """``(probs - onehot(labels)) * gloss[:, None]``; dtype of ``probs``."""
    xp = get_xp(probs)
    labels = _check_labels(xp, labels, probs.shape[1])
    g = xp.array(probs, copy=True)
    g[xp.arange(probs.shape[0]), labels] -= 1
    g *= gloss.astype(probs.dtype, copy=False)[:, None]
    return g


# ----------------------------------------------------------------------------- GELU (tanh form)

_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


def gelu_tanh_forward(x):
    """``(0.5 x (1 + t), t)`` with ``t = tanh(sqrt(2/pi) (x + 0.044715 x^3))``."""
    with np.errstate(over="ignore"):  # x*x*x -> +-inf for huge |x|: tanh is then +-1, exactly
        t = get_xp(x).tanh(_SQRT_2_OVER_PI * (x + 0.044715 * (x * x * x)))  # x*x*x: far faster than x**3
    return 0.5 * x * (1 + t), t


def gelu_tanh_backward(x, t, g):
    """Where tanh has saturated (1 - t^2 == 0) the second term is exactly 0, as in float64:
    computing it would give 0 * inf = NaN once x*x overflows (float32 +-1e30, float16 +-1e4)."""
    xp = get_xp(x)
    sech2 = 1 - t * t
    with np.errstate(over="ignore", invalid="ignore"):
        dinner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
        second = xp.where(sech2 == 0, 0, 0.5 * x * sech2 * dinner).astype(x.dtype, copy=False)
    return g * (0.5 * (1 + t) + second)


# ----------------------------------------------------------------------------- layer normalization


def layernorm_forward(x, gamma, beta, eps):
    """Over the last axis; ``mean`` and ``rstd`` (float64) are returned with a kept last axis of 1.

    The statistics are computed in float64 whatever the input's float type: the squares of
    float32 inputs of +-1e30, or float16 of +-1e4, would overflow in the input's own dtype."""
    xp = get_xp(x)
    xw = x.astype(np.float64, copy=False)
    mean = xw.mean(axis=-1, keepdims=True)
    xc = xw - mean
    var = (xc * xc).mean(axis=-1, keepdims=True)
    rstd = 1 / xp.sqrt(var + eps)
    y = xc * rstd * gamma + beta
    return (y.astype(x.dtype, copy=False) if x.dtype.kind == "f" else y), mean, rstd


def layernorm_backward(x, g, gamma, mean, rstd, want_dx=True):
    """``dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat))`` with ``dxhat = g gamma``
    (in float64, as the forward's statistics; results in ``x``'s float dtype)."""
    out = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    xhat = (x.astype(np.float64, copy=False) - mean) * rstd
    g = g.astype(np.float64, copy=False)
    dx = None
    if want_dx:
        dxhat = g * gamma
        dx = (rstd * (dxhat - dxhat.mean(axis=-1, keepdims=True)
                      - xhat * (dxhat * xhat).mean(axis=-1, keepdims=True))).astype(out, copy=False)
    d = x.shape[-1]
    return dx, (g * xhat).reshape(-1, d).sum(axis=0).astype(out), g.reshape(-1, d).sum(axis=0).astype(out)


# ----------------------------------------------------------------------------- attention softmax


def masked_softmax_forward(s, keep):
    xp = get_xp(s)
    ninf = s.dtype.type(-np.inf)
    sm = xp.where(keep, s, ninf) if keep.ndim else (s if bool(keep) else xp.full_like(s, ninf))
    m = sm.max(axis=-1, keepdims=True)
    m = xp.where(xp.isfinite(m), m, s.dtype.type(0))
    e = xp.exp(sm - m)
    total = e.sum(axis=-1, keepdims=True)
    return e / xp.where(total > 0, total, s.dtype.type(1))


def softmax_backward(y, g):
    return y * (g - (g * y).sum(axis=-1, keepdims=True))


# ----------------------------------------------------------------------------- embedding


def embedding_backward(g, ids, num_rows, padding_idx=None):
    """Scatter-add the rows of ``g`` into a zero table at ``ids``."""
    xp = get_xp(g)
    ids = ids.reshape(-1)
    rows = g.reshape(-1, g.shape[-1])
    out = xp.zeros((num_rows, g.shape[-1]), dtype=g.dtype)
    if ids.size and xp is not np:
        xp.add.at(out, ids, rows)  # CuPy: an atomic scatter-add
    elif ids.size:
        # Sort the ids once, sum each run of equal ids with reduceat: a scatter-add without
        # np.add.at's per-element overhead.
        order = xp.argsort(ids, kind="stable")
        sorted_ids = ids[order]
        starts = xp.flatnonzero(xp.concatenate([xp.ones(1, bool), sorted_ids[1:] != sorted_ids[:-1]]))
        out[sorted_ids[starts]] = xp.add.reduceat(rows[order], starts, axis=0)
    if padding_idx is not None:
        out[padding_idx] = 0
    return out


# ----------------------------------------------------------------------------- recurrent scans
# Forward per step ``act(a)``; backward the derivative from the OUTPUT ``y = act(a)``.


def _scan_sigmoid(xp, a):
    return 0.5 * (1 + xp.tanh(0.5 * a))  # = 1 / (1 + exp(-a)), without overflow; as the kernels


SCAN_ACTIVATIONS = {
    "tanh": (lambda xp, a: xp.tanh(a), lambda y: 1 - y * y),
    "sigmoid": (_scan_sigmoid, lambda y: y * (1 - y)),
    "relu": (lambda xp, a: xp.maximum(a, 0), lambda y: (y > 0).astype(y.dtype)),
    "linear": (lambda xp, a: a, lambda y: 1),
}
assert set(SCAN_ACTIVATIONS) == set(ACTIVATIONS)


def hprev_t(h0, hs):
    """(H, T*N): the previous hidden state of every step, transposed, for the kernel gradient."""
    xp = get_xp(hs)
    prev = xp.concatenate([h0[None], hs[:-1]], axis=0)
    return prev.reshape(-1, prev.shape[-1]).T


def rnn_scan_forward(xs, u, h0, act):
    xp = get_xp(xs)
    f = SCAN_ACTIVATIONS[act][0]
    xs = xp.ascontiguousarray(xs)
    hs = xp.empty(xs.shape, dtype=xs.dtype)
    h = h0
    for t in range(xs.shape[0]):
        h = f(xp, xs[t] + h @ u)
        hs[t] = h
    return hs


def rnn_scan_backward(g, u, h0, hs, act, need_du=True):
    xp = get_xp(g)
    dact = SCAN_ACTIVATIONS[act][1]
    da = xp.empty(hs.shape, dtype=hs.dtype)
    dh_next = xp.zeros(hs.shape[1:], dtype=hs.dtype)
    ut = u.T
    for t in range(hs.shape[0] - 1, -1, -1):
        da[t] = (g[t] + dh_next) * dact(hs[t])
        dh_next = da[t] @ ut
    du = hprev_t(h0, hs) @ da.reshape(-1, da.shape[-1]) if need_du else None
    return da, du, dh_next


def lstm_scan_forward(xs, u, h0, c0, act, ract):
    xp = get_xp(xs)
    f, rf = SCAN_ACTIVATIONS[act][0], SCAN_ACTIVATIONS[ract][0]
    xs = xp.ascontiguousarray(xs)
    steps, n, g4 = xs.shape
    hd = g4 // 4
    gates = xp.empty(xs.shape, dtype=xs.dtype)
    out = xp.empty((steps, n, 2 * hd), dtype=xs.dtype)  # [h | c]
    tcs = xp.empty((steps, n, hd), dtype=xs.dtype)
    h, c = h0, c0
    for t in range(steps):
        z = xs[t] + h @ u  # one matmul for the four gates
        gt = gates[t]
        gt[:, :2 * hd] = rf(xp, z[:, :2 * hd])
        gt[:, 2 * hd:3 * hd] = f(xp, z[:, 2 * hd:3 * hd])
        gt[:, 3 * hd:] = rf(xp, z[:, 3 * hd:])
        c = gt[:, hd:2 * hd] * c + gt[:, :hd] * gt[:, 2 * hd:3 * hd]
        tcs[t] = f(xp, c)
        h = gt[:, 3 * hd:] * tcs[t]
        out[t, :, :hd] = h
        out[t, :, hd:] = c
    return out, gates, tcs


def lstm_scan_backward(g, u, h0, c0, out, gates, tcs, act, ract, need_du=True):
    xp = get_xp(g)
    dact, dract = SCAN_ACTIVATIONS[act][1], SCAN_ACTIVATIONS[ract][1]
    steps, n, g4 = gates.shape
    hd = g4 // 4
    dz = xp.empty(gates.shape, dtype=gates.dtype)
    dh_next = xp.zeros((n, hd), dtype=gates.dtype)
    dc_next = xp.zeros((n, hd), dtype=gates.dtype)
    ut = u.T
    for t in range(steps - 1, -1, -1):
        gt = gates[t]
        i, f, gg, o = gt[:, :hd], gt[:, hd:2 * hd], gt[:, 2 * hd:3 * hd], gt[:, 3 * hd:]
        c_prev = out[t - 1, :, hd:] if t > 0 else c0
        dh = g[t, :, :hd] + dh_next
        dc = g[t, :, hd:] + dc_next + dh * o * dact(tcs[t])
        d = dz[t]
        d[:, :hd] = dc * gg * dract(i)
        d[:, hd:2 * hd] = dc * c_prev * dract(f)
        d[:, 2 * hd:3 * hd] = dc * i * dact(gg)
        d[:, 3 * hd:] = dh * tcs[t] * dract(o)
        dh_next = d @ ut
        dc_next = dc * f
    du = hprev_t(h0, out[:, :, :hd]) @ dz.reshape(-1, g4) if need_du else None
    return dz, du, dh_next, dc_next


def gru_scan_forward(xs, u, b, h0, act, ract):
    xp = get_xp(xs)
    f, rf = SCAN_ACTIVATIONS[act][0], SCAN_ACTIVATIONS[ract][0]
    xs = xp.ascontiguousarray(xs)
    steps, n, g3 = xs.shape
    hd = g3 // 3
    zr = xp.empty((steps, n, 2 * hd), dtype=xs.dtype)
    cand = xp.empty((steps, n, hd), dtype=xs.dtype)
    hph = xp.empty((steps, n, hd), dtype=xs.dtype)
    hs = xp.empty((steps, n, hd), dtype=xs.dtype)
    h = h0
    for t in range(steps):
        hp = h @ u + b
        zr[t] = rf(xp, xs[t, :, :2 * hd] + hp[:, :2 * hd])
        hph[t] = hp[:, 2 * hd:]
        cand[t] = f(xp, xs[t, :, 2 * hd:] + zr[t, :, hd:] * hph[t])
        z = zr[t, :, :hd]
        h = z * h + (1 - z) * cand[t]
        hs[t] = h
    return hs, zr, cand, hph


def gru_scan_backward(g, u, h0, hs, zr, cand, hph, act, ract, need_du=True, need_db=True):
    xp = get_xp(g)
    dact, dract = SCAN_ACTIVATIONS[act][1], SCAN_ACTIVATIONS[ract][1]
    steps, n, hd = hs.shape
    dxp = xp.empty((steps, n, 3 * hd), dtype=hs.dtype)
    dhp = xp.empty((steps, n, 3 * hd), dtype=hs.dtype)
    dh_next = xp.zeros((n, hd), dtype=hs.dtype)
    ut = u.T
    for t in range(steps - 1, -1, -1):
        z, r, nn_ = zr[t, :, :hd], zr[t, :, hd:], cand[t]
        h_prev = hs[t - 1] if t > 0 else h0
        dh = g[t] + dh_next
        da_n = dh * (1 - z) * dact(nn_)
        dx, dr = dxp[t], dhp[t]
        dx[:, :hd] = dh * (h_prev - nn_) * dract(z)
        dx[:, hd:2 * hd] = da_n * hph[t] * dract(r)
        dx[:, 2 * hd:] = da_n
        dr[:, :2 * hd] = dx[:, :2 * hd]
        dr[:, 2 * hd:] = da_n * r
        dh_next = dh * z + dr @ ut
    du = hprev_t(h0, hs) @ dhp.reshape(-1, 3 * hd) if need_du else None
    db = dhp.sum(axis=(0, 1)) if need_db else None
    return dxp, du, db, dh_next


# ----------------------------------------------------------------------------- optimizer updates
# Per-parameter loops over the same formulas as the fused multi-tensor CUDA kernels.


def adam_bias_corrections(params, grads, ms, vs, lr, beta1, beta2, step):
    """Check an ``adam_step`` call; returns ``(lr / (1 - beta1^t), sqrt(1 - beta2^t))``."""
    step = int(step)
    if step < 1:
        raise ValueError(f"adam_step: step must be >= 1 (1-based), got {step}")
    if not len(params) == len(grads) == len(ms) == len(vs):
        raise ValueError("params, grads and optimizer state lists must have the same length")
    return float(lr) / (1.0 - float(beta1) ** step), math.sqrt(1.0 - float(beta2) ** step)


def adam_step(params, grads, ms, vs, lr, beta1, beta2, eps, step, weight_decay=0.0, decoupled=False):
    step_size, bc2_sqrt = adam_bias_corrections(params, grads, ms, vs, lr, beta1, beta2, step)
    for p, g, m, v in zip(params, grads, ms, vs):
        if g is None or p.size == 0:
            continue
        xp = get_xp(p)
        g = g.astype(p.dtype, copy=False).reshape(p.shape)
        if weight_decay and not decoupled:
            g = g + weight_decay * p
        m += (1 - beta1) * (g - m)  # PyTorch's lerp_(g, 1 - beta1)
        v *= beta2
        v += (1 - beta2) * (g * g)
        if weight_decay and decoupled:
            p *= 1 - lr * weight_decay
        p -= step_size * m / (xp.sqrt(v) / bc2_sqrt + eps)


def sgd_step(params, grads, bufs, lr, momentum, nesterov, weight_decay):
    if bufs is None:
        if momentum != 0:
            raise ValueError("sgd_step: momentum needs momentum buffers")
        bufs = [None] * len(params)
    if not len(params) == len(grads) == len(bufs):
        raise ValueError("params, grads and optimizer state lists must have the same length")
    for p, g, buf in zip(params, grads, bufs):
        if g is None or p.size == 0:
            continue
        d = g.astype(p.dtype, copy=False).reshape(p.shape)
        if weight_decay:
            d = d + weight_decay * p
        if momentum:
            buf *= momentum
            buf += d
            d = d + momentum * buf if nesterov else buf
        p -= lr * d

# ----------------------------------------------------------------------------- int8 inference
# Symmetric quantization: q = clip(rint(x / scale), -127, 127), zero point 0, so zero padding
# stays exact. Weights are packed as (O, K) int8 rows (a conv kernel (KH, KW, C, O) becomes
# (O, KH*KW*C)); products are summed in int32.


def quantize_int8(x, scale):
    """``clip(rint(x * (1/scale)), -127, 127)`` as int8 (float32 arithmetic)."""
    xp = get_xp(x)
    inv = np.float32(1.0 / scale)
    return xp.clip(xp.rint(x.astype(np.float32) * inv), -127, 127).astype(np.int8)


def int8_matmul(a, w):
    """``a (M, K) int8 @ w (O, K) int8 ^T`` -> (M, O) int32, exact."""
    return a.astype(np.int32) @ w.astype(np.int32).T


def int8_conv2d(x, w, kernel_hw, stride, padding, dilation):
    """Convolution of int8 NHWC ``x`` with packed int8 filters ``w`` (O, KH*KW*C) -> int32 NHWC."""
    c = x.shape[3]
    kernel, stride, padding, dilation, out_hw = window_geometry(x.shape, kernel_hw, stride, padding, dilation)
    cols = _windows(_pad(x, padding, 0), kernel, stride, dilation, out_hw)
    n, (oh, ow) = x.shape[0], out_hw
    cols = cols.reshape(n * oh * ow, kernel[0] * kernel[1] * c).astype(np.int32)
    return (cols @ w.astype(np.int32).T).reshape(n, oh, ow, w.shape[0])


def dequantize_bias_act(acc, scale, bias, act):
    """``act(acc * scale + bias)`` in float32 over the last axis (``scale``, ``bias``: (O,));
    ``act`` is 'linear' or 'relu'."""
    xp = get_xp(acc)
    y = acc.astype(np.float32) * scale.astype(np.float32) + bias.astype(np.float32)
    if act == "relu":
        y = xp.maximum(y, np.float32(0))
    elif act != "linear":
        raise ValueError(f"dequantize_bias_act: act must be 'linear' or 'relu', got {act!r}")
    return y


def int8_matmul_bias_act(a, w, scale, bias, act):
    """``dequantize_bias_act(int8_matmul(a, w), scale, bias, act)``."""
    return dequantize_bias_act(int8_matmul(a, w), scale, bias, act)


def int8_conv2d_bias_act(x, w, kernel_hw, stride, padding, dilation, scale, bias, act):
    """``dequantize_bias_act(int8_conv2d(x, w, ...), scale, bias, act)``."""
    return dequantize_bias_act(int8_conv2d(x, w, kernel_hw, stride, padding, dilation), scale, bias, act)


def int8_conv2d_requant(x, w, kernel_hw, stride, padding, dilation, scale, bias, act, out_scale, pool_size,
                        pool_stride):
    """int8 NHWC: ``int8_conv2d_bias_act``, then max pooling ('valid') and ``quantize_int8``
    with ``out_scale``: a quantized layer's output on the next layer's input grid."""
    y = int8_conv2d_bias_act(x, w, kernel_hw, stride, padding, dilation, scale, bias, act)
    y = maxpool2d_forward(y, pool_size, pool_stride, 0)[0]
    return quantize_int8(y, out_scale)


# act(conv2d(x, w) + b): composed of the primitives above
conv2d_bias_act_forward, conv2d_bias_act_backward = compose_conv2d_bias_act(
    conv2d_forward, conv2d_backward, bias_act_forward, bias_act_backward)
