"""Arithmetic with broadcasting. The base class undoes broadcasting in the gradients.

Each backward runs on arrays (the fast path) or on Tensors (``create_graph=True``): saved values
come from ``self.saved_tensors`` and the math is operators and ``math_of(g)``.
"""
import numpy as np

from .. import dtypes
from ..autograd import Function, math_of
from ...backends import get_array_module


def _check_broadcast(name, a, b):
    """Raise unless the shapes broadcast; returns the operands cast by PyTorch's kind rule."""
    try:
        get_array_module(a).broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"{name}: shapes {a.shape} and {b.shape} do not broadcast") from None
    return dtypes.promote(a, b)


class Add(Function):
    once_differentiable = False
    elementwise = True

    def forward(self, a, b):
        a, b = _check_broadcast("add", a, b)
        return a + b

    def backward(self, g):
        return g, g


class Sub(Function):
    once_differentiable = False
    elementwise = True

    def forward(self, a, b):
        a, b = _check_broadcast("sub", a, b)
        return a - b

    def backward(self, g):
        return g, -g


class Mul(Function):
    once_differentiable = False
    elementwise = True

    def forward(self, a, b):
        a, b = _check_broadcast("mul", a, b)
        self.save_for_backward(a, b)
        return a * b

    def backward(self, g):
        a, b = self.saved_tensors
        return (g * b if self.needs_grad[0] else None), (g * a if self.needs_grad[1] else None)


class Div(Function):
    once_differentiable = False
    elementwise = True

    def forward(self, a, b):
        a, b = _check_broadcast("div", a, b)
        if a.dtype.kind in "biu" and b.dtype.kind in "biu":  # true division: the default float dtype
            a, b = a.astype(dtypes.DEFAULT_FLOAT), b.astype(dtypes.DEFAULT_FLOAT)
        self.save_for_backward(a, b)
        return a / b

    def backward(self, g):
        a, b = self.saved_tensors
        gb = -g * a / (b * b) if self.needs_grad[1] else None
        return (g / b if self.needs_grad[0] else None), gb


class Neg(Function):
    once_differentiable = False
    elementwise = True

    def forward(self, a):
        return -a

    def backward(self, g):
        return -g


class Pow(Function):
    """a ** b. d/da = b a^(b-1); d/db = a^b log a (defined for a > 0)."""

    once_differentiable = False
    elementwise = True

    def forward(self, a, b):
        a, b = _check_broadcast("pow", a, b)
        out = a ** b
        self.save_for_backward(a, b, out)
        return out

    def backward(self, g):
        a, b, out = self.saved_tensors
        ga = g * b * a ** (b - 1) if self.needs_grad[0] else None
        gb = None
        if self.needs_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):  # log(a) for a <= 0; CuPy never warns
                gb = g * out * math_of(g).log(a)
        return ga, gb


class MatMul(Function):
    """Batched matrix product with NumPy's rules for 1-D operands."""

    once_differentiable = False

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: operands must be at least 1-D, got shapes {a.shape} and {b.shape}")
        ka = a.shape[-1]
        kb = b.shape[0] if b.ndim == 1 else b.shape[-2]
        if ka != kb:
            raise ValueError(
                f"matmul: inner dimensions differ: {a.shape} @ {b.shape} "
                f"(a's last dimension {ka} != b's {'only' if b.ndim == 1 else 'second-to-last'} dimension {kb})")
        self.save_for_backward(a, b)
        return a @ b

    def jvp(self, ta, tb):
        a, b = self.saved_tensors
        terms = [t for t in ((ta @ b) if ta is not None else None, (a @ tb) if tb is not None else None)
                 if t is not None]
        return terms[0] if len(terms) == 1 else terms[0] + terms[1]

    def backward(self, g):
        xp = math_of(g)
        a, b = self.saved_tensors
        if a.ndim == 1 and b.ndim == 1:  # dot product
            return g * b, g * a
        # Treat 1-D operands as a row (a) or a column (b) matrix, as matmul does.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = g
        if a.ndim == 1:
            g2 = xp.expand_dims(g2, -2)
        if b.ndim == 1:
            g2 = xp.expand_dims(g2, -1)
        ga = gb = None
        if self.needs_grad[0]:
            ga = g2 @ xp.swapaxes(b2, -1, -2)
            if a.ndim == 1:
                ga = ga[..., 0, :]
        if self.needs_grad[1]:
            gb = xp.swapaxes(a2, -1, -2) @ g2
            if b.ndim == 1:
                gb = gb[..., :, 0]
        return ga, gb
