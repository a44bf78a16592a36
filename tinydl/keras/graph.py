"""The functional API's graph: ``Input``, symbolic ``KerasTensor``s, and the recorded layer calls.

``Input(shape=...)`` returns a :class:`KerasTensor` (a shape and a dtype, no values). Calling any
layer on it records a :class:`Node` and returns new KerasTensors: a KerasTensor tells
``Module.__call__`` how a module applies to it (its ``__tinydl_module_call__``), so tinydl.nn
needs no hook from keras. To learn the output shape, each recorded call runs the layer once on a
batch of one zero example (which also builds the layer's weights, as Keras builds them when the
graph is defined). ``Model(inputs, outputs)`` keeps a :class:`FunctionalGraph`: the recorded
calls between its inputs and outputs, replayed on real Tensors.

>>> x = Input(shape=(784,))
>>> x.shape, x.dtype
((None, 784), dtype('float32'))
"""
import numpy as np

from ..core.autograd import no_grad
from ..core.tensor import Tensor
from ..nn.layers.base import Layer


class Node:
    """One recorded layer call: ``outputs = layer(args, **kwargs)`` on symbolic inputs."""

    __slots__ = ("layer", "args", "kwargs", "inputs", "outputs", "single_output")

    def __init__(self, layer, args, kwargs, inputs):
        self.layer, self.args, self.kwargs, self.inputs = layer, tuple(args), kwargs, inputs
        self.outputs, self.single_output = [], True

    @property
    def arg(self):
        """The first argument (the layer's input)."""
        return self.args[0]


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

    @staticmethod
    def __tinydl_module_call__(module, eager_call, args, kwargs):
        """Module.__call__ on KerasTensors records a graph node instead of computing."""
        # the module's own call_eager (a Layer's builds, converts and passes masks), not the base's
        return symbolic_call(module, lambda m, *a, **kw: m.call_eager(*a, **kw), args, kwargs)

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


def to_tensor(v):
    """A model input as a Tensor; float64 data becomes float32, as Keras casts it."""
    if isinstance(v, Tensor):
        return v
    a = np.asarray(v)
    if a.dtype == np.float64:
        a = a.astype(np.float32)
    return Tensor(a)


UNKNOWN_AXIS_SIZES = (8, 9)  # two dry runs tell which output axes follow an unknown input axis


def dummy_for(kt, batch=1, unknown=UNKNOWN_AXIS_SIZES[0]):
    """A zero Tensor shaped like ``kt`` with a batch of ``batch`` (unknown axes become ``unknown``)."""
    shape = (batch,) + tuple(unknown if d is None else d for d in kt.shape[1:])
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


def _symbols(fn, obj):
    """``fn`` applied to the KerasTensors in a structure; other values stay as they are."""
    return map_structure(lambda v: fn(v) if isinstance(v, KerasTensor) else v, obj)


def symbolic_call(layer, call, args, kwargs):
    """Record ``layer(*args, **kwargs)`` on KerasTensors (in any argument, e.g. attention's query
    and value); return the symbolic output(s)."""
    kwargs = {k: v for k, v in kwargs.items() if k != "training"}
    inputs = [v for v in flatten_structure(list(args)) + flatten_structure(list(kwargs.values()))
              if isinstance(v, KerasTensor)]
    dummy_args = _symbols(dummy_for, list(args))
    dummy_kwargs = {k: _symbols(dummy_for, v) for k, v in kwargs.items()}
    out = dry_run(layer, lambda l, a: call(l, *a, **dummy_kwargs), dummy_args)
    node = Node(layer, args, kwargs, inputs)
    flat_out = flatten_structure(out)
    for t in flat_out:
        if not isinstance(t, Tensor):
            raise TypeError(f"{layer.name}: a layer in a functional model must return Tensors, got {type(t).__name__}")
    shapes = [tuple(t.shape[1:]) for t in flat_out]
    if any(d is None for kt in inputs for d in kt.shape[1:]):
        # an input axis of unknown size (Input(shape=(None,))): run again with another size; the
        # output axes that change with it are unknown too
        def resized(kt):
            return dummy_for(kt, unknown=UNKNOWN_AXIS_SIZES[1])
        other_kwargs = {k: _symbols(resized, v) for k, v in kwargs.items()}
        other = dry_run(layer, lambda l, a: call(l, *a, **other_kwargs), _symbols(resized, list(args)))
        shapes = [tuple(None if a != b else a for a, b in zip(s, tuple(o.shape[1:])))
                  for s, o in zip(shapes, flatten_structure(other))]
    outs = [KerasTensor((None,) + shape, t.dtype, name=f"{layer.name}/output_{i}", node=node)
            for i, (t, shape) in enumerate(zip(flat_out, shapes))]
    node.outputs = outs
    node.single_output = not isinstance(out, (list, tuple))
    if isinstance(layer.__dict__.get("_inbound_nodes"), list):
        layer._inbound_nodes.append(node)  # layer.input / layer.output / layer.output_shape
    if node.single_output:
        return outs[0]
    return type(out)(outs) if isinstance(out, list) else tuple(outs)


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
        # the input's dtype may be an integer one (ids for an Embedding): it is the data's, not a weight dtype
        super().__init__(name=name or None, **kwargs)
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.batch_size = batch_size
        self._output = KerasTensor((batch_size,) + self.shape, dtype, name=self.name, input_layer=self)
        self.built = True

    @property
    def output(self):
        return self._output

    @property
    def input(self):
        return self._output

    def forward(self, x):
        return x


def Input(shape=None, batch_size=None, dtype="float32", name=None, batch_shape=None, **kwargs):
    """A symbolic input: ``Input(shape=(784,))`` (the batch axis is implied).

    >>> Input(shape=(28, 28, 1)).shape
    (None, 28, 28, 1)
    """
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name,
                      batch_shape=batch_shape, **kwargs).output


class FunctionalGraph:
    """The recorded layer calls from a functional model's inputs to its outputs.

    ``nodes`` are in an order in which each node's inputs are computed before it; ``layers`` are
    the InputLayers, then every called layer once, in that order (Keras's ``model.layers``).
    """

    def __init__(self, inputs, outputs):
        flat_in, flat_out = flatten_structure(inputs), flatten_structure(outputs)
        for t in flat_in:
            if not isinstance(t, KerasTensor) or t._node is not None:
                raise TypeError(f"Model: inputs must be the results of Input(...), got {t!r}")
        for t in flat_out:
            if not isinstance(t, KerasTensor):
                raise TypeError(f"Model: outputs must be symbolic tensors made by calling layers on "
                                f"Input(...), got {type(t).__name__}")
        input_ids = {id(t) for t in flat_in}
        nodes, missing = self._walk(flat_out, input_ids)
        if missing:
            raise ValueError(f"Model: the outputs depend on Input(s) {[m.name for m in missing]} that are not "
                             f"among inputs={[t.name for t in flat_in]}")
        used = {id(t) for t in flat_out if t._node is None and id(t) in input_ids}
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
        self.inputs, self.outputs = inputs, outputs
        self.flat_in, self.flat_out = flat_in, flat_out
        self.nodes, self.layers = nodes, layers

    @staticmethod
    def _walk(flat_out, input_ids):
        """Iterative post-order walk from the outputs back to the inputs: (nodes, unknown Inputs)."""
        nodes, seen, missing = [], set(), []
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
        return nodes, missing

    @property
    def input_names(self):
        return [t.name for t in self.flat_in]

    def run(self, inputs, model_name):
        """Replay the recorded calls on real values (one, a list, or a dict by input name)."""
        flat_in = self.flat_in
        if len(flat_in) == 1:
            values = [inputs[0] if isinstance(inputs, (list, tuple)) and len(inputs) == 1 else inputs]
        elif isinstance(inputs, dict):
            missing = [t.name for t in flat_in if t.name not in inputs]
            if missing:
                raise ValueError(f"{model_name}: missing input(s) {missing} in the dict (got {sorted(inputs)})")
            values = [inputs[t.name] for t in flat_in]
        else:
            values = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
            if len(values) != len(flat_in):
                raise ValueError(f"{model_name}: expects {len(flat_in)} inputs "
                                 f"({[t.name for t in flat_in]}), got {len(values)}")
        env = {id(t): to_tensor(v) for t, v in zip(flat_in, values)}
        for node in self.nodes:
            args = _symbols(lambda kt: env[id(kt)], list(node.args))
            kwargs = {k: _symbols(lambda kt: env[id(kt)], v) for k, v in node.kwargs.items()}
            out = node.layer(*args, **kwargs)
            for kt, o in zip(node.outputs, flatten_structure(out) if not node.single_output else [out]):
                env[id(kt)] = o
        return map_structure(lambda kt: env[id(kt)], self.outputs)

    def output_shape_of(self, layer):
        """The symbolic output shape(s) of ``layer`` in this graph, or None."""
        if isinstance(layer, InputLayer):
            return layer.output.shape
        for node in self.nodes:
            if node.layer is layer:
                shapes = [o.shape for o in node.outputs]
                return shapes[0] if node.single_output else shapes
        return None

    def first_layer_fed_by(self, i):
        """The first layer that input ``i`` feeds, or None."""
        kt = self.flat_in[i]
        for node in self.nodes:
            if any(t is kt for t in node.inputs):
                return node.layer
        return None

    def node_of(self, layer):
        return next((n for n in self.nodes if n.layer is layer), None)

    @staticmethod
    def producer_name(kt):
        """Keras's 'layer[0][i]' name of what produced ``kt`` (for summary's 'Connected to')."""
        if kt._node is None:
            return f"{kt._input_layer.name}[0][0]"
        idx = next(i for i, o in enumerate(kt._node.outputs) if o is kt)
        return f"{kt._node.layer.name}[0][{idx}]"
