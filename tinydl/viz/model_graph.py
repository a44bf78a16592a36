"""plot_model: a model's layer graph (Keras's ``keras.utils.plot_model``, for both APIs).

Keras models are drawn from their own structure (the functional graph, or the Sequential
stack). Any other model (a ``tinydl.nn.Module`` or a subclassed Keras ``Model``) is run once on
a zero batch of ``input_shape`` while recording which module made each op; each direct child
module becomes a node, as do ops run outside any child (e.g. a ``tinydl.relu`` in ``forward``).
"""
import numpy as np

from ..core.autograd import enable_grad, no_grad
from ..core.tensor import Tensor
from ..module_trace import ModuleTrace
from ..core.graph_view import graph_parents, is_tensor, op_name
from .dot import Graph, dot_available


def _shape(s):
    if isinstance(s, list):
        return "[" + ", ".join(_shape(x) for x in s) + "]"
    return "(" + ", ".join("None" if d is None else str(d) for d in s) + ("," if len(s) == 1 else "") + ")"


def _label(layer_name, type_name, layer, in_shapes, out_shapes, dtype, opts):
    lines = [f"{layer_name}: {type_name}" if opts["show_layer_names"] else type_name]
    if opts["show_shapes"]:
        lines.append(f"input: {_shape(in_shapes) if in_shapes is not None else '?'}")
        lines.append(f"output: {_shape(out_shapes) if out_shapes is not None else '?'}")
    if opts["show_dtype"] and dtype is not None:
        lines.append(f"dtype: {np.dtype(dtype).name}")
    act = getattr(layer, "activation", None)
    if opts["show_layer_activations"] and isinstance(act, str):
        lines.append(f"activation: {act}")
    if opts["show_trainable"] and layer is not None and hasattr(layer, "trainable"):
        lines.append(f"trainable: {bool(layer.trainable)}")
    return "\n".join(lines)


def _one(shapes):
    return shapes[0] if len(shapes) == 1 else shapes


def _keras_functional(model, g, opts):
    graph = model._graph   # tinydl.keras.graph.FunctionalGraph
    for t in graph.flat_in:
        layer = t._input_layer
        g.node(layer.name, label=_label(layer.name, "InputLayer", layer, t.shape, t.shape, t.dtype, opts),
               shape="box")
    for node in graph.nodes:
        layer = node.layer
        ins = [i.shape for i in node.inputs]
        outs = [o.shape for o in node.outputs]
        g.node(layer.name, label=_label(layer.name, type(layer).__name__, layer, _one(ins), _one(outs),
                                        node.outputs[0].dtype if node.outputs else None, opts), shape="box")
        for i in node.inputs:
            src = i._input_layer.name if i._node is None else i._node.layer.name
            if (src, layer.name) not in {(a, b) for a, b, _ in g.edges}:
                g.edge(src, layer.name)


def _keras_sequential(model, g, opts):
    layers = model.layers
    if not layers:
        raise ValueError(f"plot_model: {model.name} has no layers")
    if model._input_spec is None or len(model._shapes) < len(layers):
        raise ValueError(f"plot_model: {model.name} is not built; call it on data or build(input_shape) first")
    shape, dtype = model._input_spec
    prev_name = f"{layers[0].name}_input"
    prev_shape = (None,) + tuple(shape)
    g.node(prev_name, label=_label(prev_name, "InputLayer", None, prev_shape, prev_shape, dtype, opts), shape="box")
    for layer, (out_shape, out_dtype) in zip(layers, model._shapes):
        g.node(layer.name, label=_label(layer.name, type(layer).__name__, layer, prev_shape, out_shape,
                                        out_dtype, opts), shape="box")
        g.edge(prev_name, layer.name)
        prev_name, prev_shape = layer.name, out_shape


def _traced(model, input_shape, g, opts):
    """Run the model once and draw its direct children (and loose ops) as nodes."""
    if input_shape is None:
        raise ValueError(f"plot_model: give input_shape= (without the batch axis) to draw {type(model).__name__} "
                         f"'{model.name}': its layer graph is found by running it once")
    shapes = input_shape if isinstance(input_shape, list) else [input_shape]
    xs = [Tensor(np.zeros((1,) + tuple(s), dtype=np.float32), requires_grad=True) for s in shapes]
    was_training = model.training
    model.eval()
    keras = hasattr(model, "compile")

    def run():
        return model(xs[0] if len(xs) == 1 else xs) if keras else model(*xs)

    try:
        if keras and not model.built:
            with no_grad():
                run()   # an unbuilt Keras model builds with a dry run of its own: keep it out of the trace
        with enable_grad(), ModuleTrace(model) as trace:
            out = run()
    finally:
        model.train(was_training)
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    children = {name for name, _ in model.named_children()}

    def group(fn):
        path = getattr(fn, "module_path", None) or ""
        top = path.split(".")[0]
        return top if top in children else None

    # walk the recorded graph: node key per group (a child module) or per loose op
    keys, stack, seen, op_numbers = {}, list(outs), set(), {}
    edges = []
    producer = {}   # id(tensor) -> node key

    def key_of(fn):
        grp = group(fn)
        if grp is not None:
            return f"m:{grp}"
        return op_numbers.setdefault(id(fn), f"op{len(op_numbers)}")  # stable ids: discovery order

    input_ids = {id(x): f"input_{i}" for i, x in enumerate(xs)}
    consumers = []  # (tensor, fn)
    loose_out = {}  # op key -> (output shape, dtype) of an op run outside any child module
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        parents = graph_parents(node)
        if is_tensor(node):
            if parents:
                producer[id(node)] = key_of(parents[0])
                loose_out[key_of(parents[0])] = ((None,) + tuple(node.shape[1:]), node.dtype)
        else:
            keys.setdefault(key_of(node), node)
            consumers.extend((t, node) for t in parents)
        stack.extend(parents)
    for t, fn in consumers:
        src = input_ids.get(id(t)) or producer.get(id(t))
        dst = key_of(fn)
        if src is not None and src != dst and (src, dst) not in edges:
            edges.append((src, dst))
    out_shape, out_dtype = {}, {}
    for i, x in enumerate(xs):
        out_shape[f"input_{i}"], out_dtype[f"input_{i}"] = (None,) + tuple(x.shape[1:]), x.dtype
    first_call = {}
    for call in trace.calls:
        first_call.setdefault(call.path, call)
    modules = dict(model.named_modules())
    for k, fn in keys.items():
        if k in loose_out:
            out_shape[k], out_dtype[k] = loose_out[k]
        if k.startswith("m:"):
            call = first_call[k[2:]]
            shapes = [(None,) + s[1:] for s, _, _ in call.outputs]
            out_shape[k] = _one(shapes) if shapes else None
            out_dtype[k] = call.outputs[0][1] if call.outputs else None
    for i in range(len(xs)):
        sh = out_shape[f"input_{i}"]
        g.node(f"input_{i}", label=_label(f"input_{i}", "Input", None, sh, sh, xs[i].dtype, opts), shape="box")
    order = sorted(keys, key=lambda k: first_call[k[2:]].order if k.startswith("m:") else 10 ** 9)
    for k in order:
        ins = [out_shape.get(src) for src, dst in edges if dst == k]
        ins = None if not ins or any(s is None for s in ins) else _one(ins)
        if k.startswith("m:"):
            path = k[2:]
            m = modules[path]
            title = path if path == m.name else f"{path} ({m.name})"
            g.node(k, label=_label(title, type(m).__name__, m, ins, out_shape[k], out_dtype[k], opts),
                   shape="box")
        else:
            label = op_name(keys[k]) + (f"\noutput: {_shape(out_shape[k])}" if opts["show_shapes"] and k in out_shape else "")
            g.node(k, label=label, shape="box", style="rounded")
    for src, dst in edges:
        g.edge(src, dst)


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False, show_layer_names=True,
               rankdir="TB", expand_nested=False, dpi=96, layer_range=None, show_layer_activations=False,
               show_trainable=False, input_shape=None):
    """Draw ``model``'s layers and how they connect; write the picture to ``to_file``.

    Keras's arguments; ``to_file`` may be ``.png``/``.svg``/``.pdf`` (needs Graphviz's ``dot``)
    or ``.dot`` (the DOT text, always available), or None to write nothing. ``input_shape``
    (tinydl's addition, without the batch axis) is needed for models that are not Keras
    Sequential/functional models. Returns the ``Graph`` (``.source`` is the DOT text), which
    Jupyter displays inline.
    """
    if expand_nested:
        raise NotImplementedError("plot_model: expand_nested=True is not implemented in tinydl "
                                  "(nested models are drawn as one node)")
    if layer_range is not None:
        raise NotImplementedError("plot_model: layer_range is not implemented in tinydl")
    if rankdir not in ("TB", "LR"):
        raise ValueError(f"plot_model: rankdir must be 'TB' or 'LR', got {rankdir!r}")
    opts = dict(show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                show_layer_activations=show_layer_activations, show_trainable=show_trainable)
    g = Graph(getattr(model, "name", "model"), rankdir=rankdir, dpi=dpi)
    if getattr(model, "_graph", None) is not None:
        _keras_functional(model, g, opts)
    elif hasattr(model, "_input_spec") and hasattr(model, "_shapes"):
        _keras_sequential(model, g, opts)
    else:
        _traced(model, input_shape, g, opts)
    if to_file is not None:
        ext = str(to_file).rsplit(".", 1)[-1].lower() if "." in str(to_file) else "png"
        if ext not in ("dot", "gv") and not dot_available():
            raise ImportError("plot_model: writing a picture needs Graphviz's `dot` program, which is not "
                              f"installed (apt-get install graphviz); {to_file!r} was not written. "
                              "to_file='model.dot' writes the DOT text without it")
        g.render(to_file)
    return g
