"""``tinydl.keras.regularizers``: Keras's ``L1``, ``L2``, ``L1L2`` and the functions ``l1``,
``l2``, ``l1_l2`` (the classes live in ``tinydl.nn.regularizers``).

>>> import tinydl
>>> from tinydl.keras import regularizers
>>> round(regularizers.l2(0.1)(tinydl.Tensor([1.0, 2.0])).item(), 6)
0.5
"""
from ..nn.regularizers import Regularizer, L1, L2, L1L2, get


def l1(l1=0.01):
    return L1(l1)


def l2(l2=0.01):
    return L2(l2)


def l1_l2(l1=0.01, l2=0.01):
    """Keras's ``l1_l2(l1=0.01, l2=0.01)`` (the class ``L1L2`` defaults to 0 for both)."""
    return L1L2(l1=l1, l2=l2)


def serialize(regularizer):
    return {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}


def deserialize(config):
    return get(config)


__all__ = ["Regularizer", "L1", "L2", "L1L2", "l1", "l2", "l1_l2", "get", "serialize", "deserialize"]
