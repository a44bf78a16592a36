"""Numba kernels for the masked softmax over the last axis (attention) and its backward.

The forward is three passes over a C-contiguous ``(R, L)`` array: :func:`masked_shift` writes
``s - max`` where the mask keeps an entry and ``-inf`` elsewhere, NumPy's SIMD ``exp`` runs in
place (Numba's ``exp`` is scalar libm), and :func:`normalize_rows` divides each row by its sum
(summed in float64).  ``keep`` is ``(K, L)`` booleans, row ``r`` of the scores using row
``r % K`` (a mask that broadcasts over the leading axes, like the causal mask).  The formulas
are the reference's (``backends/reference.py``: ``masked_softmax_forward``): a row whose
maximum is not finite (or NaN) is shifted by 0, a row whose sum is not positive (0 or NaN) is
divided by 1.
"""
import numpy as np
from numba import njit


@njit(cache=True, error_model="numpy")
def masked_shift(s, keep, out):
    rows, length = s.shape
    k_rows = keep.shape[0]
    if keep.shape[1] != length or out.shape[0] != rows or out.shape[1] != length or k_rows == 0:
        raise ValueError("masked_shift: the arrays' shapes disagree")
    ninf = -np.inf
    for r in range(rows):
        kr = r % k_rows
        m = ninf
        nan = False
        for j in range(length):
            if keep[kr, j]:
                v = s[r, j]
                if v != v:
                    nan = True
                elif v > m:
                    m = v
        if nan or m == ninf or m == np.inf:  # no finite maximum: shift by 0 (NaN entries stay NaN)
            m = 0.0
        for j in range(length):
            out[r, j] = s[r, j] - m if keep[kr, j] else ninf


@njit(cache=True, error_model="numpy")
def normalize_rows(e):
    rows, length = e.shape
    for r in range(rows):
        total = 0.0
        for j in range(length):
            total += e[r, j]
        t = e.dtype.type(total)
        if not t > 0:  # a sum of 0 (nothing kept) or NaN: divide by 1, as the reference
            t = e.dtype.type(1)
        for j in range(length):
            e[r, j] = e[r, j] / t


@njit(cache=True)
def softmax_backward_rows(y, g, out):
    """``out = y * (g - sum(g * y))`` per row, the sum in float64."""
    rows, length = y.shape
    if g.shape[0] != rows or g.shape[1] != length or out.shape[0] != rows or out.shape[1] != length:
        raise ValueError("softmax_backward_rows: the arrays' shapes disagree")
    for r in range(rows):
        dot = 0.0
        for j in range(length):
            dot += np.float64(g[r, j]) * y[r, j]
        d = y.dtype.type(dot)
        for j in range(length):
            out[r, j] = y[r, j] * (g[r, j] - d)
