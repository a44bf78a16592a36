"""``tinydl.keras.layers``: tinydl.nn's layers under their Keras names, plus ``Input``.

Every layer is tinydl.nn's own class (``tinydl.keras.layers.Dense is tinydl.nn.Dense``); nothing
is implemented twice. Where PyTorch and Keras use one name for different layers (``LSTM``,
``GRU``, ``Embedding``), ``tinydl.nn`` has PyTorch's under that name and the Keras-semantics
class as ``KerasLSTM``, ...; the mapping below gives Keras's names to those. Other names not
listed here are looked up in ``tinydl.nn.layers`` on first use.

The functional API's ``Input``, ``InputLayer`` and symbolic ``KerasTensor`` live in
``tinydl.keras.graph`` and are re-exported here: calling any layer on an ``Input`` records a graph
node and returns a new KerasTensor; ``Model(inputs, outputs)`` replays the recorded layers.

>>> from tinydl.keras.layers import Input, Dense
>>> x = Input(shape=(784,))
>>> h = Dense(128, activation="relu")(x)
>>> h.shape, h.dtype
((None, 128), dtype('float32'))

Merge layers that tinydl.nn does not have yet are defined here as small tinydl.nn Layers:
``Concatenate``, ``Add``, ``Subtract``, ``Multiply``, ``Average``, and ``Lambda``.
"""
import functools

from ..core import functional as T
from ..nn import layers as _nl
from ..nn.layers import (Layer, Dense, Flatten, Reshape, Dropout, Activation, ReLU, LeakyReLU, Softmax,
                         Conv2D, Conv2DTranspose, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D,
                         BatchNormalization)
from ..nn.module import Module
from ..nn import validation
from .graph import Input, InputLayer, KerasTensor

# Keras's names for the Keras-semantics classes of tinydl.nn (whose own LSTM, GRU and Embedding
# are PyTorch's)
LSTM, GRU, Embedding = _nl.KerasLSTM, _nl.KerasGRU, _nl.KerasEmbedding

# Keras's aliases
MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D
GlobalAvgPool2D = GlobalAveragePooling2D
Convolution2D = Conv2D

__all__ = ["Layer", "Input", "InputLayer", "KerasTensor", "Dense", "Flatten", "Reshape", "Dropout",
           "Activation", "ReLU", "LeakyReLU", "Softmax", "Conv2D", "Conv2DTranspose", "MaxPooling2D",
           "AveragePooling2D", "GlobalAveragePooling2D", "BatchNormalization", "MaxPool2D", "AvgPool2D",
           "GlobalAvgPool2D", "Convolution2D", "LSTM", "GRU", "Embedding", "Concatenate", "Add", "Subtract",
           "Multiply", "Average", "Lambda", "concatenate", "add", "subtract", "multiply", "average"]


# ---- small layers tinydl.nn does not have ----------------------------------------------------------

class _Merge(Layer):
    """Base of the merge layers: called on a list of tensors of compatible shapes."""

    def forward(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(f"{self.name} ({type(self).__name__}): expects a list of at least 2 inputs, "
                             f"got {type(inputs).__name__}")
        return self._merge([T._t(x) for x in inputs])


class Concatenate(_Merge):
    """Concatenate a list of tensors along ``axis`` (-1 by default)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = validation.axis(validation.owner(self), axis)

    def _merge(self, xs):
        return T.concatenate(xs, axis=self.axis)


class Add(_Merge):
    def _merge(self, xs):
        return functools.reduce(lambda a, b: a + b, xs)


class Subtract(_Merge):
    def _merge(self, xs):
        if len(xs) != 2:
            raise ValueError(f"{self.name} (Subtract): expects exactly 2 inputs, got {len(xs)}")
        return xs[0] - xs[1]


class Multiply(_Merge):
    def _merge(self, xs):
        return functools.reduce(lambda a, b: a * b, xs)


class Average(_Merge):
    def _merge(self, xs):
        return functools.reduce(lambda a, b: a + b, xs) * (1.0 / len(xs))


class Lambda(Layer):
    """Wrap a function of Tensors as a layer: ``Lambda(lambda x: x * 2)``. It has no weights."""

    def __init__(self, function, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda: function must be callable, got {function!r}")
        self.function = function

    def forward(self, x):
        return self.function(x)


def concatenate(inputs, axis=-1, **kwargs):
    return Concatenate(axis=axis, **kwargs)(inputs)


def add(inputs, **kwargs):
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    return Average(**kwargs)(inputs)


def __getattr__(name):
    # Other layers of tinydl.nn.layers (SimpleRNN, LayerNormalization, ...) show up here under their names.
    if not name.startswith("_"):
        value = getattr(_nl, name, None)
        if isinstance(value, type) and issubclass(value, Module):
            return value
    raise AttributeError(f"module 'tinydl.keras.layers' has no attribute {name!r}")
