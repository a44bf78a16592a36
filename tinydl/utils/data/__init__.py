"""tinydl.utils.data: PyTorch's ``torch.utils.data``.

Datasets (``Dataset``, ``IterableDataset``, ``TensorDataset``, ``Subset``, ``ConcatDataset``,
``ChainDataset``, ``random_split``), samplers (``Sampler``, ``SequentialSampler``,
``RandomSampler``, ``SubsetRandomSampler``, ``BatchSampler``, ``DistributedSampler``),
``default_collate``/``default_convert``, and ``DataLoader(dataset, ...)`` with worker processes
(``get_worker_info``). Random orders come from NumPy's generator, not PyTorch's, so a seeded
shuffle or split differs from PyTorch's (sizes and rules are the same).

tinydl's own array loader, ``tinydl.data.DataLoader(x, y, batch_size, ...)``, is a different class
(arrays in, arrays out) used by the Keras facade.
"""
from .collate import default_collate, default_convert
from .dataloader import DataLoader
from .dataset import (ChainDataset, ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset,
                      random_split)
from .distributed import DistributedSampler
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler
from .worker import WorkerInfo, get_worker_info

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset", "ChainDataset",
           "random_split", "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "BatchSampler", "DistributedSampler", "default_collate", "default_convert", "DataLoader",
           "WorkerInfo", "get_worker_info"]

_NOT_IMPLEMENTED = ("WeightedRandomSampler", "StackDataset",
                    "DFIterDataPipe", "IterDataPipe", "MapDataPipe")


def __getattr__(name):
    if name in _NOT_IMPLEMENTED:
        raise NotImplementedError(f"torch.utils.data.{name} is not implemented in tinydl; implemented: "
                                  f"{', '.join(__all__)}")
    raise AttributeError(f"module 'tinydl.utils.data' has no attribute {name!r}")
