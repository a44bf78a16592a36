"""The fast CPU provider: same functions and signatures as ``tinydl.backends.reference``.

Data movement (im2col, col2im, pooling, elementwise, softmax) runs in the Numba kernels of
``tinydl.kernels.cpu``; matrix products go to NumPy's BLAS.  Tiny elementwise arrays go to the
reference functions instead (a NumPy ufunc is as quick there).  See ``reference`` for the
conventions, the argmax format of max pooling included; results differ from the reference
only in rounding (e.g. the bias gradient is summed in float64 blocks).

Threads: the kernels are serial on purpose.  The BLAS calls already use both cores of the
2-core target, and Numba's OpenMP workers spinning next to BLAS's own threads made a whole
MNIST-CNN training step up to 3x slower than serial kernels next to threaded BLAS (measured
on a 2-core machine).
"""
import ctypes
import os
import sys

import numpy as np

from tinydl.backends import reference as _ref
from tinydl.backends.reference import ACTIVATIONS, window_geometry  # noqa: F401
from tinydl.kernels.cpu import activation as _act
from tinydl.kernels.cpu import conv as _conv
from tinydl.kernels.cpu import pool as _pool
from tinydl.kernels.cpu import softmax_xent as _sx

_FLOATS = (np.float32, np.float64)

# Elementwise arrays smaller than this go to the reference (NumPy is as fast there).
SMALL_ELEMENTWISE = 1 << 14


def keep_freed_memory():
    """Make glibc's malloc keep freed blocks of up to 32 MiB for reuse instead of handing them
    back to the OS; returns whether the setting took.

    By default glibc serves big blocks (activations, im2col matrices) with fresh ``mmap``
    pages and unmaps them on free, so every training step page-faults its whole working set
    in again: measured on 2 cores, that was a third of a MNIST-CNN step at batch 32.  With
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
    """C-contiguous float32/float64 array (``dtype`` if given, else ``a``'s own; others -> float64)."""
    if dtype is None:
        dtype = a.dtype if a.dtype in _FLOATS else np.float64
    return np.ascontiguousarray(a, dtype=dtype)


def _cols(x, k, s, p, d, out_hw):
    """The im2col matrix of ``x``, ``(N*OH*OW, KH*KW*C)``.

    A free reshape for a plain 1x1 kernel; for one input channel, the transposed view of
    a C-contiguous ``(KH*KW, N*OH*OW)`` array (see ``kernels/cpu/conv.py``).  BLAS takes
    either layout without a copy.
    """
    (kh, kw), (sh, sw), ((pt, pb), (pl, pr)), (dh, dw), (oh, ow) = k, s, p, d, out_hw
    n, _, _, c = x.shape
    if kh == kw == sh == sw == 1 and pt == pb == pl == pr == 0:
        return x.reshape(n * oh * ow, c)
    if c == 1:
        cols_t = np.empty((kh * kw, n * oh * ow), dtype=x.dtype)
        _conv.im2col_1ch_t(x, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, cols_t)
        return cols_t.T
    cols = np.empty((n * oh * ow, kh * kw * c), dtype=x.dtype)
    _conv.im2col(x, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, cols)
    return cols


# ----------------------------------------------------------------------------- convolution


def conv2d_forward(x, w, stride, padding, dilation):
    x = _as_float(x)
    kh, kw, c, o = w.shape
    if x.shape[3] != c:
        raise ValueError(f"x has {x.shape[3]} channels, kernel expects {c}")
    k, s, p, d, (oh, ow) = window_geometry(x.shape, (kh, kw), stride, padding, dilation)
    w2 = _as_float(w, x.dtype).reshape(kh * kw * c, o)
    y = np.empty((x.shape[0], oh, ow, o), dtype=x.dtype)
    np.matmul(_cols(x, k, s, p, d, (oh, ow)), w2, out=y.reshape(-1, o))
    return y


def conv2d_backward(x, w, gy, stride, padding, dilation, need_gx=True, need_gw=True, x_shape=None):
    if x is not None:
        x_shape = x.shape
    elif need_gw:
        raise ValueError("conv2d_backward: x is needed for the kernel gradient")
    elif x_shape is None:
        raise ValueError("conv2d_backward: pass x or x_shape")
    x_shape = tuple(int(v) for v in x_shape)
    gy = _as_float(gy)
    kh, kw, c, o = w.shape
    k, s, p, d, (oh, ow) = window_geometry(x_shape, (kh, kw), stride, padding, dilation)
    n = x_shape[0]
    if x_shape[3] != c:
        raise ValueError(f"x has {x_shape[3]} channels, kernel expects {c}")
    if gy.shape != (n, oh, ow, o):
        raise ValueError(f"gy has shape {gy.shape}, expected {(n, oh, ow, o)}")
    gy2 = gy.reshape(n * oh * ow, o)
    gx = gw = None
    if need_gw:
        gw = (_cols(_as_float(x, gy.dtype), k, s, p, d, (oh, ow)).T @ gy2).reshape(kh, kw, c, o)
    if need_gx:
        w2 = _as_float(w, gy.dtype).reshape(kh * kw * c, o)
        (sh, sw), ((pt, pb), (pl, pr)), (dh, dw) = s, p, d
        if kh == kw == sh == sw == 1 and pt == pb == pl == pr == 0 and x_shape[1:3] == (oh, ow):
            gx = (gy2 @ w2.T).reshape(x_shape)
        elif c == 1:
            gx = np.empty(x_shape, dtype=gy.dtype)
            _conv.col2im_1ch_t(w2 @ gy2.T, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, gx)
        else:
            gx = np.empty(x_shape, dtype=gy.dtype)
            _conv.col2im(gy2 @ w2.T, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, gx)
    return gx, gw


# ----------------------------------------------------------------------------- pooling


def maxpool2d_forward(x, pool, stride, padding):
    x = _as_float(x)
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
    (ph, pw), (sh, sw), ((pt, _), (pl, _)), _, _ = window_geometry(x_shape, pool, stride, padding, 1)
    gy = _as_float(gy)
    gx = np.empty(x_shape, dtype=gy.dtype)
    _pool.maxpool_bwd(gy, np.ascontiguousarray(argmax, dtype=np.int32), ph, pw, sh, sw, pt, pl, gx)
    return gx


def avgpool2d_forward(x, pool, stride, padding):
    x = _as_float(x)
    (ph, pw), (sh, sw), ((pt, _), (pl, _)), _, (oh, ow) = window_geometry(
        x.shape, pool, stride, padding, 1
    )
    y = np.empty((x.shape[0], oh, ow, x.shape[3]), dtype=x.dtype)
    _pool.avgpool_fwd(x, ph, pw, sh, sw, pt, pl, oh, ow, y)
    return y


def avgpool2d_backward(gy, x_shape, pool, stride, padding):
    x_shape = tuple(int(v) for v in x_shape)
    (ph, pw), (sh, sw), ((pt, _), (pl, _)), _, _ = window_geometry(x_shape, pool, stride, padding, 1)
    gy = _as_float(gy)
    gx = np.empty(x_shape, dtype=gy.dtype)
    _pool.avgpool_bwd(gy, ph, pw, sh, sw, pt, pl, gx)
    return gx


# ----------------------------------------------------------------------------- bias + activation


def _act_code(act):
    try:
        return _act.ACT_CODES[act]
    except KeyError:
        raise ValueError(f"unknown activation {act!r}; expected one of {ACTIVATIONS}") from None


def bias_act_forward(x, b, act):
    code = _act_code(act)
    x = _as_float(x)
    if x.size < SMALL_ELEMENTWISE:
        return _ref.bias_act_forward(x, b, act)
    c = x.shape[-1]
    y = np.empty_like(x)
    _act.bias_act_fwd(x.reshape(-1, c), _as_float(b, x.dtype), code, y.reshape(-1, c))
    return y


def bias_act_backward(y, gy, act):
    code = _act_code(act)
    y = _as_float(y)
    if y.size < SMALL_ELEMENTWISE:
        return _ref.bias_act_backward(y, gy, act)
    c = y.shape[-1]
    gx = np.empty_like(y)
    gb = np.empty(c, dtype=y.dtype)
    _act.bias_act_bwd(y.reshape(-1, c), _as_float(gy, y.dtype).reshape(-1, c), code,
                      gx.reshape(-1, c), gb)
    return gx, gb


# ----------------------------------------------------------------------------- softmax + cross-entropy


def softmax_xent_forward(logits, labels):
    logits = _as_float(logits)
    loss = np.empty(logits.shape[0], dtype=logits.dtype)
    probs = np.empty_like(logits)
    _sx.softmax_xent_fwd(logits, np.ascontiguousarray(labels, dtype=np.int64), loss, probs)
    return loss, probs


def softmax_xent_backward(probs, labels, gloss):
    probs = _as_float(probs)
    g = np.empty_like(probs)
    _sx.softmax_xent_bwd(probs, np.ascontiguousarray(labels, dtype=np.int64),
                         _as_float(gloss, probs.dtype), g)
    return g
