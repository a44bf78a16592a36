"""Reductions, and the stable softmax family."""
import numpy as np

from ..autograd import Function, is_tensor, math_of
from ...backends import get_array_module


def normalize_axis(axis, ndim, op=None):
    """axis (None, int or tuple) as a sorted tuple of non-negative ints; out-of-range axes raise
    (naming ``op``), never wrap around."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for ax in axes:
        if isinstance(ax, bool) or not isinstance(ax, (int, np.integer)) or not -ndim <= ax < max(ndim, 1):
            raise ValueError(f"{op + ': ' if op else ''}axis {ax!r} is out of range for a tensor with "
                             f"{ndim} dimensions (valid: {-max(ndim, 1)} to {max(ndim, 1) - 1})")
        out.append(ax % max(ndim, 1))
    return tuple(sorted(set(out)))


def _expand_reduced(g, shape, axes, keepdims):
    """Reshape a reduced gradient so it broadcasts against the input again."""
    if keepdims:
        return g
    kept = [1 if i in axes else n for i, n in enumerate(shape)]
    return g.reshape(kept)


class Sum(Function):
    once_differentiable = False
    linear = True

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, a):
        self.shape, self.axes = a.shape, normalize_axis(self.axis, a.ndim, type(self).__name__)
        return a.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, g):
        g = _expand_reduced(g, self.shape, self.axes, self.keepdims)
        return math_of(g).broadcast_to(g, self.shape)


class Mean(Sum):
    def forward(self, a):
        out = super().forward(a)
        self.count = 1
        for ax in self.axes:
            self.count *= a.shape[ax]
        out = out / self.count
        return out if a.dtype.kind == "f" else out.astype("float32")

    def backward(self, g):
        return super().backward(g / self.count)


class Max(Function):
    """Max over axes. Ties split the gradient equally among the maximal elements."""

    pick = "max"
    once_differentiable = False

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, a):
        self.shape, self.axes = a.shape, normalize_axis(self.axis, a.ndim, type(self).__name__)
        if a.size == 0:
            raise ValueError(f"{self.pick}: cannot reduce an empty tensor of shape {a.shape}")
        out = getattr(a, self.pick)(axis=self.axes, keepdims=True)
        self.mask = a == out
        return out if self.keepdims else out.reshape(
            [n for i, n in enumerate(a.shape) if i not in self.axes])

    def jvp(self, t):  # the tangent of the (tie-averaged) picked elements
        count = self.mask.sum(axis=self.axes, keepdims=True)
        return (t * (self.mask / count)).sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, g):
        g = _expand_reduced(g, self.shape, self.axes, self.keepdims)
        count = self.mask.sum(axis=self.axes, keepdims=True)
        return g * (self.mask / count)


class Min(Max):
    """Min over axes. Ties split the gradient equally among the minimal elements."""

    pick = "min"


class Var(Function):
    """Variance with ``ddof`` (0 = population, as NumPy's default)."""

    once_differentiable = False

    def __init__(self, axis=None, keepdims=False, ddof=0):
        self.axis, self.keepdims, self.ddof = axis, keepdims, ddof

    def forward(self, a):
        self.shape, self.axes = a.shape, normalize_axis(self.axis, a.ndim, type(self).__name__)
        n = 1
        for ax in self.axes:
            n *= a.shape[ax]
        # ddof >= n leaves no degrees of freedom: divide by 0 (inf, or NaN for 0/0), as NumPy and
        # PyTorch do, never by a negative count (a negative "variance")
        self.denom = max(n - self.ddof, 0)
        self.save_for_backward(a)
        self.centered = a - a.mean(axis=self.axes, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self.centered ** 2).sum(axis=self.axes, keepdims=self.keepdims) / self.denom

    def _scale(self):
        return 2 / self.denom if self.denom else float("inf")

    def jvp(self, t):
        return (self.centered * t).sum(axis=self.axes, keepdims=self.keepdims) * self._scale()

    def backward(self, g):
        a, = self.saved_tensors
        centered = a - a.mean(axis=self.axes, keepdims=True) if is_tensor(a) else self.centered
        g = _expand_reduced(g, self.shape, self.axes, self.keepdims)
        return g * self._scale() * centered


class LogSumExp(Function):
    """log(sum(exp(a))) computed as m + log(sum(exp(a - m))): finite for any finite input."""

    once_differentiable = False

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, a):
        xp = get_array_module(a)
        self.shape, self.axes = a.shape, normalize_axis(self.axis, a.ndim, type(self).__name__)
        m = a.max(axis=self.axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)  # all -inf rows stay -inf instead of NaN
        e = xp.exp(a - m)
        s = e.sum(axis=self.axes, keepdims=True)
        self.softmax = e / s
        out = m + xp.log(s)
        out = out if self.keepdims else out.reshape(
            [n for i, n in enumerate(a.shape) if i not in self.axes])
        self.save_for_backward(a, out)
        return out

    def jvp(self, t):
        return (self.softmax * t).sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, g):
        a, out = self.saved_tensors
        softmax = self.softmax
        if is_tensor(g):  # softmax = exp(a - lse), differentiable through a and the output
            softmax = math_of(g).exp(a - _expand_reduced(out, self.shape, self.axes, self.keepdims))
        return _expand_reduced(g, self.shape, self.axes, self.keepdims) * softmax


class Softmax(Function):
    """exp(a - max) / sum: stable for logits of any size; masked entries may be -inf."""

    once_differentiable = False

    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, a):
        xp = get_array_module(a)
        normalize_axis(self.axis, a.ndim, "softmax")
        if a.size == 0:  # nothing to normalize (an empty batch or an empty axis)
            out = xp.zeros_like(a)
            self.save_for_backward(out)
            return out
        m = a.max(axis=self.axis, keepdims=True)
        e = xp.exp(a - xp.where(xp.isfinite(m), m, 0))
        out = e / e.sum(axis=self.axis, keepdims=True)
        self.save_for_backward(out)
        return out

    def jvp(self, t):
        y, = self.saved_tensors
        return y * (t - (t * y).sum(axis=self.axis, keepdims=True))  # the Jacobian is symmetric

    def backward(self, g):
        y, = self.saved_tensors
        return y * (g - (g * y).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    """a - logsumexp(a): stable for logits of +-1e4."""

    once_differentiable = False

    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, a):
        xp = get_array_module(a)
        normalize_axis(self.axis, a.ndim, "log_softmax")
        if a.size == 0:
            out = xp.zeros_like(a)
            self.save_for_backward(out)
            return out
        m = a.max(axis=self.axis, keepdims=True)
        shifted = a - xp.where(xp.isfinite(m), m, 0)
        out = shifted - xp.log(xp.exp(shifted).sum(axis=self.axis, keepdims=True))
        self.save_for_backward(out)
        return out

    def jvp(self, t):
        out, = self.saved_tensors
        return t - (math_of(t).exp(out) * t).sum(axis=self.axis, keepdims=True)

    def backward(self, g):
        out, = self.saved_tensors
        return g - math_of(g).exp(out) * g.sum(axis=self.axis, keepdims=True)
