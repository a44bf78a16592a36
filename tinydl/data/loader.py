"""Mini-batches over in-memory numpy arrays.

>>> import numpy as np
>>> x, y = np.arange(10).reshape(5, 2), np.arange(5)
>>> [yb.tolist() for _, yb in DataLoader(x, y, batch_size=2)]
[[0, 1], [2, 3], [4]]
>>> len(DataLoader(x, y, batch_size=2, drop_last=True))
2
"""
import inspect
import math

import numpy as np

__all__ = ["DataLoader", "as_rng"]


def as_rng(rng=None):
    """A numpy Generator: `rng` itself, a new one seeded with an int `rng`, or tinydl's shared one.

    >>> bool(as_rng(3).integers(100) == as_rng(3).integers(100))
    True
    """
    if rng is None:
        # Imported on use so `import tinydl.data` never depends on how heavy tinydl.core becomes.
        from tinydl.core.random import get_rng
        return get_rng()
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def _takes_rng(fn):
    """Whether `fn` accepts an `rng=` keyword (augmentations do; a plain lambda does not)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "rng" or p.kind is p.VAR_KEYWORD for p in params)


class DataLoader:
    """Iterate `(x_batch, y_batch)` (or `x_batch` alone when `y` is None) in mini-batches.

    shuffle: a fresh order every epoch, i.e. every `iter()`. With `seed`, the sequence of epoch
        orders is the same for every loader built with that seed; without it, orders come from
        tinydl's shared generator (see `tinydl.manual_seed`).
    drop_last: skip the final short batch.
    transform: applied to each x batch; given `rng=` too when it accepts it, so augmentation
        follows the same seed as the shuffling.
    sampler: an iterable of indices into x (e.g. `tinydl.utils.data.DistributedSampler(x)`),
        iterated afresh every epoch; as in PyTorch it excludes `shuffle=True`.

    Unshuffled batches are views of `x` and `y` (no copy); shuffled ones are fresh arrays.

    >>> import numpy as np
    >>> dl = DataLoader(np.arange(6), batch_size=4, shuffle=True, seed=0)
    >>> sorted(np.concatenate(list(dl)).tolist())
    [0, 1, 2, 3, 4, 5]
    """

    def __init__(self, x, y=None, batch_size=32, shuffle=False, seed=None, drop_last=False,
                 transform=None, sampler=None):
        self.x = np.asarray(x)
        self.y = None if y is None else np.asarray(y)
        if self.x.ndim == 0 or len(self.x) == 0:
            raise ValueError(f"DataLoader needs at least one sample; x has shape {self.x.shape}")
        if self.y is not None and (self.y.ndim == 0 or len(self.y) != len(self.x)):
            n_y = 0 if self.y.ndim == 0 else len(self.y)
            raise ValueError(f"x and y must have the same length: len(x) = {len(self.x)}, "
                             f"len(y) = {n_y}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable, got {type(transform).__name__}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if sampler is not None and not hasattr(sampler, "__len__"):
            raise TypeError("DataLoader: sampler must have a length (an iterable of indices with __len__)")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.transform = transform
        self._transform_takes_rng = transform is not None and _takes_rng(transform)
        # Seeded loaders own a generator, so their epochs are repeatable whatever else draws.
        self._rng = None if seed is None else np.random.default_rng(seed)

    def __len__(self):
        """The number of batches in one epoch."""
        n = len(self.x) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self):
        rng = self._rng if self._rng is not None else as_rng()
        n = len(self.x)
        order = rng.permutation(n) if self.shuffle else None
        if self.sampler is not None:
            order = np.fromiter(iter(self.sampler), dtype=np.int64)
            n = len(order)
        for b in range(len(self)):
            lo, hi = b * self.batch_size, min((b + 1) * self.batch_size, n)
            idx = slice(lo, hi) if order is None else order[lo:hi]
            xb = self.x[idx]
            if self.transform is not None:
                xb = self.transform(xb, rng=rng) if self._transform_takes_rng else self.transform(xb)
            yield xb if self.y is None else (xb, self.y[idx])

    def __repr__(self):
        return (f"DataLoader(n={len(self.x)}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, batches={len(self)})")
