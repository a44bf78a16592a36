"""PyTorch's element-wise math, comparisons and matrix products at the top level."""
import math

import numpy as np

from .. import functional as F
from ..ops import gather as G, pointwise as P
from ..tensor import Tensor, as_tensor as _like_tensor


def _t(x, op="op"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(x).__name__}")
    return x


def _float_input(x):
    """Integer tensors become the default float dtype before float math, as in PyTorch."""
    if x.dtype.kind == "f":
        return x
    from .dtypes_devices import get_default_dtype
    return Tensor._wrap(x.data.astype(get_default_dtype()))


def add(input, other, *, alpha=1):  # noqa: A002
    return F.add(input, other if alpha == 1 else F.mul(other, alpha))


def sub(input, other, *, alpha=1):  # noqa: A002
    return F.sub(input, other if alpha == 1 else F.mul(other, alpha))


subtract = sub


def mul(input, other): return F.mul(input, other)  # noqa: A002
def div(input, other, *, rounding_mode=None):  # noqa: A002
    if rounding_mode is None:
        return F.div(input, other)
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                         f"'{rounding_mode}'")
    a = input.data
    b = other.data if isinstance(other, Tensor) else other
    if a.dtype.kind in "iub" and np.result_type(a, b).kind in "iub":  # integer division stays integer
        xp = input.xp
        q = xp.floor_divide(a, b) if rounding_mode == "floor" else xp.trunc(a / b).astype(np.result_type(a, b))
        return Tensor._wrap(xp.asarray(q))
    return P.Step.apply(F.div(input, other), kind=rounding_mode)


multiply, divide, true_divide = mul, div, F.div


def pow(input, exponent):  # noqa: A001,A002
    return F.pow(input, exponent)


def sqrt(x): return F.sqrt(_float_input(x))
def rsqrt(x): return F.div(1.0, F.sqrt(_float_input(x)))
def exp(x): return F.exp(_float_input(x))
def log(x): return F.log(_float_input(x))
def log1p(x): return P.Log1p.apply(_float_input(x))
def expm1(x): return P.Expm1.apply(_float_input(x))
def log2(x): return F.div(F.log(_float_input(x)), math.log(2.0))
def log10(x): return F.div(F.log(_float_input(x)), math.log(10.0))
def sin(x): return P.Sin.apply(_float_input(x))
def cos(x): return P.Cos.apply(_float_input(x))
def tan(x): return P.Tan.apply(_float_input(x))
def asin(x): return P.Asin.apply(_float_input(x))
def acos(x): return P.Acos.apply(_float_input(x))
def atan(x): return P.Atan.apply(_float_input(x))
def sinh(x): return P.Sinh.apply(_float_input(x))
def cosh(x): return P.Cosh.apply(_float_input(x))
def tanh(x): return F.tanh(_float_input(x))
def sigmoid(x): return F.sigmoid(_float_input(x))
def relu(x): return F.relu(x)
def abs(x): return F.abs(x)  # noqa: A001
def neg(x): return F.neg(x)
def square(x): return F.mul(x, x)
def reciprocal(x): return F.div(1.0, _float_input(x))


arcsin, arccos, arctan, absolute, negative = asin, acos, atan, abs, neg


def atan2(input, other):  # noqa: A002
    return P.Atan2.apply(_float_input(input), other)


arctan2 = atan2


def sign(x): return P.Step.apply(x, kind="sign")
def floor(x): return x if x.dtype.kind in "iub" else P.Step.apply(x, kind="floor")
def ceil(x): return x if x.dtype.kind in "iub" else P.Step.apply(x, kind="ceil")
def trunc(x): return x if x.dtype.kind in "iub" else P.Step.apply(x, kind="trunc")


def round(x, decimals=0):  # noqa: A001
    """Half to even, as PyTorch (``round(2.5) == 2``)."""
    if decimals == 0:
        return x if x.dtype.kind in "iub" else P.Step.apply(x, kind="round")
    scale = 10.0 ** decimals
    return F.div(P.Step.apply(F.mul(x, scale), kind="round"), scale)


def clamp(input, min=None, max=None):  # noqa: A001,A002
    """Bounds may be numbers or tensors; the gradient goes to the input inside [min, max] and to
    a tensor bound where it is the one taken."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if not isinstance(min, Tensor) and not isinstance(max, Tensor):
        return F.clip(input, min, max)
    out = input
    if min is not None:
        out = F.where(_data(F.lt(out, min)), min, out)
    if max is not None:
        out = F.where(_data(F.gt(out, max)), max, out)
    return out


clip = clamp


def _data(t):
    return t.data


def clamp_min(input, min): return clamp(input, min=min)  # noqa: A001,A002
def clamp_max(input, max): return clamp(input, max=max)  # noqa: A001,A002


def maximum(input, other): return F.maximum(input, other)  # noqa: A002
def minimum(input, other): return F.minimum(input, other)  # noqa: A002


def where(condition, input=None, other=None):  # noqa: A002
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    return F.where(condition, input, other)


def nonzero(input, *, as_tuple=False):  # noqa: A002
    nz = input.xp.nonzero(input.data if input.ndim else input.data.reshape(1))
    if as_tuple:
        return tuple(Tensor._wrap(i.astype(np.int64)) for i in nz)
    return Tensor._wrap(input.xp.stack(nz, axis=1).astype(np.int64) if nz else input.xp.zeros((0, 0), np.int64))


def _tri(x, diagonal, upper, op):
    if x.ndim < 2:
        raise RuntimeError(f"{op}: input tensor must have at least 2 dimensions")
    xp = x.xp
    n, m = x.shape[-2:]
    keep = xp.triu(xp.ones((n, m), bool), diagonal) if upper else xp.tril(xp.ones((n, m), bool), diagonal)
    return F.where(keep, x, Tensor._wrap(xp.zeros((), x.dtype)))


def triu(input, diagonal=0): return _tri(input, diagonal, True, "triu")  # noqa: A002
def tril(input, diagonal=0): return _tri(input, diagonal, False, "tril")  # noqa: A002


def matmul(input, other): return F.matmul(input, other)  # noqa: A002


def mm(input, mat2):  # noqa: A002
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"mm: expected 2D tensors, got {input.ndim}D and {mat2.ndim}D")
    if input.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({input.shape[0]}x{input.shape[1]} and "
                           f"{mat2.shape[0]}x{mat2.shape[1]})")
    return F.matmul(input, mat2)


def bmm(input, mat2):  # noqa: A002
    if input.ndim != 3 or mat2.ndim != 3:
        raise RuntimeError(f"bmm: expected 3D tensors, got {input.ndim}D and {mat2.ndim}D")
    if input.shape[0] != mat2.shape[0] or input.shape[2] != mat2.shape[1]:
        raise RuntimeError(f"bmm: batch1 {tuple(input.shape)} and batch2 {tuple(mat2.shape)} do not multiply "
                           "(batch sizes must be equal and batch1.size(2) == batch2.size(1))")
    return F.matmul(input, mat2)


def mv(input, vec):  # noqa: A002
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"mv: expected a 2D matrix and a 1D vector, got {input.ndim}D and {vec.ndim}D")
    return F.matmul(input, vec)


def dot(input, other):  # noqa: A002
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    if input.shape != other.shape:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{input.shape[0]}] and src "
                           f"[{other.shape[0]}] to have the same number of elements, but got "
                           f"{input.shape[0]} and {other.shape[0]} elements respectively")
    return F.matmul(input, other)


inner = dot


def outer(input, vec2):  # noqa: A002
    if input.ndim != 1 or vec2.ndim != 1:
        raise RuntimeError(f"outer: expected 1D tensors, got {input.ndim}D and {vec2.ndim}D")
    return F.mul(F.reshape(input, (-1, 1)), F.reshape(vec2, (1, -1)))


ger = outer


def einsum(equation, *operands):
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return G.Einsum.apply(*operands, equation=equation)


def eq(input, other): return F.eq(input, other)  # noqa: A002
def ne(input, other): return F.ne(input, other)  # noqa: A002
def lt(input, other): return F.lt(input, other)  # noqa: A002
def le(input, other): return F.le(input, other)  # noqa: A002
def gt(input, other): return F.gt(input, other)  # noqa: A002
def ge(input, other): return F.ge(input, other)  # noqa: A002


greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def _arrays(a, b):
    b = b if isinstance(b, Tensor) else _like_tensor(b, like=a)
    return a.data, b.data


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):  # noqa: A002
    x, y = _arrays(input, other)
    return Tensor._wrap(input.xp.asarray(input.xp.isclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan)))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):  # noqa: A002
    return bool(isclose(input, other, rtol, atol, equal_nan).data.all())


def equal(input, other):  # noqa: A002
    """True when both have the same shape and elements."""
    return input.shape == other.shape and bool((input.data == other.data).all())


def isnan(x): return Tensor._wrap(x.xp.asarray(x.xp.isnan(x.data)))
def isinf(x): return Tensor._wrap(x.xp.asarray(x.xp.isinf(x.data)))
def isfinite(x): return Tensor._wrap(x.xp.asarray(x.xp.isfinite(x.data)))


def logical_not(x): return Tensor._wrap(x.xp.asarray(~x.data.astype(bool)))
def logical_and(a, b): return Tensor._wrap(a.xp.asarray(a.data.astype(bool) & _arrays(a, b)[1].astype(bool)))
def logical_or(a, b): return Tensor._wrap(a.xp.asarray(a.data.astype(bool) | _arrays(a, b)[1].astype(bool)))


def is_nonzero(x):
    if x.data.size != 1:
        raise RuntimeError(f"Boolean value of Tensor with {'no values' if x.data.size == 0 else 'more than one value'} "
                           "is ambiguous")
    return bool(x.data.reshape(()))

