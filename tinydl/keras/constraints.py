"""``tinydl.keras.constraints``: Keras's weight constraints (``MaxNorm``, ``NonNeg``, ``UnitNorm``,
``MinMaxNorm``; classes in ``tinydl.nn.constraints``). A layer's ``kernel_constraint=`` is
applied by the Keras optimizers after each update.

>>> import numpy as np
>>> from tinydl.keras import constraints
>>> constraints.MaxNorm(1.0)(np.array([[3.0], [4.0]])).round(4).ravel().tolist()
[0.6, 0.8]
"""
from ..nn.constraints import Constraint, MaxNorm, NonNeg, UnitNorm, MinMaxNorm, get

max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm


def serialize(constraint):
    return {"class_name": type(constraint).__name__, "config": constraint.get_config()}


def deserialize(config):
    return get(config)


__all__ = ["Constraint", "MaxNorm", "NonNeg", "UnitNorm", "MinMaxNorm", "max_norm", "non_neg", "unit_norm",
           "min_max_norm", "get", "serialize", "deserialize"]
