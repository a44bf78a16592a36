"""The fast CPU provider: the functions of ``interface.KernelProvider`` on Numba kernels.

Data movement (im2col, col2im, pooling, element-wise work, softmax, layer normalization, the
LSTM/GRU gate math) runs in the Numba kernels of ``tinydl.kernels.cpu``; matrix products go to
NumPy's BLAS.  Inputs a kernel does not handle (tiny element-wise arrays, where a NumPy ufunc is
as quick; dtypes other than float32/float64; activations a recurrent kernel lacks) go to the
reference functions.  Results differ from the reference only in rounding (e.g. the bias gradient
is summed in float64 blocks).  ``DELEGATED`` lists the functions with no kernel here.

Convolutions never build the whole column matrix: they fill one tile of rows at a time
(``CONV_TILE_BYTES``) into a reused per-thread buffer and multiply it while it is in cache; the
backward pass sums the kernel gradient over tiles and adds each tile's column gradient onto the
image.  ``conv2d_bias_act_forward``/``_backward`` apply the bias and activation tile by tile, so
neither the pre-activation array nor the activation gradient is ever made whole.

Threads: the kernels are serial on purpose.  BLAS already uses the cores; Numba's worker threads
spinning next to BLAS's own made whole training steps slower, and the memory-bound kernels gain
little from a second core (measurements: ``bench/README.md``).  The int8 inference kernels
(``kernels/cpu/quant.py``) are the exception: an int8 model makes no BLAS call, so they split
their rows over Numba's threads.
"""
import ctypes
import os
import sys
import threading

import numpy as np

from tinydl.backends import reference as _ref
from tinydl.backends.activations import kernel_code as _act_code
from tinydl.backends.reference import ACTIVATIONS, window_geometry  # noqa: F401
from tinydl.kernels.cpu import activation as _act
from tinydl.kernels.cpu import elementwise as _elementwise
from tinydl.kernels.cpu import embedding as _embedding
from tinydl.kernels.cpu import layernorm as _layernorm
from tinydl.kernels.cpu import optim as _optim
from tinydl.kernels.cpu import recurrent as _recurrent
from tinydl.kernels.cpu import softmax as _softmax
from tinydl.kernels.cpu import conv as _conv
from tinydl.kernels.cpu import pool as _pool
from tinydl.kernels.cpu import softmax_xent as _sx

_FLOATS = (np.float32, np.float64)

# No kernel here: ``interface.bind`` gives these the reference's functions.
DELEGATED = ("rnn_scan_forward", "rnn_scan_backward", "sgd_step")

# Elementwise arrays smaller than this go to the reference (NumPy is as fast there).
SMALL_ELEMENTWISE = 1 << 14


def keep_freed_memory():
    """Make glibc's malloc keep freed blocks of up to 32 MiB for reuse instead of handing them
    back to the OS; returns whether the setting took.

    By default glibc serves big blocks (activations, im2col matrices) with fresh ``mmap``
    pages and unmaps them on free, so every training step page-faults its whole working set
    in again (a large share of a small training step).  With
    this, the memory a step frees is reused by the next one; the process keeps its peak
    working set.  Called once when this module is imported (Linux/glibc only); set the
    environment variable ``TINYDL_MALLOC_TUNING=0`` to leave malloc alone.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
        return bool(libc.mallopt(m_mmap_threshold, 32 << 20)) and bool(libc.mallopt(m_trim_threshold, 1 << 30))
    except (OSError, AttributeError):  # not glibc
        return False


MALLOC_TUNED = os.environ.get("TINYDL_MALLOC_TUNING", "1") != "0" and keep_freed_memory()


def _as_float(a, dtype=None):
    """C-contiguous float32/float64 array (``dtype`` if given, else ``a``'s own; others -> float64).
    Complex, string and object arrays are refused (a cast would drop the imaginary part)."""
    a = np.asarray(a)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"numba_cpu: expected a real numeric array, got dtype {a.dtype}")
    if dtype is None:
        dtype = a.dtype if a.dtype in _FLOATS else np.float64
    return np.ascontiguousarray(a, dtype=dtype)


def _need_shape(what, a, shape):
    """The kernels index by the shapes the provider derives from the main input: every other
    array must have exactly the shape they assume, or a kernel could read or write out of bounds."""
    if tuple(a.shape) != tuple(shape):
        raise ValueError(f"numba_cpu: {what} has shape {tuple(a.shape)}, expected {tuple(shape)}")


def _need_ndim_min(what, a, ndim):
    if a.ndim < ndim:
        raise ValueError(f"numba_cpu: {what} must have at least {ndim} axes, got shape {tuple(a.shape)}")


def _need_ndim(what, a, ndim):
    if a.ndim != ndim:
        raise ValueError(f"numba_cpu: {what} must be {ndim}-d, got shape {tuple(a.shape)}")


# ----------------------------------------------------------------------------- scratch buffers

# Convolutions run in tiles of rows of the column matrix (see ``kernels/cpu/conv.py``): a
# tile's rows of the column matrix take at most CONV_TILE_BYTES and its output rows (and
# their activation gradient) at most CONV_OUT_TILE_BYTES (one row at least), so that a
# tile is still in the core's cache when BLAS multiplies it and when the bias, activation
# and col2im passes reread it.  The output budget is what bounds a layer with few input
# channels (the column rows are short, the output rows long).  Both sizes were chosen by
# measurement (bench/README.md); the whole tile fits well inside a 1-2 MiB L2.
CONV_TILE_BYTES = 768 << 10
CONV_OUT_TILE_BYTES = 256 << 10

_scratch_local = threading.local()


def _scratch(name, size, dtype):
    """A reusable flat work array of ``size`` elements, one per ``name``, dtype and thread.

    It grows to the largest size asked for and is kept: a training loop asks for the same
    sizes every step, so it allocates once, and since tiles are bounded by
    ``CONV_TILE_BYTES`` the total stays a few MiB per thread.
    """
    bufs = getattr(_scratch_local, "bufs", None)
    if bufs is None:
        bufs = _scratch_local.bufs = {}
    dtype = np.dtype(dtype)
    key = (name, dtype.char)
    buf = bufs.get(key)
    if buf is None or buf.size < size:
        buf = bufs[key] = np.empty(size, dtype=dtype)
    return buf[:size]


# ----------------------------------------------------------------------------- convolution


class _ConvGeometry:
    """The normalised arguments of one convolution and its tiling."""

    def __init__(self, x_shape, w_shape, stride, padding, dilation, dtype):
        if len(x_shape) != 4 or len(w_shape) != 4:
            raise ValueError(f"numba_cpu: convolution needs a 4-d input and kernel, got shapes "
                             f"{tuple(x_shape)} and {tuple(w_shape)}")
        kh, kw, c, o = w_shape
        if x_shape[3] != c:
            raise ValueError(f"x has {x_shape[3]} channels, kernel expects {c}")
        _, (sh, sw), ((pt, pb), (pl, pr)), (dh, dw), (oh, ow) = window_geometry(
            x_shape, (kh, kw), stride, padding, dilation)
        self.x_shape, self.w_shape = tuple(x_shape), tuple(w_shape)
        self.y_shape = (x_shape[0], oh, ow, o)
        self.args = (kh, kw, sh, sw, pt, pl, dh, dw, oh, ow)  # as the kernels take them
        self.c, self.o = c, o
        self.m, self.k = x_shape[0] * oh * ow, kh * kw * c  # the column matrix is (m, k)
        # a 1x1 kernel without stride or padding: the column matrix is x itself
        self.pointwise = kh == kw == sh == sw == 1 and pt == pb == pl == pr == 0
        itemsize = np.dtype(dtype).itemsize
        most = max(1, min(self.m, CONV_TILE_BYTES // (self.k * itemsize), CONV_OUT_TILE_BYTES // (o * itemsize)))
        count = max(1, -(-self.m // most))
        self.tile = max(1, -(-self.m // count))  # tiles of equal size: no small product at the end

    def tiles(self):
        """``(r0, r1)`` row ranges covering the column matrix (none for an empty batch)."""
        return [(r0, min(self.m, r0 + self.tile)) for r0 in range(0, self.m, self.tile)]

    def cols(self, x, r0, r1, buf):
        """Rows ``r0 .. r1`` of the column matrix of ``x``, ``(r1 - r0, k)``, filled into
        ``buf``: a C-contiguous array, or for one input channel the transposed view of a
        C-contiguous ``(k, r1 - r0)`` one (BLAS takes either without a copy)."""
        m = r1 - r0
        if self.c == 1:
            t = buf[: self.k * m].reshape(self.k, m)
            _conv.im2col_1ch_t_rows(x, *self.args, r0, t)
            return t.T
        t = buf[: m * self.k].reshape(m, self.k)
        _conv.im2col_rows(x, *self.args, r0, t)
        return t

    def add_cols_grad(self, g, w2, r0, r1, buf, gx):
        """``gx += col2im(g @ w2.T)`` for the output-gradient rows ``g`` = rows ``r0 .. r1``."""
        m = r1 - r0
        if self.c == 1:
            t = buf[: self.k * m].reshape(self.k, m)
            np.matmul(w2, g.T, out=t)
            _conv.col2im_1ch_t_rows_add(t, *self.args, r0, gx)
        else:
            t = buf[: m * self.k].reshape(m, self.k)
            np.matmul(g, w2.T, out=t)
            _conv.col2im_rows_add(t, *self.args, r0, gx)


def conv2d_forward(x, w, stride, padding, dilation):
    return _conv_forward(x, w, None, None, stride, padding, dilation)


def conv2d_bias_act_forward(x, w, b, act, stride, padding, dilation):
    """``bias_act_forward(conv2d_forward(x, w, ...), b, act)`` in one pass: each tile's output
    rows get the bias and activation while they are still in cache, and no pre-activation
    array is made.  Returns ``y``; its backward is :func:`conv2d_bias_act_backward`."""
    return _conv_forward(x, w, b, _act_code(act), stride, padding, dilation)


def _conv_forward(x, w, b, code, stride, padding, dilation):
    x = _as_float(x)
    geo = _ConvGeometry(x.shape, w.shape, stride, padding, dilation, x.dtype)
    w2 = _as_float(w, x.dtype).reshape(geo.k, geo.o)
    if b is not None:
        b = _as_float(b, x.dtype)
        _need_shape("the bias", b, (geo.o,))
    y = np.empty(geo.y_shape, dtype=x.dtype)
    y2 = y.reshape(geo.m, geo.o)
    if geo.pointwise:
        np.matmul(x.reshape(geo.m, geo.c), w2, out=y2)
        if b is not None:
            _act.bias_act_fwd_inplace(y2, b, code)
        return y
    buf = _scratch("cols", geo.tile * geo.k, x.dtype)
    for r0, r1 in geo.tiles():
        out = y2[r0:r1]
        np.matmul(geo.cols(x, r0, r1, buf), w2, out=out)
        if b is not None:
            _act.bias_act_fwd_inplace(out, b, code)
    return y


def conv2d_backward(x, w, gy, stride, padding, dilation, need_gx=True, need_gw=True, x_shape=None):
    gx, gw, _ = _conv_backward(x, w, None, gy, None, stride, padding, dilation,
                               need_gx, need_gw, False, x_shape)
    return gx, gw


def conv2d_bias_act_backward(x, w, y, gy, act, stride, padding, dilation,
                             need_gx=True, need_gw=True, need_gb=True, x_shape=None):
    """The backward of :func:`conv2d_bias_act_forward` from its output ``y``: returns
    ``(gx, gw, gb)`` (``None`` for what is not needed), equal up to rounding to
    ``g, gb = bias_act_backward(y, gy, act)`` followed by ``conv2d_backward(x, w, g, ...)``,
    tile by tile, without making the activation gradient ``g`` as a whole array."""
    return _conv_backward(x, w, y, gy, _act_code(act), stride, padding, dilation,
                          need_gx, need_gw, need_gb, x_shape)


def _conv_backward(x, w, y, gy, code, stride, padding, dilation, need_gx, need_gw, need_gb, x_shape):
    if x is not None:
        x_shape = x.shape
    elif need_gw:
        raise ValueError("conv2d_backward: x is needed for the kernel gradient")
    elif x_shape is None:
        raise ValueError("conv2d_backward: pass x or x_shape")
    x_shape = tuple(int(v) for v in x_shape)
    gy = _as_float(gy)
    dtype = gy.dtype
    geo = _ConvGeometry(x_shape, w.shape, stride, padding, dilation, dtype)
    if gy.shape != geo.y_shape:
        raise ValueError(f"gy has shape {gy.shape}, expected {geo.y_shape}")
    m, k, o = geo.m, geo.k, geo.o
    if need_gw:
        _need_shape("x", x, x_shape)
    if code is not None:
        _need_shape("y", y, geo.y_shape)
    gy2 = gy.reshape(m, o)
    y2 = None if code is None else _as_float(y, dtype).reshape(m, o)
    w2 = _as_float(w, dtype).reshape(k, o) if need_gx else None
    if need_gw:
        x = _as_float(x, dtype)
    gx = np.zeros(x_shape, dtype=dtype) if need_gx and not geo.pointwise else None
    gw = gb = None
    if geo.pointwise:  # no column matrix: whole-array products
        g = gy2
        if code is not None:
            g = np.empty_like(gy2)
            gb = np.empty(o, dtype=dtype)
            _act.bias_act_bwd(y2, gy2, code, g, gb)
        if need_gw:
            gw = (x.reshape(m, geo.c).T @ g).reshape(geo.w_shape)
        if need_gx:
            gx = (g @ w2.T).reshape(x_shape)
        return gx, gw, (gb if need_gb else None)
    cols = _scratch("cols", geo.tile * k, dtype) if need_gw else None
    gcols = _scratch("gcols", geo.tile * k, dtype) if need_gx else None
    if need_gw:
        gw = (np.zeros if m == 0 else np.empty)((k, o), dtype=dtype)  # an empty batch: zero gradient
        part = _scratch("gw_part", k * o, dtype).reshape(k, o)
    if code is not None:
        gact = _scratch("gact", geo.tile * o, dtype)
        gb_total = np.zeros(o)
        gb_part = np.empty(o)  # float64: the kernel's block sums, unrounded
    for r0, r1 in geo.tiles():
        g = gy2[r0:r1]
        if code is not None:  # the activation's backward for these rows
            g, out = gact[: (r1 - r0) * o].reshape(r1 - r0, o), g
            _act.bias_act_bwd(y2[r0:r1], out, code, g, gb_part)
            gb_total += gb_part
        if need_gw:  # the first tile's product is the start of the sum
            np.matmul(geo.cols(x, r0, r1, cols).T, g, out=part if r0 else gw)
            if r0:
                gw += part
        if need_gx:
            geo.add_cols_grad(g, w2, r0, r1, gcols, gx)
    if code is not None and need_gb:
        gb = gb_total.astype(dtype)
    return gx, (gw.reshape(geo.w_shape) if need_gw else None), gb


# ----------------------------------------------------------------------------- pooling


def maxpool2d_forward(x, pool, stride, padding):
    x = _as_float(x)
    _need_ndim("x", x, 4)
    (ph, pw), (sh, sw), ((pt, _), (pl, _)), _, (oh, ow) = window_geometry(
        x.shape, pool, stride, padding, 1
    )
    shape = (x.shape[0], oh, ow, x.shape[3])
    y = np.empty(shape, dtype=x.dtype)
    argmax = np.empty(shape, dtype=np.int32)
    _pool.maxpool_fwd(x, ph, pw, sh, sw, pt, pl, oh, ow, y, argmax)
    return y, argmax


def maxpool2d_backward(gy, argmax, x_shape, pool, stride, padding):
    x_shape = tuple(int(v) for v in x_shape)
    (ph, pw), (sh, sw), ((pt, _), (pl, _)), _, (oh, ow) = window_geometry(x_shape, pool, stride, padding, 1)
    gy = _as_float(gy)
    _need_shape("gy", gy, (x_shape[0], oh, ow, x_shape[3]))
    _need_shape("argmax", argmax, gy.shape)
    gx = np.empty(x_shape, dtype=gy.dtype)
    _pool.maxpool_bwd(gy, np.ascontiguousarray(argmax, dtype=np.int32), ph, pw, sh, sw, pt, pl, gx)
    return gx


def avgpool2d_forward(x, pool, stride, padding):
    x = _as_float(x)
    _need_ndim("x", x, 4)
    (ph, pw), (sh, sw), ((pt, _), (pl, _)), _, (oh, ow) = window_geometry(
        x.shape, pool, stride, padding, 1
    )
    y = np.empty((x.shape[0], oh, ow, x.shape[3]), dtype=x.dtype)
    _pool.avgpool_fwd(x, ph, pw, sh, sw, pt, pl, oh, ow, y)
    return y


def avgpool2d_backward(gy, x_shape, pool, stride, padding):
    x_shape = tuple(int(v) for v in x_shape)
    (ph, pw), (sh, sw), ((pt, _), (pl, _)), _, (oh, ow) = window_geometry(x_shape, pool, stride, padding, 1)
    gy = _as_float(gy)
    _need_shape("gy", gy, (x_shape[0], oh, ow, x_shape[3]))
    gx = np.empty(x_shape, dtype=gy.dtype)
    _pool.avgpool_bwd(gy, ph, pw, sh, sw, pt, pl, gx)
    return gx


# ----------------------------------------------------------------------------- bias + activation


def bias_act_forward(x, b, act):
    code = _act_code(act)
    x = _as_float(x)
    _need_ndim_min("x", x, 1)
    b = _as_float(b, x.dtype)
    _need_shape("the bias", b, (x.shape[-1],))
    if x.size < SMALL_ELEMENTWISE:
        return _ref.bias_act_forward(x, b, act)
    c = x.shape[-1]
    y = np.empty_like(x)
    _act.bias_act_fwd(x.reshape(-1, c), _as_float(b, x.dtype), code, y.reshape(-1, c))
    return y


def bias_act_backward(y, gy, act):
    code = _act_code(act)
    y = _as_float(y)
    _need_ndim_min("y", y, 1)
    _need_shape("gy", gy, y.shape)
    if y.size < SMALL_ELEMENTWISE:
        return _ref.bias_act_backward(y, gy, act)
    c = y.shape[-1]
    gx = np.empty_like(y)
    gb = np.empty(c, dtype=y.dtype)
    _act.bias_act_bwd(y.reshape(-1, c), _as_float(gy, y.dtype).reshape(-1, c), code,
                      gx.reshape(-1, c), gb)
    return gx, gb


# ----------------------------------------------------------------------------- softmax + cross-entropy


def _labels(labels, n):
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"numba_cpu: softmax_xent labels must be integers, got dtype {labels.dtype}")
    _need_shape("labels", labels, (n,))
    return np.ascontiguousarray(labels, dtype=np.int64)


def softmax_xent_forward(logits, labels):
    logits = _as_float(logits)
    _need_ndim("logits", logits, 2)
    labels = _labels(labels, logits.shape[0])
    loss = np.empty(logits.shape[0], dtype=logits.dtype)
    probs = np.empty_like(logits)
    _sx.softmax_xent_fwd(logits, labels, loss, probs)
    return loss, probs


def softmax_xent_backward(probs, labels, gloss):
    probs = _as_float(probs)
    _need_ndim("probs", probs, 2)
    labels = _labels(labels, probs.shape[0])
    gloss = _as_float(gloss, probs.dtype)
    _need_shape("gloss", gloss, (probs.shape[0],))
    g = np.empty_like(probs)
    _sx.softmax_xent_bwd(probs, labels, gloss, g)
    return g



# ----------------------------------------------------------------------------- GELU, layer norm


def _plain(*arrays, dtype=None):
    """Whether all are NumPy float32/float64 arrays of one dtype (the kernels' inputs)."""
    dtype = arrays[0].dtype if dtype is None else dtype
    return dtype in _FLOATS and all(type(a) is np.ndarray and a.dtype == dtype for a in arrays)


def gelu_tanh_forward(x):
    if not (_plain(x) and x.flags.c_contiguous):
        return _ref.gelu_tanh_forward(x)
    return _elementwise.gelu_tanh_forward(x)  # one fused pass: y and the saved tanh


def gelu_tanh_backward(x, t, g):
    if not (_plain(x, t, g) and x.flags.c_contiguous and t.flags.c_contiguous and g.shape == x.shape):
        return _ref.gelu_tanh_backward(x, t, g)
    return _elementwise.gelu_tanh_backward(x, t, g)


def layernorm_forward(x, gamma, beta, eps):
    """One fused pass per row; ``mean``/``rstd`` are float64, one per row."""
    if not (_plain(x, gamma, beta) and x.flags.c_contiguous and x.size):
        return _ref.layernorm_forward(x, gamma, beta, eps)
    return _layernorm.layernorm_forward(x, _f64(gamma), _f64(beta), eps)


def layernorm_backward(x, g, gamma, mean, rstd, want_dx=True):
    if not (mean.ndim == 1 and type(g) is np.ndarray and g.shape == x.shape):  # the forward took the reference
        if mean.ndim == 1:  # kernel statistics with an unusual gradient: reshape them for the reference
            shape = x.shape[:-1] + (1,)
            mean, rstd = mean.reshape(shape), rstd.reshape(shape)  # float64, as the reference's
        return _ref.layernorm_backward(x, g, gamma, mean, rstd, want_dx)
    dx, dgamma, dbeta = _layernorm.layernorm_backward(x, g, _f64(gamma), mean, rstd, want_dx=want_dx)
    return dx, dgamma.astype(x.dtype), dbeta.astype(x.dtype)


def _f64(v):
    return np.ascontiguousarray(v, dtype=np.float64)


# ----------------------------------------------------------------------------- embedding


def embedding_backward(g, ids, num_rows, padding_idx=None):
    """The scatter-add in one kernel pass; ids outside ``[0, num_rows)`` (which the reference
    indexes as NumPy does) and other array types take the reference."""
    if not (_plain(g) and g.ndim >= 1 and type(ids) is np.ndarray and ids.dtype.kind in "iu"
            and ids.shape == g.shape[:-1]):
        return _ref.embedding_backward(g, ids, num_rows, padding_idx)
    flat = ids.reshape(-1)
    if flat.size and (int(flat.min()) < 0 or int(flat.max()) >= num_rows):
        return _ref.embedding_backward(g, ids, num_rows, padding_idx)
    out = np.zeros((num_rows, g.shape[-1]), dtype=g.dtype)
    _embedding.scatter_add_rows(flat, np.ascontiguousarray(g).reshape(-1, g.shape[-1]), out)
    if padding_idx is not None:
        out[padding_idx] = 0
    return out


# ----------------------------------------------------------------------------- attention softmax


def _mask_rows(keep, shape):
    """``keep`` as ``(K, L)`` rows that repeat over the leading axes of ``shape`` (row ``r`` of
    the scores uses row ``r % K``), or None when it broadcasts some other way."""
    if keep.ndim == 0:
        return np.full((1, shape[-1]), bool(keep))
    if keep.ndim > len(shape):  # the result would take keep's extra axes
        return None
    kshape = tuple(keep.shape)
    while kshape and kshape[0] == 1:
        kshape = kshape[1:]
    if not kshape or len(kshape) > len(shape) or kshape != tuple(shape[len(shape) - len(kshape):]):
        return None
    return np.ascontiguousarray(keep).reshape(-1, shape[-1])


def masked_softmax_forward(s, keep):
    rows = None
    if _plain(s) and s.ndim >= 1 and s.size and type(keep) is np.ndarray and keep.dtype == bool:
        rows = _mask_rows(keep, s.shape)
    if rows is None:
        return _ref.masked_softmax_forward(s, keep)
    s2 = np.ascontiguousarray(s).reshape(-1, s.shape[-1])
    y = np.empty(s.shape, dtype=s.dtype)
    y2 = y.reshape(s2.shape)
    _softmax.masked_shift(s2, rows, y2)
    with np.errstate(over="ignore", invalid="ignore"):
        np.exp(y2, out=y2)
    _softmax.normalize_rows(y2)
    return y


def softmax_backward(y, g):
    if not (_plain(y, g) and y.shape == g.shape and y.ndim >= 1 and y.size):
        return _ref.softmax_backward(y, g)
    y2 = np.ascontiguousarray(y).reshape(-1, y.shape[-1])
    out = np.empty(y.shape, dtype=y.dtype)
    _softmax.softmax_backward_rows(y2, np.ascontiguousarray(g).reshape(y2.shape), out.reshape(y2.shape))
    return out


# ----------------------------------------------------------------------------- recurrent scans
# Per step: the recurrent matmul in BLAS, the gate math of the step in one kernel.


def _scan_kernel_ok(act, ract, *arrays):
    return act in ("sigmoid", "tanh") and ract in ("sigmoid", "tanh") and _plain(*arrays)


def lstm_scan_forward(xs, u, h0, c0, act, ract):
    if not _scan_kernel_ok(act, ract, xs, u, h0, c0):
        return _ref.lstm_scan_forward(xs, u, h0, c0, act, ract)
    a, ra = _act_code(act), _act_code(ract)
    xs, u, h0, c0 = (np.ascontiguousarray(v) for v in (xs, u, h0, c0))
    steps, n, g4 = xs.shape
    hd = g4 // 4
    gates = np.empty(xs.shape, dtype=xs.dtype)
    out = np.empty((steps, n, 2 * hd), dtype=xs.dtype)  # [h | c]
    tcs = np.empty((steps, n, hd), dtype=xs.dtype)
    hu = np.empty((n, g4), dtype=xs.dtype)
    # the kernels read the previous state as one C-contiguous (N, 2H) [h | c] block
    prev = np.concatenate([h0, c0], axis=1)
    for t in range(steps):
        np.matmul(prev[:, :hd], u, out=hu)
        if xs.dtype == np.float32:  # the whole step in one kernel (its own vectorised tanh)
            _recurrent.lstm_fwd_step32(xs[t], hu, prev, a, ra, gates[t], out[t], tcs[t])
        else:
            _recurrent.lstm_fwd_pre(xs[t], hu, a, ra)
            np.tanh(hu, out=hu)
            _recurrent.lstm_fwd_post(hu, prev, a, ra, gates[t], out[t])
            if act == "tanh":
                np.tanh(out[t, :, hd:], out=tcs[t])
            else:  # sigmoid, as the reference computes it
                np.tanh(0.5 * out[t, :, hd:], out=tcs[t])
                tcs[t] += 1
                tcs[t] *= 0.5
            np.multiply(gates[t, :, 3 * hd:], tcs[t], out=out[t, :, :hd])
        prev = out[t]
    return out, gates, tcs


def lstm_scan_backward(g, u, h0, c0, out, gates, tcs, act, ract, need_du=True):
    if not _scan_kernel_ok(act, ract, u, h0, c0, out, gates, tcs):
        return _ref.lstm_scan_backward(g, u, h0, c0, out, gates, tcs, act, ract, need_du)
    a, ra = _act_code(act), _act_code(ract)
    g = np.ascontiguousarray(g, dtype=gates.dtype)
    steps, n, g4 = gates.shape
    hd = g4 // 4
    dz = np.empty(gates.shape, dtype=gates.dtype)
    dh_next = np.zeros((n, hd), dtype=gates.dtype)
    dc_next = np.zeros((n, hd), dtype=gates.dtype)
    ut = np.ascontiguousarray(u.T)
    prev0 = np.concatenate([h0, c0], axis=1)
    for t in range(steps - 1, -1, -1):
        prev = out[t - 1] if t > 0 else prev0
        _recurrent.lstm_bwd_step(g[t], dh_next, dc_next, gates[t], tcs[t], prev, a, ra, dz[t])
        np.matmul(dz[t], ut, out=dh_next)
    du = _ref.hprev_t(h0, out[:, :, :hd]) @ dz.reshape(-1, g4) if need_du else None
    return dz, du, dh_next, dc_next


def gru_scan_forward(xs, u, b, h0, act, ract):
    """float32 with sigmoid/tanh runs a whole-step kernel; otherwise the forward is NumPy's (its
    tanh is SIMD) and only the backward runs the gate math in a kernel."""
    if not (xs.dtype == np.float32 and _scan_kernel_ok(act, ract, xs, u, b, h0)):
        return _ref.gru_scan_forward(xs, u, b, h0, act, ract)
    a, ra = _act_code(act), _act_code(ract)
    xs, u, b, h0 = (np.ascontiguousarray(v) for v in (xs, u, b, h0))
    steps, n, g3 = xs.shape
    hd = g3 // 3
    zr = np.empty((steps, n, 2 * hd), dtype=xs.dtype)
    cand = np.empty((steps, n, hd), dtype=xs.dtype)
    hph = np.empty((steps, n, hd), dtype=xs.dtype)
    hs = np.empty((steps, n, hd), dtype=xs.dtype)
    hp = np.empty((n, g3), dtype=xs.dtype)
    h = h0
    for t in range(steps):
        np.matmul(h, u, out=hp)
        _recurrent.gru_fwd_step32(xs[t], hp, b, h, a, ra, zr[t], cand[t], hph[t], hs[t])
        h = hs[t]
    return hs, zr, cand, hph


def gru_scan_backward(g, u, h0, hs, zr, cand, hph, act, ract, need_du=True, need_db=True):
    """The gate math of each step in one kernel, for any of the four activations."""
    if not _plain(u, h0, hs, zr, cand, hph):
        return _ref.gru_scan_backward(g, u, h0, hs, zr, cand, hph, act, ract, need_du, need_db)
    a, ra = _act_code(act), _act_code(ract)
    g = np.ascontiguousarray(g, dtype=hs.dtype)
    steps, n, hd = hs.shape
    dxp = np.empty((steps, n, 3 * hd), dtype=hs.dtype)
    dhp = np.empty((steps, n, 3 * hd), dtype=hs.dtype)
    dh_next = np.zeros((n, hd), dtype=hs.dtype)
    tmp = np.empty((n, hd), dtype=hs.dtype)
    ut = np.ascontiguousarray(u.T)
    for t in range(steps - 1, -1, -1):
        h_prev = hs[t - 1] if t > 0 else h0
        _recurrent.gru_bwd_step(g[t], dh_next, zr[t], cand[t], hph[t], h_prev, a, ra, dxp[t], dhp[t])
        np.matmul(dhp[t], ut, out=tmp)
        dh_next += tmp
    du = _ref.hprev_t(h0, hs) @ dhp.reshape(-1, 3 * hd) if need_du else None
    db = dhp.sum(axis=(0, 1)) if need_db else None
    return dxp, du, db, dh_next

# ----------------------------------------------------------------------------- optimizer updates


def adam_step(params, grads, ms, vs, lr, beta1, beta2, eps, step, weight_decay=0.0, decoupled=False):
    """One pass per parameter (:func:`kernels.cpu.optim.adam_update`), the reference's
    arithmetic bit for bit; a parameter whose arrays are not all C-contiguous float32/float64
    of one dtype takes the reference."""
    step_size, bc2_sqrt = _ref.adam_bias_corrections(params, grads, ms, vs, lr, beta1, beta2, step)
    step = int(step)
    l2 = weight_decay if weight_decay and not decoupled else 0.0
    shrink = 1 - lr * weight_decay if weight_decay and decoupled else 1.0
    for p, g, m, v in zip(params, grads, ms, vs):
        if g is None or p.size == 0:
            continue
        # p, m and v updated in place as flat views in memory order: all C- or all F-contiguous
        # (an orthogonal initializer leaves a Fortran-ordered kernel); g copied to that order
        order = "C" if p.flags.c_contiguous else "F" if p.flags.f_contiguous else None
        flag = "C_CONTIGUOUS" if order == "C" else "F_CONTIGUOUS"
        if not (order and _plain(p, g, m, v) and p.shape == g.shape == m.shape == v.shape
                and all(a.flags[flag] and a.flags.writeable for a in (p, m, v))):
            _ref.adam_step([p], [g], [m], [v], lr, beta1, beta2, eps, step, weight_decay, decoupled)
            continue
        f = p.dtype.type  # NumPy meets a Python float scalar in the array's own type
        flat = [a.ravel(order="K") for a in (p, np.asarray(g, order=order), m, v)]
        _optim.adam_update(*flat, f(1 - beta1), f(beta2), f(1 - beta2), f(step_size), f(bc2_sqrt), f(eps),
                           f(l2), f(shrink))

# ---- int8 inference (kernels/cpu/quant.py); same contracts as the reference's
from tinydl.kernels.cpu import quant as _q  # noqa: E402


def quantize_int8(x, scale):
    x = np.ascontiguousarray(x, dtype=np.float32)
    out = np.empty(x.shape, np.int8)
    _q.quantize(x, np.float32(1.0 / scale), out)
    return out


def _int8_matmul_args(a, w):
    a, w = np.ascontiguousarray(a, dtype=np.int8), np.ascontiguousarray(w, dtype=np.int8)
    if a.ndim != 2 or w.ndim != 2 or a.shape[1] != w.shape[1]:
        raise ValueError(f"int8_matmul: expected a (M, K) and w (O, K) with the same K, got shapes "
                         f"{a.shape} and {w.shape}")
    _check_int8_depth("int8_matmul", a.shape[1])
    return a, _q.pack_weights(w), (a.shape[0], w.shape[0])


def _int8_conv2d_args(x, w, kernel_hw, stride, padding, dilation):
    x, w = np.ascontiguousarray(x, dtype=np.int8), np.ascontiguousarray(w, dtype=np.int8)
    if x.ndim != 4 or w.ndim != 2:
        raise ValueError(f"int8_conv2d: expected x (N, H, W, C) and w (O, KH*KW*C), got shapes {x.shape} and {w.shape}")
    (kh, kw), (sh, sw), ((pt, pb), (pl, pr)), (dh, dw), (oh, ow) = window_geometry(
        x.shape, kernel_hw, stride, padding, dilation)
    n, h, wd, c = x.shape
    if w.shape[1] != kh * kw * c:
        raise ValueError(f"int8_conv2d: w has {w.shape[1]} columns, expected KH*KW*C = {kh}*{kw}*{c} "
                         f"for x of shape {x.shape}")
    _check_int8_depth("int8_conv2d", w.shape[1])
    hp, wpad = h + pt + pb, wd + pl + pr
    if dw == 1 and kw * c % 2 == 0:  # windows read in place from a padded int16 copy of x
        # the last tile's rows past OW read on past the image: into this slack of zeros
        slack = _q.ROWS * sw * c
        xp = _q.widen_pad(x, pt, pl, hp, wpad, slack)
        rw = -(-ow // _q.ROWS) * _q.ROWS
        last = ((n - 1) * hp + (oh - 1) * sh + (kh - 1) * dh) * wpad * c + (rw - 1) * sw * c + kw * c
        if last > xp.size:  # cannot happen ((oh-1)*sh + (kh-1)*dh < hp, (ow-1)*sw + kw <= wpad)
            raise RuntimeError(f"int8_conv2d: windows would read {last} > {xp.size} values")
    else:
        xp = np.zeros(0, np.int16)
    return (x, xp, hp, wpad, _q.pack_weights(w), kh, kw, sh, sw, pt, pl, dh, dw, oh, ow), (n, oh, ow, w.shape[0])


def _check_int8_depth(op, k):
    # 128 * 128 * K must fit int32 for the sums to be exact
    if k > _q.MAX_DEPTH:
        raise ValueError(f"{op}: K = {k} products can overflow the int32 sums (at most {_q.MAX_DEPTH})")


def _epilogue_args(scale, bias, act, o):
    if act not in ("linear", "relu"):
        raise ValueError(f"dequantize_bias_act: act must be 'linear' or 'relu', got {act!r}")
    scale, bias = np.ascontiguousarray(scale, dtype=np.float32), np.ascontiguousarray(bias, dtype=np.float32)
    if scale.shape != (o,) or bias.shape != (o,):
        raise ValueError(f"dequantize_bias_act: scale and bias must have shape ({o},), got {scale.shape} and {bias.shape}")
    return scale, bias, act == "relu"


def int8_matmul(a, w):
    a, wp, shape = _int8_matmul_args(a, w)
    out = np.empty(shape, np.int32)
    _q.int8_matmul(a, wp, out)
    return out


def int8_conv2d(x, w, kernel_hw, stride, padding, dilation):
    args, shape = _int8_conv2d_args(x, w, kernel_hw, stride, padding, dilation)
    out = np.empty(shape, np.int32)
    _q.int8_conv2d(*args, out)
    return out


def dequantize_bias_act(acc, scale, bias, act):
    shape = acc.shape
    acc2 = np.ascontiguousarray(acc, dtype=np.int32).reshape(-1, shape[-1])
    out = np.empty(acc2.shape, np.float32)
    _q.dequantize_bias_act(acc2, *_epilogue_args(scale, bias, act, shape[-1]), out)
    return out.reshape(shape)


def int8_matmul_bias_act(a, w, scale, bias, act):
    a, wp, shape = _int8_matmul_args(a, w)
    out = np.empty(shape, np.float32)
    _q.int8_matmul_bias_act(a, wp, *_epilogue_args(scale, bias, act, shape[-1]), out)
    return out


def int8_conv2d_bias_act(x, w, kernel_hw, stride, padding, dilation, scale, bias, act):
    args, shape = _int8_conv2d_args(x, w, kernel_hw, stride, padding, dilation)
    out = np.empty(shape, np.float32)
    _q.int8_conv2d_bias_act(*args, *_epilogue_args(scale, bias, act, shape[-1]), out)
    return out


def int8_conv2d_requant(x, w, kernel_hw, stride, padding, dilation, scale, bias, act, out_scale, pool_size,
                        pool_stride):
    args, (n, oh, ow, o) = _int8_conv2d_args(x, w, kernel_hw, stride, padding, dilation)
    (ph, pw), (psh, psw) = _ref.pair(pool_size), _ref.pair(pool_stride)
    if min(ph, pw, psh, psw) < 1 or ph > oh or pw > ow or not out_scale > 0:
        raise ValueError(f"int8_conv2d_requant: pool {(ph, pw)} stride {(psh, psw)} does not fit the conv "
                         f"output {(oh, ow)}, or out_scale {out_scale} is not positive")
    out = np.empty((n, (oh - ph) // psh + 1, (ow - pw) // psw + 1, o), np.int8)
    _q.int8_conv2d_requant(*args[:13], ow, ph, pw, psh, psw, *_epilogue_args(scale, bias, act, o),
                           np.float32(1.0 / out_scale), out)
    return out
