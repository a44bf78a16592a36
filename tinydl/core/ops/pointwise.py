"""More element-wise math: trigonometric and hyperbolic functions, log1p/expm1, atan2, and the
step functions (sign, floor, ceil, round, trunc) whose gradient is zero."""
from ..autograd import Function, math_of
from ...backends import get_array_module
from .arithmetic import _check_broadcast


class _Unary(Function):
    _inventory = False  # a base class, not an op: the subclasses below are the ops
    once_differentiable = False
    elementwise = True
    ufunc = None  # the array-module function's name

    def forward(self, a):
        out = getattr(get_array_module(a), self.ufunc)(a)
        self.save_for_backward(a, out)
        return out


class Sin(_Unary):
    ufunc = "sin"

    def backward(self, g):
        a, _ = self.saved_tensors
        return g * math_of(g).cos(a)


class Cos(_Unary):
    ufunc = "cos"

    def backward(self, g):
        a, _ = self.saved_tensors
        return -g * math_of(g).sin(a)


class Tan(_Unary):
    ufunc = "tan"

    def backward(self, g):
        _, out = self.saved_tensors
        return g * (1 + out * out)


class Asin(_Unary):
    ufunc = "arcsin"

    def backward(self, g):
        a, _ = self.saved_tensors
        return g / math_of(g).sqrt(1 - a * a)


class Acos(_Unary):
    ufunc = "arccos"

    def backward(self, g):
        a, _ = self.saved_tensors
        return -g / math_of(g).sqrt(1 - a * a)


class Atan(_Unary):
    ufunc = "arctan"

    def backward(self, g):
        a, _ = self.saved_tensors
        return g / (1 + a * a)


class Sinh(_Unary):
    ufunc = "sinh"

    def backward(self, g):
        a, _ = self.saved_tensors
        return g * math_of(g).cosh(a)


class Cosh(_Unary):
    ufunc = "cosh"

    def backward(self, g):
        a, _ = self.saved_tensors
        return g * math_of(g).sinh(a)


class Log1p(_Unary):
    ufunc = "log1p"

    def backward(self, g):
        a, _ = self.saved_tensors
        return g / (1 + a)


class Expm1(_Unary):
    ufunc = "expm1"

    def backward(self, g):
        _, out = self.saved_tensors
        return g * (out + 1)


class Atan2(Function):
    """atan2(y, x); d/dy = x / (x^2 + y^2), d/dx = -y / (x^2 + y^2)."""

    once_differentiable = False
    elementwise = True

    def forward(self, y, x):
        y, x = _check_broadcast("atan2", y, x)
        self.save_for_backward(y, x)
        return get_array_module(y).arctan2(y, x)

    def backward(self, g):
        y, x = self.saved_tensors
        r2 = x * x + y * y
        return g * x / r2, -g * y / r2


class Step(Function):
    """sign, floor, ceil, round (half to even, as PyTorch), trunc: piecewise constant, so the
    gradient is zero everywhere (PyTorch's convention, also at the jumps)."""

    once_differentiable = False
    elementwise = True
    _NAMES = {"sign": "sign", "floor": "floor", "ceil": "ceil", "round": "round", "trunc": "trunc"}

    def __init__(self, kind):
        if kind not in self._NAMES:
            raise ValueError(f"step function: unknown kind {kind!r}")
        self.kind = kind

    def forward(self, a):
        return getattr(get_array_module(a), self._NAMES[self.kind])(a)

    def backward(self, g):
        return g * 0
