"""Fused elementwise kernels: GELU with the tanh approximation, forward and backward.

``y = 0.5 x (1 + t)`` with ``t = tanh(sqrt(2/pi) (x + 0.044715 x^3))``.  The forward kernel
writes ``y`` and ``t`` (the backward's only saved array besides ``x``) in one pass; the backward
kernel computes ``g * (0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2))`` in one
pass, in the arrays' own float type (as the reference does).  The forward computes float32
arrays in float64 with :func:`.recurrent._tanh32` (a vectorising rational tanh, within 0.53 ulp
after rounding; set to exactly +-1 beyond |u| = 9, so large negative inputs give 0 and -inf gives
NaN, as on the NumPy path; multiply-adds fused, ``recurrent.FMA``); float64 arrays use
``math.tanh``.  Serial, no other fastmath: results differ from the NumPy path of
:class:`tinydl.core.ops.elementwise.GELU` by float rounding only.  Arrays are C-contiguous and
the kernels work on flat views.
"""
import math

import numpy as np
from numba import njit

from .recurrent import FMA, _tanh32

_C = math.sqrt(2.0 / math.pi)
_K = 0.044715


@njit(cache=True, error_model="numpy", fastmath=FMA)
def _gelu_tanh_fwd32(x, y, t):
    for k in range(x.size):
        a = np.float64(x[k])
        u = _C * (a + _K * (a * a * a))
        th = _tanh32(u)
        if u > 9.0:  # float32 tanh is exactly +-1 there (_tanh32 stops 3e-8 short of it)
            th = 1.0
        elif u < -9.0:
            th = -1.0
        t[k] = th
        y[k] = 0.5 * a * (1.0 + th)


@njit(cache=True, error_model="numpy")
def _gelu_tanh_fwd64(x, y, t):
    for k in range(x.size):
        a = x[k]
        th = math.tanh(_C * (a + _K * (a * a * a)))
        t[k] = th
        y[k] = 0.5 * a * (1.0 + th)


# the backward's constants in float32, so that the float32 kernel computes in float32 as the
# reference does (and vectorises twice as wide); a float64 constant would promote the loop
_C32, _K32 = np.float32(_C), np.float32(_K)
_HALF32, _ONE32, _THREE32, _ZERO32 = np.float32(0.5), np.float32(1.0), np.float32(3.0), np.float32(0.0)


@njit(cache=True, error_model="numpy")
def _gelu_tanh_bwd32(x, t, g, dx):
    """:func:`_gelu_tanh_bwd` in float32 arithmetic: the reference's formula and precision."""
    for k in range(x.size):
        a = x[k]
        th = t[k]
        dinner = _C32 * (_ONE32 + _THREE32 * _K32 * a * a)
        sech2 = _ONE32 - th * th
        second = _ZERO32 if sech2 == _ZERO32 else _HALF32 * a * sech2 * dinner
        dx[k] = g[k] * (_HALF32 * (_ONE32 + th) + second)


@njit(cache=True, error_model="numpy")
def _gelu_tanh_bwd(x, t, g, dx):
    for k in range(x.size):
        a = np.float64(x[k])
        th = np.float64(t[k])
        dinner = _C * (1.0 + 3.0 * _K * a * a)
        sech2 = 1.0 - th * th
        # saturated tanh: the second term is exactly 0 (not 0 * inf = NaN for |x| = inf)
        second = 0.0 if sech2 == 0.0 else 0.5 * a * sech2 * dinner
        dx[k] = g[k] * (0.5 * (1.0 + th) + second)


def _check_x(x):
    if type(x) is not np.ndarray or x.dtype not in (np.float32, np.float64) or not x.flags.c_contiguous:
        raise ValueError("gelu_tanh kernel: x must be a C-contiguous float32/float64 NumPy array, got "
                         f"{type(x).__name__} {getattr(x, 'dtype', '')}")


def gelu_tanh_forward(x):
    """``(y, t)`` for a C-contiguous float32/float64 ``x``; ``t`` is the saved tanh."""
    _check_x(x)
    y = np.empty_like(x)
    t = np.empty_like(x)
    if x.dtype == np.float32:
        _gelu_tanh_fwd32(x.reshape(-1), y.reshape(-1), t.reshape(-1))
    else:
        _gelu_tanh_fwd64(x.reshape(-1), y.reshape(-1), t.reshape(-1))
    return y, t


def gelu_tanh_backward(x, t, g):
    """The input gradient for the upstream ``g`` (same shape and dtype as ``x``)."""
    _check_x(x)
    for name, a in (("t", t), ("g", g)):
        if type(a) is not np.ndarray or a.shape != x.shape:
            raise ValueError(f"gelu_tanh_backward: {name} must be a NumPy array of shape {x.shape}, "
                             f"got {type(a).__name__} {getattr(a, 'shape', '')}")
    g = np.ascontiguousarray(g, dtype=x.dtype)
    t = np.ascontiguousarray(t, dtype=x.dtype)
    dx = np.empty_like(x)
    kernel = _gelu_tanh_bwd32 if x.dtype == np.float32 else _gelu_tanh_bwd
    kernel(x.reshape(-1), t.reshape(-1), g.reshape(-1), dx.reshape(-1))
    return dx
