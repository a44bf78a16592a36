"""``tinydl.keras.layers``: tinydl.nn's layers under their Keras names, plus ``Input``.

Every layer is tinydl.nn's own class (``tinydl.keras.layers.Dense is tinydl.nn.Dense``); nothing
is implemented twice. Names not listed here are looked up in ``tinydl.nn.layers`` on first use,
so layers added there later (``LSTM``, ``Embedding``, ...) appear here too.

The functional API: ``Input(shape=...)`` returns a symbolic :class:`KerasTensor` (a shape and a
dtype, no values). Calling any layer on it records a graph node and returns a new KerasTensor;
``Model(inputs, outputs)`` then replays the recorded layers on real Tensors. To learn the output
shape, each recorded call runs the layer once on a batch of one zero example (which also builds
the layer's weights, as Keras builds them when the graph is defined).

>>> from tinydl.keras.layers import Input, Dense
>>> x = Input(shape=(784,))
>>> h = Dense(128, activation="relu")(x)
>>> h.shape, h.dtype
((None, 128), dtype('float32'))

Merge layers that tinydl.nn does not have yet are defined here as small tinydl.nn Layers:
``Concatenate``, ``Add``, ``Subtract``, ``Multiply``, ``Average``, and ``Lambda``.
"""
import functools
import types

import numpy as np

from ..core import functional as T
from ..core.autograd import no_grad
from ..core.tensor import Tensor
from ..nn import layers as _nl
from ..nn.layers import (Layer, Dense, Flatten, Reshape, Dropout, Activation, ReLU, LeakyReLU, Softmax,
                         Conv2D, Conv2DTranspose, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D,
                         BatchNormalization)
from ..nn.module import Module

# Keras's aliases
MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D
GlobalAvgPool2D = GlobalAveragePooling2D
Convolution2D = Conv2D

__all__ = ["Layer", "Input", "InputLayer", "KerasTensor", "Dense", "Flatten", "Reshape", "Dropout",
           "Activation", "ReLU", "LeakyReLU", "Softmax", "Conv2D", "Conv2DTranspose", "MaxPooling2D",
           "AveragePooling2D", "GlobalAveragePooling2D", "BatchNormalization", "MaxPool2D", "AvgPool2D",
           "GlobalAvgPool2D", "Convolution2D", "Concatenate", "Add", "Subtract", "Multiply", "Average",
           "Lambda", "concatenate", "add", "subtract", "multiply", "average"]


# ---- symbolic tensors ---------------------------------------------------------------------------

class Node:
    """One recorded layer call: ``outputs = layer(args, **kwargs)`` on symbolic inputs."""

    __slots__ = ("layer", "arg", "kwargs", "inputs", "outputs", "single_output")

    def __init__(self, layer, arg, kwargs, inputs):
        self.layer, self.arg, self.kwargs, self.inputs = layer, arg, kwargs, inputs
        self.outputs, self.single_output = [], True


class KerasTensor:
    """A symbolic tensor: the shape (batch axis ``None``) and dtype of a value in a layer graph."""

    def __init__(self, shape, dtype="float32", name=None, node=None, input_layer=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = np.dtype(dtype)
        self.name = name
        self._node = node                # the Node that produced it (None for an Input)
        self._input_layer = input_layer  # the InputLayer, for an Input

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        origin = self.name if self._node is None else self._node.layer.name
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, source={origin!r}>"

    def _no_values(self, *args, **kwargs):
        raise TypeError("a KerasTensor is symbolic (a shape, no values): call layers on it and build "
                        "Model(inputs, outputs), then call the model on data. For arithmetic between "
                        "symbolic tensors use the merge layers (layers.Add, layers.Concatenate, ...) or "
                        "layers.Lambda.")

    __array__ = __bool__ = __float__ = __int__ = __iter__ = __len__ = _no_values
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __matmul__ = _no_values
    __getitem__ = _no_values
    __hash__ = object.__hash__


def is_symbolic(arg):
    if isinstance(arg, KerasTensor):
        return True
    return isinstance(arg, (list, tuple)) and len(arg) > 0 and all(isinstance(a, KerasTensor) for a in arg)


def flatten_structure(obj):
    """The KerasTensors / Tensors in a single value or a list/tuple/dict of them, in order."""
    if isinstance(obj, dict):
        return [v for k in obj for v in flatten_structure(obj[k])]
    if isinstance(obj, (list, tuple)):
        return [v for item in obj for v in flatten_structure(item)]
    return [obj]


def map_structure(fn, obj):
    if isinstance(obj, dict):
        return {k: map_structure(fn, v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(map_structure(fn, v) for v in obj) if isinstance(obj, list) else tuple(
            map_structure(fn, v) for v in obj)
    return fn(obj)


def dummy_for(kt, batch=1):
    """A zero Tensor shaped like ``kt`` with a batch of ``batch`` (unknown axes become 1)."""
    shape = (batch,) + tuple(1 if d is None else d for d in kt.shape[1:])
    return Tensor(np.zeros(shape, dtype=kt.dtype))


def dry_run(layer, call, arg, kwargs=None):
    """Run ``call(layer, arg, **kwargs)`` in inference mode without recording gradients,
    restoring every submodule's training flag afterwards."""
    modes = [(m, m.training) for m in layer.modules()]
    try:
        for m, _ in modes:
            m.training = False
        with no_grad():
            return call(layer, arg, **(kwargs or {}))
    finally:
        for m, flag in modes:
            m.training = flag


def symbolic_call(layer, call, args, kwargs):
    """Record ``layer(args[0], **kwargs)`` on KerasTensors; return the symbolic output(s)."""
    if len(args) > 1:
        raise TypeError(f"{layer.name}: on symbolic inputs pass one argument (a KerasTensor or a list "
                        f"of them), got {len(args)} positional arguments")
    arg = args[0]
    kwargs = {k: v for k, v in kwargs.items() if k != "training"}
    inputs = flatten_structure(arg)
    dummy = map_structure(dummy_for, arg)
    out = dry_run(layer, call, dummy, kwargs)
    node = Node(layer, arg, kwargs, inputs)
    flat_out = flatten_structure(out)
    for t in flat_out:
        if not isinstance(t, Tensor):
            raise TypeError(f"{layer.name}: a layer in a functional model must return Tensors, got {type(t).__name__}")
    outs = [KerasTensor((None,) + tuple(t.shape[1:]), t.dtype, name=f"{layer.name}/output_{i}", node=node)
            for i, t in enumerate(flat_out)]
    node.outputs = outs
    node.single_output = not isinstance(out, (list, tuple))
    if node.single_output:
        return outs[0]
    return type(out)(outs) if isinstance(out, list) else tuple(outs)


# Calling any Module on a KerasTensor records a node instead of computing (Module's hook).
Module.symbolic_handler = types.SimpleNamespace(is_symbolic=is_symbolic, call=symbolic_call)


class InputLayer(Layer):
    """The layer behind ``Input``: it passes its input through (it shows in ``model.layers``)."""

    def __init__(self, shape=None, batch_size=None, dtype="float32", name=None, input_shape=None,
                 batch_shape=None, **kwargs):
        if shape is None and input_shape is not None:
            shape = input_shape
        if shape is None and batch_shape is not None:
            batch_size, shape = batch_shape[0], batch_shape[1:]
        if shape is None:
            raise ValueError("InputLayer/Input: give shape=(...) (without the batch axis)")
        shape = (shape,) if isinstance(shape, (int, np.integer)) or shape is None else tuple(shape)
        super().__init__(name=name or None, dtype=dtype, **kwargs)
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.batch_size = batch_size
        self.output = KerasTensor((batch_size,) + self.shape, dtype, name=self.name, input_layer=self)
        self.built = True

    def forward(self, x):
        return x


def Input(shape=None, batch_size=None, dtype="float32", name=None, batch_shape=None, **kwargs):
    """A symbolic input: ``Input(shape=(784,))`` (the batch axis is implied).

    >>> Input(shape=(28, 28, 1)).shape
    (None, 28, 28, 1)
    """
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name,
                      batch_shape=batch_shape, **kwargs).output


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
        self.axis = axis

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
    # Layers added to tinydl.nn.layers later (LSTM, Embedding, ...) show up here under their names.
    if not name.startswith("_"):
        value = getattr(_nl, name, None)
        if isinstance(value, type) and issubclass(value, Module):
            return value
    raise AttributeError(f"module 'tinydl.keras.layers' has no attribute {name!r}")
