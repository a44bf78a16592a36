"""tinydl.summary(model, input_shape): layers, shapes, parameters, MACs and activation memory.

The model is run once, in inference mode and without a graph, on a zero batch of
``(batch_size,) + input_shape``, while each module's calls, output shapes and the MACs of the
ops it ran are recorded (``tinydl.module_trace``). Rows are a Keras model's ``layers`` (as in
Keras's ``summary()``) or, for other modules, the innermost modules that ran, in call order.

Parameters are counted as Keras counts them: trainable ones, and non-trainable ones including
buffers such as BatchNormalization's moving mean and variance. MACs follow ``tinydl.costs``
(matmuls, convolutions, recurrent products; bias additions excluded), for the whole batch.
"Activation memory" is the size of each layer's outputs for the batch.
"""
import sys

import numpy as np

from .core.autograd import no_grad
from .core.tensor import Tensor
from .costs import human
from .module_trace import ModuleTrace
from .nn.module import buffer_array


class LayerSummary:
    """One row: ``name``, ``type``, ``output_shape``, ``trainable_params``, ``non_trainable_params``,
    ``macs``, ``activation_bytes``."""

    def __init__(self, name, module, output_shape, trainable, non_trainable, macs, activation_bytes):
        self.name, self.module, self.output_shape = name, module, output_shape
        self.type = type(module).__name__
        self.trainable_params, self.non_trainable_params = trainable, non_trainable
        self.macs, self.activation_bytes = macs, activation_bytes

    @property
    def params(self):
        return self.trainable_params + self.non_trainable_params

    def __repr__(self):
        return (f"LayerSummary({self.name!r}, {self.type}, out={self.output_shape}, params={self.params}, "
                f"macs={self.macs})")


class ModelSummary:
    """What ``tinydl.summary`` returns; ``print(report)`` shows the table."""

    def __init__(self, model, input_shape, batch_size, layers, trainable, non_trainable, macs, param_bytes):
        self.model, self.input_shape, self.batch_size = model, input_shape, batch_size
        self.layers = layers
        self.trainable_params, self.non_trainable_params = trainable, non_trainable
        self.total_params = trainable + non_trainable
        self.total_macs = macs
        self.param_bytes = param_bytes
        self.activation_bytes = sum(r.activation_bytes for r in layers)

    def __str__(self):
        head = ["Layer (type)", "Output Shape", "Param #", "Trainable", "Non-trainable", "MACs", "Activations"]
        body = [[f"{r.name} ({r.type})", _shape(r.output_shape), f"{r.params:,}", f"{r.trainable_params:,}",
                 f"{r.non_trainable_params:,}", f"{r.macs:,}", _bytes(r.activation_bytes)] for r in self.layers]
        widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]

        def line(cells):
            return "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

        width = len(line(head))
        name = getattr(self.model, "name", type(self.model).__name__)
        out = [f'Model: "{name}"  (input {_shape((self.batch_size,) + tuple(self.input_shape))})',
               "=" * width, line(head), "=" * width]
        out += [line(b) for b in body]
        out += ["=" * width,
                f"Total params: {self.total_params:,} ({_bytes(self.param_bytes)})",
                f"Trainable params: {self.trainable_params:,}",
                f"Non-trainable params: {self.non_trainable_params:,}",
                f"Total MACs: {self.total_macs:,} ({human(self.total_macs)}) for a batch of {self.batch_size}",
                f"Activation memory (layer outputs, one batch): {_bytes(self.activation_bytes)}",
                "-" * width]
        return "\n".join(out)

    def __repr__(self):
        return (f"<ModelSummary {getattr(self.model, 'name', '')}: {self.total_params:,} params, "
                f"{self.total_macs:,} MACs>")

    def _repr_pretty_(self, p, cycle):  # IPython shows the table
        p.text(str(self))


def _shape(s):
    if s is None:
        return "?"
    if isinstance(s, list):
        return "[" + ", ".join(_shape(x) for x in s) + "]"
    return "(" + ", ".join(str(d) for d in s) + ("," if len(s) == 1 else "") + ")"


def _bytes(n):
    for unit, scale in (("GiB", 2 ** 30), ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n} B"


def _count(module):
    """(trainable, non-trainable, bytes) of a module's parameters and buffers."""
    trainable = non = nbytes = 0
    for p in module.parameters():
        nbytes += p.data.nbytes
        if p.requires_grad:
            trainable += p.numel()
        else:
            non += p.numel()
    for m in module.modules():
        for b in m._buffers:
            arr = buffer_array(getattr(m, b))  # Keras layers keep arrays, PyTorch's Tensors
            non += int(arr.size)
            nbytes += int(arr.nbytes)
    return trainable, non, nbytes


def _is_keras_model(model):
    keras_models = sys.modules.get("tinydl.keras.models")  # a Keras model means the facade is loaded
    return keras_models is not None and isinstance(model, keras_models.Model)


def summary(model, input_shape=None, batch_size=1, dtype="float32"):
    """Summarise ``model`` for inputs of ``input_shape`` (without the batch axis; a list of shapes
    for several inputs) and ``batch_size``. Keras models that know their input shape need no
    ``input_shape``. Returns a ``ModelSummary``: ``print`` it for the table; ``total_params``,
    ``trainable_params``, ``non_trainable_params``, ``total_macs`` and per-layer ``layers``.
    """
    keras = _is_keras_model(model)
    if input_shape is None:
        shape = getattr(model, "input_shape", None) if keras else None
        if shape is None:
            raise ValueError(f"summary: give input_shape (without the batch axis) for {type(model).__name__}")
        input_shape = [tuple(s[1:]) for s in shape] if isinstance(shape, list) else tuple(shape[1:])
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"summary: batch_size must be a positive integer, got {batch_size!r}")
    shapes = input_shape if isinstance(input_shape, list) else [input_shape]
    for s in shapes:
        if not all(isinstance(d, (int, np.integer)) and d > 0 for d in tuple(s)):
            raise ValueError(f"summary: input_shape must be positive integers without the batch axis, got {s}")
    xs = [Tensor(np.zeros((batch_size,) + tuple(s), dtype=dtype)) for s in shapes]
    was_training = model.training
    model.eval()  # no dropout, and BatchNormalization's moving statistics stay as they are
    def run():
        return model(xs[0] if len(xs) == 1 else xs) if keras else model(*xs)

    try:
        with no_grad():
            if keras and not model.built:
                run()   # an unbuilt Keras model builds with a dry run of its own: keep it out of the trace
            with ModuleTrace(model) as trace:
                run()
    finally:
        model.train(was_training)

    calls = {}
    for call in trace.calls:
        calls.setdefault(id(call.module), []).append(call)
    if keras:
        modules = [(layer.name, layer) for layer in model.layers]
    else:
        modules = []
        for call in sorted(trace.calls, key=lambda c: c.order):
            m = call.module
            if m is model or any(id(m) == id(x) for _, x in modules):
                continue
            has_children = next(m.children(), None) is not None
            if not has_children or m._parameters:
                modules.append((call.path, m))
    rows = []
    for name, m in modules:
        mcalls = calls.get(id(m), [])
        trainable, non, _ = _count(m)
        outs = [s for c in mcalls for s, _, _ in c.outputs]
        if not mcalls and type(m).__name__ == "InputLayer":  # Keras's input row: the input's shape
            outs = [x.shape for x in xs]
        out_shape = None if not outs else (outs[0] if len(outs) == 1 else outs)
        rows.append(LayerSummary(name, m, out_shape, trainable, non, sum(c.macs for c in mcalls),
                                 sum(c.output_bytes for c in mcalls)))
    trainable, non, nbytes = _count(model)
    return ModelSummary(model, shapes[0] if len(shapes) == 1 else shapes, batch_size, rows,
                        trainable, non, trace.total_macs, nbytes)
