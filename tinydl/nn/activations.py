"""Keras's element-wise activations as Tensor functions, each made of core ops (so each has a
gradient and a second derivative for free). They are the Tensor-only entries of the one
activation table (``backends/activations.py``); ``tinydl.keras.activations`` exports them.

Each stays finite for float32 inputs of +-1e30: exponentials only ever see ``min(x, 0)`` or
``-|x|``.

>>> import tinydl
>>> [round(v, 4) for v in swish(tinydl.Tensor([-1.0, 0.0, 2.0])).tolist()]
[-0.2689, 0.0, 1.7616]
"""
from ..core import functional as T

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def swish(x):
    """``x * sigmoid(x)`` (also ``silu``)."""
    x = T._t(x)
    return x * T.sigmoid(x)


silu = swish


def elu(x, alpha=1.0):
    """``x`` for x > 0, ``alpha * (exp(x) - 1)`` otherwise."""
    x = T._t(x)
    neg = (T.exp(T.minimum(x, 0.0)) - 1.0) * alpha
    return T.where(x.data >= 0, x, neg)  # at 0 the slope is 1 (TensorFlow's)


def selu(x):
    """``scale * elu(x, alpha)`` with Klambauer et al.'s constants."""
    return elu(x, SELU_ALPHA) * SELU_SCALE


def softplus(x):
    """``log(1 + exp(x))``, computed as ``relu(x) + log(1 + exp(-|x|))``."""
    x = T._t(x)
    return T.maximum(x, 0.0) + T.log(T.exp(-T.abs(x)) + 1.0)  # slope 1/2 at 0


def softsign(x):
    """``x / (1 + |x|)``."""
    x = T._t(x)
    return x / (T.abs(x) + 1.0)


def _clipped(z, lo, hi):
    """``clip(z, lo, hi)`` whose slope is 0 at the ends (TensorFlow's relu6 and hard_sigmoid)."""
    d = z.data
    return T.where((d > lo) & (d < hi), z, d.clip(lo, hi))


def relu6(x):
    """``min(max(x, 0), 6)``."""
    return _clipped(T._t(x), 0.0, 6.0)


def exponential(x):
    return T.exp(T._t(x))


def hard_sigmoid(x):
    """Keras 3's ``relu6(x + 3) / 6`` (Keras 2's was ``0.2 x + 0.5`` clipped)."""
    return _clipped(T._t(x) * (1.0 / 6.0) + 0.5, 0.0, 1.0)


def hard_swish(x):
    """``x * hard_sigmoid(x)`` (also ``hard_silu``)."""
    x = T._t(x)
    return x * hard_sigmoid(x)


hard_silu = hard_swish


def mish(x):
    """``x * tanh(softplus(x))``."""
    x = T._t(x)
    return x * T.tanh(softplus(x))


def log_softmax(x, axis=-1):
    return T.log_softmax(T._t(x), axis)


# name -> function, for the activation table (string activations in every layer)
BY_NAME = {"swish": swish, "silu": silu, "elu": elu, "selu": selu, "softplus": softplus, "softsign": softsign,
           "relu6": relu6, "exponential": exponential, "hard_sigmoid": hard_sigmoid, "hard_swish": hard_swish,
           "hard_silu": hard_silu, "mish": mish, "log_softmax": log_softmax}
