"""Keras models on tinydl.nn: ``Sequential``, the functional ``Model(inputs, outputs)``, subclassed
``Model``s, and the Keras training loop (``compile`` / ``fit`` / ``evaluate`` / ``predict``).

Every model is a ``tinydl.nn.Module`` (``state_dict``, ``parameters``, ``train``/``eval``) and a
tinydl ``Layer`` (``trainable``, so a model can be frozen or nested in another model).

Modes: a model is in inference mode (``model.eval()``) except inside ``fit``; ``model(x)`` runs
in the model's current mode, ``model(x, training=True)`` in training mode for that call only.

``fit`` follows tf.keras: float64 inputs are cast to float32, lengths are checked, NaN/inf
inputs are refused (``check_finite=False`` to skip the check), ``validation_split`` holds out the
*last* fraction of the data before shuffling, batches are drawn in a fresh order every epoch from
tinydl's seeded generator (``tinydl.manual_seed``), and the last partial batch is used. The loss
reported is the running mean over the epoch (weighted by batch size), regularization penalties
included; ``TerminateOnNaN`` is on unless ``terminate_on_nan=False`` (in ``fit`` or ``compile``).

>>> import numpy as np, tinydl
>>> from tinydl.keras import Sequential, layers
>>> tinydl.manual_seed(0)
>>> model = Sequential([layers.Dense(1, input_shape=(2,))])
>>> model.compile(optimizer="sgd", loss="mse")
>>> x = np.random.default_rng(0).normal(size=(64, 2))
>>> history = model.fit(x, x @ [1.0, -1.0], epochs=3, verbose=0)
>>> len(history.history["loss"]), history.history["loss"][-1] < history.history["loss"][0]
(3, True)
"""
import functools
import inspect
import math
import os

import numpy as np

from .. import io as _io
from ..core.autograd import no_grad
from ..core.random import get_rng
from ..core.tensor import Tensor
from ..nn.layers.base import Layer
from ..nn.module import Module
from . import callbacks as cbks
from . import losses as klosses
from . import metrics as kmetrics
from . import optimizers as kopt
from .layers import (InputLayer, Input, KerasTensor, dry_run, flatten_structure, is_symbolic,
                     map_structure, symbolic_call)

__all__ = ["Model", "Sequential", "Input", "load_model"]

_LOSS_NAMES = {klosses.SparseCategoricalCrossentropy: "sparse_categorical_crossentropy",
               klosses.CategoricalCrossentropy: "categorical_crossentropy",
               klosses.BinaryCrossentropy: "binary_crossentropy",
               klosses.MeanSquaredError: "mean_squared_error", klosses.MeanAbsoluteError: "mean_absolute_error"}


def _module_call(layer, arg, **kwargs):
    """Call a layer on real values (whatever wrapper Module.__call__ carries)."""
    return layer(arg, **kwargs)


def _human_bytes(n):
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.2f} {unit}"
        n /= 1024.0


def _row(cells, cols):
    """One summary line: each cell starts at a column boundary (a cell that is too long pushes the rest)."""
    line = ""
    starts = [0] + cols[:-1]
    for cell, start in zip(cells, starts):
        if len(line) >= start:
            line += " " if line else ""
        else:
            line = line.ljust(start)
        line += cell
    return " " + line


def _shape_str(shape):
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return "[" + ", ".join(_shape_str(s) for s in shape) + "]"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


class Model(Layer):
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
        self.optimizer = None
        self.loss = None
        self.compiled_loss = None
        self.compiled_metrics = []
        self.stop_training = False
        self.history = None
        self._compiled = False
        self._terminate_on_nan = True
        self._graph = None
        self._bound_count = -1
        if inputs is not None or outputs is not None:
            if inputs is None or outputs is None:
                raise ValueError("Model: give both inputs= and outputs= (functional API), or neither (subclassing)")
            self._init_graph(inputs, outputs)
        self.eval()

    def __setattr__(self, key, value):
        super().__setattr__(key, value)
        if isinstance(value, Module) and "training" in self.__dict__:
            value.train(self.training)  # a layer joining the model takes the model's mode

    # ================================================================ the functional graph
    def _init_graph(self, inputs, outputs):
        flat_in, flat_out = flatten_structure(inputs), flatten_structure(outputs)
        for t in flat_in:
            if not isinstance(t, KerasTensor) or t._node is not None:
                raise TypeError(f"Model: inputs must be the results of Input(...), got {t!r}")
        for t in flat_out:
            if not isinstance(t, KerasTensor):
                raise TypeError(f"Model: outputs must be symbolic tensors made by calling layers on "
                                f"Input(...), got {type(t).__name__}")
        input_ids = {id(t) for t in flat_in}
        nodes, seen, missing = [], set(), []
        # iterative post-order walk from the outputs back to the inputs
        stack = [(t, False) for t in reversed(flat_out)]
        while stack:
            t, expanded = stack.pop()
            node = t._node
            if node is None:
                if id(t) not in input_ids and t not in missing:
                    missing.append(t)
                continue
            if id(node) in seen:
                continue
            if expanded:
                seen.add(id(node))
                nodes.append(node)
                continue
            stack.append((t, True))
            for i in reversed(node.inputs):
                if i._node is None or id(i._node) not in seen:
                    stack.append((i, False))
        if missing:
            raise ValueError(f"Model: the outputs depend on Input(s) {[m.name for m in missing]} that are not "
                             f"among inputs={[t.name for t in flat_in]}")
        used = set()
        for t in flat_out:
            if t._node is None and id(t) in input_ids:
                used.add(id(t))
        for n in nodes:
            used.update(id(i) for i in n.inputs if i._node is None)
        unused = [t.name for t in flat_in if id(t) not in used]
        if unused:
            raise ValueError(f"Model: input(s) {unused} are not connected to the outputs")
        layers, ids = [], set()
        for t in flat_in:
            layers.append(t._input_layer)
            ids.add(id(t._input_layer))
        for n in nodes:
            if id(n.layer) not in ids:
                ids.add(id(n.layer))
                layers.append(n.layer)
        if any(l is self for l in layers):
            raise ValueError("Model: a model cannot contain itself")
        for i, layer in enumerate(layers):
            setattr(self, str(i), layer)
        self._graph = {"inputs": inputs, "outputs": outputs, "flat_in": flat_in, "flat_out": flat_out,
                       "nodes": nodes, "layers": layers}
        self.built = True

    def _run_graph(self, inputs):
        g = self._graph
        flat_in = g["flat_in"]
        if len(flat_in) == 1:
            values = [inputs[0] if isinstance(inputs, (list, tuple)) and len(inputs) == 1 else inputs]
        elif isinstance(inputs, dict):
            missing = [t.name for t in flat_in if t.name not in inputs]
            if missing:
                raise ValueError(f"{self.name}: missing input(s) {missing} in the dict (got {sorted(inputs)})")
            values = [inputs[t.name] for t in flat_in]
        else:
            values = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
            if len(values) != len(flat_in):
                raise ValueError(f"{self.name}: expects {len(flat_in)} inputs "
                                 f"({[t.name for t in flat_in]}), got {len(values)}")
        env = {}
        for t, v in zip(flat_in, values):
            env[id(t)] = _as_tensor(v)
        for node in g["nodes"]:
            arg = map_structure(lambda kt: env[id(kt)], node.arg)
            out = node.layer(arg, **node.kwargs)
            for kt, o in zip(node.outputs, flatten_structure(out) if not node.single_output else [out]):
                env[id(kt)] = o
        return map_structure(lambda kt: env[id(kt)], g["outputs"])

    # ================================================================ calling
    def __call__(self, *args, training=None, **kwargs):
        if args and is_symbolic(args[0]):
            return symbolic_call(self, lambda layer, a, **kw: layer._call_values(a, **kw), args, kwargs)
        if len(args) != 1:
            raise TypeError(f"{self.name}: call the model on one argument (a Tensor/array, or a list of "
                            f"them for several inputs), got {len(args)}")
        return self._call_values(args[0], training=training, **kwargs)

    def _call_values(self, x, training=None, **kwargs):
        x = map_structure(_as_tensor, x)
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
        if self._graph is not None:
            return self._run_graph(inputs)
        call = getattr(self, "call", None)
        if call is None:
            raise NotImplementedError(f"{type(self).__name__}: a subclassed Model must implement "
                                      "call(self, inputs, training=None) (or use Model(inputs, outputs))")
        if _accepts(call, "training"):
            kwargs.setdefault("training", self.training)
        return call(inputs, **kwargs)

    def build(self, input_shape=None):
        """Build by running the model once on a zero batch of ``input_shape`` (batch axis included)."""
        if self.built or input_shape is None:
            return
        shape = tuple(input_shape)
        dummy = Tensor(np.zeros((1,) + tuple(1 if d is None else d for d in shape[1:]), dtype=self.dtype))
        dry_run(self, lambda m, a: m.forward(a), dummy)
        self.built = True

    # ================================================================ structure
    @property
    def layers(self):
        if self._graph is not None:
            return list(self._graph["layers"])
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
        return list(self._graph["flat_in"]) if self._graph is not None else None

    @property
    def outputs(self):
        return list(self._graph["flat_out"]) if self._graph is not None else None

    @property
    def input_shape(self):
        if self._graph is not None:
            shapes = [t.shape for t in self._graph["flat_in"]]
            return shapes[0] if len(shapes) == 1 else shapes
        raise AttributeError(f"{self.name}: the input shape of a subclassed model is not known")

    @property
    def output_shape(self):
        if self._graph is not None:
            shapes = [t.shape for t in self._graph["flat_out"]]
            return shapes[0] if len(shapes) == 1 else shapes
        raise AttributeError(f"{self.name}: the output shape of a subclassed model is not known")

    def _layer_output_shape(self, layer):
        if self._graph is not None:
            if isinstance(layer, InputLayer):
                return layer.output.shape
            for node in self._graph["nodes"]:
                if node.layer is layer:
                    shapes = [o.shape for o in node.outputs]
                    return shapes[0] if node.single_output else shapes
        return None

    # ================================================================ weights
    @property
    def weights(self):
        return self.parameters()

    @property
    def trainable_weights(self):
        return [p for p in self.parameters() if p.requires_grad]

    @property
    def non_trainable_weights(self):
        return [p for p in self.parameters() if not p.requires_grad]

    trainable_variables = trainable_weights
    variables = weights

    def count_params(self):
        """Every weight's size, trainable or not (BatchNormalization's moving statistics included)."""
        self._require_built("count_params")
        return int(sum(np.asarray(v).size for v in self.state_dict().values()))

    def get_weights(self):
        """Weights as numpy arrays, layer by layer (parameters, then buffers), as Keras orders them."""
        return [np.array(v, copy=True) for v in self.state_dict().values()]

    def set_weights(self, weights):
        state = self.state_dict()
        weights = list(weights)
        if len(weights) != len(state):
            raise ValueError(f"{self.name}.set_weights: expected a list of {len(state)} arrays, got {len(weights)}")
        new = {}
        for (k, cur), w in zip(state.items(), weights):
            w = np.asarray(w)
            if w.shape != cur.shape:
                raise ValueError(f"{self.name}.set_weights: weight {len(new)} ('{k}') expects shape {cur.shape}, "
                                 f"got {w.shape}")
            new[k] = w.astype(cur.dtype, copy=False)
        self.load_state_dict(new)

    def save_weights(self, filepath, overwrite=True):
        """Write every weight to ``filepath`` (an .npz file, written atomically; see tinydl.io)."""
        self._require_built("save_weights")
        if not overwrite and os.path.exists(filepath):
            raise FileExistsError(f"{filepath} exists (overwrite=False)")
        _io.save_weights(filepath, self)

    def load_weights(self, filepath):
        """Load weights saved by ``save_weights`` (or the weights of a checkpoint). Every name, shape
        and dtype is checked first; on any problem a ``tinydl.io.CheckpointError`` is raised and the
        model is unchanged."""
        self._require_built("load_weights")
        _io.load_weights(filepath, self)
        return self

    def save(self, filepath, *args, **kwargs):
        raise NotImplementedError(
            "tinydl.keras does not serialize model architectures: rebuild the model in code and use "
            "model.save_weights(path) / model.load_weights(path), or tinydl.io.save_checkpoint(path, model) "
            "to include the optimizer state")

    def _require_built(self, what):
        if not self.built or (isinstance(self, Sequential) and not self._layers):
            raise ValueError(f"{self.name}.{what}: this model has not yet been built. Build it first by giving "
                             "the first layer an input_shape, calling build(input_shape), or calling the model "
                             "on a batch of data.")

    # ================================================================ summary
    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False):
        """Print the layers (name and type, output shape, parameter count) and the totals, as Keras does."""
        self._require_built("summary")
        width = line_length or 74
        cols = [int(width * 0.45), int(width * 0.78), width] if positions is None else \
            [int(p * width) if p <= 1 else int(p) for p in positions]
        sep_cols = self._graph is not None and any(len(n.inputs) > 1 for n in self._graph["nodes"])
        headers = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if sep_cols else [])
        if sep_cols:
            cols = [int(width * 0.32), int(width * 0.56), int(width * 0.68), width + 20]
            width = cols[-1]
        lines = [f'Model: "{self.name}"', "_" * width, _row(headers, cols), "=" * width]
        total = trainable = 0
        nbytes_total = nbytes_trainable = 0
        layers = self.layers
        for i, layer in enumerate(layers):
            n_all = n_tr = b_all = b_tr = 0
            for p in layer.parameters():
                n_all += p.size
                b_all += p.data.nbytes
                if p.requires_grad:
                    n_tr += p.size
                    b_tr += p.data.nbytes
            for m in layer.modules():
                for b in m._buffers:
                    arr = getattr(m, b)
                    n_all += arr.size
                    b_all += arr.nbytes
            total += n_all
            trainable += n_tr
            nbytes_total += b_all
            nbytes_trainable += b_tr
            cells = [f"{layer.name} ({type(layer).__name__})", _shape_str(self._layer_output_shape(layer)),
                     f"{n_all:,}"]
            if sep_cols:
                node = next((n for n in self._graph["nodes"] if n.layer is layer), None)
                cells.append(", ".join(self._producer_name(t) for t in node.inputs) if node else "-")
            lines.append(_row(cells, cols))
            if i < len(layers) - 1:
                lines.append("")
        lines.append("=" * width)
        lines.append(f"Total params: {total:,} ({_human_bytes(nbytes_total)})")
        lines.append(f"Trainable params: {trainable:,} ({_human_bytes(nbytes_trainable)})")
        lines.append(f"Non-trainable params: {total - trainable:,} ({_human_bytes(nbytes_total - nbytes_trainable)})")
        lines.append("_" * width)
        emit = print_fn or print
        for line in lines:
            emit(line)

    def _producer_name(self, kt):
        if kt._node is None:
            return f"{kt._input_layer.name}[0][0]"
        idx = next(i for i, o in enumerate(kt._node.outputs) if o is kt)
        return f"{kt._node.layer.name}[0][{idx}]"

    # ================================================================ compile
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, weighted_metrics=None,
                run_eagerly=None, steps_per_execution=None, jit_compile=None, terminate_on_nan=True, **kwargs):
        """Configure training: ``optimizer`` (a name, with Keras's defaults, or an object), ``loss`` (a
        name, a ``tinydl.keras.losses`` object or a function ``f(y_true, y_pred)``), ``metrics``.

        ``terminate_on_nan`` (tinydl): stop ``fit`` when the loss becomes NaN/inf (default True).
        Arguments about graph compilation (``run_eagerly``, ``jit_compile``, ``steps_per_execution``)
        are accepted and ignored: tinydl always runs eagerly.
        """
        if kwargs:
            raise TypeError(f"compile: unexpected argument(s) {sorted(kwargs)}")
        if loss_weights is not None:
            raise NotImplementedError("compile: loss_weights (multi-output losses) is not supported")
        self.optimizer = kopt.get(optimizer)
        self.loss = loss
        self.compiled_loss = klosses.get(loss) if loss is not None else None
        loss_name = self._loss_name(loss)
        self.compiled_metrics = kmetrics.resolve(metrics, loss_name)
        self.weighted_metrics = kmetrics.resolve(weighted_metrics, loss_name)
        self._terminate_on_nan = bool(terminate_on_nan)
        self._compiled = True
        self._bound_count = -1
        if self.built:
            self._bind_optimizer()

    @staticmethod
    def _loss_name(loss):
        if isinstance(loss, str):
            return _LOSS_NAMES.get(type(klosses.get(loss)))
        if isinstance(loss, klosses.Loss):
            return _LOSS_NAMES.get(type(loss))
        if callable(loss):
            name = getattr(loss, "__name__", "")
            return name if name in _LOSS_NAMES.values() else None
        return None

    @property
    def metrics_names(self):
        return ["loss"] + [m.name for m in self.compiled_metrics + getattr(self, "weighted_metrics", [])]

    @property
    def metrics(self):
        return list(self.compiled_metrics) + list(getattr(self, "weighted_metrics", []))

    def _require_compiled(self, what):
        if not self._compiled or self.compiled_loss is None:
            raise RuntimeError(f"{self.name}.{what}: you must call compile(optimizer, loss) before {what}()"
                               if not self._compiled else f"{self.name}.{what}: compile() was called without a loss")

    def _bind_optimizer(self):
        params = self.parameters()
        if len(params) == self._bound_count:
            return
        if isinstance(self.optimizer, kopt.Optimizer):
            self.optimizer.build(params)
        self._bound_count = len(params)

    # ================================================================ data handling
    def _input_dtypes(self):
        if self._graph is not None:
            return [t.dtype for t in self._graph["flat_in"]]
        return None

    def _expected_input_shapes(self):
        """Per input, the shape without the batch axis (None where unknown)."""
        if self._graph is not None:
            return [t.shape[1:] for t in self._graph["flat_in"]]
        return None

    def _first_layer_for(self, i):
        if self._graph is not None:
            kt = self._graph["flat_in"][i]
            for node in self._graph["nodes"]:
                if any(t is kt for t in node.inputs):
                    return node.layer
        layers = [l for l in self.layers if not isinstance(l, InputLayer)]
        return layers[0] if layers else None

    def _takes_indices(self, i):
        """Whether input ``i`` feeds an embedding-like layer (integer inputs are then kept as they are)."""
        layer = self._first_layer_for(i)
        return layer is not None and "Embedding" in type(layer).__name__

    def _ensure_built(self, xs):
        if not self.built and len(xs) == 1:
            self.build((None,) + tuple(xs[0].shape[1:]))

    def _check_input_shapes(self, xs, who):
        expected = self._expected_input_shapes()
        if expected is None:
            return
        for i, (x, want) in enumerate(zip(xs, expected)):
            got = tuple(x.shape[1:])
            if len(got) == len(want) and all(w is None or w == g for w, g in zip(want, got)):
                continue
            layer = self._first_layer_for(i)
            where = f"layer '{layer.name}' ({type(layer).__name__})" if layer is not None else "the model"
            hint = ""
            if len(got) == 3 and len(want) == 3 and (got[1], got[2], got[0]) == tuple(want):
                hint = ("; this looks like channels-first (N, C, H, W) data for a channels-last model: "
                        "transpose it with x.transpose(0, 2, 3, 1)")
            elif len(got) == 3 and len(want) == 3 and (got[2], got[0], got[1]) == tuple(want):
                hint = ("; this looks like channels-last (N, H, W, C) data for a channels-first model: "
                        "transpose it with x.transpose(0, 3, 1, 2)")
            raise ValueError(f"{who}: input {i} of model '{self.name}' is incompatible with {where}: expected "
                             f"shape {_shape_str((None,) + tuple(want))}, got {_shape_str(tuple(x.shape))}{hint}")

    def _prepare_x(self, x, who, check_finite=True):
        """Inputs as a list of numpy arrays (one per model input), cast as Keras casts them."""
        if isinstance(x, dict) and self._graph is not None:
            names = [t.name for t in self._graph["flat_in"]]
            missing = [n for n in names if n not in x]
            if missing:
                raise ValueError(f"{who}: missing input(s) {missing} in x (got {sorted(x)})")
            xs = [x[n] for n in names]
        elif isinstance(x, (list, tuple)) and self._graph is not None and len(self._graph["flat_in"]) > 1:
            xs = list(x)
        else:
            xs = [x]
        dtypes = self._input_dtypes() or [np.dtype(self.dtype)] * len(xs)
        if len(xs) != len(dtypes):
            raise ValueError(f"{who}: model '{self.name}' has {len(dtypes)} inputs, got {len(xs)} arrays")
        out = []
        for i, (a, want) in enumerate(zip(xs, dtypes)):
            if a is None:
                raise ValueError(f"{who}: x is None")
            if isinstance(a, Tensor):
                a = a.numpy()
            if not isinstance(a, (np.ndarray, list, tuple)) and hasattr(a, "__iter__") and not hasattr(a, "__array__"):
                raise TypeError(f"{who}: x must be a numpy array (or a list of them for several inputs), got "
                                f"{type(a).__name__}; for a tinydl.data.DataLoader or a generator, loop over it "
                                "and call train_on_batch / test_on_batch")
            a = np.asarray(a)
            if a.dtype.kind not in "biuf":
                raise TypeError(f"{who}: x{'' if len(xs) == 1 else f'[{i}]'} has dtype {a.dtype}; expected numbers")
            if a.ndim == 0:
                raise ValueError(f"{who}: x must have a batch axis, got a scalar")
            if want.kind == "f" and a.dtype != want and (a.dtype.kind == "f" or not self._takes_indices(i)):
                a = a.astype(want)  # Keras casts inputs to the model's dtype (float64 -> float32)
            if a.ndim == 1:
                a = a[:, None]  # Keras 2's expand_1d: (n,) -> (n, 1)
            if check_finite and a.dtype.kind == "f" and not np.isfinite(a).all():
                bad = np.argwhere(~np.isfinite(a))[0]
                raise ValueError(
                    f"{who}: x{'' if len(xs) == 1 else f'[{i}]'} contains NaN or infinite values "
                    f"({int((~np.isfinite(a)).sum())} of them; first at index {tuple(int(b) for b in bad)}: "
                    f"{a[tuple(bad)]}). Clean or impute the data, or pass check_finite=False.")
            out.append(a)
        n = len(out[0])
        for i, a in enumerate(out[1:], 1):
            if len(a) != n:
                raise ValueError(f"{who}: the inputs have different numbers of samples: x[0] has {n}, x[{i}] has {len(a)}")
        return out

    def _prepare_y(self, y, n, who, check_finite=True, name="y"):
        if y is None:
            return None
        if isinstance(y, Tensor):
            y = y.numpy()
        y = np.asarray(y)
        if y.dtype.kind not in "biuf":
            raise TypeError(f"{who}: {name} has dtype {y.dtype}; expected numbers")
        if y.ndim == 0:
            raise ValueError(f"{who}: {name} must have a batch axis, got a scalar")
        if len(y) != n:
            raise ValueError(f"{who}: x and {name} have different numbers of samples: x has {n}, "
                             f"{name} has {len(y)} (shape {y.shape}). Make sure all arrays contain the same "
                             "number of samples.")
        if y.dtype == np.float64:
            y = y.astype(np.float32)
        if check_finite and y.dtype.kind == "f" and not np.isfinite(y).all():
            raise ValueError(f"{who}: {name} contains NaN or infinite values "
                             f"({int((~np.isfinite(y)).sum())} of them); clean the targets, or pass check_finite=False")
        return y

    def _sample_weights(self, y, sample_weight, class_weight, n, who):
        sw = None
        if sample_weight is not None:
            sw = np.asarray(sample_weight, dtype=np.float32)
            if sw.shape[:1] != (n,):
                raise ValueError(f"{who}: sample_weight has shape {sw.shape}, expected ({n},)")
        if class_weight is not None:
            if y is None:
                raise ValueError(f"{who}: class_weight needs y")
            labels = y.argmax(axis=-1) if (y.ndim > 1 and y.shape[-1] > 1) else y.reshape(len(y), -1)[:, 0]
            labels = np.asarray(labels).astype(np.int64)
            unknown = sorted(set(np.unique(labels).tolist()) - set(int(k) for k in class_weight))
            if unknown:
                raise ValueError(f"{who}: class_weight has no entry for class(es) {unknown}")
            cw = np.array([class_weight[int(c)] for c in labels], dtype=np.float32)
            sw = cw if sw is None else sw * cw
        return sw

    # ================================================================ one step
    def _compute_loss(self, y, out, sw):
        loss = self.compiled_loss(y, out, sw)
        if loss.ndim:
            loss = loss.mean()
        regs = self.regularization_losses()
        if regs:
            loss = functools.reduce(lambda a, b: a + b, regs, loss)
        return loss

    def _update_metrics(self, y, out_np, sw):
        for m in self.compiled_metrics:
            m.update_state(y, out_np)
        for m in getattr(self, "weighted_metrics", []):
            m.update_state(y, out_np, sw)

    def _reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    def reset_metrics(self):
        self._reset_metrics()

    def _metric_logs(self, loss_tracker):
        logs = {"loss": loss_tracker.result()}
        for m in self.metrics:
            logs[m.name] = m.result()
        return logs

    def _train_batch(self, xb, yb, swb):
        out = self.forward(_unwrap_single([Tensor(a) for a in xb]))
        if isinstance(out, (list, tuple)):
            raise NotImplementedError(f"{self.name}: training a model with several outputs is not supported")
        self.built = True
        self._bind_optimizer()
        loss = self._compute_loss(yb, out, swb)
        self.zero_grad()
        if loss.requires_grad:
            loss.backward()
            self.optimizer.step()
        return float(loss.item()), out.numpy()

    # ================================================================ fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1,
            terminate_on_nan=None, check_finite=True):
        """Train for ``epochs`` epochs; returns a ``History`` (``.history`` dict of per-epoch lists, ``.epoch``).

        tinydl extras: ``terminate_on_nan`` (None: as given to ``compile``, True by default) and
        ``check_finite`` (refuse NaN/inf in x and y, default True).
        """
        self._require_compiled("fit")
        verbose = 1 if verbose == "auto" else int(verbose)
        batch_size = 32 if batch_size is None else batch_size
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"fit: batch_size must be a positive integer, got {batch_size!r}")
        if not (0.0 <= float(validation_split) < 1.0):
            raise ValueError(f"fit: validation_split must be in [0, 1), got {validation_split}")
        if x is None:
            raise ValueError("fit: x is None; pass the training inputs")
        if y is None:
            raise ValueError("fit: y is None; pass the training targets")

        xs = self._prepare_x(x, "fit", check_finite)
        n = len(xs[0])
        ys = self._prepare_y(y, n, "fit", check_finite)
        if n == 0:
            raise ValueError("fit: the training data is empty (x has 0 samples); there is nothing to train on")
        sw = self._sample_weights(ys, sample_weight, class_weight, n, "fit")
        self._check_input_shapes(xs, "fit")
        self._ensure_built(xs)

        val = None
        if validation_data is not None:
            if not isinstance(validation_data, (list, tuple)) or len(validation_data) not in (2, 3):
                raise ValueError("fit: validation_data must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight)")
            vx = self._prepare_x(validation_data[0], "fit (validation_data)", check_finite)
            vy = self._prepare_y(validation_data[1], len(vx[0]), "fit (validation_data)", check_finite, "y_val")
            vsw = None if len(validation_data) == 2 or validation_data[2] is None else \
                np.asarray(validation_data[2], dtype=np.float32)
            if len(vx[0]) == 0:
                raise ValueError("fit: validation_data is empty")
            self._check_input_shapes(vx, "fit (validation_data)")
            val = (vx, vy, vsw)
        elif validation_split:
            split_at = int(math.floor(n * (1.0 - validation_split)))
            if split_at == 0 or split_at == n:
                raise ValueError(f"fit: validation_split={validation_split} of {n} samples leaves "
                                 f"{split_at} for training and {n - split_at} for validation; both need at least one")
            val = ([a[split_at:] for a in xs], ys[split_at:], None if sw is None else sw[split_at:])
            xs, ys, sw = [a[:split_at] for a in xs], ys[:split_at], None if sw is None else sw[:split_at]
            n = split_at

        steps = math.ceil(n / batch_size)
        if steps_per_epoch is not None:
            steps = min(steps, int(steps_per_epoch))
        history = cbks.History()
        user = list(callbacks or [])
        tnan = self._terminate_on_nan if terminate_on_nan is None else bool(terminate_on_nan)
        if tnan and not any(isinstance(c, cbks.TerminateOnNaN) for c in user):
            user.append(cbks.TerminateOnNaN())
        progbar = cbks.ProgbarLogger(verbose=verbose, mode="train")
        params = {"epochs": epochs, "steps": steps, "verbose": verbose, "batch_size": batch_size, "samples": n}
        cb = cbks.CallbackList([progbar] + user + [history], model=self, params=params)

        self.stop_training = False
        self.history = history
        loss_tracker = kmetrics.Mean(name="loss")
        epoch_logs = {}
        cb.on_train_begin({})
        try:
            for epoch in range(initial_epoch, epochs):
                self._reset_metrics()
                loss_tracker.reset_state()
                self.train(True)
                cb.on_epoch_begin(epoch, {})
                order = get_rng().permutation(n) if shuffle else None
                logs = {}
                for b in range(steps):
                    lo, hi = b * batch_size, min((b + 1) * batch_size, n)
                    idx = slice(lo, hi) if order is None else order[lo:hi]
                    xb = [a[idx] for a in xs]
                    yb = ys[idx]
                    swb = None if sw is None else sw[idx]
                    cb.on_train_batch_begin(b, {})
                    loss_value, out_np = self._train_batch(xb, yb, swb)
                    loss_tracker.update_state(loss_value, sample_weight=hi - lo)
                    self._update_metrics(yb, out_np, swb)
                    logs = self._metric_logs(loss_tracker)
                    cb.on_train_batch_end(b, logs)
                    if self.stop_training:
                        break
                epoch_logs = dict(logs)
                if val is not None and (epoch + 1) % validation_freq == 0:
                    val_logs = self._run_eval(val[0], val[1], val[2], validation_batch_size or batch_size, cb,
                                              validation_steps)
                    epoch_logs.update({"val_" + k: v for k, v in val_logs.items()})
                    self.train(True)
                cb.on_epoch_end(epoch, epoch_logs)
                if self.stop_training:
                    break
        finally:
            self.eval()
        cb.on_train_end(epoch_logs)
        return history

    # ================================================================ evaluate / predict
    def _run_eval(self, xs, y, sw, batch_size, cb, steps=None):
        """Loss and metrics over (xs, y) in inference mode; calls the test hooks of ``cb``."""
        self._reset_metrics()
        tracker = kmetrics.Mean(name="loss")
        n = len(xs[0])
        total = math.ceil(n / batch_size)
        if steps is not None:
            total = min(total, int(steps))
        was_training = self.training
        self.eval()
        logs = {}
        cb.on_test_begin({})
        try:
            with no_grad():
                for b in range(total):
                    lo, hi = b * batch_size, min((b + 1) * batch_size, n)
                    cb.on_test_batch_begin(b, {})
                    out = self.forward(_unwrap_single([Tensor(a[lo:hi]) for a in xs]))
                    self.built = True
                    swb = None if sw is None else sw[lo:hi]
                    loss = self._compute_loss(y[lo:hi], out, swb)
                    tracker.update_state(float(loss.item()), sample_weight=hi - lo)
                    self._update_metrics(y[lo:hi], out.numpy(), swb)
                    logs = self._metric_logs(tracker)
                    cb.on_test_batch_end(b, logs)
        finally:
            self.train(was_training)
        cb.on_test_end(logs)
        return logs

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False, check_finite=True):
        """The loss (a float) when the model has no metrics, else ``[loss, metric, ...]`` (or a dict)."""
        self._require_compiled("evaluate")
        verbose = 1 if verbose == "auto" else int(verbose)
        batch_size = 32 if batch_size is None else int(batch_size)
        if x is None or y is None:
            raise ValueError("evaluate: pass both x and y")
        xs = self._prepare_x(x, "evaluate", check_finite)
        n = len(xs[0])
        ys = self._prepare_y(y, n, "evaluate", check_finite)
        if n == 0:
            raise ValueError("evaluate: the data is empty (x has 0 samples)")
        self._check_input_shapes(xs, "evaluate")
        self._ensure_built(xs)
        sw = self._sample_weights(ys, sample_weight, None, n, "evaluate")
        steps_total = math.ceil(n / batch_size) if steps is None else min(math.ceil(n / batch_size), int(steps))
        progbar = cbks.ProgbarLogger(verbose=verbose, mode="test")
        cb = cbks.CallbackList([progbar] + list(callbacks or []), model=self,
                               params={"steps": steps_total, "verbose": verbose, "epochs": 1})
        logs = self._run_eval(xs, ys, sw, batch_size, cb, steps)
        if return_dict:
            return dict(logs)
        values = [logs["loss"]] + [logs[m.name] for m in self.metrics]
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose=0, steps=None, callbacks=None, check_finite=False):
        """The model's outputs on ``x`` as a numpy array, computed in inference mode in batches."""
        verbose = 1 if verbose == "auto" else int(verbose)
        batch_size = 32 if batch_size is None else int(batch_size)
        xs = self._prepare_x(x, "predict", check_finite)
        self._check_input_shapes(xs, "predict")
        self._ensure_built(xs)
        n = len(xs[0])
        total = math.ceil(n / batch_size) if steps is None else min(math.ceil(n / batch_size), int(steps))
        progbar = cbks.ProgbarLogger(verbose=verbose, mode="predict")
        cb = cbks.CallbackList([progbar] + list(callbacks or []), model=self,
                               params={"steps": total, "verbose": verbose, "epochs": 1})
        outs = []
        was_training = self.training
        self.eval()
        cb.on_predict_begin({})
        try:
            with no_grad():
                for b in range(total):
                    lo, hi = b * batch_size, min((b + 1) * batch_size, n)
                    cb.on_predict_batch_begin(b, {})
                    out = self._call_values(_unwrap_single([Tensor(a[lo:hi]) for a in xs]))
                    outs.append([o.numpy() for o in flatten_structure(out)])
                    cb.on_predict_batch_end(b, {"outputs": out})
        finally:
            self.train(was_training)
        cb.on_predict_end({})
        if not outs:
            raise ValueError("predict: x is empty (0 samples)")
        result = [np.concatenate([o[i] for o in outs]) for i in range(len(outs[0]))]
        return result[0] if len(result) == 1 else result

    def predict_on_batch(self, x):
        return self.predict(x, batch_size=max(len(self._prepare_x(x, "predict_on_batch", False)[0]), 1))

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One optimizer step on one batch; returns its loss (and metrics), like Keras."""
        self._require_compiled("train_on_batch")
        xs = self._prepare_x(x, "train_on_batch")
        ys = self._prepare_y(y, len(xs[0]), "train_on_batch")
        if len(xs[0]) == 0:
            raise ValueError("train_on_batch: the batch is empty")
        sw = self._sample_weights(ys, sample_weight, class_weight, len(xs[0]), "train_on_batch")
        self._reset_metrics()
        was_training = self.training
        self.train(True)
        try:
            loss_value, out_np = self._train_batch(xs, ys, sw)
        finally:
            self.train(was_training)
        self._update_metrics(ys, out_np, sw)
        tracker = kmetrics.Mean()
        tracker.update_state(loss_value)
        return self._pack(self._metric_logs(tracker), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        self._require_compiled("test_on_batch")
        xs = self._prepare_x(x, "test_on_batch")
        ys = self._prepare_y(y, len(xs[0]), "test_on_batch")
        sw = self._sample_weights(ys, sample_weight, None, len(xs[0]), "test_on_batch")
        logs = self._run_eval(xs, ys, sw, max(len(xs[0]), 1), cbks.CallbackList([]))
        return self._pack(logs, return_dict)

    def _pack(self, logs, return_dict):
        if return_dict:
            return dict(logs)
        values = [logs["loss"]] + [logs[m.name] for m in self.metrics]
        return values[0] if len(values) == 1 else values


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
        return layer

    def _build_from(self, start):
        """Dry-run layers ``start...`` on a zero example to build them and learn their output shapes."""
        shape, dtype = self._input_spec
        if start > 0:
            prev = self._shapes[start - 1]
            shape, dtype = prev[0][1:], prev[1]
        x = Tensor(np.zeros((1,) + tuple(1 if d is None else d for d in shape), dtype=dtype))
        del self._shapes[start:]
        for layer in self._layers[start:]:
            x = dry_run(layer, _module_call, x)
            if not isinstance(x, Tensor):
                raise TypeError(f"Sequential: layer '{layer.name}' returned {type(x).__name__}; a Sequential "
                                "model needs single-tensor layers (use the functional API)")
            self._shapes.append(((None,) + tuple(x.shape[1:]), x.dtype))
        self.built = True

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


def _as_tensor(v):
    if isinstance(v, Tensor):
        return v
    a = np.asarray(v)
    if a.dtype == np.float64:
        a = a.astype(np.float32)
    return Tensor(a)


def _unwrap_single(xs):
    return xs[0] if len(xs) == 1 else xs


def _accepts(fn, name):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def load_model(*args, **kwargs):
    raise NotImplementedError("tinydl.keras does not serialize architectures; rebuild the model in code "
                              "and call model.load_weights(path)")
