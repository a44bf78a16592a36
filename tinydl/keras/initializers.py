"""``tinydl.keras.initializers``: Keras's initializer classes and their string names (the classes
live in ``tinydl.nn.initializers``).

>>> import tinydl
>>> from tinydl.keras import initializers
>>> _ = tinydl.manual_seed(0)
>>> initializers.get("he_normal")((4, 3)).shape, initializers.Ones()((2,)).tolist()
((4, 3), [1.0, 1.0])
"""
from ..nn.initializers import (Initializer, Zeros, Ones, Constant, RandomNormal, RandomUniform, TruncatedNormal,
                               VarianceScaling, GlorotUniform, GlorotNormal, HeNormal, HeUniform, LecunNormal,
                               LecunUniform, Orthogonal, Identity, CLASSES, NAMES, resolve)

# Keras's lower-case aliases of the classes
zeros, ones, constant = Zeros, Ones, Constant
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
glorot_uniform, glorot_normal, he_normal, he_uniform = GlorotUniform, GlorotNormal, HeNormal, HeUniform
lecun_normal, lecun_uniform, orthogonal, variance_scaling, identity = (LecunNormal, LecunUniform, Orthogonal,
                                                                       VarianceScaling, Identity)


def get(identifier):
    """An initializer from a name ('glorot_uniform' or 'GlorotUniform'), a config dict, an
    initializer, a class, or a callable(shape, dtype)."""
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    return resolve(identifier)


def serialize(initializer):
    return {"class_name": type(initializer).__name__, "config": initializer.get_config()}


def deserialize(config):
    return resolve(config)


__all__ = sorted(CLASSES) + ["Initializer", "get", "serialize", "deserialize"] + sorted(NAMES)
