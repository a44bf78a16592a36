"""PyTorch's ``torch.nn.utils``: gradient clipping and parameter vectors.

>>> import numpy as np, tinydl
>>> from tinydl import nn
>>> p = nn.Parameter(np.zeros(2, np.float32)); p.grad = tinydl.Tensor(np.array([3.0, 4.0], np.float32))
>>> float(nn.utils.clip_grad_norm_([p], max_norm=1.0))
5.0
>>> [round(float(g), 3) for g in p.grad.numpy()]
[0.6, 0.8]
"""
import math

import numpy as np

from ...backends import get_array_module
from ...core.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"]


def _params(parameters):
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def _grad_array(p):
    return p.grad.data if isinstance(p.grad, Tensor) else p.grad


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale the gradients in place so their joint ``norm_type``-norm is at most ``max_norm``;
    returns the total norm before clipping (a 0-d Tensor)."""
    grads = [_grad_array(p) for p in _params(parameters) if p.grad is not None]
    norm_type = float(norm_type)
    if not grads:
        return Tensor(np.float32(0.0))
    dtype = np.result_type(*[g.dtype for g in grads])
    # per-array reductions with the array's own module (numpy or cupy), one scalar each to the host
    if norm_type == math.inf:
        total = max(float(get_array_module(g).abs(g).max()) if g.size else 0.0 for g in grads)
    else:
        total = sum(float((get_array_module(g).abs(g.astype(np.float64)) ** norm_type).sum())
                    for g in grads) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so "
                           "it cannot be clipped. To disable this error and scale the gradients by the non-finite "
                           "norm anyway, set `error_if_nonfinite=False`")
    coef = float(max_norm) / (total + 1e-6)
    if coef < 1 or math.isnan(coef):
        for p in _params(parameters):
            if p.grad is not None:
                g = _grad_array(p)
                g *= g.dtype.type(coef)
    return Tensor(np.asarray(total, dtype=dtype))


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element to [-clip_value, clip_value] in place."""
    clip_value = float(clip_value)
    for p in _params(parameters):
        if p.grad is not None:
            g = _grad_array(p)
            get_array_module(g).clip(g, -clip_value, clip_value, out=g)
    return None


def parameters_to_vector(parameters):
    """The parameters flattened and concatenated into one 1-d Tensor (differentiable)."""
    from ...core import functional as T
    params = _params(parameters)
    return T.concatenate([T.reshape(p, (-1,)) for p in params], axis=0)


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of the 1-d ``vec`` into the parameters' data (in place)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    data = vec.data
    offset = 0
    params = _params(parameters)
    need = sum(int(np.prod(p.shape)) for p in params)
    if data.ndim != 1 or data.shape[0] != need:
        raise RuntimeError(f"vector_to_parameters: the vector has shape {tuple(data.shape)}, the parameters need ({need},)")
    for p in params:
        n = int(np.prod(p.shape))
        p.data[...] = data[offset:offset + n].reshape(p.shape).astype(p.dtype)
        p._bump_version()
        offset += n
