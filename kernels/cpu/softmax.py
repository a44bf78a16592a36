"""Numba kernels for the masked softmax over the last axis (attention) and its backward.

The forward is three passes over a C-contiguous ``(R, L)`` array: :func:`masked_shift` writes
``s - max`` where the mask keeps an entry and ``-inf`` elsewhere, NumPy's SIMD ``exp`` runs in
place (Numba's ``exp`` is scalar libm), and :func:`normalize_rows` divides each row by its sum
(summed in float64, :mod:`.rowsum`).  ``keep`` is ``(K, L)`` booleans, row ``r`` of the scores
using row ``r % K`` (a mask that broadcasts over the leading axes, like the causal mask).  The formulas
are the reference's (``backends/reference.py``: ``masked_softmax_forward``): a row whose
maximum is not finite (or NaN) is shifted by 0, a row whose sum is not positive (0 or NaN) is
divided by 1.
"""
import numpy as np
from numba import njit

from .rowsum import dot64, sum64


# The row maximum runs in four interleaved partial maxima (exact in any order): one running
# maximum is a chain of dependent compares that LLVM does not vectorise without fastmath.
@njit(cache=True, error_model="numpy")
def masked_shift(s, keep, out):
    rows, length = s.shape
    k_rows = keep.shape[0]
    if keep.shape[1] != length or out.shape[0] != rows or out.shape[1] != length or k_rows == 0:
        raise ValueError("masked_shift: the arrays' shapes disagree")
    ninf = s.dtype.type(-np.inf)
    zero = s.dtype.type(0)
    l4 = length - length % 4
    for r in range(rows):
        sr, kr, orow = s[r], keep[r % k_rows], out[r]
        for j in range(length):  # the kept scores, -inf elsewhere
            orow[j] = sr[j] if kr[j] else ninf
        m0 = m1 = m2 = m3 = ninf  # NaN is never > m: the maximum of the other entries
        for j in range(0, l4, 4):
            a, b, c, d = orow[j], orow[j + 1], orow[j + 2], orow[j + 3]
            m0 = a if a > m0 else m0
            m1 = b if b > m1 else m1
            m2 = c if c > m2 else m2
            m3 = d if d > m3 else m3
        m = max(max(m0, m1), max(m2, m3))
        for j in range(l4, length):
            a = orow[j]
            m = a if a > m else m
        nan = 0
        for j in range(length):
            nan += orow[j] != orow[j]
        if nan or m == ninf or m == -ninf:  # no finite maximum: shift by 0 (NaN entries stay NaN)
            m = zero
        for j in range(length):
            orow[j] = orow[j] - m


@njit(cache=True, error_model="numpy")
def normalize_rows(e):
    rows, length = e.shape
    one = e.dtype.type(1)
    for r in range(rows):
        er = e[r]
        t = e.dtype.type(sum64(er))
        if not t > 0:  # a sum of 0 (nothing kept) or NaN: divide by 1, as the reference
            t = one
        for j in range(length):
            er[j] = er[j] / t


@njit(cache=True)
def softmax_backward_rows(y, g, out):
    """``out = y * (g - sum(g * y))`` per row, the sum in float64."""
    rows, length = y.shape
    if g.shape[0] != rows or g.shape[1] != length or out.shape[0] != rows or out.shape[1] != length:
        raise ValueError("softmax_backward_rows: the arrays' shapes disagree")
    for r in range(rows):
        yr, gr, orow = y[r], g[r], out[r]
        d = y.dtype.type(dot64(gr, yr))
        for j in range(length):
            orow[j] = yr[j] * (gr[j] - d)
