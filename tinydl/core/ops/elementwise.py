"""Element-wise functions and activations."""
import math

import numpy as np

from ..autograd import Function
from ...backends import get_array_module, provider_for
from .arithmetic import _check_broadcast


class Exp(Function):
    def forward(self, a):
        self.out = get_array_module(a).exp(a)
        return self.out

    def backward(self, g):
        return g * self.out


class Log(Function):
    def forward(self, a):
        self.a = a
        return get_array_module(a).log(a)

    def backward(self, g):
        return g / self.a


class Sqrt(Function):
    def forward(self, a):
        self.out = get_array_module(a).sqrt(a)
        return self.out

    def backward(self, g):
        return g / (2 * self.out)


class Abs(Function):
    """|a|; the gradient at 0 is taken as 0 (the subgradient numpy's sign gives)."""

    def forward(self, a):
        self.a = a
        return get_array_module(a).abs(a)

    def backward(self, g):
        return g * get_array_module(g).sign(self.a)


class Clip(Function):
    """clip(a, lo, hi); gradient passes where lo <= a <= hi."""

    def __init__(self, lo=None, hi=None):
        self.lo, self.hi = lo, hi

    def forward(self, a):
        self.a = a
        return get_array_module(a).clip(a, self.lo, self.hi)

    def backward(self, g):
        mask = np.True_
        if self.lo is not None:
            mask = mask & (self.a >= self.lo)
        if self.hi is not None:
            mask = mask & (self.a <= self.hi)
        return g * mask


class Maximum(Function):
    """Element-wise max; at ties the gradient is split equally between a and b."""

    def forward(self, a, b):
        _check_broadcast("maximum", a, b)
        self.a, self.b = a, b
        return get_array_module(a).maximum(a, b)

    def backward(self, g):
        wa = (self.a > self.b) + 0.5 * (self.a == self.b)
        return g * wa, g * (1 - wa)


class Minimum(Function):
    """Element-wise min; at ties the gradient is split equally between a and b."""

    def forward(self, a, b):
        _check_broadcast("minimum", a, b)
        self.a, self.b = a, b
        return get_array_module(a).minimum(a, b)

    def backward(self, g):
        wa = (self.a < self.b) + 0.5 * (self.a == self.b)
        return g * wa, g * (1 - wa)


class Where(Function):
    """where(cond, a, b); cond is a boolean array and gets no gradient."""

    def forward(self, cond, a, b):
        self.cond = cond.astype(bool)
        return get_array_module(a).where(self.cond, a, b)

    def backward(self, g):
        return None, g * self.cond, g * ~self.cond


class ReLU(Function):
    def forward(self, a):
        self.mask = a > 0
        return a * self.mask

    def backward(self, g):
        return g * self.mask


class LeakyReLU(Function):
    def __init__(self, negative_slope=0.01):
        self.slope = negative_slope

    def forward(self, a):
        self.a = a
        return get_array_module(a).where(a > 0, a, a * self.slope)

    def backward(self, g):
        return g * get_array_module(g).where(self.a > 0, 1.0, self.slope).astype(g.dtype)


def stable_sigmoid(a):
    """1/(1+e^-a) without overflow: e^-|a| never exceeds 1."""
    xp = get_array_module(a)
    e = xp.exp(-xp.abs(a))
    return xp.where(a >= 0, 1 / (1 + e), e / (1 + e))


class Sigmoid(Function):
    def forward(self, a):
        self.out = stable_sigmoid(a)
        return self.out

    def backward(self, g):
        return g * self.out * (1 - self.out)


class Tanh(Function):
    def forward(self, a):
        self.out = get_array_module(a).tanh(a)
        return self.out

    def backward(self, g):
        return g * (1 - self.out * self.out)


_erf = np.vectorize(math.erf, otypes=[np.float64])


class GELU(Function):
    """x * Phi(x). ``approximate='tanh'`` uses the tanh formula (faster, as GPT-2 does), run by the
    kernel provider (``gelu_tanh_forward``/``_backward``: a fused Numba pass on the CPU);
    ``'none'`` the exact normal CDF (erf evaluated per element: slower)."""

    def __init__(self, approximate="none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, a):
        self.a = a
        if self.approximate == "tanh":
            self.provider = provider_for(a)
            y, self.t = self.provider.gelu_tanh_forward(a)  # t: the saved tanh
            return y
        xp = get_array_module(a)
        host = a.get() if hasattr(a, "get") else a
        self.cdf = xp.asarray(0.5 * (1 + _erf(host / math.sqrt(2)))).astype(a.dtype)
        return a * self.cdf

    def backward(self, g):
        a = self.a
        if self.approximate == "tanh":
            return self.provider.gelu_tanh_backward(a, self.t, g)
        xp = get_array_module(g)
        pdf = xp.exp(-0.5 * a * a) / math.sqrt(2 * math.pi)
        return g * (self.cdf + a * pdf)
