"""The graph walk behind ``Tensor.backward`` and ``tinydl.autograd.grad``: iterative, no recursion.

Functions run in a topological order (each before the Functions that made its inputs), the
gradients flowing into a Function are summed before it runs, and a leaf's gradient is final
once every Function that uses it has run: then its hooks run, it is accumulated into ``.grad``
and its post-accumulate hooks run (so a hook sees the whole gradient, as in PyTorch).
"""
from .. import backends
from .autograd import _FREED_MSG
from .hooks import op_observer  # the profiler/viz hook: see hooks.py


def _add(a, b):
    return b if a is None else a + b


def make_grads(outputs, grad_outputs, create_graph, what="backward"):
    """The seed gradient of each output: ones for a scalar, else the given one (same shape)."""
    from .tensor import Tensor
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"{what}: got {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    out = []
    for i, (t, g) in enumerate(zip(outputs, grad_outputs)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{what}: output {i} is a {type(t).__name__}, not a Tensor")
        if not t.requires_grad:
            raise RuntimeError(f"{what}: element {i} of tensors does not require grad and does not have "
                               f"a grad_fn (no graph was recorded for it: were its inputs created with "
                               f"requires_grad=True, and was grad mode on?)")
        if g is None:
            if t.data.size != 1:
                raise RuntimeError(
                    f"{what}: grad can be implicitly created only for scalar outputs, but output {i} has "
                    f"shape {t.shape}; pass a gradient of that shape (or reduce the output with .sum())")
            g = Tensor._wrap(t.xp.ones_like(t.data))
        else:
            if not isinstance(g, Tensor):
                g = Tensor._wrap(t.xp.asarray(g, dtype=t.dtype))
            if g.shape != t.shape:
                raise ValueError(f"{what}: the gradient for output {i} has shape {g.shape} but the output "
                                 f"has shape {t.shape}")
            if g.dtype != t.dtype and not create_graph:
                g = Tensor._wrap(g.data.astype(t.dtype))
        out.append(g if create_graph else g.data)
    return out


def run_backward(outputs, grad_outputs, retain_graph=False, create_graph=False, inputs=None,
                 accumulate=True):
    """Backpropagate ``grad_outputs`` from ``outputs``.

    accumulate=True: add each leaf's gradient into its ``.grad`` (only the ``inputs``' when
    given), as ``Tensor.backward``. accumulate=False: touch no ``.grad``; return the gradients
    of ``inputs`` (None where unused), as ``autograd.grad``. Gradients are arrays, or Tensors in
    a recorded graph when ``create_graph``.
    """
    pending, leaves, roots = {}, {}, []
    for t, g in zip(outputs, grad_outputs):
        fn = t._creator
        if fn is None:
            entry = leaves.setdefault(id(t), [t, None, 0])
            entry[1] = _add(entry[1], g)
            continue
        slots = pending.get(id(fn))
        if slots is None:
            slots = pending[id(fn)] = [None] * fn._n_out
            roots.append(fn)
        slots[t._output_nr] = _add(slots[t._output_nr], g)
    order = _topological_order(roots, leaves)
    obs = op_observer.get()  # hook: None unless a profiler is active

    leaf_targets, out_targets, captured, useful = {}, {}, None, None
    if inputs is not None:
        captured = [None] * len(inputs)
        for i, t in enumerate(inputs):  # an input given twice gets its gradient twice
            if t._creator is None:
                leaf_targets.setdefault(id(t), []).append(i)
            else:
                out_targets.setdefault((id(t._creator), t._output_nr), []).append(i)
        useful = _useful(order, leaf_targets, out_targets)

    def finish_leaf(entry):
        t, g = entry[0], entry[1]
        entry[2] = -1
        if g is None:
            return
        if t._hooks:
            g = _run_hooks(t._hooks, g)
        targets = leaf_targets.get(id(t))
        for i in targets or ():
            captured[i] = g
        if accumulate and (inputs is None or targets):
            t._accumulate(g, create_graph)
            if t._post_hooks:
                for hook in list(t._post_hooks.values()):
                    if hook(t) is not None:
                        raise RuntimeError("Tensor post accumulate grad hooks should return None.")

    for fn in order:
        grads = pending.pop(id(fn), None)
        if grads is None or (useful is not None and id(fn) not in useful):
            in_grads = None  # no gradient reaches this Function (or none is wanted from it)
            if grads is not None and out_targets:
                _output_grads(fn, grads, create_graph, accumulate, inputs, out_targets, captured)
        else:
            if out_targets or fn._out_hooks is not None:
                grads = _output_grads(fn, grads, create_graph, accumulate, inputs, out_targets, captured)
            in_grads = (fn._input_grads(grads, create_graph) if obs is None  # hook: see hooks.py
                        else obs.backward(fn, lambda: fn._input_grads(grads, create_graph)))
        for j, (t, need) in enumerate(zip(fn._inputs, fn.needs_grad)):
            if not need:
                continue
            gi = None if in_grads is None else in_grads[j]
            c = t._creator
            if c is None:
                entry = leaves[id(t)]
                if gi is not None:
                    entry[1] = gi if entry[1] is None else entry[1] + gi
                entry[2] -= 1
                if entry[2] == 0:
                    finish_leaf(entry)
            elif gi is not None:
                slots = pending.get(id(c))
                if slots is None:
                    slots = pending[id(c)] = [None] * c._n_out
                k = t._output_nr
                slots[k] = gi if slots[k] is None else slots[k] + gi
        if not retain_graph:
            fn.release()
    for entry in leaves.values():
        if entry[2] == 0:
            finish_leaf(entry)
    return captured


def _run_hooks(hooks, g):
    """Call each tensor hook with the gradient (as a Tensor); a returned Tensor replaces it."""
    from .tensor import Tensor
    was_array = not isinstance(g, Tensor)
    gt = Tensor._wrap(g) if was_array else g
    for hook in list(hooks.values()):
        r = hook(gt)
        if r is not None:
            r = r if isinstance(r, Tensor) else Tensor._wrap(backends.get_array_module(gt.data).asarray(r))
            if r.shape != gt.shape:
                raise RuntimeError(f"a hook returned a gradient of shape {r.shape}; expected {gt.shape}")
            gt = r
    return gt.data if was_array else gt


def _output_grads(fn, grads, create_graph, accumulate, inputs, out_targets, captured):
    """Non-leaf tensors' hooks, retain_grad() and autograd.grad targets, at their Function."""
    hooks, retained = fn._out_hooks or ({}, {})
    for k, g in enumerate(grads):
        if g is None:
            continue
        if hooks.get(k):
            g = grads[k] = _run_hooks(hooks[k], g)
        targets = out_targets.get((id(fn), k))
        if targets:
            for i in targets:
                captured[i] = g
            if accumulate:
                inputs[targets[0]]._accumulate(g, create_graph)
        elif accumulate and k in retained:
            t = retained[k]()
            if t is not None:
                t._accumulate(g, create_graph)
    return grads


def _topological_order(roots, leaves):
    """Functions ordered so each comes before the functions that made its inputs; counts in
    ``leaves`` how many uses of each leaf the walk will see. Explicit-stack DFS (reverse
    post-order): a chain of any length works."""
    post, seen = [], set()
    stack = [(fn, False) for fn in reversed(roots)]
    while stack:
        fn, expanded = stack.pop()
        if expanded:
            post.append(fn)
            continue
        if id(fn) in seen:
            continue
        if fn.freed:
            raise RuntimeError(_FREED_MSG)
        seen.add(id(fn))
        stack.append((fn, True))
        for t, need in zip(fn._inputs, fn.needs_grad):
            if not need:
                continue
            c = t._creator
            if c is None:
                entry = leaves.get(id(t))
                if entry is None:
                    leaves[id(t)] = [t, None, 1]
                else:
                    entry[2] += 1
            elif id(c) not in seen:
                stack.append((c, False))
    post.reverse()
    return post


def _useful(order, leaf_targets, out_targets):
    """ids of the Functions whose backward leads to a target (the rest need not run)."""
    useful = set()
    for fn in reversed(order):  # inputs' creators first
        for t, need in zip(fn._inputs, fn.needs_grad):
            if not need:
                continue
            c = t._creator
            if (id(t) in leaf_targets if c is None
                    else id(c) in useful or (id(c), t._output_nr) in out_targets):
                useful.add(id(fn))
                break
    return useful
