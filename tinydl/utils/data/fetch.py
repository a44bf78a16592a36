"""One batch from a dataset: what the DataLoader does in the main process and in each worker."""
import numpy as np

from ...backends import is_gpu_array
from .collate import default_collate
from .dataset import TensorDataset

__all__ = ["MapFetcher", "IterableFetcher"]


class MapFetcher:
    """``fetch(indices)``: the samples at a batch's indices, collated (or one sample, converted)."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset, self.auto_collation, self.collate_fn = dataset, auto_collation, collate_fn
        self.drop_last = drop_last

    def fetch(self, index):
        if not self.auto_collation:
            return self.collate_fn(self.dataset[index])
        if (self.collate_fn is default_collate and type(self.dataset) is TensorDataset
                and not any(is_gpu_array(t.data) for t in self.dataset.tensors)):
            rows = _index_array(index)
            if rows is not None:
                # what default_collate makes of the samples' tuples (a list of stacked rows),
                # gathered with one index per tensor instead of one per sample and tensor
                return [t[rows] for t in self.dataset.tensors]
        getitems = getattr(self.dataset, "__getitems__", None)
        data = getitems(index) if callable(getitems) else [self.dataset[i] for i in index]
        return self.collate_fn(data)


def _index_array(index):
    """A non-empty batch of integer indices as a 1-d array; None for anything else."""
    try:
        rows = np.asarray(index)
    except (TypeError, ValueError):
        return None
    return rows if rows.ndim == 1 and rows.size and rows.dtype.kind in "iu" else None


class IterableFetcher:
    """``fetch(batch_size)``: the next ``batch_size`` samples of the stream, collated (``None``:
    the next sample, converted); raises StopIteration when the stream is done."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.iterator = iter(dataset)
        self.auto_collation, self.collate_fn, self.drop_last = auto_collation, collate_fn, drop_last
        self.ended = False

    def fetch(self, batch_size):
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.iterator))
        data = []
        for _ in range(batch_size):
            try:
                data.append(next(self.iterator))
            except StopIteration:
                self.ended = True
                break
        if not data or (self.drop_last and len(data) < batch_size):
            raise StopIteration
        return self.collate_fn(data)
