"""``model.summary()``: the layers (name and type, output shape, parameter count) and the totals,
laid out as Keras prints them."""


def shape_str(shape):
    """Keras's way of writing a shape: ``(None, 784)``, ``(None,)``, ``[(None, 2), (None, 3)]``."""
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return "[" + ", ".join(shape_str(s) for s in shape) + "]"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


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


def _count(layer):
    """(all weights, trainable weights, bytes of all, bytes of trainable); buffers count as non-trainable."""
    n_all = n_tr = b_all = b_tr = 0
    for p in layer.parameters():
        n_all += p.numel()
        b_all += p.data.nbytes
        if p.requires_grad:
            n_tr += p.numel()
            b_tr += p.data.nbytes
    for m in layer.modules():
        for b in m._buffers:
            arr = getattr(m, b)
            n_all += arr.size
            b_all += arr.nbytes
    return n_all, n_tr, b_all, b_tr


def summary_lines(model, line_length=None, positions=None):
    """The lines of ``model.summary()``."""
    graph = model._graph
    width = line_length or 74
    cols = [int(width * 0.45), int(width * 0.78), width] if positions is None else \
        [int(p * width) if p <= 1 else int(p) for p in positions]
    connections = graph is not None and any(len(n.inputs) > 1 for n in graph.nodes)
    headers = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if connections else [])
    if connections:
        cols = [int(width * 0.32), int(width * 0.56), int(width * 0.68), width + 20]
        width = cols[-1]
    lines = [f'Model: "{model.name}"', "_" * width, _row(headers, cols), "=" * width]
    total = trainable = nbytes_total = nbytes_trainable = 0
    layers = model.layers
    for i, layer in enumerate(layers):
        n_all, n_tr, b_all, b_tr = _count(layer)
        total += n_all
        trainable += n_tr
        nbytes_total += b_all
        nbytes_trainable += b_tr
        cells = [f"{layer.name} ({type(layer).__name__})", shape_str(model._layer_output_shape(layer)), f"{n_all:,}"]
        if connections:
            node = graph.node_of(layer)
            cells.append(", ".join(graph.producer_name(t) for t in node.inputs) if node else "-")
        lines.append(_row(cells, cols))
        if i < len(layers) - 1:
            lines.append("")
    lines.append("=" * width)
    lines.append(f"Total params: {total:,} ({_human_bytes(nbytes_total)})")
    lines.append(f"Trainable params: {trainable:,} ({_human_bytes(nbytes_trainable)})")
    lines.append(f"Non-trainable params: {total - trainable:,} ({_human_bytes(nbytes_total - nbytes_trainable)})")
    lines.append("_" * width)
    return lines
