"""PyTorch's ``DataLoader(dataset, ...)``: batches of Tensors from a Dataset, in the main process
or in ``num_workers`` worker processes.

>>> import numpy as np, tinydl
>>> from tinydl.utils.data import TensorDataset
>>> ds = TensorDataset(tinydl.Tensor(np.arange(10.0).reshape(5, 2)), tinydl.Tensor(np.arange(5)))
>>> [yb.tolist() for _, yb in DataLoader(ds, batch_size=2)]
[[0, 1], [2, 3], [4]]
>>> len(DataLoader(ds, batch_size=2, drop_last=True))
2

``num_workers > 0`` starts that many processes (``multiprocessing``, the platform's default start
method unless ``multiprocessing_context`` says otherwise) at each ``iter()`` (once, with
``persistent_workers``); batches still come in sampler order, each worker's seed is
``base_seed + worker_id`` (``base_seed`` drawn from ``generator``, tinydl's shared generator by
default) and seeds Python's ``random``, NumPy's global generator and tinydl's in that worker; an
exception in a worker is raised again in the main process, naming the worker and carrying its
traceback. ``pin_memory`` is accepted and changes nothing (there is no pinned host memory here).
"""
import itertools
import math

from .collate import default_collate, default_convert
from .dataset import IterableDataset
from .fetch import IterableFetcher, MapFetcher
from .sampler import BatchSampler, RandomSampler, SequentialSampler
from .worker import MultiProcessIterator

__all__ = ["DataLoader"]

_FROZEN = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers")


class DataLoader:
    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", in_order=True):
        if not isinstance(num_workers, int) or isinstance(num_workers, bool) or num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable "
                             f"multiprocessing (got {num_workers!r})")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing. Let num_workers > 0 "
                             "to enable multiprocessing, otherwise set prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        if prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")

        if isinstance(dataset, IterableDataset):
            kind = "iterable"
            for name, value in (("shuffle", shuffle not in (None, False) and shuffle),
                                ("sampler", sampler), ("batch_sampler", batch_sampler)):
                if value is not None and value is not False:
                    raise ValueError(f"DataLoader with IterableDataset: expected unspecified {name} option, "
                                     f"but got {name}={value!r}")
        else:
            kind = "map"
            shuffle = bool(shuffle)
            if sampler is not None and shuffle:
                raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, "
                                 "and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with drop_last")
        if kind == "map" and sampler is None:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if kind == "map" and batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.dataset, self.batch_size, self.drop_last = dataset, batch_size, drop_last
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.num_workers, self.prefetch_factor, self.timeout = num_workers, prefetch_factor, timeout
        self.pin_memory, self.pin_memory_device, self.in_order = pin_memory, pin_memory_device, in_order
        self.worker_init_fn, self.multiprocessing_context = worker_init_fn, multiprocessing_context
        self.generator, self.persistent_workers = generator, persistent_workers
        self._dataset_kind = kind
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self._iterator = None
        self._initialized = True

    def __setattr__(self, name, value):
        if getattr(self, "_initialized", False) and name in _FROZEN:
            raise ValueError(f"{name} attribute should not be set after {type(self).__name__} is initialized")
        super().__setattr__(name, value)

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None or (self._dataset_kind == "iterable" and self.batch_size is not None)

    def _index_iterator(self):
        """What each fetch gets: a batch's indices, one index, or (streams) the batch size."""
        if self._dataset_kind == "iterable":
            return itertools.repeat(self.batch_size)
        return iter(self.batch_sampler if self._auto_collation else self.sampler)

    def __iter__(self):
        if self.num_workers == 0:
            return self._single_process()
        if self.persistent_workers:
            if self._iterator is None or self._iterator._shut:
                self._iterator = MultiProcessIterator(self)
            else:
                self._iterator._reset()
            return self._iterator
        return MultiProcessIterator(self)

    def _single_process(self):
        cls = IterableFetcher if self._dataset_kind == "iterable" else MapFetcher
        fetcher = cls(self.dataset, self._auto_collation, self.collate_fn, self.drop_last)
        for index in self._index_iterator():
            try:
                data = fetcher.fetch(index)
            except StopIteration:
                return
            yield data

    def __len__(self):
        if self._dataset_kind == "iterable":
            n = len(self.dataset)
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
            return n
        return len(self.batch_sampler if self._auto_collation else self.sampler)
