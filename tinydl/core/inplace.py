"""In-place ops (``add_``, ``mul_``, ``copy_``, ``__setitem__``, ``+=`` ...) and their rules.

Every in-place op bumps the tensor's version counter; a backward that needs a value saved
before the change raises, naming the op and the tensor. With grad mode on:

- on a leaf that requires grad it raises (wrap updates in ``with tinydl.no_grad():``, which
  then really changes the tensor: ``p -= lr * p.grad`` updates ``p``);
- on other tensors it is differentiable: the new value is computed by the out-of-place op from a
  copy of the old value (which keeps the old history), written into the tensor's memory, and the
  tensor's ``grad_fn`` becomes that op's;
- on a view of a tensor that requires grad (``x[0].add_(1)``) it raises NotImplementedError:
  tinydl does not rewrite the base's history (PyTorch's CopySlices); ``clone()`` first.

Without anything to record, the arithmetic ones run as NumPy in-place ufuncs (no copy).

>>> import tinydl
>>> p = tinydl.Tensor([1.0, 2.0], requires_grad=True)
>>> (p * p).sum().backward()
>>> with tinydl.no_grad():
...     p -= 0.25 * p.grad
>>> p
Tensor([0.5, 1. ], dtype=float32, requires_grad=True)
>>> p.add_(1.0)
Traceback (most recent call last):
...
RuntimeError: add_: a leaf tensor that requires grad (shape (2,)) is being used in an in-place operation; do the update inside `with tinydl.no_grad():`
"""
import numpy as np

from .. import backends
from . import functional as F
from .grad_mode import _grad_enabled, no_grad


def _tensor_cls():
    from .tensor import Tensor
    return Tensor


def _needs_graph(t, others):
    Tensor = _tensor_cls()
    return _grad_enabled.get() and (t.requires_grad or any(
        isinstance(o, Tensor) and o.requires_grad for o in others))


def _has_tangent(t, others):
    """Forward mode: a dual tensor among them (then the tangent must be updated too)."""
    return t._tangent is not None or any(getattr(o, "_tangent", None) is not None for o in others)


def _check_allowed(t, name):
    if t.requires_grad and t._creator is None:
        raise RuntimeError(
            f"{name}: a leaf tensor that requires grad (shape {t.shape}{', ' + repr(t.name) if t.name else ''}) "
            f"is being used in an in-place operation; do the update inside `with tinydl.no_grad():`")
    if t._base is not None and (t._base.requires_grad or t.requires_grad):
        raise NotImplementedError(
            f"{name}: in-place change of a view (shape {t.shape}) of a tensor that requires grad is not "
            f"supported by tinydl's autograd; apply it to the base tensor or to a clone()")


def _check_result(t, new, name, casting):
    if new.shape != t.shape:
        raise RuntimeError(f"{name}: the result has shape {new.shape}, which doesn't match the shape "
                           f"{t.shape} of the tensor being modified in place")
    if new.dtype != t.dtype and not np.can_cast(new.dtype, t.dtype, casting):
        raise TypeError(f"{name}: result type {new.dtype} can't be cast to the tensor's dtype {t.dtype} "
                        f"in place")


def _writable(t):
    """Ops on 0-d arrays may return NumPy scalars, which cannot change in place: make an array."""
    if isinstance(t.data, np.generic):
        t.data = np.array(t.data)


def _apply(t, name, compute, others=(), casting="same_kind"):
    """Set t to compute(old t) in place: recorded when there is a graph to record."""
    Tensor = _tensor_cls()
    _writable(t)
    if _needs_graph(t, others):
        _check_allowed(t, name)
        old = Tensor._wrap(t.data.copy(), requires_grad=t.requires_grad)
        old._creator, old._output_nr, old._tangent = t._creator, t._output_nr, t._tangent
        new = compute(old)
        _check_result(t, new, name, casting)
        if new.dtype != t.dtype:
            new = new.astype(t.dtype)
        t.data[...] = new.data
        t._creator, t._output_nr, t.requires_grad = new._creator, new._output_nr, new.requires_grad
    else:
        with no_grad():
            new = compute(t)
        _check_result(t, new, name, casting)
        t.data[...] = new.data
    if new._tangent is not None or t._tangent is not None:
        t._tangent = new._tangent
    t._vc[0] += 1
    return t


def _ufunc_(t, name, ufunc, other):
    """t = ufunc(t, other) in place, nothing recorded (a NumPy in-place ufunc: no copy)."""
    Tensor = _tensor_cls()
    _writable(t)
    o = other.data if isinstance(other, Tensor) else other
    xp = backends.get_array_module(t.data)
    try:
        ufunc(xp)(t.data, o, out=t.data, casting="same_kind")
    except TypeError:
        raise TypeError(f"{name}: result type {xp.result_type(t.data, o)} can't be cast to the tensor's "
                        f"dtype {t.dtype} in place") from None
    except ValueError:
        raise RuntimeError(f"{name}: the other operand's shape {getattr(o, 'shape', ())} doesn't broadcast "
                           f"to the shape {t.shape} of the tensor being modified in place") from None
    t._vc[0] += 1
    return t


def _arith(name, ufunc, op):
    def inplace_op(t, other):
        if not _needs_graph(t, (other,)) and not _has_tangent(t, (other,)):
            return _ufunc_(t, name, ufunc, other)
        return _apply(t, name, lambda a: op(a, other), (other,))
    inplace_op.__name__ = name
    return inplace_op


mul_ = _arith("mul_", lambda xp: xp.multiply, lambda a, b: a * b)
div_ = _arith("div_", lambda xp: xp.true_divide, lambda a, b: a / b)
pow_ = _arith("pow_", lambda xp: xp.power, lambda a, b: a ** b)
_add = _arith("add_", lambda xp: xp.add, lambda a, b: a + b)
_sub = _arith("sub_", lambda xp: xp.subtract, lambda a, b: a - b)


def add_(t, other, alpha=1):
    return _add(t, other if alpha == 1 else other * alpha)


def sub_(t, other, alpha=1):
    return _sub(t, other if alpha == 1 else other * alpha)


def clamp_(t, lo=None, hi=None):
    if lo is None and hi is None:
        raise ValueError("clamp_: at least one of min and max must be given")
    return _apply(t, "clamp_", lambda a: F.clip(a, lo, hi))


def fill_(t, value):
    return _apply(t, "fill_" if not (isinstance(value, (int, float)) and value == 0) else "zero_",
                  lambda a: F.where(True, value, a), (value,), casting="unsafe")


def masked_fill_(t, mask, value):
    Tensor = _tensor_cls()
    m = mask.data if isinstance(mask, Tensor) else mask
    if getattr(m, "dtype", None) != np.bool_:
        raise TypeError(f"masked_fill_: the mask must be a boolean tensor, got dtype {getattr(m, 'dtype', type(m))}")
    return _apply(t, "masked_fill_", lambda a: F.where(m, value, a), (value,), casting="unsafe")


def normal_(t, mean=0.0, std=1.0):
    from .random import get_rng
    values = get_rng().standard_normal(t.shape) * std + mean
    return _random_fill(t, "normal_", values)


def uniform_(t, a=0.0, b=1.0):
    from .random import get_rng
    return _random_fill(t, "uniform_", get_rng().uniform(a, b, t.shape))


def _random_fill(t, name, values):
    Tensor = _tensor_cls()
    values = Tensor._wrap(t.xp.asarray(values, dtype=t.dtype))
    return _apply(t, name, lambda a: F.where(True, values, a))


def copy_(t, src):
    Tensor = _tensor_cls()
    if isinstance(src, Tensor):
        if src.device != t.device:
            src = src.to(t.device)
    else:
        if backends.is_gpu_array(src) and not backends.is_gpu_array(t.data):
            src = src.get()
        src = Tensor._wrap(t.xp.asarray(src))
    _writable(t)
    if not _needs_graph(t, (src,)) and not _has_tangent(t, (src,)):  # a plain copy (any dtype)
        try:
            ok = t.xp.broadcast_shapes(src.shape, t.shape) == t.shape
        except ValueError:
            ok = False
        if not ok:
            raise RuntimeError(f"copy_: the source's shape {src.shape} doesn't broadcast to the shape "
                               f"{t.shape} of the tensor being copied into")
        t.data[...] = src.data
        t._vc[0] += 1
        return t
    return _apply(t, "copy_", lambda a: F.where(True, src, a), (src,), casting="unsafe")


def setitem_(t, index, value):
    from .functional import _plain_index
    from .ops.shape import SetItem
    index = _plain_index(index)
    Tensor = _tensor_cls()
    _writable(t)
    if not _needs_graph(t, (value,)) and not _has_tangent(t, (value,)):
        v = value.data if isinstance(value, Tensor) else value
        if backends.is_gpu_array(v) and not backends.is_gpu_array(t.data):
            v = v.get()
        t.data[index] = v
        t._vc[0] += 1
        return t
    return _apply(t, "__setitem__", lambda a: SetItem.apply(a, value, index=index), (value,),
                  casting="unsafe")
