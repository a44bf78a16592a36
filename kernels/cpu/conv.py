"""Numba kernels for 2-d convolution on NHWC images: im2col and col2im.

The matrix products themselves are left to NumPy's BLAS (called by the provider in
``tinydl.backends.numba_cpu``); these kernels only move data, which NumPy does slowly
(a strided-view copy, and Python-level loops over kernel taps for col2im).

Layout of the column matrix ``cols`` (``(N*OH*OW, KH*KW*C)``, C-contiguous):
row ``(n*OH + i)*OW + j`` is output pixel ``(n, i, j)``; column ``(a*KW + b)*C + c`` is
input pixel ``(i*sh - pt + a*dh, j*sw - pl + b*dw)``, channel ``c`` (zero when it falls in
the padding).  This matches a Keras kernel ``(KH, KW, C, O)`` reshaped to ``(KH*KW*C, O)``.

For a single input channel (a network's first layer) the ``*_1ch_t`` kernels use the
transposed matrix ``cols.T`` (``(KH*KW, N*OH*OW)``, C-contiguous) instead: there each kernel
tap is one long row, a shifted copy of the image, which copies at memory speed, where the
row-per-pixel layout would move one scalar per kernel tap.

The kernels are serial: on the 2-core target the BLAS call next to them already uses both
cores, and Numba threads would only fight its threads.
"""
import numpy as np
from numba import njit

_U = np.uint64  # an index known to be in range; see im2col_1ch_t


@njit(cache=True)
def im2col(x, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, cols):
    """Fill ``cols`` (see the module doc) from ``x`` (N, H, W, C)."""
    n_img, h_in, w_in, c_in = x.shape
    for n in range(n_img):
        for i in range(oh):
            for j in range(ow):
                row = (n * oh + i) * ow + j
                for a in range(kh):
                    h = i * sh - pt + a * dh
                    h_ok = 0 <= h < h_in
                    for b in range(kw):
                        w = j * sw - pl + b * dw
                        base = (a * kw + b) * c_in
                        if h_ok and 0 <= w < w_in:
                            for c in range(c_in):  # contiguous in both: vectorises
                                cols[row, base + c] = x[n, h, w, c]
                        else:
                            for c in range(c_in):
                                cols[row, base + c] = 0


@njit(cache=True)
def col2im(gcols, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, gx):
    """Overwrite ``gx`` (N, H, W, C) with the sum of the ``gcols`` entries onto the pixels they
    were read from (the adjoint of :func:`im2col`)."""
    n_img, h_in, w_in, c_in = gx.shape
    gx[...] = 0
    for n in range(n_img):
        for i in range(oh):
            for j in range(ow):
                row = (n * oh + i) * ow + j
                for a in range(kh):
                    h = i * sh - pt + a * dh
                    if h < 0 or h >= h_in:
                        continue
                    for b in range(kw):
                        w = j * sw - pl + b * dw
                        if w < 0 or w >= w_in:
                            continue
                        base = (a * kw + b) * c_in
                        for c in range(c_in):
                            gx[n, h, w, c] += gcols[row, base + c]


@njit(inline="always")
def _valid_range(off, stride, size, count):
    """``[j0, j1)``: the ``j`` in ``[0, count)`` with ``0 <= j*stride + off < size``."""
    j0 = min(max(0, (stride - 1 - off) // stride), count)
    j1 = max(min(count, (size - 1 - off) // stride + 1), j0)
    return j0, j1


@njit(cache=True)
def im2col_1ch_t(x, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, cols_t):
    """Fill ``cols_t`` (``(KH*KW, N*OH*OW)``, the transposed column matrix) from a
    single-channel ``x`` (N, H, W, 1).

    The indices are made unsigned (``_U``): Numba then drops its negative-index
    wrap-around, and the copy loop runs about three times faster.
    """
    n_img, h_in, w_in, _ = x.shape
    for a in range(kh):
        for b in range(kw):
            tap = a * kw + b
            off = b * dw - pl
            j0, j1 = _valid_range(off, sw, w_in, ow)
            for n in range(n_img):
                for i in range(oh):
                    h = i * sh - pt + a * dh
                    row0 = (n * oh + i) * ow
                    if h < 0 or h >= h_in:
                        for j in range(ow):
                            cols_t[tap, _U(row0 + j)] = 0
                        continue
                    for j in range(j0):
                        cols_t[tap, _U(row0 + j)] = 0
                    for j in range(j0, j1):
                        cols_t[_U(tap), _U(row0 + j)] = x[_U(n), _U(h), _U(j * sw + off), 0]
                    for j in range(j1, ow):
                        cols_t[tap, _U(row0 + j)] = 0


@njit(cache=True)
def col2im_1ch_t(gcols_t, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, gx):
    """The adjoint of :func:`im2col_1ch_t`: overwrite the single-channel ``gx``."""
    n_img, h_in, w_in, _ = gx.shape
    gx[...] = 0
    for a in range(kh):
        for b in range(kw):
            tap = a * kw + b
            off = b * dw - pl
            j0, j1 = _valid_range(off, sw, w_in, ow)
            for n in range(n_img):
                for i in range(oh):
                    h = i * sh - pt + a * dh
                    if h < 0 or h >= h_in:
                        continue
                    row0 = (n * oh + i) * ow
                    for j in range(j0, j1):
                        gx[_U(n), _U(h), _U(j * sw + off), 0] += gcols_t[_U(tap), _U(row0 + j)]
