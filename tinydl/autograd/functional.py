"""Higher-level differentiation of functions (PyTorch's ``torch.autograd.functional``).

``vjp``, ``jvp``, ``jacobian``, ``hessian``, ``hvp``, ``vhp`` with PyTorch's signatures and
return conventions: a single Tensor in gives single Tensors out, a tuple gives tuples; results
are detached unless ``create_graph=True``. All are reverse mode: ``jvp`` and ``hvp`` use the
double-backward trick (the backward pass is linear in its seed, so differentiating it with
respect to the seed gives J v); ``vectorize=True`` and forward-mode strategies are not
implemented (NotImplementedError).

>>> import tinydl
>>> from tinydl.autograd.functional import hessian
>>> hessian(lambda x: (x ** 3).sum(), tinydl.Tensor([1.0, 2.0]))
Tensor([[ 6.,  0.],
        [ 0., 12.]], dtype=float32)
"""
from ..core import functional as F
from ..core.tensor import Tensor
from . import grad as _grad


def _as_tuple(x, what, fn_name):
    if isinstance(x, Tensor):
        return False, (x,)
    if isinstance(x, (tuple, list)) and all(isinstance(t, Tensor) for t in x):
        return True, tuple(x)
    raise TypeError(f"{fn_name}: the {what} must be a Tensor or a tuple of Tensors, got {type(x).__name__}")


def _prepare(inputs, create_graph):
    """Fresh tensors that require grad; with create_graph they stay connected to the originals."""
    out = []
    for t in inputs:
        if create_graph and t.requires_grad:
            out.append(F.clone(t))
        else:
            out.append(t.detach().requires_grad_(True))
    return tuple(out)


def _finish(values, create_graph):
    return tuple(None if v is None else (v if create_graph else v.detach()) for v in values)


def _zeros_for(grads, inputs, strict, fn_name, what="output"):
    out = []
    for i, (g, x) in enumerate(zip(grads, inputs)):
        if g is None:
            if strict:
                raise RuntimeError(f"{fn_name}: the {what} is independent of input {i} (strict=True)")
            g = Tensor._wrap(x.xp.zeros_like(x.data))
        out.append(g)
    return tuple(out)


def _check_v(v, like, fn_name, what):
    is_tuple, vs = _as_tuple(v, what, fn_name)
    if len(vs) != len(like):
        raise RuntimeError(f"{fn_name}: v has {len(vs)} tensors but the {what} has {len(like)}")
    for i, (a, b) in enumerate(zip(vs, like)):
        if a.shape != b.shape:
            raise RuntimeError(f"{fn_name}: v[{i}] has shape {a.shape}; expected {b.shape}")
    return vs


def _default_v(like, fn_name, what):
    if len(like) != 1 or like[0].numel() != 1:
        raise RuntimeError(f"{fn_name}: v can be omitted only when the {what} is a single-element tensor")
    return (Tensor._wrap(like[0].xp.ones_like(like[0].data)),)


def _outputs(func, xs, fn_name):
    out = func(*xs)
    is_tuple, outs = _as_tuple(out, "function's output", fn_name)
    return is_tuple, outs


def _grads(outs, xs, grad_outputs, create_graph, retain_graph=True):
    """grad() that tolerates outputs that do not depend on the inputs (they contribute zero)."""
    pairs = [(o, g) for o, g in zip(outs, grad_outputs) if o.requires_grad]
    if not pairs:
        return (None,) * len(xs)
    return _grad([o for o, _ in pairs], xs, [g for _, g in pairs], retain_graph=retain_graph,
                 create_graph=create_graph, allow_unused=True)


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J): the vector-Jacobian product."""
    in_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
    xs = _prepare(inputs, create_graph)
    out_tuple, outs = _outputs(func, xs, "vjp")
    vs = _default_v(outs, "vjp", "output") if v is None else _check_v(v, outs, "vjp", "output")
    grads = _zeros_for(_grads(outs, xs, vs, create_graph), xs, strict, "vjp")
    outs, grads = _finish(outs, create_graph), _finish(grads, create_graph)
    return (outs if out_tuple else outs[0]), (grads if in_tuple else grads[0])


def _jvp_of(outs, xs, vs, create_graph):
    """J v by differentiating the (linear in u) vector-Jacobian product u^T J with respect to u."""
    us = tuple(Tensor._wrap(o.xp.zeros_like(o.data)).requires_grad_(True) for o in outs)
    gs = _grads(outs, xs, us, create_graph=True)
    pairs = [(g, v) for g, v in zip(gs, vs) if g is not None and g.requires_grad]
    if not pairs:
        return (None,) * len(outs)
    return _grad([g for g, _ in pairs], us, [v for _, v in pairs], create_graph=create_graph,
                 retain_graph=True, allow_unused=True)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v): the Jacobian-vector product (double-backward trick)."""
    in_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
    vs = _default_v(inputs, "jvp", "input") if v is None else _check_v(v, inputs, "jvp", "inputs")
    xs = _prepare(inputs, create_graph)
    out_tuple, outs = _outputs(func, xs, "jvp")
    jv = _zeros_for(_jvp_of(outs, xs, vs, create_graph), outs, strict, "jvp", "output's gradient")
    outs, jv = _finish(outs, create_graph), _finish(jv, create_graph)
    return (outs if out_tuple else outs[0]), (jv if out_tuple else jv[0])


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """d func(inputs) / d inputs: shape output.shape + input.shape, nested as PyTorch nests it
    (a tuple per output of a tuple per input when both are tuples)."""
    if vectorize:
        raise NotImplementedError("jacobian: vectorize=True is not implemented in tinydl")
    if strategy != "reverse-mode":
        raise NotImplementedError(f"jacobian: strategy={strategy!r} is not implemented; use 'reverse-mode'")
    in_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
    xs = _prepare(inputs, create_graph)
    out_tuple, outs = _outputs(func, xs, "jacobian")
    rows = []
    for o in outs:
        per_input = [[] for _ in xs]
        for k in range(o.numel()):
            seed = o.xp.zeros(o.numel(), dtype=o.dtype)
            seed[k] = 1
            seeds = [Tensor._wrap(seed.reshape(o.shape)) if q is o else Tensor._wrap(q.xp.zeros_like(q.data))
                     for q in outs]
            gs = _zeros_for(_grads(outs, xs, seeds, create_graph), xs, strict, "jacobian")
            for j, g in enumerate(gs):
                per_input[j].append(g)
        row = []
        for j, x in enumerate(xs):
            if per_input[j]:
                jac = F.stack(per_input[j], axis=0).reshape(o.shape + x.shape)
            else:
                jac = Tensor._wrap(x.xp.zeros(o.shape + x.shape, dtype=x.dtype))
            row.append(jac if create_graph else jac.detach())
        rows.append(tuple(row))
    if not out_tuple:
        return rows[0] if in_tuple else rows[0][0]
    return tuple(r if in_tuple else r[0] for r in rows)


def _scalar_output(func, fn_name):
    def wrapped(*xs):
        out = func(*xs)
        if not isinstance(out, Tensor) or out.numel() != 1:
            raise RuntimeError(f"{fn_name}: the function must return a single-element Tensor, got "
                               f"{type(out).__name__}{'' if not isinstance(out, Tensor) else ' of shape ' + str(out.shape)}")
        return out
    return wrapped


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The matrix of second derivatives of a scalar function: shape input.shape + input.shape,
    a tuple of tuples for several inputs."""
    if vectorize:
        raise NotImplementedError("hessian: vectorize=True is not implemented in tinydl")
    in_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    f = _scalar_output(func, "hessian")

    def gradient(*xs):
        out = f(*xs)
        gs = _grads([out], xs, [None], create_graph=True)
        return _zeros_for(gs, xs, strict, "hessian")

    jac = jacobian(gradient, inputs, create_graph=create_graph, strict=strict,
                   strategy=outer_jacobian_strategy)
    return jac if in_tuple else jac[0][0]


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T H) for a scalar function."""
    in_tuple, inputs = _as_tuple(inputs, "inputs", "vhp")
    vs = _default_v(inputs, "vhp", "input") if v is None else _check_v(v, inputs, "vhp", "inputs")
    xs = _prepare(inputs, create_graph)
    out = _scalar_output(func, "vhp")(*xs)
    gs = _grads([out], xs, [None], create_graph=True)
    pairs = [(g, w) for g, w in zip(gs, vs) if g is not None and g.requires_grad]
    res = (None,) * len(xs) if not pairs else _grad(
        [g for g, _ in pairs], xs, [w for _, w in pairs], create_graph=create_graph, allow_unused=True)
    res = _finish(_zeros_for(res, xs, strict, "vhp"), create_graph)
    out = out if create_graph else out.detach()
    return out, (res if in_tuple else res[0])


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v) for a scalar function (the double-backward trick on the gradient)."""
    in_tuple, inputs = _as_tuple(inputs, "inputs", "hvp")
    vs = _default_v(inputs, "hvp", "input") if v is None else _check_v(v, inputs, "hvp", "inputs")
    xs = _prepare(inputs, create_graph)
    out = _scalar_output(func, "hvp")(*xs)
    gs = _zeros_for(_grads([out], xs, [None], create_graph=True), xs, strict, "hvp")
    res = _zeros_for(_jvp_of(gs, xs, vs, create_graph), xs, strict, "hvp", "gradient")
    res = _finish(res, create_graph)
    out = out if create_graph else out.detach()
    return out, (res if in_tuple else res[0])
