"""TensorFlow's array functions with TensorFlow's meanings, on tinydl's op functions.

Where TensorFlow and PyTorch use one name differently, these follow TensorFlow: ``split`` takes
``num_or_size_splits``, ``transpose`` a ``perm`` (reversed axes by default), ``gather`` indices
along ``axis``, ``where`` with one argument returns coordinates, ``argmax`` defaults to axis 0.
"""
import builtins

import numpy as np

from ..core import functional as T
from ..core.tensor import Tensor
from ._convert import as_dtype, axis_arg, pair, shape_arg, to_array, to_tensor

# ---- creation -------------------------------------------------------------------------------------


def constant(value, dtype=None, shape=None, name=None):
    """``tf.constant``: Python floats become float32, Python ints int32, NumPy keeps its dtype."""
    a = to_array(value, dtype, "constant")
    if shape is not None:
        shape = shape_arg(shape)
        if a.size == 1:
            a = np.full(shape, a.reshape(()), dtype=a.dtype)
        elif a.size == int(np.prod(shape)):
            a = a.reshape(shape)
        else:
            raise TypeError(f"tinydl.tf.constant: {a.size} values do not fill shape {shape}")
    return Tensor(np.array(a, copy=True))


def convert_to_tensor(value, dtype=None, dtype_hint=None, name=None):
    if dtype is None and dtype_hint is not None and not isinstance(value, (Tensor, np.ndarray)):
        return to_tensor(value, dtype_hint, "convert_to_tensor")
    return to_tensor(value, dtype, "convert_to_tensor")


def zeros(shape, dtype="float32", name=None):
    return Tensor(np.zeros(shape_arg(shape), as_dtype(dtype)))


def ones(shape, dtype="float32", name=None):
    return Tensor(np.ones(shape_arg(shape), as_dtype(dtype)))


def fill(dims, value, name=None):
    return Tensor(np.full(shape_arg(dims), to_array(value)))


def zeros_like(input, dtype=None, name=None):  # noqa: A002 - TensorFlow's argument name
    a = to_array(input)
    return Tensor(np.zeros(a.shape, as_dtype(dtype) or a.dtype))


def ones_like(input, dtype=None, name=None):  # noqa: A002
    a = to_array(input)
    return Tensor(np.ones(a.shape, as_dtype(dtype) or a.dtype))


def range(start, limit=None, delta=1, dtype=None, name=None):  # noqa: A001 - tf.range
    """``tf.range``: int32 for integer arguments, float32 when any is a float."""
    if limit is None:
        start, limit = 0, start
    args = [to_array(v) for v in (start, limit, delta)]
    kind = np.result_type(*args)
    d = as_dtype(dtype) or (np.dtype(np.float32) if kind.kind == "f" and all(a.dtype != np.float64 for a in args)
                            else kind)
    return Tensor(np.arange(args[0].item(), args[1].item(), args[2].item()).astype(d))


def linspace(start, stop, num, name=None, axis=0):
    a = to_array(start)  # integer bounds give float64, as TensorFlow
    return Tensor(np.linspace(a, to_array(stop), int(num), axis=axis).astype(a.dtype if a.dtype.kind == "f"
                                                                                else np.float64))


def eye(num_rows, num_columns=None, batch_shape=None, dtype="float32", name=None):
    m = np.eye(int(num_rows), None if num_columns is None else int(num_columns), dtype=as_dtype(dtype))
    if batch_shape is not None:
        m = np.broadcast_to(m, shape_arg(batch_shape) + m.shape).copy()
    return Tensor(m)


def identity(input, name=None):  # noqa: A002
    return T.clone(to_tensor(input)) if isinstance(input, Tensor) and input.requires_grad else to_tensor(input)


def stop_gradient(input, name=None):  # noqa: A002
    return Tensor(to_tensor(input).data)


def is_tensor(x):
    return isinstance(x, Tensor)


# ---- dtype and shape --------------------------------------------------------------------------------


def cast(x, dtype, name=None):
    """``tf.cast``: float -> int truncates toward zero; differentiable between float dtypes."""
    x, d = to_tensor(x), as_dtype(dtype)
    if x.dtype == d:
        return x
    if d.kind == "b":
        return Tensor(x.data != 0)
    return x.astype(d)


def shape(input, out_type="int32", name=None):  # noqa: A002
    return Tensor(np.array(to_tensor(input).shape, dtype=as_dtype(out_type)))


def size(input, out_type="int32", name=None):  # noqa: A002
    return Tensor(np.array(to_tensor(input).data.size, dtype=as_dtype(out_type)))


def rank(input, name=None):  # noqa: A002
    return Tensor(np.array(to_tensor(input).ndim, dtype=np.int32))


def reshape(tensor, shape, name=None):
    return T.reshape(to_tensor(tensor), shape_arg(shape))


def transpose(a, perm=None, conjugate=False, name=None):
    """``tf.transpose(a, perm)``: ``perm=None`` reverses the axes."""
    a = to_tensor(a)
    perm = tuple(builtins.range(a.ndim - 1, -1, -1)) if perm is None else shape_arg(perm)
    if sorted(p % a.ndim if a.ndim else p for p in perm) != list(builtins.range(a.ndim)):
        raise ValueError(f"tinydl.tf.transpose: perm {perm} is not a permutation of the {a.ndim} axes")
    return T.transpose(a, perm)


def expand_dims(input, axis, name=None):  # noqa: A002
    return T.unsqueeze(to_tensor(input), int(axis))


def squeeze(input, axis=None, name=None):  # noqa: A002
    x = to_tensor(input)
    axis = axis_arg(axis)
    if axis is None:
        return T.reshape(x, tuple(d for d in x.shape if d != 1))
    axes = (axis,) if isinstance(axis, int) else axis
    for ax in axes:
        if x.shape[ax] != 1:
            raise ValueError(f"tinydl.tf.squeeze: cannot squeeze axis {ax} of size {x.shape[ax]} (shape {x.shape})")
    keep = {a % x.ndim for a in axes}
    return T.reshape(x, tuple(d for i, d in enumerate(x.shape) if i not in keep))


def tile(input, multiples, name=None):  # noqa: A002
    """Repeat the whole tensor ``multiples[i]`` times along axis i (differentiable)."""
    x = to_tensor(input)
    m = shape_arg(multiples)
    if len(m) != x.ndim:
        raise ValueError(f"tinydl.tf.tile: multiples has {len(m)} entries for a {x.ndim}-d input")
    inter = builtins.sum(((1, d) for d in x.shape), ())
    big = builtins.sum(((k, d) for k, d in zip(m, x.shape)), ())
    y = T.broadcast_to(T.reshape(x, inter), big)
    return T.reshape(y, tuple(k * d for k, d in zip(m, x.shape)))


def concat(values, axis, name=None):
    return T.concatenate([to_tensor(v) for v in values], axis=int(axis))


def stack(values, axis=0, name=None):
    return T.stack([to_tensor(v) for v in values], axis=int(axis))


def unstack(value, num=None, axis=0, name=None):
    x = to_tensor(value)
    n = x.shape[axis]
    if num is not None and num != n:
        raise ValueError(f"tinydl.tf.unstack: num={num} but axis {axis} has size {n}")
    prefix = (slice(None),) * (axis % x.ndim)
    return [T.getitem(x, prefix + (i,)) for i in builtins.range(n)]


def split(value, num_or_size_splits, axis=0, num=None, name=None):
    """``tf.split``: an int splits into that many equal parts; a list gives the sizes (one may be -1)."""
    x = to_tensor(value)
    axis = int(axis)
    n = x.shape[axis]
    if isinstance(num_or_size_splits, (int, np.integer)):
        k = int(num_or_size_splits)
        if k < 1 or n % k:
            raise ValueError(f"tinydl.tf.split: dimension {axis} of size {n} does not split evenly into {k} parts")
        return T.split(x, k, axis=axis)
    sizes = list(shape_arg(num_or_size_splits))
    if sizes.count(-1) > 1:
        raise ValueError("tinydl.tf.split: at most one size may be -1")
    if -1 in sizes:
        sizes[sizes.index(-1)] = n - (builtins.sum(sizes) + 1)
    if builtins.sum(sizes) != n or builtins.min(sizes) < 0:
        raise ValueError(f"tinydl.tf.split: sizes {sizes} do not add up to dimension {axis} of size {n}")
    return T.split(x, list(np.cumsum(sizes)[:-1]), axis=axis)


def gather(params, indices, validate_indices=None, axis=None, batch_dims=0, name=None):
    """``tf.gather``: slices of ``params`` at ``indices`` along ``axis`` (default 0)."""
    if batch_dims:
        raise NotImplementedError("tinydl.tf.gather: batch_dims is not supported")
    x = to_tensor(params)
    idx = to_array(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"tinydl.tf.gather: indices must be integers, got {idx.dtype}")
    axis = 0 if axis is None else int(axis) % x.ndim
    if idx.size and (idx.min() < 0 or idx.max() >= x.shape[axis]):
        raise IndexError(f"tinydl.tf.gather: indices must be in [0, {x.shape[axis]}), got "
                         f"[{idx.min()}, {idx.max()}]")
    return T.getitem(x, (slice(None),) * axis + (idx,))


def gather_nd(params, indices, batch_dims=0, name=None):
    if batch_dims:
        raise NotImplementedError("tinydl.tf.gather_nd: batch_dims is not supported")
    x, idx = to_tensor(params), to_array(indices)
    return T.getitem(x, tuple(np.moveaxis(idx, -1, 0)))


def where(condition, x=None, y=None, name=None):
    """``tf.where(c)``: int64 coordinates (n, rank) of the true elements; ``tf.where(c, x, y)``:
    elements of x where c, else of y (broadcasting)."""
    c = to_array(condition).astype(bool)
    if x is None and y is None:
        return Tensor(np.argwhere(c).astype(np.int64))
    if x is None or y is None:
        raise ValueError("tinydl.tf.where: give both x and y, or neither")
    x, y = pair(x, y)
    return T.where(c, x, y)


def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None):
    idx = to_array(indices)
    d = as_dtype(dtype) or (to_array(on_value).dtype if on_value is not None else np.dtype(np.float32))
    on = 1 if on_value is None else on_value
    off = 0 if off_value is None else off_value
    hot = idx[..., None] == np.arange(int(depth))  # out-of-range (e.g. -1) rows are all off
    out = np.where(hot, on, off).astype(d)
    if axis is not None and axis != -1:
        out = np.moveaxis(out, -1, axis)
    return Tensor(out)


# ---- arithmetic -------------------------------------------------------------------------------------


def add(x, y, name=None): return T.add(*pair(x, y))
def subtract(x, y, name=None): return T.sub(*pair(x, y))
def multiply(x, y, name=None): return T.mul(*pair(x, y))
def divide(x, y, name=None): return T.div(*pair(x, y))
def maximum(x, y, name=None): return T.maximum(*pair(x, y))
def minimum(x, y, name=None): return T.minimum(*pair(x, y))
def pow(x, y, name=None): return T.pow(*pair(x, y))  # noqa: A001
def negative(x, name=None): return T.neg(to_tensor(x))
def square(x, name=None): x = to_tensor(x); return T.mul(x, x)
def sqrt(x, name=None): return T.sqrt(to_tensor(x))
def exp(x, name=None): return T.exp(to_tensor(x))
def abs(x, name=None): return T.abs(to_tensor(x))  # noqa: A001
def sigmoid(x, name=None): return T.sigmoid(to_tensor(x))
def tanh(x, name=None): return T.tanh(to_tensor(x))


def log(x, name=None):
    return T.log(to_tensor(x))


def add_n(inputs, name=None):
    out = to_tensor(inputs[0])
    for v in inputs[1:]:
        out = T.add(out, to_tensor(v))
    return out


def clip_by_value(t, clip_value_min, clip_value_max, name=None):
    t = to_tensor(t)
    return T.clip(t, float(to_array(clip_value_min)), float(to_array(clip_value_max)))


def matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False, name=None):
    a, b = pair(a, b)
    if transpose_a or adjoint_a:
        a = T.swapaxes(a, -1, -2)
    if transpose_b or adjoint_b:
        b = T.swapaxes(b, -1, -2)
    return T.matmul(a, b)


def _compare(fn):
    def compare(x, y, name=None):
        a, b = pair(x, y)
        return Tensor(fn(a.data, b.data))
    return compare


equal, not_equal = _compare(np.equal), _compare(np.not_equal)
less, less_equal = _compare(np.less), _compare(np.less_equal)
greater, greater_equal = _compare(np.greater), _compare(np.greater_equal)


def logical_and(x, y, name=None): return Tensor(np.logical_and(to_array(x), to_array(y)))
def logical_or(x, y, name=None): return Tensor(np.logical_or(to_array(x), to_array(y)))
def logical_not(x, name=None): return Tensor(np.logical_not(to_array(x)))
def round(x, name=None): return Tensor(np.round(to_array(x)))  # noqa: A001 - half to even, as TF
def sign(x, name=None): return Tensor(np.sign(to_array(x)))
def floor(x, name=None): return Tensor(np.floor(to_array(x)))
def ceil(x, name=None): return Tensor(np.ceil(to_array(x)))


# ---- reductions -------------------------------------------------------------------------------------


def reduce_sum(input_tensor, axis=None, keepdims=False, name=None):
    return T.sum(to_tensor(input_tensor), axis=axis_arg(axis), keepdims=keepdims)


def reduce_mean(input_tensor, axis=None, keepdims=False, name=None):
    x = to_tensor(input_tensor)
    if x.dtype.kind in "iu":  # TF's integer mean is an integer (the quotient truncated toward zero)
        return Tensor(np.trunc(np.mean(x.data, axis=axis_arg(axis), keepdims=keepdims)).astype(x.dtype))
    return T.mean(x, axis=axis_arg(axis), keepdims=keepdims)


def reduce_max(input_tensor, axis=None, keepdims=False, name=None):
    return T.max(to_tensor(input_tensor), axis=axis_arg(axis), keepdims=keepdims)


def reduce_min(input_tensor, axis=None, keepdims=False, name=None):
    return T.min(to_tensor(input_tensor), axis=axis_arg(axis), keepdims=keepdims)


def reduce_prod(input_tensor, axis=None, keepdims=False, name=None):
    """Product along ``axis``: the slices multiplied one by one (exact, differentiable at zeros)."""
    x = to_tensor(input_tensor)
    axes = axis_arg(axis)
    axes = tuple(builtins.range(x.ndim)) if axes is None else ((axes,) if isinstance(axes, int) else axes)
    axes = sorted({a % x.ndim for a in axes}, reverse=True)
    out = x
    for ax in axes:
        parts = unstack(out, axis=ax)
        acc = parts[0] if parts else Tensor(np.ones(out.shape[:ax] + out.shape[ax + 1:], out.dtype))
        for p in parts[1:]:
            acc = T.mul(acc, p)
        out = T.unsqueeze(acc, ax) if keepdims else acc
    return out


def reduce_any(input_tensor, axis=None, keepdims=False, name=None):
    return Tensor(np.any(to_array(input_tensor), axis=axis_arg(axis), keepdims=keepdims))


def reduce_all(input_tensor, axis=None, keepdims=False, name=None):
    return Tensor(np.all(to_array(input_tensor), axis=axis_arg(axis), keepdims=keepdims))


def reduce_logsumexp(input_tensor, axis=None, keepdims=False, name=None):
    return T.logsumexp(to_tensor(input_tensor), axis=axis_arg(axis), keepdims=keepdims)


def reduce_variance(input_tensor, axis=None, keepdims=False, name=None):
    return T.var(to_tensor(input_tensor), axis=axis_arg(axis), keepdims=keepdims)


def reduce_std(input_tensor, axis=None, keepdims=False, name=None):
    return T.sqrt(reduce_variance(input_tensor, axis, keepdims))


def argmax(input, axis=None, output_type="int64", name=None):  # noqa: A002
    """``tf.argmax``: ``axis=None`` means axis 0 (not the flattened tensor, as NumPy/PyTorch)."""
    a = to_array(input)
    return Tensor(np.argmax(a, axis=0 if axis is None else int(axis_arg(axis))).astype(as_dtype(output_type)))


def argmin(input, axis=None, output_type="int64", name=None):  # noqa: A002
    a = to_array(input)
    return Tensor(np.argmin(a, axis=0 if axis is None else int(axis_arg(axis))).astype(as_dtype(output_type)))
