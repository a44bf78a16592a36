"""Numba kernels for 2-d convolution on NHWC images: im2col and col2im, a tile of rows at a time.

The matrix products themselves are left to NumPy's BLAS (called by the provider in
``tinydl.backends.numba_cpu``); these kernels only move data, which NumPy does slowly
(a strided-view copy, and Python-level loops over kernel taps for col2im).

Layout of the column matrix ``cols`` (``(N*OH*OW, KH*KW*C)``, C-contiguous):
row ``(n*OH + i)*OW + j`` is output pixel ``(n, i, j)``; column ``(a*KW + b)*C + c`` is
input pixel ``(i*sh - pt + a*dh, j*sw - pl + b*dw)``, channel ``c`` (zero when it falls in
the padding).  This matches a Keras kernel ``(KH, KW, C, O)`` reshaped to ``(KH*KW*C, O)``.

Tiles.  The provider never builds the whole matrix: it fills a small buffer with rows
``r0 .. r0 + m`` (a tile that stays in the core's cache), multiplies it at once, and moves
on, so the kernels here take the first row ``r0`` and fill (or read) ``m`` rows.

For a single input channel (a network's first layer) the ``*_1ch_t`` kernels use the
transposed tile (``(KH*KW, m)``, C-contiguous) instead: there each kernel tap is one long
row, a shifted copy of the image, which copies at memory speed, where the row-per-pixel
layout would move one scalar per kernel tap.

Indices known to be in range are made unsigned (``_U``): Numba then drops its
negative-index wrap-around, and the copy loops vectorise (about three times faster).
The kernels release the GIL (``nogil``) and are serial.
"""
import numpy as np
from numba import njit

_U = np.uint64  # an index known to be in range


@njit(inline="always")
def _row_position(r, oh, ow):
    """Output pixel ``(n, i, j)`` of row ``r`` of the column matrix."""
    n, rem = divmod(r, oh * ow)
    i, j = divmod(rem, ow)
    return n, i, j


@njit(inline="always")
def _valid_range(off, stride, size, count):
    """``[j0, j1)``: the ``j`` in ``[0, count)`` with ``0 <= j*stride + off < size``."""
    j0 = min(max(0, (stride - 1 - off) // stride), count)
    j1 = max(min(count, (size - 1 - off) // stride + 1), j0)
    return j0, j1


@njit(cache=True, nogil=True)
def im2col_rows(x, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, r0, cols):
    """Fill ``cols`` (``(m, KH*KW*C)``) with rows ``r0 .. r0+m`` of the column matrix of the
    C-contiguous ``x`` (N, H, W, C).

    With no dilation along W the ``KW*C`` values of one kernel row are contiguous in both
    ``x`` and ``cols``: an in-bounds window row is copied as one run.
    """
    n_img, h_in, w_in, c_in = x.shape
    m = cols.shape[0]
    span = kw * c_in
    xf = x.reshape(x.size)
    n, i, j = _row_position(r0, oh, ow)
    for r in range(m):
        for a in range(kh):
            h = i * sh - pt + a * dh
            base = a * span
            if h < 0 or h >= h_in:
                for t in range(span):
                    cols[r, base + t] = 0
                continue
            w0 = j * sw - pl
            if dw == 1 and w0 >= 0 and w0 + kw <= w_in:
                src = ((n * h_in + h) * w_in + w0) * c_in
                for t in range(span):  # one contiguous run: vectorises
                    cols[_U(r), _U(base + t)] = xf[_U(src + t)]
                continue
            for b in range(kw):
                w = w0 + b * dw
                cb = base + b * c_in
                if 0 <= w < w_in:
                    for c in range(c_in):
                        cols[r, cb + c] = x[n, h, w, c]
                else:
                    for c in range(c_in):
                        cols[r, cb + c] = 0
        j += 1
        if j == ow:
            j = 0
            i += 1
            if i == oh:
                i = 0
                n += 1


@njit(cache=True, nogil=True)
def col2im_rows_add(gcols, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, r0, gx):
    """Add rows ``r0 .. r0+m`` of a column-matrix gradient ``gcols`` (``(m, KH*KW*C)``) onto
    the pixels they were read from (the adjoint of :func:`im2col_rows`); the C-contiguous
    ``gx`` (N, H, W, C) is not cleared first."""
    n_img, h_in, w_in, c_in = gx.shape
    m = gcols.shape[0]
    span = kw * c_in
    gf = gx.reshape(gx.size)
    n, i, j = _row_position(r0, oh, ow)
    for r in range(m):
        for a in range(kh):
            h = i * sh - pt + a * dh
            if h < 0 or h >= h_in:
                continue
            w0 = j * sw - pl
            if dw == 1 and w0 >= 0 and w0 + kw <= w_in:
                dst = ((n * h_in + h) * w_in + w0) * c_in
                base = a * span
                for t in range(span):  # one contiguous run: vectorises
                    gf[_U(dst + t)] += gcols[_U(r), _U(base + t)]
                continue
            for b in range(kw):
                w = w0 + b * dw
                if w < 0 or w >= w_in:
                    continue
                cb = (a * kw + b) * c_in
                for c in range(c_in):
                    gx[n, h, w, c] += gcols[r, cb + c]
        j += 1
        if j == ow:
            j = 0
            i += 1
            if i == oh:
                i = 0
                n += 1


@njit(cache=True, nogil=True)
def im2col_1ch_t_rows(x, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, r0, cols_t):
    """Fill ``cols_t`` (``(KH*KW, m)``, the transposed tile of rows ``r0 .. r0+m``) from a
    single-channel C-contiguous ``x`` (N, H, W, 1): one output row segment at a time."""
    n_img, h_in, w_in, _ = x.shape
    m = cols_t.shape[1]
    xf = x.reshape(x.size)
    for a in range(kh):
        for b in range(kw):
            tap = a * kw + b
            off = b * dw - pl
            j0, j1 = _valid_range(off, sw, w_in, ow)
            n, i, j = _row_position(r0, oh, ow)
            r = 0
            while r < m:
                seg = min(ow - j, m - r)  # output pixels j .. j+seg-1 of row (n, i)
                h = i * sh - pt + a * dh
                d = r - j  # cols_t column of pixel (n, i, 0)
                if h < 0 or h >= h_in:
                    for jj in range(j, j + seg):
                        cols_t[tap, _U(d + jj)] = 0
                else:
                    lo, hi = max(j, j0), min(j + seg, j1)
                    src = (n * h_in + h) * w_in + off
                    for jj in range(j, min(lo, j + seg)):
                        cols_t[tap, _U(d + jj)] = 0
                    for jj in range(lo, hi):
                        cols_t[_U(tap), _U(d + jj)] = xf[_U(src + jj * sw)]
                    for jj in range(max(hi, j), j + seg):
                        cols_t[tap, _U(d + jj)] = 0
                r += seg
                j = 0
                i += 1
                if i == oh:
                    i = 0
                    n += 1


@njit(cache=True, nogil=True)
def col2im_1ch_t_rows_add(gcols_t, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, r0, gx):
    """The adjoint of :func:`im2col_1ch_t_rows`: add the transposed tile onto the
    single-channel C-contiguous ``gx`` (not cleared first)."""
    n_img, h_in, w_in, _ = gx.shape
    m = gcols_t.shape[1]
    gf = gx.reshape(gx.size)
    for a in range(kh):
        for b in range(kw):
            tap = a * kw + b
            off = b * dw - pl
            j0, j1 = _valid_range(off, sw, w_in, ow)
            n, i, j = _row_position(r0, oh, ow)
            r = 0
            while r < m:
                seg = min(ow - j, m - r)
                h = i * sh - pt + a * dh
                if 0 <= h < h_in:
                    d = r - j
                    dst = (n * h_in + h) * w_in + off
                    for jj in range(max(j, j0), min(j + seg, j1)):
                        gf[_U(dst + jj * sw)] += gcols_t[_U(tap), _U(d + jj)]
                r += seg
                j = 0
                i += 1
                if i == oh:
                    i = 0
                    n += 1

