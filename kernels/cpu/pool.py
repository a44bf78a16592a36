"""Numba kernels for max and average pooling on NHWC images.

Arguments are the pool size ``(ph, pw)``, stride ``(sh, sw)`` and the top/left padding
``(pt, pl)``; bottom/right padding only matters through the output size ``(oh, ow)``,
which the caller computes.  Window ``(i, j)`` covers input rows ``i*sh - pt + a`` and
columns ``j*sw - pl + b`` for ``0 <= a < ph``, ``0 <= b < pw``; positions outside the
image are padding.

``argmax`` (int32, ``(N, OH, OW, C)``) stores the window offset ``a*pw + b`` of the chosen
element; ties go to the first maximum in row-major window order, padding is never chosen
over a real value, and a window whose values are all ``-inf`` (or padding) keeps offset 0,
exactly as ``numpy.argmax`` over the ``-inf``-padded window would.  A NaN beats every number
(as in ``numpy.argmax`` and PyTorch): the first NaN of a window is its maximum.

The innermost loops run over the contiguous channel axis with branch-free bodies, so LLVM
vectorises them.  The kernels are serial: on the 2-core target, threads here only fight the
BLAS threads of the neighbouring convolutions.
"""
import numpy as np
from numba import njit


@njit(cache=True)
def maxpool_fwd(x, ph, pw, sh, sw, pt, pl, oh, ow, y, argmax):
    n_img, h_in, w_in, c_in = x.shape
    fast = ph == 2 and pw == 2
    for n in range(n_img):
        for i in range(oh):
            h = i * sh - pt
            # windows j0 <= j < j1 of this row lie inside the image: 2x2 fast path for them
            j0 = j1 = ow
            if fast and 0 <= h and h + 1 < h_in:
                j0 = min((pl + sw - 1) // sw, ow)
                j1 = max(min((w_in - 2 + pl) // sw + 1, ow), j0)
            for j in range(j0, j1):
                _max2x2(x, n, h, j * sw - pl, y, argmax, i, j)
            for j in range(j0):
                _max_window(x, n, h, j * sw - pl, ph, pw, y, argmax, i, j)
            for j in range(j1, ow):
                _max_window(x, n, h, j * sw - pl, ph, pw, y, argmax, i, j)


@njit(inline="always")
def _max2x2(x, n, h, w, y, argmax, i, j):
    """An in-bounds 2x2 window, kept in registers: vectorises over channels.

    (Indexing the arrays directly, not through row views, matters: views cost a lot here.)
    """
    for c in range(x.shape[3]):
        m = x[n, h, w, c]
        k = 0
        v = x[n, h, w + 1, c]
        if v > m or (v != v and m == m):  # strict: the first maximum (or NaN) wins
            m = v
            k = 1
        v = x[n, h + 1, w, c]
        if v > m or (v != v and m == m):
            m = v
            k = 2
        v = x[n, h + 1, w + 1, c]
        if v > m or (v != v and m == m):
            m = v
            k = 3
        y[n, i, j, c] = m
        argmax[n, i, j, c] = k


@njit(inline="always")
def _max_window(x, n, h0, w0, ph, pw, y, argmax, i, j):
    """Any window, padding allowed: a running maximum over the in-bounds taps."""
    _, h_in, w_in, c_in = x.shape
    for c in range(c_in):
        y[n, i, j, c] = -np.inf
        argmax[n, i, j, c] = 0
    for a in range(ph):
        h = h0 + a
        if h < 0 or h >= h_in:
            continue
        for b in range(pw):
            w = w0 + b
            if w < 0 or w >= w_in:
                continue
            k = a * pw + b
            for c in range(c_in):
                v = x[n, h, w, c]
                m = y[n, i, j, c]
                if v > m or (v != v and m == m):  # strict: the first maximum (or NaN) wins
                    y[n, i, j, c] = v
                    argmax[n, i, j, c] = k


@njit(cache=True)
def maxpool_bwd(gy, argmax, ph, pw, sh, sw, pt, pl, gx):
    """Overwrite ``gx`` with each output gradient routed to its ``argmax`` pixel (overlaps add).

    Disjoint windows (stride >= pool, the usual case) are done as a gather: every input pixel
    is written once, from the one window that may cover it, with one store stream over the
    channels (a select, no scatter), which vectorises.  Overlapping windows scatter-add.
    """
    n_img, h_in, w_in, c_in = gx.shape
    _, oh, ow, _ = gy.shape
    if sh < ph or sw < pw:  # overlapping windows: accumulate
        gx[...] = 0
        for n in range(n_img):
            for i in range(oh):
                for j in range(ow):
                    for c in range(c_in):
                        k = argmax[n, i, j, c]
                        a = k // pw
                        h = i * sh - pt + a
                        w = j * sw - pl + k - a * pw
                        if 0 <= h < h_in and 0 <= w < w_in:
                            gx[n, h, w, c] += gy[n, i, j, c]
        return
    for n in range(n_img):  # disjoint windows: each input pixel belongs to at most one
        for h in range(h_in):
            i, a = divmod(h + pt, sh)  # window row i, tap row a
            row_in = i < oh and a < ph
            j, b = divmod(pl, sw)  # window column j, tap column b, for w = 0
            for w in range(w_in):
                if row_in and j < ow and b < pw:
                    k = a * pw + b
                    for c in range(c_in):  # one store stream, no branch: vectorises
                        gx[n, h, w, c] = gy[n, i, j, c] if argmax[n, i, j, c] == k else 0
                else:
                    for c in range(c_in):
                        gx[n, h, w, c] = 0
                b += 1
                if b == sw:
                    b = 0
                    j += 1


@njit(inline="always")
def _span(i, s, p, k, size):
    """First and one-past-last in-bounds input index of window ``i`` along one axis."""
    lo = i * s - p
    first = max(lo, 0)
    return first, max(min(lo + k, size), first)


@njit(cache=True)
def avgpool_fwd(x, ph, pw, sh, sw, pt, pl, oh, ow, y):
    """Mean over each window's in-bounds pixels (a window of padding only gives 0)."""
    n_img, h_in, w_in, c_in = x.shape
    for n in range(n_img):
        for i in range(oh):
            h0, h1 = _span(i, sh, pt, ph, h_in)
            for j in range(ow):
                w0, w1 = _span(j, sw, pl, pw, w_in)
                yv = y[n, i, j]
                yv[:] = 0
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        xv = x[n, h, w]
                        for c in range(c_in):
                            yv[c] += xv[c]
                cnt = max((h1 - h0) * (w1 - w0), 1)
                for c in range(c_in):
                    yv[c] /= cnt


@njit(cache=True)
def avgpool_bwd(gy, ph, pw, sh, sw, pt, pl, gx):
    n_img, h_in, w_in, c_in = gx.shape
    _, oh, ow, _ = gy.shape
    g = np.empty(c_in, dtype=gx.dtype)
    gx[...] = 0
    for n in range(n_img):
        for i in range(oh):
            h0, h1 = _span(i, sh, pt, ph, h_in)
            for j in range(ow):
                w0, w1 = _span(j, sw, pl, pw, w_in)
                cnt = max((h1 - h0) * (w1 - w0), 1)
                gv = gy[n, i, j]
                for c in range(c_in):
                    g[c] = gv[c] / cnt  # the same division as the reference
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        xv = gx[n, h, w]
                        for c in range(c_in):
                            xv[c] += g[c]
