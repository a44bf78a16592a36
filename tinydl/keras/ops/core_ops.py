"""``keras.ops``'s core and math groups: conversion, casting, slicing, scatter, control flow,
``top_k``, ``erf``, ``rsqrt`` and ``segment_sum``."""
import builtins

import numpy as np

from ...core import functional as T
from ...core.ops import gather as G
from ...core.ops import shape as S
from ...core.tensor import Tensor
from . import dtypes as D
from .dtypes import check_concrete, shape_tuple, standardize_dtype, tensor
from .numpy_math import float_input


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    if sparse or ragged:
        raise NotImplementedError("tinydl.keras.ops.convert_to_tensor: sparse and ragged tensors are not implemented")
    return tensor(x, None if dtype is None else standardize_dtype(dtype), who="convert_to_tensor")


def convert_to_numpy(x):
    check_concrete(x, "convert_to_numpy")
    return np.array(x.data if isinstance(x, Tensor) else x)


def cast(x, dtype):
    return D.cast(tensor(x, who="cast"), dtype)


def stop_gradient(variable):
    return Tensor(tensor(variable, who="stop_gradient").data)


def is_tensor(x):
    return isinstance(x, Tensor)


def shape(x):
    """The shape as a tuple of ints (a symbolic KerasTensor's has None for the batch axis)."""
    from ..graph import KerasTensor
    return tuple(x.shape) if isinstance(x, KerasTensor) else tuple(tensor(x, who="shape").shape)


def dtype(x):
    """The dtype's Keras name ('float32', 'int32', ...), of a Tensor or a symbolic KerasTensor."""
    from ..graph import KerasTensor
    return standardize_dtype(x.dtype if isinstance(x, KerasTensor) else tensor(x, who="dtype").dtype)


def _box(inputs, start_indices, sizes, who):
    start = [int(s) for s in np.asarray(tensor(start_indices, who=who).data).reshape(-1)]
    if len(start) != inputs.ndim or len(sizes) != inputs.ndim:
        raise ValueError(f"keras.ops.{who}: start_indices and shape need one entry per axis of the "
                         f"{inputs.ndim}-d input, got {start} and {tuple(sizes)}")
    box = []
    for axis, (s, n, size) in enumerate(zip(start, sizes, inputs.shape)):
        n = size - s if n == -1 else n
        if s < 0 or n < 0 or s + n > size:
            raise ValueError(f"keras.ops.{who}: the slice [{s}, {s + n}) is out of bounds for axis {axis} of "
                             f"size {size}")
        box.append(builtins.slice(s, s + n))
    return tuple(box)


def slice(inputs, start_indices, shape):  # noqa: A001 - Keras's names
    """``inputs[start : start + shape]`` on every axis (a size of -1 runs to the end)."""
    x = tensor(inputs, who="slice")
    return T.getitem(x, _box(x, start_indices, shape_tuple(shape), "slice"))


def slice_update(inputs, start_indices, updates):
    """A copy of ``inputs`` with the box at ``start_indices`` replaced by ``updates`` (differentiable
    in both)."""
    x = tensor(inputs, who="slice_update")
    u = D.cast(tensor(updates, who="slice_update"), x.dtype.name)
    return S.SetItem.apply(x, u, index=_box(x, start_indices, u.shape, "slice_update"))


def scatter(indices, values, shape):
    """zeros(shape) with ``values`` added at ``indices`` (rows of coordinates; duplicates add up)."""
    idx = tensor(indices, who="scatter").data.astype(np.int64)
    v = tensor(values, who="scatter")
    shape = shape_tuple(shape)
    index = tuple(np.moveaxis(idx, -1, 0))
    if v.dtype.kind == "f":
        return S.ScatterAdd.apply(v, index=index, shape=shape)
    out = np.zeros(shape, v.dtype)
    np.add.at(out, index, v.data)
    return Tensor(out)


def cond(pred, true_fn, false_fn):
    return true_fn() if bool(np.asarray(tensor(pred, who="cond").data)) else false_fn()


def fori_loop(lower, upper, body_fun, init_val):
    val = init_val
    for i in range(int(tensor(lower, who="fori_loop").data), int(tensor(upper, who="fori_loop").data)):
        val = body_fun(i, val)
    return val


# ---- math ----------------------------------------------------------------------------------------


def top_k(x, k, sorted=True):  # noqa: A002
    """(values, int32 indices) of the k largest entries along the last axis, largest first (ties:
    the lower index first)."""
    x = tensor(x, who="top_k")
    k = int(k)
    if not 0 <= k <= x.shape[-1]:
        raise ValueError(f"keras.ops.top_k: k={k} must be in [0, {x.shape[-1]}] (the last axis' size)")
    idx = np.argsort(-x.data if x.dtype.kind == "f" else -x.data.astype(np.int64), axis=-1, kind="stable")[..., :k]
    values = G.Gather.apply(x, dim=x.ndim - 1, index=idx) if x.dtype.kind == "f" else \
        Tensor(np.take_along_axis(x.data, idx, -1))
    return values, Tensor(idx.astype(np.int32))


def erf(x):
    return T.erf(float_input(x, "erf"))


def rsqrt(x):
    x = float_input(x, "rsqrt")
    return T.div(Tensor(np.ones((), x.dtype)), T.sqrt(x))


def segment_sum(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """Rows of ``data`` added up by segment id; ``num_segments`` defaults to the number of distinct ids."""
    x = tensor(data, who="segment_sum")
    ids = tensor(segment_ids, who="segment_sum").data.astype(np.int64).reshape(-1)
    if ids.shape[0] != x.shape[0]:
        raise ValueError(f"keras.ops.segment_sum: {ids.shape[0]} segment ids for {x.shape[0]} rows")
    if num_segments is None:
        num_segments = len(np.unique(ids))
    keep = (ids >= 0) & (ids < int(num_segments))  # ids out of range are dropped, as TensorFlow's
    shape = (int(num_segments),) + tuple(x.shape[1:])
    if x.dtype.kind == "f":
        rows = T.getitem(x, (np.nonzero(keep)[0],)) if not keep.all() else x
        return S.ScatterAdd.apply(rows, index=(ids[keep],), shape=shape)
    out = np.zeros(shape, x.dtype)
    np.add.at(out, ids[keep], x.data[keep])
    return Tensor(out)


__all__ = ["cast", "cond", "convert_to_numpy", "convert_to_tensor", "dtype", "erf", "fori_loop", "is_tensor",
           "rsqrt", "scatter", "segment_sum", "shape", "slice", "slice_update", "stop_gradient", "top_k"]
