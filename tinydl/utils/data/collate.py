"""``default_collate`` and ``default_convert``: samples into a batch, PyTorch's rules.

- Tensors are stacked along a new first dimension; NumPy arrays too (as Tensors, dtype kept);
- Python floats become a float64 Tensor, ints an int64 one, bools a bool one; NumPy scalars keep
  their dtype;
- strings and bytes are returned as the batch holds them (a list, or a tuple for a column);
- dicts (any Mapping) are collated key by key, namedtuples field by field; other sequences are
  transposed and collated position by position: a tuple sample gives a *list* of batches.

>>> import numpy as np
>>> xb, yb = default_collate([(np.array([1.0, 2.0]), 0), (np.array([3.0, 4.0]), 1)])
>>> xb.shape, xb.dtype, yb.tolist(), yb.dtype
((2, 2), dtype('float64'), [0, 1], dtype('int64'))
"""
import collections.abc

import numpy as np

from ...core import functional as F
from ...core.tensor import Tensor

__all__ = ["default_collate", "default_convert"]

_BAD = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}")


def _as_tensor(array, what):
    if array.dtype.kind not in "biufc":
        raise TypeError(_BAD.format(f"a numpy array of dtype {array.dtype} ({what})"))
    return Tensor._wrap(np.ascontiguousarray(array))  # a CPU tensor, dtype kept (PyTorch's as_tensor)


def default_collate(batch):
    """Put a list of samples together into one batch (see the module docstring)."""
    if not isinstance(batch, collections.abc.Sequence) or isinstance(batch, (str, bytes)):
        raise TypeError(f"default_collate: expected a list of samples, got {type(batch).__name__}")
    if len(batch) == 0:
        raise IndexError("default_collate: the batch is empty")
    elem = batch[0]
    if isinstance(elem, Tensor):
        shapes = {tuple(b.shape) for b in batch if isinstance(b, Tensor)}
        if len(shapes) != 1 or not all(isinstance(b, Tensor) for b in batch):
            raise RuntimeError(f"stack expects each tensor to be equal size, but got shapes {sorted(shapes)}")
        return F.stack(list(batch), axis=0)
    if isinstance(elem, np.ndarray):
        return _as_tensor(np.stack([np.asarray(b) for b in batch]), "stacked")
    if isinstance(elem, (np.bool_, np.number)):
        return _as_tensor(np.array(batch, dtype=elem.dtype), "scalars")
    if isinstance(elem, bool):
        return Tensor._wrap(np.array(batch, dtype=np.bool_))
    if isinstance(elem, float):
        return Tensor._wrap(np.array(batch, dtype=np.float64))
    if isinstance(elem, int):
        return Tensor._wrap(np.array(batch, dtype=np.int64))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        merged = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(merged)
        except TypeError:
            return merged
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # a namedtuple
        return type(elem)(*(default_collate(s) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(b) != size for b in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        columns = [default_collate(s) for s in zip(*batch)]  # each column a tuple, as PyTorch passes it
        if isinstance(elem, tuple):
            return columns  # PyTorch returns a list here (backwards compatibility)
        try:
            return type(elem)(columns)
        except TypeError:
            return columns
    raise TypeError(_BAD.format(type(elem)))


def default_convert(data):
    """What the DataLoader applies to single samples when batching is off (``batch_size=None``):
    NumPy arrays and scalars become Tensors, containers are converted element by element."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        return Tensor._wrap(data) if data.dtype.kind in "biufc" else data
    if isinstance(data, (np.bool_, np.number)):
        return Tensor._wrap(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        converted = {k: default_convert(v) for k, v in data.items()}
        try:
            return type(data)(converted)
        except TypeError:
            return converted
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data
