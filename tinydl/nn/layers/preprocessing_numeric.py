"""Keras's ``Normalization`` layer: ``(x - mean) / max(sqrt(variance), 1e-7)`` per feature, with
mean and variance given or learned by ``adapt(data)`` (over every axis except ``axis``)."""
import numpy as np

from ...core import functional as T
from ...core.tensor import Tensor
from .. import validation as V
from .base import Layer
from .preprocessing_text import _batches

_EPSILON = 1e-7  # Keras's backend.epsilon()


class Normalization(Layer):
    """``Normalization(axis=-1, mean=None, variance=None, invert=False)``. Without ``mean`` and
    ``variance`` the layer holds non-trainable weights ``mean``, ``variance`` (the kept axes'
    shape) and ``count`` (a scalar), as Keras, set by ``adapt``; ``invert=True`` maps back."""

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        who = V.owner(self)
        if axis is None:
            axis = ()
        self.axis = (int(axis),) if V._is_int(axis) else tuple(int(a) for a in axis)
        if (mean is None) != (variance is None):
            raise ValueError(f"{who}: give both mean and variance, or neither")
        self.input_mean = None if mean is None else np.asarray(mean, dtype=np.float64)
        self.input_variance = None if variance is None else np.asarray(variance, dtype=np.float64)
        self.invert = V.boolean(who, "invert", invert)
        if self.input_shape_hint:
            self.build((None,) + tuple(self.input_shape_hint))
            self.built = True

    def _kept(self, ndim):
        return tuple(sorted(a % ndim for a in self.axis))

    def build(self, input_shape):
        if input_shape is None:
            raise ValueError(f"{V.owner(self)}: cannot build without an input shape")
        ndim = len(input_shape)
        kept = self._kept(ndim)
        if 0 in kept:
            raise ValueError(f"{V.owner(self)}: axis {self.axis} may not include the batch axis")
        if any(input_shape[a] is None for a in kept):
            raise ValueError(f"{V.owner(self)}: the kept axes {kept} of input shape {input_shape} must be known")
        self._ndim = ndim
        shape = tuple(int(input_shape[a]) for a in kept)
        self._broadcast = tuple(int(input_shape[a]) if a in kept else 1 for a in range(ndim))
        if self.input_mean is None:
            self.add_weight(name="mean", shape=shape, initializer="zeros", trainable=False)
            self.add_weight(name="variance", shape=shape, initializer="ones", trainable=False)
            self.add_weight(name="count", shape=(), initializer="zeros", trainable=False)
        else:
            self._mean_const = np.broadcast_to(self.input_mean, shape).astype(self.dtype)
            self._var_const = np.broadcast_to(self.input_variance, shape).astype(self.dtype)

    def adapt(self, data, batch_size=None, steps=None):
        if self.input_mean is not None:
            raise ValueError(f"{V.owner(self)}: adapt on a layer constructed with mean and variance")
        arrays = [np.asarray(b, dtype=np.float64) for b in _batches(data, batch_size)]
        x = np.concatenate([a.reshape((-1,) + a.shape[1:]) for a in arrays]) if len(arrays) > 1 else arrays[0]
        if x.ndim == 1:
            x = x[:, None]
        if not self.built:
            self.build((None,) + x.shape[1:])
            self.built = True
        kept = self._kept(x.ndim)
        reduce_axes = tuple(a for a in range(x.ndim) if a not in kept)
        mean = x.mean(axis=reduce_axes)
        var = x.var(axis=reduce_axes)
        self.mean.data[...] = mean.astype(self.dtype)
        self.variance.data[...] = var.astype(self.dtype)
        self.count.data[...] = x.shape[0]

    def _stats(self):
        if self.input_mean is not None:
            return self._mean_const, self._var_const
        return self.mean.data, self.variance.data

    def forward(self, x):
        x = T._t(x)
        if x.dtype.kind != "f":
            x = Tensor(x.data.astype(self.dtype))
        if x.ndim != self._ndim:
            raise ValueError(f"{V.owner(self)}: expected a {self._ndim}-d input, got shape {tuple(x.shape)}")
        mean, var = self._stats()
        mean = Tensor._wrap(x.xp.asarray(mean, dtype=x.dtype).reshape(self._broadcast))
        std = Tensor._wrap(x.xp.maximum(x.xp.sqrt(x.xp.asarray(var, dtype=x.dtype)), _EPSILON).reshape(self._broadcast))
        if self.invert:
            return mean + x * std
        return (x - mean) / std
