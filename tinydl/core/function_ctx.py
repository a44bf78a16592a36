"""PyTorch-style ``autograd.Function`` (``forward(ctx, ...)``/``backward(ctx, ...)`` static
methods): how ``apply`` builds the node and how the engine calls its backward. The node and the
graph are the same as every built-in op's (``autograd.Function``)."""
from .. import backends
from .autograd import _anomaly_enabled, _grad_enabled, _check_finite, _user_frame, no_grad, set_grad_enabled


def apply_ctx(cls, args, kwargs):
    from .tensor import Tensor
    ctx = cls.__new__(cls)
    ctx._materialize = True
    ctx.needs_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
    tensors = [a for a in args if isinstance(a, Tensor)]
    if _anomaly_enabled.get():
        ctx.created_at = _user_frame()
    with no_grad():
        out = cls.forward(ctx, *args, **kwargs)
    single = not isinstance(out, tuple)
    outs = (out,) if single else out
    if _anomaly_enabled.get():
        _check_finite([o for o in outs if isinstance(o, Tensor)], "forward output", ctx)
    track = cls.differentiable and _grad_enabled.get() and any(ctx.needs_grad)
    non_diff = ctx.__dict__.pop("_non_differentiable", ())
    results = []
    for o in outs:
        if isinstance(o, Tensor) and (o._creator is not None or any(o is t for t in tensors)):
            alias = Tensor._wrap(o.data)  # an input returned as is: a new tensor on the same data
            alias._vc = o._vc
            o = alias
        results.append(o)
    if track:
        ctx._inputs = tensors
        ctx._arg_is_tensor = [isinstance(a, Tensor) for a in args]
        ctx._n_out = len(outs)
        ctx._out_meta = [(o.shape, o.dtype, o.xp) if isinstance(o, Tensor) else None for o in results]
        ctx.needs_grad = tuple(t.requires_grad for t in tensors)  # per tensor input (the engine's view)
        ctx._needs_input_grad_args = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        ctx._pack_saved(tensors, outs, results)
        for k, o in enumerate(results):
            if isinstance(o, Tensor) and o.dtype.kind == "f" and not any(o is n for n in non_diff) \
                    and not any(outs[k] is n for n in non_diff):
                o.requires_grad, o._creator, o._output_nr = True, ctx, k
    else:
        ctx.__dict__.pop("_to_save", None)
    return results[0] if single else tuple(results)


def backward_ctx(ctx, grads, create_graph):
    """Call the user's backward with Tensors; return one gradient per tensor input."""
    from .tensor import Tensor
    cls = type(ctx)
    full = []
    for g, meta in zip(grads, ctx._out_meta):
        if g is None and meta is not None and ctx._materialize:
            shape, dtype, xp = meta
            g = xp.zeros(shape, dtype=dtype)
        if g is not None and not isinstance(g, Tensor):
            g = Tensor._wrap(g)
        full.append(g)
    ctx._graph_mode = create_graph
    needs_tensor_inputs = ctx.needs_grad
    ctx.needs_grad = ctx._needs_input_grad_args  # what the user's backward sees
    try:
        with set_grad_enabled(create_graph):
            res = cls.backward(ctx, *full)
    finally:
        ctx.needs_grad = needs_tensor_inputs
    if not isinstance(res, tuple):
        res = (res,)
    n_args = len(ctx._arg_is_tensor)
    if len(res) != n_args:
        if len(res) > n_args and all(r is None for r in res[n_args:]):
            res = res[:n_args]
        else:
            raise RuntimeError(f"function {ctx.name()} returned an incorrect number of gradients "
                               f"(expected {n_args}, got {len(res)})")
    out = []
    for r, is_tensor in zip(res, ctx._arg_is_tensor):
        if not is_tensor:
            continue
        if r is not None and not isinstance(r, Tensor):
            r = Tensor._wrap(backends.get_array_module(ctx._inputs[0].data).asarray(r))
        out.append(r if (r is None or create_graph) else r.data)
    return tuple(out)


__all__ = ["apply_ctx", "backward_ctx"]
