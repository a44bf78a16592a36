"""Weight initializers (Keras's names), drawing from tinydl's seeded generator.

Fans follow Keras: for a Dense kernel (in, out) fan_in = in; for a conv kernel
(KH, KW, C_in, C_out) fan_in = KH*KW*C_in and fan_out = KH*KW*C_out.

>>> import tinydl
>>> _ = tinydl.manual_seed(0)
>>> get("glorot_uniform")((3, 4), "float32").shape
(3, 4)
"""
import math

import numpy as np

from ..core.random import get_rng


def fans(shape):
    if len(shape) < 2:
        n = shape[0] if shape else 1
        return n, n
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def zeros(shape, dtype): return np.zeros(shape, dtype)
def ones(shape, dtype): return np.ones(shape, dtype)


def _uniform(limit, shape, dtype):
    return get_rng().uniform(-limit, limit, shape).astype(dtype)


def _normal(std, shape, dtype):
    return (get_rng().standard_normal(shape) * std).astype(dtype)


def glorot_uniform(shape, dtype):
    fi, fo = fans(shape)
    return _uniform(math.sqrt(6 / (fi + fo)), shape, dtype)


def glorot_normal(shape, dtype):
    fi, fo = fans(shape)
    return _truncated_normal(math.sqrt(2 / (fi + fo)), shape, dtype)


def he_uniform(shape, dtype):
    return _uniform(math.sqrt(6 / fans(shape)[0]), shape, dtype)


def he_normal(shape, dtype):
    return _truncated_normal(math.sqrt(2 / fans(shape)[0]), shape, dtype)


def lecun_uniform(shape, dtype):
    return _uniform(math.sqrt(3 / fans(shape)[0]), shape, dtype)


def torch_default(shape, dtype, fan_in=None):
    """PyTorch's nn.Linear/Conv default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (also for biases)."""
    return _uniform(1 / math.sqrt(fan_in or fans(shape)[0]), shape, dtype)


def orthogonal(shape, dtype):
    """A (semi-)orthogonal matrix over the last axis (Keras's recurrent-kernel default)."""
    rows, cols = math.prod(shape[:-1]), shape[-1]
    a = get_rng().standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))
    q = q if rows >= cols else q.T
    return q.reshape(shape).astype(dtype)


def _truncated_normal(std, shape, dtype):
    # Keras truncates at two standard deviations; its stddev is corrected for the truncation.
    std = std / 0.87962566103423978
    out = get_rng().standard_normal(shape)
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = get_rng().standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2
    return (out * std).astype(dtype)


def random_normal(shape, dtype, std=0.05):
    return _normal(std, shape, dtype)


_BY_NAME = {f.__name__: f for f in (zeros, ones, glorot_uniform, glorot_normal, he_uniform,
                                      he_normal, lecun_uniform, orthogonal, random_normal, torch_default)}


def get(identifier):
    """An initializer from a name ('glorot_uniform', 'he_normal', ...) or a callable(shape, dtype)."""
    if callable(identifier):
        return identifier
    try:
        return _BY_NAME[identifier]
    except (KeyError, TypeError):
        pass
    from . import initializers  # Keras's other names and classes ('lecun_normal', 'RandomUniform', configs)
    if isinstance(identifier, str) and (identifier in initializers.NAMES or identifier in initializers.CLASSES) \
            or isinstance(identifier, dict):
        return initializers.resolve(identifier)
    raise ValueError(f"unknown initializer {identifier!r}; known: {sorted(set(_BY_NAME) | set(initializers.NAMES))}")


# PyTorch's in-place initializers (``nn.init.kaiming_uniform_`` ...), beside Keras's names above.
from .torch_init import (calculate_gain, uniform_, normal_, trunc_normal_, constant_, ones_, zeros_,  # noqa: E402,F401
                         eye_, xavier_uniform_, xavier_normal_, kaiming_uniform_, kaiming_normal_, orthogonal_,
                         _calculate_fan_in_and_fan_out)
