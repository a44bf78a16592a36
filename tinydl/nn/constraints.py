"""Keras's weight constraints: callables ``constraint(w) -> w'`` on a weight's values, applied by
the Keras optimizers after each update (``Parameter.constraint``). ``tinydl.keras.constraints``
exports them. They work on NumPy/CuPy arrays (or Tensors, whose array they use).

>>> import numpy as np
>>> NonNeg()(np.array([-1.0, 2.0])).tolist()
[0.0, 2.0]
"""
from ..backends import get_array_module
from .keras_objects import ConfigurableObject, lookup

_EPSILON = 1e-7  # Keras's backend.epsilon()


def _array(w):
    return w.data if hasattr(w, "data") and hasattr(w, "requires_grad") else w


class Constraint(ConfigurableObject):
    def __call__(self, w):
        return w


def _norms(w, axis):
    xp = get_array_module(w)
    return xp.sqrt(xp.sum(w * w, axis=axis, keepdims=True))


class MaxNorm(Constraint):
    """Rescale so the L2 norm along ``axis`` is at most ``max_value``."""

    def __init__(self, max_value=2, axis=0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w):
        w = _array(w)
        xp = get_array_module(w)
        norms = _norms(w, self.axis)
        desired = xp.clip(norms, 0, self.max_value)
        return w * (desired / (_EPSILON + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Negative values become 0."""

    def __call__(self, w):
        w = _array(w)
        return w * (w >= 0).astype(w.dtype)


class UnitNorm(Constraint):
    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        w = _array(w)
        return w / (_EPSILON + _norms(w, self.axis))

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w):
        w = _array(w)
        xp = get_array_module(w)
        norms = _norms(w, self.axis)
        desired = self.rate * xp.clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        return w * (desired / (_EPSILON + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


CLASSES = {c.__name__: c for c in (MaxNorm, NonNeg, UnitNorm, MinMaxNorm)}
NAMES = {"max_norm": MaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm, "min_max_norm": MinMaxNorm}


def get(identifier):
    """None, a Keras name ('max_norm', 'non_neg', 'unit_norm', 'min_max_norm', or a class name),
    a config dict, or a callable."""
    if identifier is None:
        return None
    return lookup(identifier, "constraint", NAMES, CLASSES)
