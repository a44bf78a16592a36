"""tinydl.utils.data: PyTorch's ``torch.utils.data`` namespace.

Only ``DistributedSampler`` is here so far. tinydl's array loader is ``tinydl.data.DataLoader``
(``DataLoader(x, y, batch_size, shuffle, ..., sampler=...)``); its signature differs from
PyTorch's ``DataLoader(dataset, ...)``, so it is not re-exported under PyTorch's name, and
``Dataset``/``TensorDataset``/``DataLoader`` raise NotImplementedError here until the PyTorch-style
data API exists.
"""
from .distributed import DistributedSampler

__all__ = ["DistributedSampler"]

_NOT_YET = ("Dataset", "TensorDataset", "DataLoader", "Sampler", "RandomSampler",
            "SequentialSampler", "BatchSampler", "IterableDataset", "Subset", "random_split")


def __getattr__(name):
    if name in _NOT_YET:
        raise NotImplementedError(
            f"tinydl.utils.data.{name} (PyTorch's data API) is not implemented yet; use "
            f"tinydl.data.DataLoader(x, y, batch_size=..., sampler=DistributedSampler(x)) for arrays")
    raise AttributeError(f"module 'tinydl.utils.data' has no attribute {name!r}")
