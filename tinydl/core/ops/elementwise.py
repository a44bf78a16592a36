"""Element-wise functions and activations."""
import math

import numpy as np

from .. import dtypes
from ..autograd import Function, is_tensor, math_of
from ...backends import get_array_module, provider_for
from .arithmetic import _check_broadcast

# Masks (relu's, clip's, ties) are constants of the backward: computed once, in the forward,
# they are the same arrays in the fast path and in graph mode (their derivative is zero).


class Exp(Function):
    once_differentiable = False
    elementwise = True

    def forward(self, a):
        out = get_array_module(a).exp(a)
        self.save_for_backward(out)
        return out

    def backward(self, g):
        out, = self.saved_tensors
        return g * out


class Log(Function):
    once_differentiable = False
    elementwise = True

    def forward(self, a):
        self.save_for_backward(a)
        return get_array_module(a).log(a)

    def backward(self, g):
        a, = self.saved_tensors
        return g / a


class Sqrt(Function):
    once_differentiable = False
    elementwise = True

    def forward(self, a):
        out = get_array_module(a).sqrt(a)
        self.save_for_backward(out)
        return out

    def backward(self, g):
        out, = self.saved_tensors
        return g / (2 * out)


class Abs(Function):
    """|a|; the gradient at 0 is taken as 0 (the subgradient numpy's sign gives)."""

    once_differentiable = False
    elementwise = True

    def forward(self, a):
        self.sign = get_array_module(a).sign(a)
        return get_array_module(a).abs(a)

    def backward(self, g):
        return g * self.sign


class Clip(Function):
    """clip(a, lo, hi); gradient passes where lo <= a <= hi."""

    once_differentiable = False
    elementwise = True

    def __init__(self, lo=None, hi=None):
        self.lo, self.hi = lo, hi

    def forward(self, a):
        mask = np.True_
        if self.lo is not None:
            mask = mask & (a >= self.lo)
        if self.hi is not None:
            mask = mask & (a <= self.hi)
        self.mask = mask
        return get_array_module(a).clip(a, self.lo, self.hi)

    def backward(self, g):
        return g * self.mask


class Maximum(Function):
    """Element-wise max; at ties the gradient is split equally between a and b."""

    once_differentiable = False
    elementwise = True
    pick = "maximum"

    def forward(self, a, b):
        a, b = _check_broadcast(self.pick, a, b)
        wins = (a > b) if self.pick == "maximum" else (a < b)
        self.wa = wins + 0.5 * (a == b)
        return getattr(get_array_module(a), self.pick)(a, b)

    def backward(self, g):
        return g * self.wa, g * (1 - self.wa)


class Minimum(Maximum):
    """Element-wise min; at ties the gradient is split equally between a and b."""

    pick = "minimum"


class Where(Function):
    """where(cond, a, b); cond is a boolean array and gets no gradient."""

    once_differentiable = False
    elementwise = True

    def forward(self, cond, a, b):
        self.cond = cond.astype(bool)
        a, b = dtypes.promote(a, b)  # PyTorch's kind rule: where(c, int_tensor, 0.5) is float32
        return get_array_module(a).where(self.cond, a, b)

    def backward(self, g):
        return None, g * self.cond, g * ~self.cond


class ReLU(Function):
    once_differentiable = False
    elementwise = True

    def forward(self, a):
        self.mask = a > 0
        return a * self.mask

    def backward(self, g):
        return g * self.mask


class LeakyReLU(Function):
    once_differentiable = False
    elementwise = True

    def __init__(self, negative_slope=0.01):
        self.slope = negative_slope

    def forward(self, a):
        xp = get_array_module(a)
        self.scale = xp.where(a > 0, 1.0, self.slope).astype(a.dtype)
        return xp.where(a > 0, a, a * self.slope)

    def backward(self, g):
        return g * self.scale


def stable_sigmoid(a):
    """1/(1+e^-a) without overflow: e^-|a| never exceeds 1."""
    xp = get_array_module(a)
    e = xp.exp(-xp.abs(a))
    return xp.where(a >= 0, 1 / (1 + e), e / (1 + e))


class Sigmoid(Function):
    once_differentiable = False
    elementwise = True

    def forward(self, a):
        out = stable_sigmoid(a)
        self.save_for_backward(out)
        return out

    def backward(self, g):
        out, = self.saved_tensors
        return g * out * (1 - out)


class Tanh(Function):
    once_differentiable = False
    elementwise = True

    def forward(self, a):
        out = get_array_module(a).tanh(a)
        self.save_for_backward(out)
        return out

    def backward(self, g):
        out, = self.saved_tensors
        return g * (1 - out * out)


_erf = np.vectorize(math.erf, otypes=[np.float64])
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


def erf_array(a):
    xp = get_array_module(a)
    host = a.get() if hasattr(a, "get") else a
    return xp.asarray(_erf(host)).astype(a.dtype)


class Erf(Function):
    """The error function (evaluated per element with math.erf); d/da = 2/sqrt(pi) exp(-a^2)."""

    once_differentiable = False
    elementwise = True

    def forward(self, a):
        self.save_for_backward(a)
        return erf_array(a)

    def backward(self, g):
        a, = self.saved_tensors
        return g * (2 / math.sqrt(math.pi)) * math_of(g).exp(-(a * a))


class GELU(Function):
    """x * Phi(x). ``approximate='tanh'`` uses the tanh formula (faster, as GPT-2 does), run by the
    kernel provider (``gelu_tanh_forward``/``_backward``: a fused Numba pass on the CPU);
    ``'none'`` the exact normal CDF (erf evaluated per element: slower)."""

    once_differentiable = False
    elementwise = True

    def __init__(self, approximate="none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, a):
        self.save_for_backward(a)
        if self.approximate == "tanh":
            self.provider = provider_for(a)
            y, self.t = self.provider.gelu_tanh_forward(a)  # t: the saved tanh
            return y
        self.cdf = 0.5 * (1 + erf_array(a / math.sqrt(2)))
        return a * self.cdf

    def backward(self, g):
        a, = self.saved_tensors
        if is_tensor(g):  # graph mode: recompute what the fast path cached, from Tensors
            return self._graph_backward(g, a, math_of(g))
        if self.approximate == "tanh":
            return self.provider.gelu_tanh_backward(a, self.t, g)
        xp = get_array_module(g)
        pdf = xp.exp(-0.5 * a * a) / math.sqrt(2 * math.pi)
        return g * (self.cdf + a * pdf)

    def _graph_backward(self, g, a, F):
        """The same derivative from Tensors, recomputing what the fast path cached."""
        if self.approximate == "tanh":
            t = F.tanh(_SQRT_2_OVER_PI * (a + 0.044715 * (a * a * a)))
            dinner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * a * a)
            return g * (0.5 * (1 + t) + 0.5 * a * (1 - t * t) * dinner)
        cdf = 0.5 * (1 + F.erf(a * (1 / math.sqrt(2))))
        pdf = F.exp(-0.5 * a * a) * (1 / math.sqrt(2 * math.pi))
        return g * (cdf + a * pdf)
