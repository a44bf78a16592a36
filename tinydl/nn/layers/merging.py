"""Keras's merge layers: Concatenate, Add, Subtract, Multiply, Average, Maximum, Minimum, Dot,
called on a list of tensors (their functional spellings are in ``tinydl.keras.layers``)."""
import functools

from ...core import functional as T
from .. import validation as V
from .base import Layer


class _Merge(Layer):
    """Base of the merge layers: called on a list of at least 2 tensors of compatible shapes."""
    exactly = None

    def forward(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(f"{V.owner(self)}: expects a list of at least 2 inputs, got {type(inputs).__name__}"
                             + (f" of length {len(inputs)}" if isinstance(inputs, (list, tuple)) else ""))
        if self.exactly is not None and len(inputs) != self.exactly:
            raise ValueError(f"{V.owner(self)}: expects exactly {self.exactly} inputs, got {len(inputs)}")
        xs = [T._t(x) for x in inputs]
        shapes = [tuple(x.shape) for x in xs]
        self._check(shapes)
        return self._merge(xs)

    def _check(self, shapes):
        if any(s != shapes[0] for s in shapes):
            raise ValueError(f"{V.owner(self)}: all inputs must have the same shape, got {shapes}")


class Concatenate(_Merge):
    """``Concatenate(axis=-1)``: shapes must agree except along ``axis``."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = V.axis(V.owner(self), axis)

    def _check(self, shapes):
        nd = len(shapes[0])
        if any(len(s) != nd for s in shapes) or not -nd <= self.axis < nd:
            raise ValueError(f"{V.owner(self)}: cannot concatenate shapes {shapes} along axis {self.axis}")
        ax = self.axis % nd
        if any(s[:ax] + s[ax + 1:] != shapes[0][:ax] + shapes[0][ax + 1:] for s in shapes):
            raise ValueError(f"{V.owner(self)}: inputs must match except on axis {self.axis}, got {shapes}")

    def _merge(self, xs):
        return T.concatenate(xs, axis=self.axis)


class Add(_Merge):
    def _merge(self, xs):
        return functools.reduce(T.add, xs)


class Subtract(_Merge):
    exactly = 2

    def _merge(self, xs):
        return xs[0] - xs[1]


class Multiply(_Merge):
    def _merge(self, xs):
        return functools.reduce(T.mul, xs)


class Average(_Merge):
    def _merge(self, xs):
        return functools.reduce(T.add, xs) * (1.0 / len(xs))


class Maximum(_Merge):
    def _merge(self, xs):
        return functools.reduce(T.maximum, xs)


class Minimum(_Merge):
    def _merge(self, xs):
        return functools.reduce(T.minimum, xs)


class Dot(_Merge):
    """``Dot(axes, normalize=False)``: the dot product of two tensors along ``axes`` (an int or a
    pair, counted with the batch axis, as Keras); ``normalize`` L2-normalizes both along those
    axes first (cosine proximity). (N, d) . (N, d) gives (N, 1)."""
    exactly = 2

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        who = V.owner(self)
        if V._is_int(axes):
            axes = (int(axes), int(axes))
        if not (isinstance(axes, (tuple, list)) and len(axes) == 2 and all(V._is_int(a) for a in axes)):
            raise ValueError(f"{who}: axes must be an int or a pair of ints, got {axes!r}")
        self.axes = tuple(int(a) for a in axes)
        self.normalize = V.boolean(who, "normalize", normalize)

    def _check(self, shapes):
        a, b = shapes
        if len(a) not in (2, 3) or len(b) not in (2, 3):
            raise NotImplementedError(f"{V.owner(self)}: inputs of rank 2 or 3 are supported, got shapes {shapes}")
        ax = [self.axes[0] % len(a), self.axes[1] % len(b)]
        if 0 in ax or a[ax[0]] != b[ax[1]] or a[0] != b[0]:
            raise ValueError(f"{V.owner(self)}: cannot take the dot product of shapes {a} and {b} along axes "
                             f"{self.axes}")

    def _merge(self, xs):
        a, b = xs
        ax = [self.axes[0] % a.ndim, self.axes[1] % b.ndim]
        if self.normalize:
            a = a / T.sqrt(T.maximum(T.sum(a * a, axis=ax[0], keepdims=True), 1e-12))
            b = b / T.sqrt(T.maximum(T.sum(b * b, axis=ax[1], keepdims=True), 1e-12))
        # bring the contracted axis last on a and first (after batch) on b, then a batched matmul
        if a.ndim == 2:
            a = T.unsqueeze(a, 1)           # (N, 1, d)
        elif ax[0] == 1:
            a = T.transpose(a, (0, 2, 1))
        if b.ndim == 2:
            b = T.unsqueeze(b, 2)           # (N, d, 1)
        elif ax[1] == 2:
            b = T.transpose(b, (0, 2, 1))
        out = T.matmul(a, b)
        # drop the axes that came from rank-2 inputs; Keras keeps (N, 1) for two vectors
        if xs[0].ndim == 2 and xs[1].ndim == 2:
            return T.reshape(out, (out.shape[0], 1))
        if xs[0].ndim == 2:
            return T.reshape(out, (out.shape[0], out.shape[2]))
        if xs[1].ndim == 2:
            return T.reshape(out, (out.shape[0], out.shape[1]))
        return out
