"""The op functions: ``tinydl.exp(x)``, ``tinydl.matmul(a, b)``, ... (Tensor methods call these).

>>> import tinydl
>>> x = tinydl.Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> y = tinydl.sum(tinydl.exp(x) * 2)
>>> y.backward()
>>> x.grad.shape
(2, 2)
"""
from .ops import arithmetic as A, elementwise as E, gather as G, pointwise as P, reduction as R, shape as S


def _t(x):
    from .tensor import as_tensor
    return as_tensor(x)


# arithmetic
def add(a, b): return A.Add.apply(a, b)
def sub(a, b): return A.Sub.apply(a, b)
def mul(a, b): return A.Mul.apply(a, b)
def div(a, b): return A.Div.apply(a, b)
def neg(a): return A.Neg.apply(a)
def pow(a, b): return A.Pow.apply(a, b)  # noqa: A001 - mirrors the operator's name
def matmul(a, b): return A.MatMul.apply(a, b)


# element-wise
def exp(x): return E.Exp.apply(x)
def log(x): return E.Log.apply(x)
def sqrt(x): return E.Sqrt.apply(x)
def abs(x): return E.Abs.apply(x)  # noqa: A001
def clip(x, lo=None, hi=None): return E.Clip.apply(x, lo=lo, hi=hi)
def maximum(a, b): return E.Maximum.apply(a, b)
def minimum(a, b): return E.Minimum.apply(a, b)
def relu(x): return E.ReLU.apply(x)
def leaky_relu(x, negative_slope=0.01): return E.LeakyReLU.apply(x, negative_slope=negative_slope)
def sigmoid(x): return E.Sigmoid.apply(x)
def tanh(x): return E.Tanh.apply(x)
def gelu(x, approximate="none"): return E.GELU.apply(x, approximate=approximate)
def erf(x): return E.Erf.apply(x)
def sin(x): return P.Sin.apply(x)
def cos(x): return P.Cos.apply(x)
def sinh(x): return P.Sinh.apply(x)
def cosh(x): return P.Cosh.apply(x)
def einsum(equation, *operands): return G.Einsum.apply(*operands, equation=equation)


def where(cond, a, b):
    """Elements of ``a`` where ``cond`` is true, else of ``b``; cond gets no gradient."""
    from .tensor import Tensor
    cond = cond.data if isinstance(cond, Tensor) else cond
    ref = a if isinstance(a, Tensor) else b
    return E.Where.apply(Tensor(cond, dtype=bool), *_pair(a, b, ref))


def _pair(a, b, ref):
    from .tensor import as_tensor
    return as_tensor(a, like=ref), as_tensor(b, like=ref)


# reductions
def sum(x, axis=None, keepdims=False): return R.Sum.apply(x, axis=axis, keepdims=keepdims)  # noqa: A001
def mean(x, axis=None, keepdims=False): return R.Mean.apply(x, axis=axis, keepdims=keepdims)
def max(x, axis=None, keepdims=False): return R.Max.apply(x, axis=axis, keepdims=keepdims)  # noqa: A001
def min(x, axis=None, keepdims=False): return R.Min.apply(x, axis=axis, keepdims=keepdims)  # noqa: A001
def var(x, axis=None, keepdims=False, ddof=0): return R.Var.apply(x, axis=axis, keepdims=keepdims, ddof=ddof)
def std(x, axis=None, keepdims=False, ddof=0): return sqrt(var(x, axis, keepdims, ddof))
def logsumexp(x, axis=None, keepdims=False): return R.LogSumExp.apply(x, axis=axis, keepdims=keepdims)
def softmax(x, axis=-1): return R.Softmax.apply(x, axis=axis)
def log_softmax(x, axis=-1): return R.LogSoftmax.apply(x, axis=axis)


# shape
def reshape(x, shape): return S.Reshape.apply(x, shape=shape)
def transpose(x, axes=None): return S.Transpose.apply(x, axes=axes)
def permute(x, *axes): return transpose(x, axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else axes)
def broadcast_to(x, shape): return S.BroadcastTo.apply(x, shape=shape)
def getitem(x, index): return S.GetItem.apply(x, index=_plain_index(index))
def pad(x, pad_width, value=0.0): return S.Pad.apply(x, pad_width=pad_width, value=value)
def clone(x): return S.Clone.apply(x)
def concatenate(tensors, axis=0): return S.Concatenate.apply(*tensors, axis=axis)
def stack(tensors, axis=0): return S.Stack.apply(*tensors, axis=axis)


def swapaxes(x, a, b):
    x = _t(x)
    a, b = S.check_axis("swapaxes", a, x.ndim), S.check_axis("swapaxes", b, x.ndim)
    axes = list(range(x.ndim))
    axes[a], axes[b] = axes[b], axes[a]
    return transpose(x, axes)


expand = broadcast_to


def squeeze(x, axis=None):
    x = _t(x)
    axes = range(x.ndim) if axis is None else [axis] if not isinstance(axis, (tuple, list)) else axis
    axes = {S.check_axis("squeeze", a, x.ndim) for a in axes}
    for a in axes:
        if axis is not None and x.shape[a] != 1:
            raise ValueError(f"squeeze: axis {a} has size {x.shape[a]}, not 1 (shape {x.shape})")
    return reshape(x, [n for i, n in enumerate(x.shape) if not (i in axes and n == 1)])


def unsqueeze(x, axis):
    x = _t(x)
    shape = list(x.shape)
    shape.insert(S.check_axis("unsqueeze", axis, x.ndim, extra=1), 1)
    return reshape(x, shape)


expand_dims = unsqueeze


def flatten(x, start_axis=0, end_axis=-1):
    x = _t(x)
    s, e = S.check_axis("flatten", start_axis, x.ndim), S.check_axis("flatten", end_axis, x.ndim)
    if x.ndim == 0:
        return reshape(x, (1,))
    if s > e:
        raise ValueError(f"flatten: start_axis {start_axis} comes after end_axis {end_axis} "
                         f"for a tensor with {x.ndim} dimensions")
    n = 1
    for d in x.shape[s:e + 1]:
        n *= d
    return reshape(x, x.shape[:s] + (n,) + x.shape[e + 1:])


def split(x, indices_or_sections, axis=0):
    """Split along ``axis`` (as numpy.split); each piece is a differentiable slice."""
    x = _t(x)
    axis = S.check_axis("split", axis, x.ndim)
    n = x.shape[axis]
    if isinstance(indices_or_sections, int):
        if indices_or_sections < 1:
            raise ValueError(f"split: the number of sections must be positive, got {indices_or_sections}")
        if n % indices_or_sections:
            raise ValueError(f"split: axis {axis} of size {n} does not divide into {indices_or_sections} equal parts")
        step = n // indices_or_sections
        bounds = list(range(step, n, step))
    else:
        bounds = list(indices_or_sections)
    edges = [0] + bounds + [n]
    prefix = (slice(None),) * (axis % x.ndim)
    return [getitem(x, prefix + (slice(lo, hi),)) for lo, hi in zip(edges[:-1], edges[1:])]


def _plain_index(index):
    """Turn Tensors inside an index into arrays."""
    from .tensor import Tensor
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list):
        import numpy as np
        return np.asarray(index)
    return index


# non-differentiable: comparisons and arg-reductions return tensors without gradient
def _nondiff(fn, *args):
    from .tensor import Tensor
    arrays = [a.data if isinstance(a, Tensor) else a for a in args]
    return Tensor(fn(*arrays))


def argmax(x, axis=None, keepdims=False):
    return _nondiff(lambda a: a.argmax(axis=axis, keepdims=keepdims), x)


def argmin(x, axis=None, keepdims=False):
    return _nondiff(lambda a: a.argmin(axis=axis, keepdims=keepdims), x)


def eq(a, b): return _nondiff(lambda x, y: x == y, a, b)
def ne(a, b): return _nondiff(lambda x, y: x != y, a, b)
def lt(a, b): return _nondiff(lambda x, y: x < y, a, b)
def le(a, b): return _nondiff(lambda x, y: x <= y, a, b)
def gt(a, b): return _nondiff(lambda x, y: x > y, a, b)
def ge(a, b): return _nondiff(lambda x, y: x >= y, a, b)
