"""Fused layer normalization over the last axis, forward and backward.

Rows are the leading axes flattened: ``x`` is viewed as ``(N, D)``.  Per row the forward
computes the mean and the biased variance (two passes over the row, accumulated in float64 in
four partial sums, :mod:`.rowsum`),
``rstd = 1 / sqrt(var + eps)`` and ``y = (x - mean) * rstd * gamma + beta``, saving only
``mean`` and ``rstd`` (``xhat`` is recomputed in the backward).  The backward computes, per row,
``dxhat = g * gamma``, its sum and its dot with ``xhat``, then
``dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))``, and accumulates
``dgamma = sum(g * xhat)`` and ``dbeta = sum(g)`` over the rows in float64 (the row sums in
four partial sums each).  Serial, no fastmath beyond FMA contraction: results differ from the
NumPy path of :class:`tinydl.nn.layers.layernorm.LayerNormOp` by float rounding only.
"""
import math

import numpy as np
from numba import njit

from .rowsum import centered_sq64, sum64

# multiply-adds fused into FMAs (``contract``, no other fastmath: NaN/inf and the order of
# operations stay IEEE): ~10% faster, results move at float64 rounding only
_FMA = {"contract"}


@njit(cache=True, error_model="numpy", fastmath=_FMA)
def _ln_fwd(x, gamma, beta, eps, y, mean, rstd):
    n, d = x.shape
    for i in range(n):
        mu = sum64(x[i]) / d
        v = centered_sq64(x[i], mu)
        r = 1.0 / math.sqrt(v / d + eps)
        mean[i] = mu
        rstd[i] = r
        for j in range(d):
            y[i, j] = (np.float64(x[i, j]) - mu) * r * gamma[j] + beta[j]


@njit(cache=True, error_model="numpy", fastmath=_FMA)
def _ln_bwd(x, g, gamma, mean, rstd, want_dx, dx, dgamma, dbeta):
    # The two row sums run in four interleaved float64 partial sums each (added pairwise at the
    # end): one running sum is a chain of dependent additions that LLVM may not reorder without
    # fastmath, and made this kernel latency-bound.  The order differs from a sequential sum by
    # float64 rounding only.
    n, d = x.shape
    d4 = d - d % 4
    for i in range(n):
        mu = mean[i]
        r = rstd[i]
        xr, gr = x[i], g[i]
        for j in range(d):  # no running sum in this loop, so that it vectorises
            gj = np.float64(gr[j])
            dgamma[j] += gj * ((np.float64(xr[j]) - mu) * r)
            dbeta[j] += gj
        p0 = p1 = p2 = p3 = q0 = q1 = q2 = q3 = 0.0
        for j in range(0, d4, 4):
            a0 = np.float64(gr[j]) * gamma[j]
            a1 = np.float64(gr[j + 1]) * gamma[j + 1]
            a2 = np.float64(gr[j + 2]) * gamma[j + 2]
            a3 = np.float64(gr[j + 3]) * gamma[j + 3]
            p0 += a0
            p1 += a1
            p2 += a2
            p3 += a3
            q0 += a0 * ((np.float64(xr[j]) - mu) * r)
            q1 += a1 * ((np.float64(xr[j + 1]) - mu) * r)
            q2 += a2 * ((np.float64(xr[j + 2]) - mu) * r)
            q3 += a3 * ((np.float64(xr[j + 3]) - mu) * r)
        s1 = (p0 + p1) + (p2 + p3)
        s2 = (q0 + q1) + (q2 + q3)
        for j in range(d4, d):
            dxh = np.float64(gr[j]) * gamma[j]
            s1 += dxh
            s2 += dxh * ((np.float64(xr[j]) - mu) * r)
        if want_dx:
            m1 = s1 / d
            m2 = s2 / d
            dxr = dx[i]
            for j in range(d):
                xh = (np.float64(xr[j]) - mu) * r
                dxr[j] = r * (np.float64(gr[j]) * gamma[j] - m1 - xh * m2)


def _check(name, a, shape, dtype=None):
    """The kernels index by the shapes of ``x``: every other array must match them exactly."""
    if type(a) is not np.ndarray or a.shape != shape or (dtype is not None and a.dtype != dtype):
        raise ValueError(f"{name}: expected a NumPy array of shape {shape}"
                         f"{'' if dtype is None else f' and dtype {np.dtype(dtype)}'}, got "
                         f"{type(a).__name__} {getattr(a, 'shape', '')} {getattr(a, 'dtype', '')}")


def _check_x(x):
    if type(x) is not np.ndarray or x.ndim < 1 or x.dtype not in (np.float32, np.float64) \
            or not x.flags.c_contiguous:
        raise ValueError("layernorm kernel: x must be a C-contiguous float32/float64 NumPy array "
                         f"with at least one axis, got {type(x).__name__} {getattr(x, 'dtype', '')}")


def layernorm_forward(x, gamma, beta, eps):
    """``(y, mean, rstd)`` for a C-contiguous ``x`` normalized over its last axis; ``gamma`` and
    ``beta`` are float64 vectors of the last axis's length; ``mean``/``rstd`` float64, one per row."""
    _check_x(x)
    d = x.shape[-1]
    _check("layernorm_forward: gamma", gamma, (d,), np.float64)
    _check("layernorm_forward: beta", beta, (d,), np.float64)
    x2 = x.reshape(-1, d)
    n = x2.shape[0]
    y = np.empty_like(x)
    mean = np.empty(n, np.float64)
    rstd = np.empty(n, np.float64)
    _ln_fwd(x2, gamma, beta, float(eps), y.reshape(-1, d), mean, rstd)
    return y, mean, rstd


def layernorm_backward(x, g, gamma, mean, rstd, want_dx=True):
    """``(dx, dgamma, dbeta)``: ``dx`` like ``x`` (None unless ``want_dx``), the others float64
    vectors of the last axis's length."""
    _check_x(x)
    d = x.shape[-1]
    n = x.size // d if d else 0
    _check("layernorm_backward: g", g, x.shape)
    _check("layernorm_backward: gamma", gamma, (d,), np.float64)
    _check("layernorm_backward: mean", mean, (n,), np.float64)
    _check("layernorm_backward: rstd", rstd, (n,), np.float64)
    x2 = x.reshape(-1, d)
    g2 = np.ascontiguousarray(g, dtype=x.dtype).reshape(-1, d)
    dx = np.empty_like(x) if want_dx else np.empty((1, d), x.dtype)
    dgamma = np.zeros(d, np.float64)
    dbeta = np.zeros(d, np.float64)
    _ln_bwd(x2, g2, gamma, mean, rstd, want_dx, dx.reshape(-1, d), dgamma, dbeta)
    return (dx if want_dx else None), dgamma, dbeta
