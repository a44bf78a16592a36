"""DistributedSampler: each rank's share of a dataset's indices, partitioned as PyTorch does.

The rule (PyTorch's): with ``drop_last`` false, every rank gets ``ceil(N / R)`` indices and the
index list is padded to ``R * ceil(N / R)`` by repeating its beginning (as many times as needed);
with ``drop_last`` true and ``N`` not divisible by ``R``, every rank gets ``ceil((N - R) / R)``
indices and the tail is dropped. Rank ``r`` takes positions ``r, r + R, r + 2R, ...``. With
``shuffle``, the list is first permuted by a generator seeded with ``seed + epoch``
(call ``set_epoch`` at the start of every epoch), so every rank draws the same permutation.

The one difference from PyTorch: the permutation comes from NumPy's
``default_rng(seed + epoch).permutation(N)``, not from ``torch.randperm``, so shuffled orders are
not PyTorch's (tinydl cannot reproduce torch's generator); unshuffled partitions are identical.
"""
import math

import numpy as np


class DistributedSampler:
    """Iterate the dataset indices of one rank.

    ``dataset``: anything with ``len()`` (a Dataset or an array). ``num_replicas`` and ``rank``
    default to the default process group's world size and rank.

    >>> list(DistributedSampler(range(10), num_replicas=4, rank=1, shuffle=False))
    [1, 5, 9]
    >>> list(DistributedSampler(range(10), num_replicas=4, rank=3, shuffle=False))
    [3, 7, 1]
    >>> len(DistributedSampler(range(10), num_replicas=4, rank=0, drop_last=True))
    2
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        if num_replicas is None or rank is None:
            from ... import distributed as dist
            if not dist.is_initialized():
                raise RuntimeError("DistributedSampler: num_replicas and rank default to the process "
                                   "group's, but init_process_group() has not been called; call it "
                                   "or pass num_replicas= and rank=")
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if isinstance(num_replicas, bool) or not isinstance(num_replicas, (int, np.integer)) \
                or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be a positive integer, got {num_replicas!r}")
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas, self.rank = int(num_replicas), int(rank)
        self.epoch = 0
        self.drop_last = bool(drop_last)
        n = len(dataset)
        if self.drop_last and n % self.num_replicas != 0:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas
        self.shuffle = bool(shuffle)
        self.seed = int(seed)

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            indices = np.random.default_rng(self.seed + self.epoch).permutation(n)
        else:
            indices = np.arange(n)
        if not self.drop_last:
            padding = self.total_size - n
            if padding > 0:
                indices = np.concatenate([indices, np.resize(indices, padding)])
        else:
            indices = indices[:self.total_size]
        assert len(indices) == self.total_size
        return iter(indices[self.rank:self.total_size:self.num_replicas].tolist())

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        """Use a different shuffle for this epoch (the same on every rank)."""
        self.epoch = int(epoch)
