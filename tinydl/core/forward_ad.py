"""Forward-mode automatic differentiation (dual numbers), PyTorch's ``torch.autograd.forward_ad``.

A dual tensor carries a tangent next to its value; every core op then computes its output's
tangent (the Jacobian-vector product) as it computes its value, in one forward pass:

>>> import tinydl
>>> import tinydl.autograd.forward_ad as fwAD
>>> with fwAD.dual_level():
...     x = fwAD.make_dual(tinydl.Tensor([1.0, 2.0]), tinydl.Tensor([1.0, 0.0]))
...     y = (x * x).exp().sum()
...     fwAD.unpack_dual(y).tangent   # d/dt sum(exp((x + t v)^2)) = 2 x1 exp(x1^2)
Tensor(5.436564, dtype=float32)

The tangent rules, by kind of op (``Function`` class attributes):

- ``elementwise``: the Jacobian is diagonal per input, so J t = sum_i backward(t_i)[i] (the
  backward rule itself, on arrays);
- ``linear``: the op applied to the tangents (reshape, transpose, slicing, sums, ...);
- otherwise the op's own ``jvp(self, *tangents)`` (matmul, the softmax family, reductions).

Ops with none of these (the fused nn kernels) raise NotImplementedError naming the op. Tangents
are arrays (one level: no forward-over-forward); a tangent that is not given is zero.
"""
import contextlib
from collections import namedtuple

from .. import backends

UnpackedDualTensor = namedtuple("UnpackedDualTensor", ["primal", "tangent"])


class _Levels:
    active = 0  # how many dual_level() blocks are open (any thread): only gates the check in apply


_levels = _Levels()


@contextlib.contextmanager
def dual_level():
    """The scope of dual tensors: tangents are dropped when it ends (tensors made inside keep
    their values)."""
    _levels.active += 1
    made = []
    _made_stack.append(made)
    try:
        yield
    finally:
        _levels.active -= 1
        _made_stack.pop()
        for ref in made:
            t = ref()
            if t is not None:
                t._tangent = None


_made_stack = []


def _remember(t):
    import weakref
    if _made_stack:
        _made_stack[-1].append(weakref.ref(t))


def make_dual(tensor, tangent, level=None):
    """A tensor with ``tensor``'s value (the same memory) and ``tangent`` as its tangent."""
    from .tensor import Tensor
    if not _levels.active:
        raise RuntimeError("make_dual: use it inside `with forward_ad.dual_level():`")
    tangent = tangent.data if isinstance(tangent, Tensor) else backends.get_array_module(tensor.data).asarray(tangent)
    if tangent.shape != tensor.shape:
        raise ValueError(f"make_dual: the tangent has shape {tangent.shape} but the tensor has shape {tensor.shape}")
    if tensor.dtype.kind != "f":
        raise TypeError(f"make_dual: only floating-point tensors have tangents, got dtype {tensor.dtype}")
    dual = tensor.detach() if not tensor.requires_grad else tensor * 1
    dual._tangent = tangent.astype(tensor.dtype, copy=False)
    _remember(dual)
    return dual


def unpack_dual(tensor, level=None):
    """(primal, tangent): the value (a view without the tangent) and the tangent (or None)."""
    from .tensor import Tensor
    t = tensor._tangent
    return UnpackedDualTensor(tensor.detach() if not tensor.requires_grad else tensor,
                              None if t is None else Tensor._wrap(t))


def output_tangent(fn, cls, params, tensors, arrays, out, result_tensor):
    """The tangent of ``out`` from the inputs' tangents (called by Function.apply)."""
    xp = backends.get_array_module(out)
    tangents = [t._tangent for t in tensors]
    if cls.elementwise:
        fn._record(tensors, out, result_tensor)
        total = None
        for i, t in enumerate(tangents):
            if t is None:
                continue
            fn.needs_grad = tuple(j == i for j in range(len(tensors)))
            part = fn.backward(xp.broadcast_to(t, out.shape))
            part = part[i] if isinstance(part, tuple) else part
            total = part if total is None else total + part
        result = total
    elif cls.linear:
        zeros = [xp.zeros_like(a) if t is None else t for a, t in zip(arrays, tangents)]
        result = cls(**params).forward(*zeros)
    elif hasattr(fn, "jvp"):
        fn._record(tensors, out, result_tensor)
        result = fn.jvp(*tangents)
    else:
        raise NotImplementedError(f"forward-mode AD: {cls.__name__} has no tangent rule "
                                  f"(fused nn ops and the recurrent scans have none yet)")
    if result is None:
        return None
    result = xp.asarray(result)
    if result.shape != out.shape:
        result = xp.broadcast_to(result, out.shape)
    return result.astype(out.dtype, copy=False)
