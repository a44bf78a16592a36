"""Ops that move elements around without arithmetic."""
import itertools

import numpy as np

from ..autograd import Function, is_tensor, math_of
from ...backends import get_array_module


class Reshape(Function):
    once_differentiable = False
    linear = True
    is_view = True

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, a):
        self.in_shape = a.shape
        try:
            return a.reshape(self.shape)
        except ValueError:
            raise ValueError(
                f"reshape: cannot reshape a tensor of shape {a.shape} ({a.size} elements) "
                f"into shape {self.shape}") from None

    def backward(self, g):
        return g.reshape(self.in_shape)


class Transpose(Function):
    """Permute axes (reversed when ``axes`` is None)."""

    once_differentiable = False
    linear = True
    is_view = True

    def __init__(self, axes=None):
        self.axes = None if axes is None else tuple(axes)

    def forward(self, a):
        axes = self.axes if self.axes is not None else tuple(reversed(range(a.ndim)))
        perm = tuple(check_axis("transpose", ax, a.ndim) for ax in axes)
        if sorted(perm) != list(range(a.ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of a {a.ndim}-d tensor's axes")
        self.perm = perm
        return a.transpose(self.perm)

    def backward(self, g):
        inverse = [0] * len(self.perm)
        for i, p in enumerate(self.perm):
            inverse[p] = i
        return math_of(g).transpose(g, inverse)


class BroadcastTo(Function):
    """Expand to ``shape`` by NumPy's broadcasting; the gradient sums back (in the base class)."""

    once_differentiable = False
    linear = True
    is_view = True

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, a):
        try:
            return get_array_module(a).broadcast_to(a, self.shape)
        except ValueError:
            raise ValueError(f"broadcast_to: cannot broadcast shape {a.shape} to {self.shape}") from None

    def backward(self, g):
        return g


def check_axis(op, axis, ndim, extra=0):
    """``axis`` as a non-negative int; out of ``[-(ndim + extra), ndim + extra)`` raises naming
    ``op`` (``extra=1`` for an axis to insert, as unsqueeze and stack take)."""
    n = ndim + extra
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not -max(n, 1) <= axis < max(n, 1):
        raise ValueError(f"{op}: axis {axis!r} is out of range for a tensor with {ndim} dimensions "
                         f"(valid: {-max(n, 1)} to {max(n, 1) - 1})")
    return int(axis) % max(n, 1)


def _has_advanced(index):
    items = index if isinstance(index, tuple) else (index,)
    return any(not (i is None or i is Ellipsis or isinstance(i, (int, slice))) for i in items)


class GetItem(Function):
    """a[index] for slices, ints, None, Ellipsis, integer arrays and boolean masks.

    The gradient scatter-adds into a zero array, so repeated integer indices accumulate.
    """

    once_differentiable = False
    linear = True
    is_view = True  # basic indexing gives a view; advanced indexing a copy (checked per call)

    def __init__(self, index):
        self.index = index

    def forward(self, a):
        self.shape, self.dtype = a.shape, a.dtype
        try:
            return a[self.index]
        except IndexError as e:
            raise IndexError(f"getitem: index {self.index!r} is invalid for shape {a.shape}: {e}") from None

    def backward(self, g):
        if is_tensor(g):
            return ScatterAdd.apply(g, index=self.index, shape=self.shape)
        return scatter_add(g, self.index, self.shape)


def scatter_add(g, index, shape):
    """zeros(shape) with g added at a[index] (repeated indices accumulate)."""
    xp = get_array_module(g)
    out = xp.zeros(shape, dtype=g.dtype)
    if _has_advanced(index):
        xp.add.at(out, index, g)  # repeated indices accumulate
    else:
        out[index] = g  # basic indexing never repeats an element
    return out


class ScatterAdd(Function):
    """GetItem's gradient as an op (graph mode): zeros(shape) with g added at [index]."""

    once_differentiable = False
    linear = True

    def __init__(self, index, shape):
        self.index, self.shape = index, shape

    def forward(self, g):
        return scatter_add(g, self.index, self.shape)

    def backward(self, gg):
        return gg[self.index]


class SetItem(Function):
    """a with a[index] = value, out of place (``Tensor.__setitem__`` writes it back in place)."""

    once_differentiable = False
    linear = True

    def __init__(self, index):
        self.index = index

    def forward(self, a, value):
        out = a.copy()
        try:
            out[self.index] = value
        except (IndexError, ValueError) as e:
            raise type(e)(f"__setitem__: cannot set index {self.index!r} of a tensor of shape {a.shape} "
                          f"to a value of shape {value.shape}: {e}") from None
        return out

    def backward(self, g):
        ga = gv = None
        if self.needs_grad[0]:
            ga = SetItem.apply(g, 0.0, index=self.index) if is_tensor(g) else g.copy()
            if not is_tensor(g):
                ga[self.index] = 0
        if self.needs_grad[1]:
            gv = g[self.index]
        return ga, gv


class Clone(Function):
    """A copy of the data; the gradient passes unchanged."""

    once_differentiable = False
    elementwise = True

    def forward(self, a):
        return a.copy()

    def backward(self, g):
        return g


class Concatenate(Function):
    once_differentiable = False
    linear = True

    def __init__(self, axis=0):
        self.axis = axis

    def forward(self, *arrays):
        xp = get_array_module(*arrays)
        if not arrays:
            raise ValueError("concatenate: needs at least one tensor")
        check_axis("concatenate", self.axis, arrays[0].ndim)
        self.sizes = [a.shape[self.axis] for a in arrays]
        try:
            return xp.concatenate(arrays, axis=self.axis)
        except ValueError as e:
            raise ValueError(
                f"concatenate: shapes {[a.shape for a in arrays]} do not match "
                f"outside axis {self.axis}: {e}") from None

    def backward(self, g):
        bounds = list(itertools.accumulate(self.sizes))[:-1]
        return tuple(math_of(g).split(g, bounds, axis=self.axis))


class Stack(Function):
    once_differentiable = False
    linear = True

    def __init__(self, axis=0):
        self.axis = axis

    def forward(self, *arrays):
        if not arrays:
            raise ValueError("stack: needs at least one tensor")
        check_axis("stack", self.axis, arrays[0].ndim, extra=1)
        shapes = {a.shape for a in arrays}
        if len(shapes) > 1:
            raise ValueError(f"stack: all inputs must have the same shape, got {[a.shape for a in arrays]}")
        self.n = len(arrays)
        return get_array_module(*arrays).stack(arrays, axis=self.axis)

    def backward(self, g):
        lead = (slice(None),) * (self.axis % g.ndim)
        return tuple(g[lead + (i,)] for i in range(self.n))


class Pad(Function):
    """Constant padding; ``pad_width`` as for numpy.pad, one (before, after) pair per axis."""

    once_differentiable = False

    def __init__(self, pad_width, value=0.0):
        self.pad_width, self.value = pad_width, value

    def forward(self, a):
        xp = get_array_module(a)
        pw = np.asarray(self.pad_width, dtype=np.int64).reshape(-1, 2) if a.ndim else np.zeros((0, 2), np.int64)
        self.width = [tuple(p) for p in np.broadcast_to(pw, (a.ndim, 2)).tolist()]
        return xp.pad(a, self.width, mode="constant", constant_values=self.value)

    def jvp(self, t):  # padding is constant: its tangent is 0
        return Pad(self.pad_width, 0.0).forward(t)

    def backward(self, g):
        return g[tuple(slice(lo, g.shape[i] - hi) for i, (lo, hi) in enumerate(self.width))]
