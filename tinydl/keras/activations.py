"""``tinydl.keras.activations``: Keras's activation functions on Tensors, also usable by name
(``Dense(8, activation='swish')``). ``get(name)`` and ``serialize(fn)`` as Keras.

>>> import tinydl
>>> from tinydl.keras import activations
>>> [round(v, 4) for v in activations.get("selu")(tinydl.Tensor([-1.0, 1.0])).tolist()]
[-1.1113, 1.0507]
"""
from ..core import functional as T
from ..nn import activations as _A
from ..nn import channels_last as _F
from ..nn.logits import remember_logits

swish, silu, elu, selu, softplus, softsign = _A.swish, _A.silu, _A.elu, _A.selu, _A.softplus, _A.softsign
relu6, exponential, hard_sigmoid, hard_swish, hard_silu, mish = (_A.relu6, _A.exponential, _A.hard_sigmoid,
                                                                   _A.hard_swish, _A.hard_silu, _A.mish)


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Keras's ``relu(x, negative_slope=0.0, max_value=None, threshold=0.0)``."""
    x = T._t(x)
    if negative_slope == 0 and threshold == 0:
        y = T.relu(x)
    else:
        y = T.where(x.data >= threshold, x, (x - threshold) * negative_slope)
    return y if max_value is None else T.minimum(y, float(max_value))


def leaky_relu(x, negative_slope=0.2):
    return T.leaky_relu(T._t(x), negative_slope)


def sigmoid(x):
    x = T._t(x)
    out = T.sigmoid(x)
    remember_logits(out, "sigmoid", x)
    return out


def tanh(x):
    return T.tanh(T._t(x))


def softmax(x, axis=-1):
    x = T._t(x)
    out = T.softmax(x, axis)
    if axis in (-1, x.ndim - 1):
        remember_logits(out, "softmax", x)
    return out


def log_softmax(x, axis=-1):
    return T.log_softmax(T._t(x), axis)


def gelu(x, approximate=False):
    """Keras's ``gelu(x, approximate=False)`` (exact, with erf; the tanh form if approximate)."""
    return T.gelu(T._t(x), "tanh" if approximate else "none")


def linear(x):
    return x


NAMES = ["relu", "leaky_relu", "sigmoid", "tanh", "softmax", "log_softmax", "gelu", "linear", "swish", "silu",
         "elu", "selu", "softplus", "softsign", "relu6", "exponential", "hard_sigmoid", "hard_swish", "hard_silu",
         "mish"]
_BY_NAME = {n: globals()[n] for n in NAMES}


def get(identifier):
    """A function from a name, a callable, or None (linear)."""
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]
    raise ValueError(f"unknown activation {identifier!r}; known: {sorted(_BY_NAME)}")


def serialize(activation):
    name = getattr(activation, "__name__", None)
    if activation in _BY_NAME.values() or name in _F.ACTIVATIONS:
        return name
    raise ValueError(f"cannot serialize activation {activation!r}: not a Keras activation")


def deserialize(name):
    return get(name)


__all__ = NAMES + ["get", "serialize", "deserialize"]
