"""Tensor creation helpers. Random ones draw from tinydl's seeded generator."""
import numpy as np

from .. import backends
from .random import get_rng
from .tensor import Tensor

float32, float64, int32, int64 = np.float32, np.float64, np.int32, np.int64


def tensor(data, requires_grad=False, dtype=None, device=None):
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)


def _make(array, requires_grad, device):
    return Tensor(array, requires_grad=requires_grad, device=device or backends.active_backend())


def zeros(*shape, dtype=np.float32, requires_grad=False, device=None):
    return _make(np.zeros(_shape(shape), dtype), requires_grad, device)


def ones(*shape, dtype=np.float32, requires_grad=False, device=None):
    return _make(np.ones(_shape(shape), dtype), requires_grad, device)


def full(shape, value, dtype=np.float32, requires_grad=False, device=None):
    return _make(np.full(_shape((shape,)), value, dtype), requires_grad, device)


def zeros_like(t, requires_grad=False):
    return Tensor(t.xp.zeros_like(t.data), requires_grad=requires_grad)


def ones_like(t, requires_grad=False):
    return Tensor(t.xp.ones_like(t.data), requires_grad=requires_grad)


def arange(*args, dtype=None, device=None):
    return _make(np.arange(*args, dtype=dtype), False, device)


def randn(*shape, dtype=np.float32, requires_grad=False, device=None):
    return _make(get_rng().standard_normal(_shape(shape)).astype(dtype), requires_grad, device)


def rand(*shape, dtype=np.float32, requires_grad=False, device=None):
    return _make(get_rng().random(_shape(shape)).astype(dtype), requires_grad, device)


def _shape(shape):
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        return tuple(shape[0])
    return tuple(shape)
