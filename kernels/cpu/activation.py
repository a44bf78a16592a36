"""Numba kernels for the fused bias + activation on ``(M, C)`` arrays (leading axes flattened).

Activation codes: 0 linear, 1 relu, 2 sigmoid, 3 tanh (``ACT_CODES``).  NaN propagates as on
the NumPy path: relu(NaN) is NaN (``np.maximum``), never 0.  The backward works
from the forward output ``y``: relu' = (y > 0), sigmoid' = y (1 - y), tanh' = 1 - y^2.
The kernels are serial and memory-bound; each activation has its own loop so the channel
loop vectorises.
"""
import math

import numpy as np
from numba import njit

from tinydl.backends.activations import KERNEL_CODES as ACT_CODES  # noqa: E402  (the one table)

# rows summed in the array's own dtype before being added to the float64 bias-gradient total
_GB_BLOCK = 256


@njit(cache=True)
def bias_act_fwd(x, b, act, y):
    """``y = act(x + b)``.  Sigmoid only exponentiates ``-|z|``, so it never overflows."""
    m, c_n = x.shape
    if act == 0:
        for r in range(m):
            for c in range(c_n):
                y[r, c] = x[r, c] + b[c]
    elif act == 1:
        for r in range(m):
            for c in range(c_n):
                v = x[r, c] + b[c]
                y[r, c] = 0 if v <= 0 else v  # NaN fails both tests: it stays NaN
    elif act == 2:
        for r in range(m):
            for c in range(c_n):
                v = x[r, c] + b[c]
                if v >= 0:
                    y[r, c] = 1 / (1 + math.exp(-v))
                else:
                    e = math.exp(v)
                    y[r, c] = e / (1 + e)
    else:
        for r in range(m):
            for c in range(c_n):
                y[r, c] = math.tanh(x[r, c] + b[c])


@njit(cache=True)
def bias_act_bwd(y, gy, act, gx, gb):
    """``gx = gy * act'(y)``; ``gb = gx.sum(axis=0)``.

    ``gb`` is summed in blocks of ``_GB_BLOCK`` rows in the array's dtype (vectorises over
    channels), the block sums in float64, so float32 error does not grow with the batch.
    """
    m, c_n = y.shape
    acc = np.empty(c_n, dtype=gx.dtype)
    total = np.zeros(c_n)
    for r0 in range(0, m, _GB_BLOCK):
        r1 = min(r0 + _GB_BLOCK, m)
        acc[:] = 0
        if act == 0:
            for r in range(r0, r1):
                for c in range(c_n):
                    g = gy[r, c]
                    gx[r, c] = g
                    acc[c] += g
        elif act == 1:
            for r in range(r0, r1):
                for c in range(c_n):
                    g = gy[r, c] if y[r, c] > 0 else 0
                    gx[r, c] = g
                    acc[c] += gx[r, c]
        elif act == 2:
            for r in range(r0, r1):
                for c in range(c_n):
                    v = y[r, c]
                    gx[r, c] = gy[r, c] * v * (1 - v)
                    acc[c] += gx[r, c]
        else:
            for r in range(r0, r1):
                for c in range(c_n):
                    v = y[r, c]
                    gx[r, c] = gy[r, c] * (1 - v * v)
                    acc[c] += gx[r, c]
        for c in range(c_n):
            total[c] += acc[c]
    for c in range(c_n):
        gb[c] = total[c]


@njit(cache=True, nogil=True)
def bias_act_fwd_inplace(y, b, act):
    """``y = act(y + b)`` in place.  (:func:`bias_act_fwd` with ``x is y`` would work too, but
    LLVM then cannot rule out a partial overlap and runs it unvectorised.)"""
    m, c_n = y.shape
    if act == 0:
        for r in range(m):
            for c in range(c_n):
                y[r, c] += b[c]
    elif act == 1:
        for r in range(m):
            for c in range(c_n):
                v = y[r, c] + b[c]
                y[r, c] = 0 if v <= 0 else v  # NaN stays NaN
    elif act == 2:
        for r in range(m):
            for c in range(c_n):
                v = y[r, c] + b[c]
                if v >= 0:
                    y[r, c] = 1 / (1 + math.exp(-v))
                else:
                    e = math.exp(v)
                    y[r, c] = e / (1 + e)
    else:
        for r in range(m):
            for c in range(c_n):
                y[r, c] = math.tanh(y[r, c] + b[c])
