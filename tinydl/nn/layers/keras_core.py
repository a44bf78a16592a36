"""Keras's Lambda, Masking and GaussianNoise layers."""
import numpy as np

from ...core import functional as T
from ...core.random import get_rng
from ...core.tensor import Tensor
from .. import validation as V
from .base import Layer


class Lambda(Layer):
    """``Lambda(function, output_shape=None, mask=None, arguments=None)``: wraps
    ``function(x, **arguments)`` as a layer without weights. A Lambda cannot be saved to a
    ``.keras`` file (its code is not data); define a layer class instead."""

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda: function must be callable, got {function!r}")
        if mask is not None:
            raise NotImplementedError("Lambda: mask= is not supported")
        self.function, self.output_shape, self.mask = function, output_shape, mask
        self.arguments = dict(arguments or {})

    def forward(self, x):
        return self.function(x, **self.arguments)


class Masking(Layer):
    """``Masking(mask_value=0.0)``: time steps whose features all equal ``mask_value`` are masked:
    their output is zero, and ``compute_mask(x)`` is ``any(x != mask_value, axis=-1)``."""

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = float(V.real(V.owner(self), "mask_value", mask_value))
        self.supports_masking = True

    def compute_mask(self, inputs, mask=None):
        x = inputs.data if isinstance(inputs, Tensor) else np.asarray(inputs)
        return (x != self.mask_value).any(axis=-1)

    def forward(self, x):
        x = T._t(x)
        keep = self.compute_mask(x)
        return x * Tensor._wrap(keep[..., None].astype(x.dtype))


class GaussianNoise(Layer):
    """``GaussianNoise(stddev, seed=None)``: adds N(0, stddev^2) noise in training mode only."""

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stddev = float(V.real(V.owner(self), "stddev", stddev, 0))
        self.seed = seed
        self._rng = None if seed is None else np.random.default_rng(seed)
        self.training = False  # inference unless fit or training=True, as Keras (see preprocessing_image)

    def forward(self, x, training=None):
        x = T._t(x)
        training = self.training if training is None else training
        if not training or self.stddev == 0:
            return x
        rng = self._rng or get_rng()
        noise = rng.standard_normal(x.shape) * self.stddev
        return x + Tensor._wrap(x.xp.asarray(noise, dtype=x.dtype))
