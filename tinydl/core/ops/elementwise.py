"""Element-wise functions and activations."""
import math

import numpy as np

from ..autograd import Function
from ...backends import get_array_module
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
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


class GELU(Function):
    """x * Phi(x). ``approximate='tanh'`` uses the tanh formula (faster, as GPT-2 does);
    ``'none'`` the exact normal CDF (erf evaluated per element: slower). The tanh form runs the
    fused Numba kernels of ``tinydl.kernels.cpu.elementwise`` on C-contiguous CPU NumPy
    float32/float64 arrays; CuPy arrays and ``tinydl.use_reference()`` take the NumPy code."""

    def __init__(self, approximate="none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def _kernel_for(self, a):
        """The fused Numba GELU-tanh kernels if ``a`` takes the kernel path, else None."""
        from ... import backends
        if (self.approximate != "tanh" or backends.reference_forced() or type(a) is not np.ndarray
                or a.dtype not in (np.float32, np.float64) or not a.flags.c_contiguous):
            return None
        from ...kernels.cpu import elementwise  # lazily: loading Numba costs ~0.5 s
        return elementwise

    def forward(self, a):
        xp = get_array_module(a)
        self.a = a
        self.kernel = self._kernel_for(a)
        if self.kernel is not None:  # one fused pass: y and the saved tanh
            y, self.t = self.kernel.gelu_tanh_forward(a)
            return y
        if self.approximate == "tanh":
            self.t = xp.tanh(_SQRT_2_OVER_PI * (a + 0.044715 * (a * a * a)))  # a*a*a: far faster than a**3
            return 0.5 * a * (1 + self.t)
        host = a.get() if hasattr(a, "get") else a
        self.cdf = xp.asarray(0.5 * (1 + _erf(host / math.sqrt(2)))).astype(a.dtype)
        return a * self.cdf

    def backward(self, g):
        xp = get_array_module(g)
        a = self.a
        if (self.kernel is not None and type(g) is np.ndarray and g.dtype == a.dtype
                and g.shape == a.shape):
            return self.kernel.gelu_tanh_backward(a, self.t, g)
        if self.approximate == "tanh":
            dinner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * a * a)
            return g * (0.5 * (1 + self.t) + 0.5 * a * (1 - self.t * self.t) * dinner)
        pdf = xp.exp(-0.5 * a * a) / math.sqrt(2 * math.pi)
        return g * (self.cdf + a * pdf)
