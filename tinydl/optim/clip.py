"""Gradient clipping, in place on ``p.grad`` (PyTorch semantics).

>>> import tinydl
>>> from tinydl.optim import clip_grad_norm_
>>> w = tinydl.Tensor([3.0, 4.0], requires_grad=True)
>>> (w * w).sum().backward()          # grad = [6, 8], norm 10
>>> clip_grad_norm_([w], max_norm=5.0)
10.0
>>> [round(g, 4) for g in w.grad.tolist()]    # scaled by 5 / (10 + 1e-6)
[3.0, 4.0]
"""
import math

from ..core.tensor import Tensor


def _as_list(params):
    return [params] if isinstance(params, Tensor) else list(params)


def total_norm(arrays, norm_type=2.0):
    """The norm of all ``arrays`` taken together as one vector (a Python float)."""
    norm_type = float(norm_type)
    if not arrays:
        return 0.0
    if math.isinf(norm_type):
        return max(float(abs(a).max()) if a.size else 0.0 for a in arrays)
    # One norm per array, then the norm of those: each array stays on its own device, and a
    # Python-float accumulator avoids float32 overflow in the final sum.
    norms = [float((abs(a.ravel()) ** norm_type).sum()) for a in arrays]
    return math.fsum(norms) ** (1.0 / norm_type)


def clip_coefficient(norm, max_norm):
    """The factor that scales a gradient of norm ``norm`` down to ``max_norm`` (<= 1 when clipping)."""
    return float(max_norm) / (norm + 1e-6)  # the 1e-6 keeps an all-zero gradient finite


def clip_grad_norm_(params, max_norm, norm_type=2.0):
    """Scale all grads together so their joint norm is at most ``max_norm``; return the norm before.

    Params whose ``grad`` is None are skipped. ``norm_type`` may be ``float('inf')`` (max |g|).
    """
    grads = [p.grad.data for p in _as_list(params) if p.grad is not None]
    norm = total_norm(grads, norm_type)
    coef = clip_coefficient(norm, max_norm)
    if coef < 1.0:
        for g in grads:
            g *= coef  # a Python float keeps float32 grads in float32
    return norm


def clip_grad_value_(params, clip_value):
    """Clip every grad element into ``[-clip_value, clip_value]``, in place."""
    clip_value = float(clip_value)
    for p in _as_list(params):
        if p.grad is not None:
            g = p.grad.data
            p.xp.clip(g, -clip_value, clip_value, out=g)
