"""``keras.ops``'s NumPy group, arithmetic and reductions, with Keras 3's dtype rules.

Binary functions promote with ``result_type`` (Python numbers are weak); ``divide`` and the float
functions (``sqrt``, ``exp``, ``log``, ``sin``, ``floor``, ...) give floatx for integer and bool
input; ``sum``/``prod`` widen bool, int8 and int16 to int32 (uint8/16 to uint32); ``mean``,
``std`` and ``var`` of integers are floatx; ``argmax``/``argmin``/``argsort`` give int32 and
flatten when ``axis`` is None. Every float result is differentiable.
"""
import builtins

import numpy as np

from ...core import functional as T
from ...core.ops import gather as G
from ...core.ops import pointwise as P
from ...core.tensor import Tensor
from .dtypes import axes, cast, dtype_of, float_of, result_type, tensor


def _binary(x1, x2, who, *extra):
    d = result_type(dtype_of(x1, who), dtype_of(x2, who), *extra)
    return tensor(x1, d, who), tensor(x2, d, who)


def _numeric(x1, x2, who):
    """Both operands promoted; two bools are refused, as the TensorFlow backend refuses them."""
    a, b = _binary(x1, x2, who)
    if a.dtype == np.bool_:
        raise TypeError(f"keras.ops.{who}: not defined for two bool tensors (the TensorFlow backend refuses "
                        "it); cast them first")
    return a, b


def add(x1, x2): return T.add(*_numeric(x1, x2, "add"))
def subtract(x1, x2): return T.sub(*_numeric(x1, x2, "subtract"))
def multiply(x1, x2): return T.mul(*_numeric(x1, x2, "multiply"))
def divide(x1, x2): return T.div(*_binary(x1, x2, "divide", float))
def true_divide(x1, x2): return divide(x1, x2)
def maximum(x1, x2): return T.maximum(*_numeric(x1, x2, "maximum"))
def minimum(x1, x2): return T.minimum(*_numeric(x1, x2, "minimum"))


def power(x1, x2):
    a, b = _numeric(x1, x2, "power")
    return T.pow(a, b) if a.dtype.kind == "f" else Tensor(np.power(a.data, b.data))


def _compare(fn, who):
    def compare(x1, x2):
        a, b = _binary(x1, x2, who)
        return Tensor(fn(a.data, b.data))
    compare.__name__ = who
    return compare


equal, not_equal = _compare(np.equal, "equal"), _compare(np.not_equal, "not_equal")
greater, greater_equal = _compare(np.greater, "greater"), _compare(np.greater_equal, "greater_equal")
less, less_equal = _compare(np.less, "less"), _compare(np.less_equal, "less_equal")


def where(condition, x1=None, x2=None):
    """Elements of x1 where condition, else of x2 (promoted with result_type); with neither, the
    coordinates of the true elements, one int32 tensor per axis."""
    c = tensor(condition, who="where").data.astype(bool)
    if x1 is None and x2 is None:
        return tuple(Tensor(i.astype(np.int32)) for i in np.nonzero(c))
    if x1 is None or x2 is None:
        raise ValueError("keras.ops.where: give both x1 and x2, or neither")
    a, b = _binary(x1, x2, "where")
    return T.where(c, a, b)


def logical_and(x1, x2): return Tensor(np.logical_and(tensor(x1, "bool").data, tensor(x2, "bool").data))
def logical_or(x1, x2): return Tensor(np.logical_or(tensor(x1, "bool").data, tensor(x2, "bool").data))
def logical_not(x): return Tensor(np.logical_not(tensor(x, "bool").data))


# ---- unary ---------------------------------------------------------------------------------------


def _float_fn(fn, who):
    """A float function: integer and bool input is computed (and returned) in floatx."""
    def unary(x):
        x = tensor(x, who=who)
        return fn(cast(x, float_of(x)))
    unary.__name__ = who
    return unary


sqrt, exp, log = _float_fn(T.sqrt, "sqrt"), _float_fn(T.exp, "exp"), _float_fn(T.log, "log")
log1p, expm1 = _float_fn(P.Log1p.apply, "log1p"), _float_fn(P.Expm1.apply, "expm1")
sin, cos, tanh = _float_fn(T.sin, "sin"), _float_fn(T.cos, "cos"), _float_fn(T.tanh, "tanh")
tan, sinh, cosh = _float_fn(P.Tan.apply, "tan"), _float_fn(T.sinh, "sinh"), _float_fn(T.cosh, "cosh")
arcsin, arccos = _float_fn(P.Asin.apply, "arcsin"), _float_fn(P.Acos.apply, "arccos")
arctan = _float_fn(P.Atan.apply, "arctan")
log2 = _float_fn(lambda x: T.div(T.log(x), Tensor(np.log(np.asarray(2, x.dtype)))), "log2")
log10 = _float_fn(lambda x: T.div(T.log(x), Tensor(np.log(np.asarray(10, x.dtype)))), "log10")
floor = _float_fn(lambda x: Tensor(np.floor(x.data)), "floor")
ceil = _float_fn(lambda x: Tensor(np.ceil(x.data)), "ceil")


def abs(x):  # noqa: A001
    x = tensor(x, who="abs")
    return T.abs(x) if x.dtype.kind == "f" else Tensor(np.abs(x.data))


absolute = abs


def negative(x):
    x = tensor(x, who="negative")
    if x.dtype.kind in "bu":
        raise TypeError(f"keras.ops.negative: not defined for dtype {x.dtype.name} (the TensorFlow backend refuses it)")
    return T.neg(x)


def square(x):
    x = tensor(x, who="square")
    x = cast(x, "int32") if x.dtype == np.bool_ else x
    return T.mul(x, x)


def sign(x):
    return Tensor(np.sign(tensor(x, who="sign").data))


def round(x, decimals=0):  # noqa: A001
    """Half to even (as TensorFlow); integers come back unchanged when ``decimals`` >= 0."""
    x = tensor(x, who="round")
    if x.dtype == np.bool_:
        raise TypeError("keras.ops.round: not defined for bool tensors (the TensorFlow backend refuses it)")
    if x.dtype.kind in "iu" and decimals >= 0:
        return x
    return Tensor(np.round(x.data, int(decimals)).astype(x.dtype))


def clip(x, x_min, x_max):
    """Values limited to [x_min, x_max] in x's dtype (bool becomes int32); gradient 1 inside."""
    x = tensor(x, who="clip")
    x = cast(x, "int32") if x.dtype == np.bool_ else x
    bounds = [tensor(v, who="clip").data for v in (x_min, x_max)]
    if x.dtype.kind in "iu" and builtins.any(b.dtype.kind == "f" for b in bounds):
        raise TypeError(f"keras.ops.clip: float bounds for a {x.dtype.name} tensor (the TensorFlow backend "
                        "refuses them); cast x or the bounds first")
    lo, hi = (np.asarray(b, x.dtype) for b in bounds)
    if x.dtype.kind == "f" and lo.ndim == 0 and hi.ndim == 0:
        return T.clip(x, lo.item(), hi.item())
    return T.minimum(T.maximum(x, Tensor(lo)), Tensor(hi))


def reciprocal(x):
    x = float_input(x, "reciprocal")
    return T.div(Tensor(np.ones((), x.dtype)), x)


def trunc(x):
    """Rounded toward zero; integer and bool input comes back unchanged."""
    x = tensor(x, who="trunc")
    return Tensor(np.trunc(x.data)) if x.dtype.kind == "f" else x


def floor_divide(x1, x2):
    a, b = _numeric(x1, x2, "floor_divide")
    return Tensor(np.floor_divide(a.data, b.data))


def mod(x1, x2):
    """Python's modulo (the sign of x2). Python numbers are not weak here: they convert to int32 or
    float32 first, as Keras's TensorFlow backend does; bool operands give int32."""
    a, b = tensor(x1, who="mod"), tensor(x2, who="mod")
    d = result_type(a.dtype.name, b.dtype.name)
    a, b = cast(a, "int32" if d == "bool" else d), cast(b, "int32" if d == "bool" else d)
    if a.dtype.kind != "f":
        return Tensor(np.mod(a.data, b.data))
    quotient = Tensor(np.floor(a.data / b.data))  # piecewise constant: no gradient through it
    return T.sub(a, T.mul(quotient, b))


def isnan(x): return Tensor(np.isnan(tensor(x, who="isnan").data))
def isinf(x): return Tensor(np.isinf(tensor(x, who="isinf").data))
def isfinite(x): return Tensor(np.isfinite(tensor(x, who="isfinite").data))


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """NaN to ``nan``, +-inf to ``posinf``/``neginf`` (the dtype's largest/smallest when None)."""
    x = tensor(x, who="nan_to_num")
    if x.dtype.kind != "f":
        return x
    fixed = np.nan_to_num(x.data, nan=nan, posinf=posinf, neginf=neginf)
    keep = np.isfinite(x.data)
    return T.where(keep, x, Tensor(fixed))


# ---- reductions ----------------------------------------------------------------------------------


def _widened(x):
    """sum/prod's accumulator: bool, int8, int16 -> int32; uint8, uint16 -> uint32."""
    d = x.dtype.name
    return cast(x, "int32" if d in ("bool", "int8", "int16") else "uint32" if d in ("uint8", "uint16") else d)


def _same_dtype(out, x):
    """NumPy accumulates small integers in int64; Keras keeps the accumulator's dtype."""
    return out if out.dtype == x.dtype else cast(out, x.dtype.name)


def sum(x, axis=None, keepdims=False):  # noqa: A001
    x = _widened(tensor(x, who="sum"))
    return _same_dtype(T.sum(x, axis=axes(axis, x.ndim), keepdims=bool(keepdims)), x)


def prod(x, axis=None, keepdims=False, dtype=None):
    if dtype is not None:  # Keras 3.15's TensorFlow backend ignores dtype= (its other backends honour it)
        raise NotImplementedError("tinydl.keras.ops.prod: dtype= is not implemented (Keras's TensorFlow backend "
                                  "ignores it); cast the input or the result instead")
    x = _widened(tensor(x, who="prod"))
    ax = axes(axis, x.ndim)
    out = G.Prod.apply(x, axes=tuple(builtins.range(x.ndim)) if ax is None else ax, keepdims=bool(keepdims))
    return _same_dtype(out, x)


def mean(x, axis=None, keepdims=False):
    """Integers and bool average to floatx; float16 is averaged in float32 and cast back."""
    x = tensor(x, who="mean")
    out_dtype = result_type(x.dtype.name, float)
    m = T.mean(cast(x, result_type(x.dtype.name, "float32")), axis=axes(axis, x.ndim), keepdims=bool(keepdims))
    return cast(m, out_dtype)


def var(x, axis=None, keepdims=False):
    """The biased variance (divided by n), as NumPy's default."""
    x = tensor(x, who="var")
    out_dtype = result_type(x.dtype.name, float)
    v = T.var(cast(x, result_type(x.dtype.name, "float32")), axis=axes(axis, x.ndim), keepdims=bool(keepdims))
    return cast(v, out_dtype)


def std(x, axis=None, keepdims=False):
    x = tensor(x, who="std")
    x = cast(x, float_of(x))
    return T.sqrt(T.var(x, axis=axes(axis, x.ndim), keepdims=bool(keepdims)))


def _extreme(fn, bool_fn, who):
    def reduce(x, axis=None, keepdims=False, initial=None):
        x = tensor(x, who=who)
        if x.size == 0 and initial is None:
            raise ValueError(f"keras.ops.{who}: cannot compute the {who} of an empty tensor")
        ax = axes(axis, x.ndim)
        out = Tensor(bool_fn(x.data, axis=ax, keepdims=bool(keepdims))) if x.dtype == np.bool_ else \
            fn(x, axis=ax, keepdims=bool(keepdims))
        if initial is not None:
            out = (T.maximum if who == "max" else T.minimum)(out, tensor(initial, out.dtype.name))
        return out
    reduce.__name__ = who
    return reduce


max = _extreme(T.max, np.any, "max")  # noqa: A001
min = _extreme(T.min, np.all, "min")  # noqa: A001
amax, amin = max, min


def all(x, axis=None, keepdims=False):  # noqa: A001
    x = tensor(x, who="all")
    return Tensor(np.all(x.data.astype(bool), axis=axes(axis, x.ndim), keepdims=bool(keepdims)))


def any(x, axis=None, keepdims=False):  # noqa: A001
    x = tensor(x, who="any")
    return Tensor(np.any(x.data.astype(bool), axis=axes(axis, x.ndim), keepdims=bool(keepdims)))


def count_nonzero(x, axis=None):
    x = tensor(x, who="count_nonzero")
    return Tensor(np.asarray(np.count_nonzero(x.data, axis=axes(axis, x.ndim)), dtype=np.int32))


def _arg(fn, who):
    def arg(x, axis=None, keepdims=False):
        x = tensor(x, who=who)
        if axis is None:
            out = fn(x.data.reshape(-1))
            if keepdims:
                out = np.reshape(out, (1,) * x.ndim)
        else:
            out = fn(x.data, axis=axes(axis, x.ndim)[0], keepdims=bool(keepdims))
        return Tensor(np.asarray(out, dtype=np.int32))
    arg.__name__ = who
    return arg


argmax, argmin = _arg(np.argmax, "argmax"), _arg(np.argmin, "argmin")


def argsort(x, axis=-1):
    x = tensor(x, who="argsort")
    if axis is None:
        return Tensor(np.argsort(x.data.reshape(-1), kind="stable").astype(np.int32))
    return Tensor(np.argsort(x.data, axis=int(axis), kind="stable").astype(np.int32))


def sort(x, axis=-1):
    """Ascending along ``axis``; the gradient flows back to each value's place."""
    x = tensor(x, who="sort")
    if axis is None:
        x, axis = T.reshape(x, (-1,)), 0
    axis = axes(axis, x.ndim)[0]
    order = np.argsort(x.data, axis=axis, kind="stable")
    return G.Gather.apply(x, dim=axis, index=order) if x.dtype.kind == "f" else \
        Tensor(np.take_along_axis(x.data, order, axis))


def cumsum(x, axis=None, dtype=None):
    x = tensor(x, dtype, who="cumsum")
    x = cast(x, "int32") if x.dtype == np.bool_ else x
    if axis is None:
        x, axis = T.reshape(x, (-1,)), 0
    return _same_dtype(G.CumSum.apply(x, dim=axes(axis, x.ndim)[0]), x)


def float_input(x, who):
    """A float Tensor, or TypeError: these functions take no integer input in the TensorFlow backend."""
    x = tensor(x, who=who)
    if x.dtype.kind != "f":
        raise TypeError(f"keras.ops.{who}: expects a float tensor, got dtype {x.dtype.name} (cast it first)")
    return x


def logsumexp(x, axis=None, keepdims=False):
    x = float_input(x, "logsumexp")
    return T.logsumexp(x, axis=axes(axis, x.ndim), keepdims=bool(keepdims))


# ---- products ------------------------------------------------------------------------------------


def matmul(x1, x2):
    """int8 @ int8 gives int32; other inputs promote with result_type."""
    a, b = tensor(x1, who="matmul"), tensor(x2, who="matmul")
    d = "int32" if a.dtype == b.dtype == np.int8 else result_type(a.dtype.name, b.dtype.name)
    a, b = cast(a, d), cast(b, d)
    if np.dtype(d).kind == "f":
        return T.matmul(a, b)
    return Tensor(np.matmul(a.data, b.data))


def tensordot(x1, x2, axes=2):  # noqa: A002 - NumPy's argument name
    """Sum over ``axes`` (an int: x1's last n against x2's first n; or two lists)."""
    a, b = _binary(x1, x2, "tensordot")
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        ax_a, ax_b = list(builtins.range(a.ndim - n, a.ndim)), list(builtins.range(n))
    else:
        ax_a, ax_b = ([axes_i] if isinstance(axes_i, (int, np.integer)) else list(axes_i) for axes_i in axes)
        ax_a, ax_b = [i % a.ndim for i in ax_a], [i % b.ndim for i in ax_b]
    for i, j in zip(ax_a, ax_b):
        if a.shape[i] != b.shape[j]:
            raise ValueError(f"keras.ops.tensordot: axis {i} of x1 (size {a.shape[i]}) and axis {j} of x2 "
                             f"(size {b.shape[j]}) differ")
    free_a = [i for i in builtins.range(a.ndim) if i not in ax_a]
    free_b = [i for i in builtins.range(b.ndim) if i not in ax_b]
    k = int(np.prod([a.shape[i] for i in ax_a]))
    a2 = T.reshape(T.transpose(a, tuple(free_a + ax_a)), (-1, k))
    b2 = T.reshape(T.transpose(b, tuple(ax_b + free_b)), (k, -1))
    out = T.matmul(a2, b2) if a.dtype.kind == "f" else Tensor(a2.data @ b2.data)
    return T.reshape(out, tuple(a.shape[i] for i in free_a) + tuple(b.shape[i] for i in free_b))


def dot(x1, x2):
    """NumPy's dot: a product for scalars, matmul for 1-D/2-D, else a sum over x1's last and x2's
    second-to-last axis."""
    a, b = _binary(x1, x2, "dot")
    if a.ndim == 0 or b.ndim == 0:
        return T.mul(a, b)
    if b.ndim == 1:
        return tensordot(a, b, ([a.ndim - 1], [0]))
    return tensordot(a, b, ([a.ndim - 1], [b.ndim - 2]))


def einsum(subscripts, *operands):
    ts = [tensor(o, who="einsum") for o in operands]
    names = {t.dtype.name for t in ts}
    d = "int32" if names == {"int8"} else result_type(*names)  # int8 operands give int32, as Keras
    ts = [cast(t, d) for t in ts]
    if np.dtype(d).kind == "f":
        return T.einsum(subscripts, *ts)
    return Tensor(np.einsum(subscripts, *(t.data for t in ts)))


def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 - NumPy's argument name
    """Vector norms (``ord`` None/2, 1, inf, -inf, 0, any p) and the matrix norms 'fro', 1, -1,
    inf, -inf; ``axis=None`` means all axes (so at most 2-D input); integer input is floatx.
    'nuc' and the spectral norms raise NotImplementedError."""
    x = tensor(x, who="norm")
    x = cast(x, float_of(x))
    ax = axes(axis, x.ndim)
    ax = tuple(builtins.range(x.ndim)) if ax is None else ax
    if len(ax) not in (1, 2):
        raise ValueError(f"keras.ops.norm: axis must name 1 or 2 axes (all axes when None), got {axis} for a "
                         f"{x.ndim}-d input")
    kd = bool(keepdims)
    if len(ax) == 1:
        if ord is None or ord == 2:
            return T.sqrt(T.sum(T.mul(x, x), axis=ax, keepdims=kd))
        if ord == np.inf:
            return T.max(T.abs(x), axis=ax, keepdims=kd)
        if ord == -np.inf:
            return T.min(T.abs(x), axis=ax, keepdims=kd)
        if ord == 0:
            return Tensor(np.sum(x.data != 0, axis=ax, keepdims=kd).astype(x.dtype))
        if ord == 1:
            return T.sum(T.abs(x), axis=ax, keepdims=kd)
        if isinstance(ord, str):
            raise ValueError(f"keras.ops.norm: invalid ord {ord!r} for a vector norm")
        p = Tensor(np.asarray(ord, x.dtype))
        return T.pow(T.sum(T.pow(T.abs(x), p), axis=ax, keepdims=kd), Tensor(np.asarray(1 / ord, x.dtype)))
    if ord is None or ord == "fro":
        return T.sqrt(T.sum(T.mul(x, x), axis=ax, keepdims=kd))
    if ord in (1, -1, np.inf, -np.inf):
        row, col = ax
        inner, outer = (row, col) if ord in (1, -1) else (col, row)
        sums = T.sum(T.abs(x), axis=inner, keepdims=True)
        out = (T.max if ord > 0 else T.min)(sums, axis=outer, keepdims=True)
        return out if kd else T.reshape(out, tuple(d for i, d in enumerate(x.shape) if i not in ax))
    if ord in ("nuc", 2, -2):
        raise NotImplementedError(f"tinydl.keras.ops.norm: ord={ord!r} for matrices is not implemented "
                                  "(no singular values); use 'fro', 1, -1, inf or -inf")
    raise ValueError(f"keras.ops.norm: invalid ord {ord!r} for a matrix norm")


__all__ = ["arccos", "arcsin", "arctan", "cosh", "floor_divide", "log10", "log2", "mod", "reciprocal", "sinh",
           "tan", "trunc",
           "abs", "absolute", "add", "all", "amax", "amin", "any", "argmax", "argmin", "argsort", "ceil", "clip",
           "cos", "count_nonzero", "cumsum", "divide", "dot", "einsum", "equal", "exp", "expm1", "floor",
           "greater", "greater_equal", "isfinite", "isinf", "isnan", "less", "less_equal", "log", "log1p",
           "logical_and", "logical_not", "logical_or", "logsumexp", "matmul", "max", "maximum", "mean", "min",
           "minimum", "multiply", "nan_to_num", "negative", "norm", "not_equal", "power", "prod", "round",
           "sign", "sin", "sort", "sqrt", "square", "std", "subtract", "sum", "tanh", "tensordot",
           "true_divide", "var", "where"]
