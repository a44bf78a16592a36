"""draw_graph: any tensor's autograd graph as a picture (DOT text; SVG/PNG through Graphviz).

Tensors are ellipses (leaves that require a gradient in blue, constants in grey, the output in
green), ops are boxes; a collapsed module is one double-bordered box. The walk uses an explicit
stack, so a graph of any depth can be drawn.
"""
from ..backends import to_host
from ..core.graph_view import graph_parents, is_tensor, op_name
from .dot import Graph

def _stats(array):
    a = to_host(array)
    if a.size == 0:
        return "empty"
    if a.dtype.kind not in "fc":
        a = a.astype("float64")
    if a.size == 1:
        return f"{float(a.reshape(-1)[0]):.4g}"
    return f"min {float(a.min()):.3g}  max {float(a.max()):.3g}  mean {float(a.mean()):.3g}"


def _shape_text(t):
    return f"{tuple(t.data.shape)} {t.data.dtype}"


def _parameter_names(module, params):
    names = {}
    if module is not None:
        for name, p in module.named_parameters():
            names[id(p)] = name
    for name, t in (params or {}).items():
        names[id(t)] = name
    return names


def _collapse_targets(module, collapse):
    """Dotted module paths whose ops become one node each."""
    if not collapse:
        return []
    if module is None:
        raise ValueError("draw_graph: collapse= needs module= (the model whose submodules to collapse)")
    if collapse is True:
        return [name for name, _ in module.named_children()]
    paths = {id(m): p for p, m in module.named_modules()}
    out = []
    for c in collapse:
        if isinstance(c, str):
            if c not in dict(module.named_modules()):
                raise ValueError(f"draw_graph: collapse names {c!r}, which is not a submodule path of "
                                 f"{module.name}; paths: {[p for p, _ in module.named_modules() if p]}")
            out.append(c)
        elif id(c) in paths:
            out.append(paths[id(c)])
        else:
            raise ValueError(f"draw_graph: collapse= got {c!r}, which is not a submodule of {module.name}")
    return out


def _group_of(fn, targets):
    path = getattr(fn, "module_path", None)
    if path is None:
        return None
    for t in targets:
        if path == t or path.startswith(t + "."):
            return t
    return None


def draw_graph(tensor, params=None, module=None, show_values=False, show_grads=False, collapse=None,
               rankdir="TB", name="autograd"):
    """Draw the autograd graph that produced ``tensor`` (or a list of tensors).

    ``params``: a dict name -> tensor naming leaves; ``module``: name the module's parameters by
    their ``named_parameters()`` names. ``show_values`` / ``show_grads``: add min/max/mean of each
    tensor's value / ``.grad`` (present on leaves after backward). ``collapse``: True for every
    direct child of ``module``, or a list of submodules (or dotted paths): the ops each one ran
    become a single node. Collapsing needs the forward pass to have run inside
    ``tinydl.viz.record_modules(module)``, which tags each op with the module that made it.
    Returns a ``Graph``: ``.source`` is the DOT text, ``.render("g.svg")`` needs Graphviz.
    """
    roots = list(tensor) if isinstance(tensor, (list, tuple)) else [tensor]
    names = _parameter_names(module, params)
    targets = _collapse_targets(module, collapse)
    ids, tensors, fns = {}, [], []
    produced_by = {}               # id(tensor) -> id(fn)
    consumers = {}                 # id(tensor) -> [id(fn), ...]
    stack = list(reversed(roots))
    while stack:                   # explicit stack: no recursion, any depth
        node = stack.pop()
        if id(node) in ids:
            continue
        try:
            parents = graph_parents(node)
        except RuntimeError as e:
            raise RuntimeError(f"draw_graph: {e}") from None
        tensor = is_tensor(node)
        ids[id(node)] = f"{'t' if tensor else 'f'}{len(ids)}"
        (tensors if tensor else fns).append(node)
        for p in parents:
            if tensor:
                produced_by[id(node)] = id(p)
            else:
                consumers.setdefault(id(p), []).append(id(node))
        stack.extend(p for p in reversed(parents) if id(p) not in ids)
    if targets:
        tagged = [f for f in fns if getattr(f, "module_path", None) is not None]
        if fns and not tagged:
            raise ValueError("draw_graph: collapse= needs to know which module made each op: run the "
                             "forward pass inside `with tinydl.viz.record_modules(model):` first")

    group = {id(f): _group_of(f, targets) for f in fns}   # id(fn) -> collapsed path or None
    target_params = {}
    for t in targets:
        sub = dict(module.named_modules())[t]
        for p in sub.parameters():
            target_params[id(p)] = t
    g = Graph(name, rankdir=rankdir)
    root_ids = {id(r) for r in roots}

    def op_node(fid):
        grp = group.get(fid)
        return f"m:{grp}" if grp is not None else ids[fid]

    hidden = set()
    for t in tensors:
        key = id(t)
        home = group.get(produced_by[key]) if key in produced_by else target_params.get(key)
        users = {group.get(c) for c in consumers.get(key, [])}
        if home is not None and key not in root_ids and users <= {home}:
            hidden.add(key)   # made (or owned) and used only inside one collapsed module

    for grp in targets:
        if any(group.get(id(f)) == grp for f in fns):
            sub = dict(module.named_modules())[grp]
            n_params = sum(p.numel() for p in sub.parameters())
            title = grp if grp == sub.name else f"{grp} ({sub.name})"
            g.node(f"m:{grp}", label=f"{title}: {type(sub).__name__}\n({n_params:,} parameters)",
                   shape="box", style="filled,bold", fillcolor="moccasin", peripheries="2")
    for f in fns:
        if group[id(f)] is None:
            path = getattr(f, "module_path", None)
            label = op_name(f) + (f"\n[{path}]" if path else "")
            g.node(ids[id(f)], label=label, shape="box", style="filled", fillcolor="lightyellow")
    for t in tensors:
        key = id(t)
        if key in hidden:
            continue
        lines = []
        name_ = names.get(key) or getattr(t, "name", None)
        if name_:
            lines.append(str(name_))
        lines.append(_shape_text(t))
        if show_values:
            lines.append("value: " + _stats(t.data))
        if show_grads and getattr(t, "grad", None) is not None:
            grad = t.grad.data if hasattr(t.grad, "data") else t.grad
            lines.append("grad: " + _stats(grad))
        if key in root_ids:
            color = "palegreen"
        elif key in produced_by:
            color = "white"
        elif t.requires_grad:
            color = "lightblue"
        else:
            color = "lightgrey"
        g.node(ids[key], label="\n".join(lines), shape="ellipse", style="filled", fillcolor=color)

    seen_edges = set()

    def add_edge(a, b):
        if a != b and (a, b) not in seen_edges:
            seen_edges.add((a, b))
            g.edge(a, b)

    for t in tensors:
        key = id(t)
        src = op_node(produced_by[key]) if key in produced_by else None
        dsts = [op_node(c) for c in consumers.get(key, [])]
        if key in hidden:
            continue
        if src is not None:
            add_edge(src, ids[key])
        for d in dsts:
            add_edge(ids[key], d)
    return g
