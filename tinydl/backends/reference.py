"""The readable NumPy reference for tinydl's array-level primitives.

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
import numpy as np

ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh")


# ----------------------------------------------------------------------------- helpers


def get_xp(x):
    """The array module of ``x``: cupy for a CuPy array, numpy otherwise (cupy imported lazily)."""
    if type(x).__module__.startswith("cupy"):
        import cupy

        return cupy
    return np


def pair(v):
    """``3 -> (3, 3)``; ``(2, 1) -> (2, 1)``."""
    if np.ndim(v) == 0:
        return (int(v), int(v))
    a, b = v
    return (int(a), int(b))


def pad_pairs(padding):
    """``1 -> ((1, 1), (1, 1))``; ``(1, 2) -> ((1, 1), (2, 2))``; ``((0, 1), (1, 0))`` kept."""
    if np.ndim(padding) == 0:
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
    (A window made only of padding yields ``-inf`` and offset 0, which the backward drops.
    NaN inputs are not given a defined treatment.)
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
