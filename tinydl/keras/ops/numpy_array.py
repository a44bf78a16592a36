"""``keras.ops``'s NumPy group: creation, shape and indexing, with NumPy's arguments.

``split(x, indices_or_sections, axis=0)``, ``transpose(x, axes=None)``, ``repeat(x, repeats,
axis=None)`` (flattened when axis is None), ``tile(x, repeats)`` and ``take(x, indices,
axis=None)`` mean what they mean in NumPy. Creation functions default to floatx (float32);
``arange`` of Python ints is int32; ``concatenate``/``stack`` promote with ``result_type``.
"""
import builtins

import numpy as np

from ...core import functional as T
from ...core.ops import gather as G
from ...core.tensor import Tensor
from .dtypes import axes, cast, dtype_of, result_type, shape_tuple, standardize_dtype, tensor

# ---- creation ------------------------------------------------------------------------------------


def zeros(shape, dtype=None): return Tensor(np.zeros(shape_tuple(shape), standardize_dtype(dtype)))
def ones(shape, dtype=None): return Tensor(np.ones(shape_tuple(shape), standardize_dtype(dtype)))


def zeros_like(x, dtype=None):
    x = tensor(x, who="zeros_like")
    return Tensor(np.zeros(x.shape, x.dtype if dtype is None else standardize_dtype(dtype)))


def ones_like(x, dtype=None):
    x = tensor(x, who="ones_like")
    return Tensor(np.ones(x.shape, x.dtype if dtype is None else standardize_dtype(dtype)))


def full(shape, fill_value, dtype=None):
    value = tensor(fill_value, standardize_dtype(dtype), who="full").data
    return Tensor(np.broadcast_to(value, shape_tuple(shape)).copy())


def full_like(x, fill_value, dtype=None):
    x = tensor(x, who="full_like")
    d = x.dtype.name if dtype is None else standardize_dtype(dtype)
    return Tensor(np.broadcast_to(tensor(fill_value, d, who="full_like").data, x.shape).copy())


def arange(start, stop=None, step=None, dtype=None):
    """Python ints give int32, a Python float float32 (``result_type`` of the arguments)."""
    args = [v for v in (start, stop, step) if v is not None]
    d = result_type(*(dtype_of(v, "arange") for v in args)) if dtype is None else standardize_dtype(dtype)
    if stop is None:
        start, stop = 0, start
    values = [tensor(v, who="arange").data.item() for v in (start, stop, 1 if step is None else step)]
    return Tensor(np.arange(*values).astype(d))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    d = result_type(dtype_of(start, "linspace"), dtype_of(stop, "linspace"), float) if dtype is None \
        else standardize_dtype(dtype)
    a, b = (tensor(v, who="linspace").data.astype(np.float64) for v in (start, stop))
    out, step = np.linspace(a, b, int(num), endpoint=endpoint, retstep=True, axis=axis)
    out = Tensor(out.astype(d))
    return (out, Tensor(np.asarray(step, d))) if retstep else out


def eye(N, M=None, k=0, dtype=None):  # noqa: N803 - Keras's argument names
    return Tensor(np.eye(int(N), None if M is None else int(M), int(k), dtype=standardize_dtype(dtype)))


def identity(n, dtype=None):
    """The n x n identity matrix (NumPy's identity), floatx by default."""
    return eye(n, n, dtype=dtype)


def tri(N, M=None, k=0, dtype=None):  # noqa: N803
    return Tensor(np.tri(int(N), None if M is None else int(M), int(k), dtype=standardize_dtype(dtype)))


def _band(x, k, lower, who):
    x = tensor(x, who=who)
    if x.ndim < 2:
        raise ValueError(f"keras.ops.{who}: the input must have at least 2 dimensions, got shape {x.shape}")
    n, m = x.shape[-2:]
    keep = np.tri(n, m, int(k), dtype=bool) if lower else ~np.tri(n, m, int(k) - 1, dtype=bool)
    return T.where(np.broadcast_to(keep, x.shape), x, Tensor(np.zeros((), x.dtype)))


def tril(x, k=0): return _band(x, k, True, "tril")
def triu(x, k=0): return _band(x, k, False, "triu")


# ---- shape ---------------------------------------------------------------------------------------


def reshape(x, newshape):
    return T.reshape(tensor(x, who="reshape"), shape_tuple(newshape))


def transpose(x, axes=None):  # noqa: A002
    x = tensor(x, who="transpose")
    perm = tuple(builtins.range(x.ndim - 1, -1, -1)) if axes is None else tuple(int(a) % x.ndim for a in axes)
    if sorted(perm) != list(builtins.range(x.ndim)):
        raise ValueError(f"keras.ops.transpose: axes {axes} is not a permutation of the {x.ndim} axes")
    return T.transpose(x, perm)


def expand_dims(x, axis):
    x = tensor(x, who="expand_dims")
    new = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    ndim = x.ndim + len(new)
    new = sorted(int(a) % ndim for a in new)
    shape, it = [], iter(x.shape)
    for i in builtins.range(ndim):
        shape.append(1 if i in new else next(it))
    return T.reshape(x, tuple(shape))


def squeeze(x, axis=None):
    x = tensor(x, who="squeeze")
    ax = axes(axis, x.ndim)
    if ax is None:
        return T.reshape(x, tuple(d for d in x.shape if d != 1))
    for a in ax:
        if x.shape[a] != 1:
            raise ValueError(f"keras.ops.squeeze: cannot squeeze axis {a} of size {x.shape[a]} (shape {x.shape})")
    return T.reshape(x, tuple(d for i, d in enumerate(x.shape) if i not in ax))


def ravel(x): return T.reshape(tensor(x, who="ravel"), (-1,))
def broadcast_to(x, shape): return T.broadcast_to(tensor(x, who="broadcast_to"), shape_tuple(shape))


def moveaxis(x, source, destination):
    x = tensor(x, who="moveaxis")
    src = [int(a) % x.ndim for a in ((source,) if isinstance(source, (int, np.integer)) else source)]
    dst = [int(a) % x.ndim for a in ((destination,) if isinstance(destination, (int, np.integer)) else destination)]
    order = [i for i in builtins.range(x.ndim) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return T.transpose(x, tuple(order))


def swapaxes(x, axis1, axis2): return T.swapaxes(tensor(x, who="swapaxes"), int(axis1), int(axis2))


def _promoted(xs, who):
    ts = [tensor(v, who=who) for v in xs]
    d = result_type(*(t.dtype.name for t in ts)) if len({t.dtype for t in ts}) > 1 else ts[0].dtype.name
    return [cast(t, d) for t in ts]


def concatenate(xs, axis=0):
    if axis is None:
        raise ValueError("keras.ops.concatenate: axis=None is not supported (Keras's TensorFlow backend refuses it)")
    return T.concatenate(_promoted(xs, "concatenate"), axis=int(axis))


def stack(x, axis=0):
    return T.stack(_promoted(x, "stack"), axis=int(axis))


def hstack(xs):
    ts = _promoted(xs, "hstack")
    return T.concatenate(ts, axis=0 if ts[0].ndim == 1 else 1)


def vstack(xs):
    return T.concatenate(_promoted(xs, "vstack"), axis=0)


def unstack(x, num=None, axis=0):
    """The slices along ``axis`` as a list (``num``, when given, must equal the axis' size)."""
    x = tensor(x, who="unstack")
    axis = axes(axis, x.ndim)[0]
    n = x.shape[axis]
    if num is not None and int(num) != n:
        raise ValueError(f"keras.ops.unstack: num={num} but axis {axis} has size {n}")
    return [T.getitem(x, (slice(None),) * axis + (i,)) for i in builtins.range(n)]


def outer(x1, x2):
    a, b = tensor(x1, who="outer"), tensor(x2, who="outer")
    d = result_type(a.dtype.name, b.dtype.name)
    return T.mul(T.reshape(cast(a, d), (-1, 1)), T.reshape(cast(b, d), (1, -1)))


def copy(x):
    x = tensor(x, who="copy")
    return T.clone(x) if x.dtype.kind == "f" else Tensor(x.data.copy())


def split(x, indices_or_sections, axis=0):
    """NumPy's split: an int n gives n equal parts (else ValueError); a list gives the cut points
    (increasing, within the axis: negative or out-of-range cuts are refused, as by TensorFlow)."""
    x = tensor(x, who="split")
    if isinstance(indices_or_sections, (int, np.integer)):
        return T.split(x, int(indices_or_sections), axis=int(axis))
    n = x.shape[int(axis)]
    cuts = [int(i) for i in indices_or_sections]
    if builtins.any(c < 0 or c > n for c in cuts) or cuts != sorted(cuts):
        raise ValueError(f"keras.ops.split: indices must be increasing and in [0, {n}] (the TensorFlow backend "
                         f"refuses others), got {cuts}")
    return T.split(x, cuts, axis=int(axis))


def tile(x, repeats):
    """NumPy's tile: ``repeats`` is padded with ones on the left (or x gains leading axes)."""
    x = tensor(x, who="tile")
    reps = [int(repeats)] if isinstance(repeats, (int, np.integer)) else [int(r) for r in repeats]
    reps = [1] * (x.ndim - len(reps)) + reps
    x = T.reshape(x, (1,) * (len(reps) - x.ndim) + x.shape)
    inter = builtins.sum(((1, d) for d in x.shape), ())
    big = builtins.sum(((k, d) for k, d in zip(reps, x.shape)), ())
    return T.reshape(T.broadcast_to(T.reshape(x, inter), big), tuple(k * d for k, d in zip(reps, x.shape)))


def repeat(x, repeats, axis=None):
    """NumPy's repeat: each element ``repeats`` times (an int, or one count per element) along
    ``axis``; the flattened tensor when axis is None."""
    x = tensor(x, who="repeat")
    if axis is None:
        x, axis = T.reshape(x, (-1,)), 0
    axis = axes(axis, x.ndim)[0]
    counts = np.broadcast_to(np.asarray(tensor(repeats, who="repeat").data, dtype=np.int64), (x.shape[axis],))
    return T.getitem(x, (slice(None),) * axis + (np.repeat(np.arange(x.shape[axis]), counts),))


def _indices(indices, who):
    idx = tensor(indices, who=who).data
    if idx.dtype.kind not in "iu":
        raise TypeError(f"keras.ops.{who}: indices must be integers, got {idx.dtype}")
    return idx.astype(np.int64)


def take(x, indices, axis=None):
    """Elements (axis None: of the flattened tensor) at ``indices``; negative indices count from the end."""
    x = tensor(x, who="take")
    idx = _indices(indices, "take")
    if axis is None:
        x, axis = T.reshape(x, (-1,)), 0
    axis = axes(axis, x.ndim)[0]
    n = x.shape[axis]
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"keras.ops.take: indices must be in [-{n}, {n}), got [{idx.min()}, {idx.max()}]")
    return T.getitem(x, (slice(None),) * axis + (np.where(idx < 0, idx + n, idx),))


def take_along_axis(x, indices, axis=None):
    x = tensor(x, who="take_along_axis")
    idx = _indices(indices, "take_along_axis")
    if axis is None:
        x, axis = T.reshape(x, (-1,)), 0
    axis = axes(axis, x.ndim)[0]
    idx = np.where(idx < 0, idx + x.shape[axis], idx)
    shape = list(np.broadcast_shapes(tuple(1 if i == axis else d for i, d in enumerate(x.shape)),
                                     tuple(1 if i == axis else d for i, d in enumerate(idx.shape))))
    xs, ids = list(shape), list(shape)
    xs[axis], ids[axis] = x.shape[axis], idx.shape[axis]
    x = T.broadcast_to(x, tuple(xs))
    return G.Gather.apply(x, dim=axis, index=np.broadcast_to(idx, tuple(ids)))


def flip(x, axis=None):
    x = tensor(x, who="flip")
    ax = axes(axis, x.ndim)
    ax = builtins.range(x.ndim) if ax is None else ax
    return T.getitem(x, tuple(slice(None, None, -1) if i in ax else slice(None) for i in builtins.range(x.ndim)))


def roll(x, shift, axis=None):
    x = tensor(x, who="roll")
    if axis is None:
        return T.reshape(roll(T.reshape(x, (-1,)), shift, 0), x.shape)
    shifts = (shift,) if isinstance(shift, (int, np.integer)) else tuple(shift)
    ax = axes(axis, x.ndim)
    shifts = shifts * len(ax) if len(shifts) == 1 else shifts
    out = x
    for s, a in zip(shifts, ax):
        n = x.shape[a]
        if n:
            out = T.getitem(out, (slice(None),) * a + ((np.arange(n) - int(s)) % n,))
    return out


def pad(x, pad_width, mode="constant", constant_values=None):
    x = tensor(x, who="pad")
    if mode != "constant":
        raise NotImplementedError(f"tinydl.keras.ops.pad: mode={mode!r} is not implemented (only 'constant')")
    widths = np.asarray(pad_width, dtype=np.int64)
    if widths.shape != (x.ndim, 2):  # the TensorFlow backend takes one (before, after) pair per axis
        raise ValueError(f"keras.ops.pad: pad_width must have one (before, after) pair per axis, shape "
                         f"({x.ndim}, 2), got shape {widths.shape}")
    return T.pad(x, tuple(tuple(int(v) for v in w) for w in widths),
                 value=0 if constant_values is None else constant_values)


def size(x):
    return Tensor(np.asarray(tensor(x, who="size").data.size, dtype=np.int32))


def ndim(x):
    return tensor(x, who="ndim").ndim


__all__ = ["copy", "hstack", "identity", "outer", "unstack", "vstack",
           "arange", "broadcast_to", "concatenate", "expand_dims", "eye", "flip", "full", "full_like", "linspace",
           "moveaxis", "ndim", "ones", "ones_like", "pad", "ravel", "repeat", "reshape", "roll", "size", "split",
           "squeeze", "stack", "swapaxes", "take", "take_along_axis", "tile", "transpose", "tri", "tril", "triu",
           "zeros", "zeros_like"]
