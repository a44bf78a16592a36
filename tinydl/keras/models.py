"""Keras models on tinydl.nn: ``Sequential``, the functional ``Model(inputs, outputs)`` and
subclassed ``Model``s — the container: building, calling, layers, inputs and outputs.

What a model does is spread by responsibility: the functional graph is in ``graph.py``, the
training loop (``compile``/``fit``/``evaluate``/``predict``) in ``training.py`` with its data in
``data_adapter.py``, ``summary()`` in ``summary.py``, and the weights and weight files in
``saving.py``. Every model is a ``tinydl.nn.Module`` (``state_dict``, ``parameters``,
``train``/``eval``) and a tinydl ``Layer`` (``trainable``, so a model can be frozen or nested in
another model).

Modes: a model is in inference mode (``model.eval()``) except inside ``fit``; ``model(x)`` runs
in the model's current mode, ``model(x, training=True)`` in training mode for that call only.

>>> import numpy as np, tinydl
>>> from tinydl.keras import Sequential, layers
>>> _ = tinydl.manual_seed(0)
>>> model = Sequential([layers.Dense(1, input_shape=(2,))])
>>> model.compile(optimizer="sgd", loss="mse")
>>> x = np.random.default_rng(0).normal(size=(64, 2))
>>> history = model.fit(x, x @ [1.0, -1.0], epochs=3, verbose=0)
>>> len(history.history["loss"]), history.history["loss"][-1] < history.history["loss"][0]
(3, True)
"""
import inspect

import numpy as np

from ..core.tensor import Tensor
from ..nn.layers.base import Layer
from ..nn.module import Module
from .graph import (FunctionalGraph, Input, InputLayer, KerasTensor, dry_run, flatten_structure, is_symbolic,
                    map_structure, symbolic_call, to_tensor)
from .saving import WeightsMixin, clone_model, load_model, model_from_json, save_model
from .summary import summary_lines
from .training import Trainer

__all__ = ["Model", "Sequential", "Input", "load_model", "save_model", "model_from_json", "clone_model"]


class Model(Trainer, WeightsMixin, Layer):
    """A Keras model. Three ways to make one:

    * functional: ``Model(inputs=Input(shape=(784,)), outputs=some_layer(...)(...))``;
    * subclassing: ``class M(Model): def __init__(self): super().__init__(); self.d = Dense(10)``
      and ``def call(self, inputs, training=None): return self.d(inputs)``;
    * ``Sequential`` (below).
    """

    def __init__(self, inputs=None, outputs=None, name=None, trainable=True, **kwargs):
        dtype = kwargs.pop("dtype", "float32")
        if kwargs:
            raise TypeError(f"Model: unexpected argument(s) {sorted(kwargs)}")
        super().__init__(name=name, trainable=trainable, dtype=dtype)
        self._init_training_state()
        self._graph = None
        if inputs is not None or outputs is not None:
            if inputs is None or outputs is None:
                raise ValueError("Model: give both inputs= and outputs= (functional API), or neither (subclassing)")
            self._init_graph(inputs, outputs)
        self.eval()

    def __setattr__(self, key, value):
        super().__setattr__(key, value)
        if isinstance(value, Module) and "training" in self.__dict__:
            value.train(self.training)  # a layer joining the model takes the model's mode

    def _init_graph(self, inputs, outputs):
        graph = FunctionalGraph(inputs, outputs)
        if any(layer is self for layer in graph.layers):
            raise ValueError("Model: a model cannot contain itself")
        for i, layer in enumerate(graph.layers):
            setattr(self, str(i), layer)
        self._graph = graph
        self.built = True

    # ================================================================ calling
    def __call__(self, *args, training=None, **kwargs):
        if args and is_symbolic(args[0]):
            return symbolic_call(self, lambda layer, a, **kw: layer._call_values(a, **kw), args, kwargs)
        if len(args) != 1:
            raise TypeError(f"{self.name}: call the model on one argument (a Tensor/array, or a list of "
                            f"them for several inputs), got {len(args)}")
        return self._call_values(args[0], training=training, **kwargs)

    # Keras's weight lists (Layer's: BatchNormalization's moving statistics are non-trainable weights)
    weights = Layer.weights
    trainable_weights = Layer.trainable_weights
    non_trainable_weights = Layer.non_trainable_weights
    variables = Layer.variables
    trainable_variables = Layer.trainable_variables
    non_trainable_variables = Layer.non_trainable_variables

    @property
    def input(self):
        if self._graph is not None:
            return self._graph.inputs
        return Layer.input.fget(self)

    @property
    def output(self):
        if self._graph is not None:
            return self._graph.outputs
        return Layer.output.fget(self)

    def _call_values(self, x, training=None, **kwargs):
        x = map_structure(to_tensor, x)
        if not self.built:
            first = flatten_structure(x)[0]
            self.build(tuple(first.shape))
        if training is None or bool(training) == self.training:
            out = self.forward(x, **kwargs)
            self.built = True
            return out
        previous = self.training
        self.train(bool(training))
        try:
            return self.forward(x, **kwargs)
        finally:
            self.train(previous)

    def forward(self, inputs, **kwargs):
        self._call_losses.clear()  # add_loss terms are those of the latest call
        if self._graph is not None:
            return self._graph.run(inputs, self.name)
        call = getattr(self, "call", None)
        if call is None:
            raise NotImplementedError(f"{type(self).__name__}: a subclassed Model must implement "
                                      "call(self, inputs, training=None) (or use Model(inputs, outputs))")
        if _accepts(call, "training"):
            kwargs.setdefault("training", self.training)
        return call(inputs, **kwargs)

    forward._dispatches_to_call = True  # a subclass's `call` runs through it

    def build(self, input_shape=None):
        """Build by running the model once on a zero batch of ``input_shape`` (batch axis included)."""
        if self.built or input_shape is None:
            return
        shape = tuple(input_shape)
        dummy = Tensor(np.zeros((1,) + tuple(1 if d is None else d for d in shape[1:]), dtype=self.dtype))
        dry_run(self, lambda m, a: m.forward(a), dummy)
        self.built = True

    def _ensure_built(self, xs):
        if not self.built and len(xs) == 1:
            self.build((None,) + tuple(xs[0].shape[1:]))

    def _require_built(self, what):
        if not self.built:
            raise ValueError(f"{self.name}.{what}: this model has not yet been built. Build it first by giving "
                             "the first layer an input_shape, calling build(input_shape), or calling the model "
                             "on a batch of data.")

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False):
        """Print the layers (name and type, output shape, parameter count) and the totals, as Keras does."""
        self._require_built("summary")
        emit = print_fn or print
        for line in summary_lines(self, line_length, positions):
            emit(line)

    # ================================================================ structure
    @property
    def layers(self):
        if self._graph is not None:
            return list(self._graph.layers)
        return list(self._modules.values())

    def get_layer(self, name=None, index=None):
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"{self.name}: no layer named {name!r}; layers: {[l.name for l in self.layers]}")

    @property
    def inputs(self):
        return list(self._graph.flat_in) if self._graph is not None else None

    @property
    def outputs(self):
        return list(self._graph.flat_out) if self._graph is not None else None

    @property
    def input_shape(self):
        if self._graph is not None:
            shapes = [t.shape for t in self._graph.flat_in]
            return shapes[0] if len(shapes) == 1 else shapes
        raise AttributeError(f"{self.name}: the input shape of a subclassed model is not known")

    @property
    def output_shape(self):
        if self._graph is not None:
            shapes = [t.shape for t in self._graph.flat_out]
            return shapes[0] if len(shapes) == 1 else shapes
        raise AttributeError(f"{self.name}: the output shape of a subclassed model is not known")

    def _layer_output_shape(self, layer):
        return self._graph.output_shape_of(layer) if self._graph is not None else None

    # ---- what the data adapter needs to know about the inputs
    def _input_names(self):
        """The inputs' names (a dict x is matched by them), or None for a model without a graph."""
        return self._graph.input_names if self._graph is not None else None

    def _input_dtypes(self):
        return [t.dtype for t in self._graph.flat_in] if self._graph is not None else None

    def _expected_input_shapes(self):
        """Per input, the shape without the batch axis (None where unknown)."""
        return [t.shape[1:] for t in self._graph.flat_in] if self._graph is not None else None

    def _first_layer_for(self, i):
        if self._graph is not None:
            layer = self._graph.first_layer_fed_by(i)
            if layer is not None:
                return layer
        layers = [l for l in self.layers if not isinstance(l, InputLayer)]
        return layers[0] if layers else None

    def _input_takes_indices(self, i):
        """Whether input ``i`` feeds a layer that takes integer indices (``Layer.integer_inputs``)."""
        return bool(getattr(self._first_layer_for(i), "integer_inputs", False))


class Sequential(Model):
    """A plain stack of layers: ``Sequential([layer, ...])`` or ``Sequential()`` then ``.add(layer)``.

    When the first layer has ``input_shape`` (or the stack starts with ``Input(shape=...)``), each
    layer is built as it is added (its weights exist at once, ``summary()`` works before ``fit``);
    otherwise the model is built on its first call. Layers are registered as ``'0'``, ``'1'``, ...,
    so ``state_dict`` keys and weight files depend on the architecture, not on layer names.
    """

    def __init__(self, layers=None, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self._layers = []
        self._input_spec = None   # (shape without batch, dtype)
        self._input_layer = None
        self._shapes = []          # output shape (batch axis None) of each layer, once known
        self._sym = []             # the symbolic input, then each layer's symbolic output
        for layer in (layers or []):
            self.add(layer)

    def add(self, layer):
        """Append a layer (or ``Input(shape=...)`` / ``InputLayer`` as the first element)."""
        if isinstance(layer, KerasTensor) or isinstance(layer, InputLayer):
            inp = layer._input_layer if isinstance(layer, KerasTensor) else layer
            if inp is None:
                raise TypeError("Sequential.add: a symbolic tensor can only be an Input(...)")
            if self._layers or self._input_spec is not None:
                raise ValueError("Sequential.add: an Input must come first, before any layer")
            self._input_layer = inp
            self._input_spec = (inp.shape, inp.dtype)
            return
        if not isinstance(layer, Module):
            raise TypeError(f"Sequential.add: expected a layer (a tinydl.nn.Module), got {type(layer).__name__}")
        if any(l is layer for l in self._layers):
            raise ValueError(f"Sequential.add: layer '{layer.name}' is already in this model")
        if not self._layers and self._input_spec is None and getattr(layer, "input_shape_hint", None) is not None:
            self._input_spec = (tuple(layer.input_shape_hint), getattr(layer, "dtype", np.dtype("float32")))
        setattr(self, str(len(self._layers)), layer)
        self._layers.append(layer)
        layer.train(self.training)
        if self._input_spec is not None:
            self._build_from(len(self._layers) - 1)
        else:
            self.built = False

    def pop(self):
        """Remove the last layer."""
        if not self._layers:
            raise ValueError("Sequential.pop: there are no layers to remove")
        layer = self._layers.pop()
        delattr(self, str(len(self._layers)))
        del self._shapes[len(self._layers):]
        del self._sym[len(self._layers) + 1:]
        return layer

    def _build_from(self, start):
        """Call layers ``start...`` on symbolic tensors (a dry run on a zero example builds them and
        gives their output shapes; each layer's ``output`` is then its KerasTensor, as in Keras)."""
        shape, dtype = self._input_spec
        if start == 0 or len(self._sym) < start + 1:
            start = 0
            inp = self._input_layer if self._input_layer is not None else InputLayer(shape=shape, dtype=dtype)
            self._sym = [inp.output]
        del self._sym[start + 1:]
        del self._shapes[start:]
        x = self._sym[start]
        for layer in self._layers[start:]:
            x = symbolic_call(layer, lambda l, a: l(a), (x,), {})
            if not isinstance(x, KerasTensor):
                raise TypeError(f"Sequential: layer '{layer.name}' returned {type(x).__name__}; a Sequential "
                                "model needs single-tensor layers (use the functional API)")
            self._sym.append(x)
            self._shapes.append((x.shape, x.dtype))
        self.built = True

    @property
    def inputs(self):
        return [self._sym[0]] if len(self._sym) == len(self._layers) + 1 and self._layers else None

    @property
    def outputs(self):
        return [self._sym[-1]] if len(self._sym) == len(self._layers) + 1 and self._layers else None

    def build(self, input_shape=None):
        if input_shape is None:
            if self._input_spec is None:
                raise ValueError(f"{self.name}.build: give input_shape (batch axis included), e.g. (None, 784)")
        else:
            shape = tuple(input_shape)[1:]
            if self._input_spec is None or len(self._shapes) < len(self._layers):
                self._input_spec = (shape, np.dtype(self.dtype))
        if len(self._shapes) < len(self._layers):
            self._build_from(len(self._shapes))
        self.built = True

    def _require_built(self, what):
        if not self._layers:
            raise ValueError(f"{self.name}.{what}: this model has not yet been built. Build it first by giving "
                             "the first layer an input_shape, calling build(input_shape), or calling the model "
                             "on a batch of data.")
        super()._require_built(what)

    def forward(self, x, **kwargs):
        for layer in self._layers:
            x = layer(x)
        return x

    @property
    def layers(self):
        return list(self._layers)

    @property
    def input_shape(self):
        if self._input_spec is None:
            raise AttributeError(f"{self.name}: the input shape is not known until the model is built")
        return (None,) + tuple(self._input_spec[0])

    @property
    def output_shape(self):
        if not self._shapes or len(self._shapes) < len(self._layers):
            raise AttributeError(f"{self.name}: the output shape is not known until the model is built")
        return self._shapes[-1][0]

    def _layer_output_shape(self, layer):
        for l, s in zip(self._layers, self._shapes):
            if l is layer:
                return s[0]
        return None

    def _input_dtypes(self):
        return [np.dtype(self._input_spec[1])] if self._input_spec is not None else None

    def _expected_input_shapes(self):
        return [tuple(self._input_spec[0])] if self._input_spec is not None else None

    def _first_layer_for(self, i):
        return self._layers[0] if self._layers else None


def _accepts(fn, name):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())
