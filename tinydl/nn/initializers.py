"""Keras's initializer classes (``GlorotUniform()``, ``RandomNormal(stddev=0.05)``, ...): callables
``init(shape, dtype=None)`` drawing from tinydl's seeded generator, with ``get_config``.
``tinydl.keras.initializers`` exports them; ``resolve`` turns Keras's string names, class names
and config dicts into one of them (the plain functions of ``tinydl.nn.init`` still work).

Keras's VarianceScaling: std = sqrt(scale / n) with n = fan_in, fan_out or their mean; the
truncated normal is cut at two standard deviations and its std corrected by 0.8796...;
``TruncatedNormal(stddev)`` itself is cut but not corrected, as in Keras.

>>> import tinydl
>>> _ = tinydl.manual_seed(0)
>>> GlorotUniform()((3, 4)).shape, Constant(2.0)((2,)).tolist()
((3, 4), [2.0, 2.0])
"""
import math

import numpy as np

from ..core.random import get_rng
from . import init as _init
from .keras_objects import ConfigurableObject, lookup

_TRUNCATION = 0.87962566103423978


def _dtype(dtype):
    return np.dtype("float32" if dtype is None else dtype)


def _truncated(shape, std, mean=0.0):
    out = get_rng().standard_normal(shape)
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = get_rng().standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2
    return mean + out * std


class Initializer(ConfigurableObject):
    """Base: ``__call__(shape, dtype=None)`` returns a NumPy array; ``get_config()``."""

    def __call__(self, shape, dtype=None):  # pragma: no cover - abstract
        raise NotImplementedError


class Zeros(Initializer):
    def __call__(self, shape, dtype=None):
        return np.zeros(shape, _dtype(dtype))


class Ones(Initializer):
    def __call__(self, shape, dtype=None):
        return np.ones(shape, _dtype(dtype))


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = float(value)

    def __call__(self, shape, dtype=None):
        return np.full(shape, self.value, _dtype(dtype))

    def get_config(self):
        return {"value": self.value}


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = float(mean), float(stddev), seed

    def __call__(self, shape, dtype=None):
        return (self.mean + get_rng().standard_normal(shape) * self.stddev).astype(_dtype(dtype))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = float(minval), float(maxval), seed

    def __call__(self, shape, dtype=None):
        return get_rng().uniform(self.minval, self.maxval, shape).astype(_dtype(dtype))

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class TruncatedNormal(RandomNormal):
    """Normal cut at two standard deviations (redrawn), std not corrected (Keras)."""

    def __call__(self, shape, dtype=None):
        return _truncated(shape, self.stddev, self.mean).astype(_dtype(dtype))


class VarianceScaling(Initializer):
    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        if not scale > 0:
            raise ValueError(f"VarianceScaling: scale must be positive, got {scale!r}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: mode must be 'fan_in', 'fan_out' or 'fan_avg', got {mode!r}")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(f"VarianceScaling: distribution must be 'truncated_normal', 'untruncated_normal' "
                             f"or 'uniform', got {distribution!r}")
        self.scale, self.mode, self.distribution, self.seed = float(scale), mode, distribution, seed

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = _init.fans(tuple(shape))
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        var = self.scale / max(1.0, n)
        if self.distribution == "uniform":
            limit = math.sqrt(3 * var)
            out = get_rng().uniform(-limit, limit, shape)
        elif self.distribution == "untruncated_normal":
            out = get_rng().standard_normal(shape) * math.sqrt(var)
        else:
            out = _truncated(shape, math.sqrt(var) / _TRUNCATION)
        return out.astype(_dtype(dtype))

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed}


def _scaling(name, scale, mode, distribution):
    def __init__(self, seed=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self):
        return {"seed": self.seed}
    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config,
                                           "__doc__": f"VarianceScaling(scale={scale}, mode={mode!r}, "
                                                      f"distribution={distribution!r})."})


GlorotUniform = _scaling("GlorotUniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _scaling("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeNormal = _scaling("HeNormal", 2.0, "fan_in", "truncated_normal")
HeUniform = _scaling("HeUniform", 2.0, "fan_in", "uniform")
LecunNormal = _scaling("LecunNormal", 1.0, "fan_in", "truncated_normal")
LecunUniform = _scaling("LecunUniform", 1.0, "fan_in", "uniform")


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix over the flattened leading axes, times ``gain``."""

    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = float(gain), seed

    def __call__(self, shape, dtype=None):
        if len(shape) < 2:
            raise ValueError(f"Orthogonal: the shape must have at least 2 dimensions, got {tuple(shape)}")
        return (_init.orthogonal(tuple(shape), np.float64) * self.gain).astype(_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    def __init__(self, gain=1.0):
        self.gain = float(gain)

    def __call__(self, shape, dtype=None):
        if len(shape) != 2:
            raise ValueError(f"Identity: needs a 2-d shape, got {tuple(shape)}")
        return (np.eye(*shape) * self.gain).astype(_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain}


CLASSES = {c.__name__: c for c in (Zeros, Ones, Constant, RandomNormal, RandomUniform, TruncatedNormal,
                                   VarianceScaling, GlorotUniform, GlorotNormal, HeNormal, HeUniform,
                                   LecunNormal, LecunUniform, Orthogonal, Identity)}
NAMES = {"zeros": Zeros, "ones": Ones, "constant": Constant, "random_normal": RandomNormal,
         "random_uniform": RandomUniform, "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling,
         "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal, "he_normal": HeNormal,
         "he_uniform": HeUniform, "lecun_normal": LecunNormal, "lecun_uniform": LecunUniform,
         "orthogonal": Orthogonal, "identity": Identity, "uniform": RandomUniform, "normal": RandomNormal}


def resolve(identifier):
    """An initializer from a Keras name ('glorot_uniform', 'GlorotUniform'), a config dict
    ``{'class_name': ..., 'config': {...}}``, an Initializer, or any callable(shape, dtype)."""
    return lookup(identifier, "initializer", NAMES, CLASSES, fallback=_init.get)
