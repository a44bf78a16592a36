"""Numba kernel for the embedding gradient: a scatter-add of gradient rows into the table.

Rows are added to their table row in the order they come (NumPy's ``reduceat`` in the
reference may group the additions differently: the two agree up to float rounding).  Serial.
"""
from numba import njit


@njit(cache=True)
def scatter_add_rows(ids, rows, out):
    """``out[ids[i]] += rows[i]`` for every i; ``ids`` 1-d integers in ``[0, len(out))``."""
    n, d = rows.shape
    if ids.size != n or out.shape[1] != d:
        raise ValueError("scatter_add_rows: the arrays' shapes disagree")
    m = out.shape[0]
    for i in range(n):
        r = ids[i]
        if r < 0 or r >= m:
            raise IndexError("scatter_add_rows: an id is out of range")
        dst, src = out[r], rows[i]
        for j in range(d):
            dst[j] += src[j]
