"""Read-only access to the autograd graph, for the tools that look at it (tinydl.viz,
tinydl.profiler, tinydl.summary, the tour's exercises).

This is the one place that knows how the core stores the graph: a tensor's ``_creator`` (the
Function that made it, None for a leaf) and a Function's input tensors. When the core's
representation changes, only this file changes.
"""

_FREED = ("this graph was freed by backward(); look at it before calling backward(), or call "
          "backward(retain_graph=True) to keep it")


def op_name(fn):
    """The op's name: its Function class's name (``"MatMul"``)."""
    return type(fn).__name__


def is_tensor(node):
    return hasattr(node, "requires_grad") and hasattr(node, "_creator")


def creator(tensor):
    """The Function that made ``tensor``, or None for a leaf."""
    return tensor._creator


def inputs(fn):
    """The tensors ``fn`` was applied to, in order; raises if backward has freed the graph."""
    stored = fn.__dict__.get("inputs", fn.__dict__.get("_inputs"))
    if getattr(fn, "freed", False) or stored is None:
        raise RuntimeError(_FREED)
    return list(stored)


def graph_parents(node):
    """One step towards the leaves: a tensor's ``[creator]`` (empty for a leaf), a Function's inputs."""
    if is_tensor(node):
        fn = creator(node)
        return [] if fn is None else [fn]
    return inputs(node)
