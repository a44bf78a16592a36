"""Bucketed gradient all-reduce driven by gradient hooks (what DDP and the Keras strategy use).

Parameters are grouped into buckets of at most ``bucket_cap_bytes`` (the first bucket at most
``first_bucket_bytes``), in reverse registration order at first, which roughly is the order in
which backward produces their gradients. When the last gradient of a bucket has been accumulated
(``register_post_accumulate_grad_hook``), the bucket's gradients are copied into one flat buffer
and a non-blocking all-reduce starts, while backward goes on computing earlier layers' gradients.
Buckets start strictly in index order, so every rank issues the same collectives in the same
order. When the last parameter is ready, the reducer waits for all buckets and writes the reduced
values back into ``.grad``. After the first iteration the buckets are rebuilt once in the order the
gradients actually arrived on rank 0 (as PyTorch does).

MPI advances a non-blocking collective only inside an MPI call, so every hook also tests the
oldest unfinished bucket: that is what lets communication proceed during the backward pass.
"""
import time

import numpy as np

from ... import distributed as dist
from ...core.tensor import Tensor
from .sync import host_tensor

MB = 1024 * 1024
FIRST_BUCKET_BYTES = 1 * MB  # PyTorch's _DEFAULT_FIRST_BUCKET_BYTES


def assign_buckets(params, order, cap_bytes, first_bytes):
    """Split parameter indices (taken in ``order``) into buckets of one dtype each."""
    buckets, open_by_dtype, limit = [], {}, min(first_bytes, cap_bytes)
    for i in order:
        p = params[i]
        key = p.dtype.str
        bucket = open_by_dtype.setdefault(key, [[], 0])
        bucket[0].append(i)
        bucket[1] += p.data.nbytes
        if bucket[1] >= limit:
            buckets.append(bucket[0])
            del open_by_dtype[key]
            limit = cap_bytes
    buckets.extend(b[0] for b in open_by_dtype.values() if b[0])
    return buckets


class _Bucket:
    def __init__(self, params, indices):
        self.indices = indices
        self.offsets, n = [], 0
        for i in indices:
            self.offsets.append((n, n + params[i].data.size))
            n += params[i].data.size
        self.flat = params[indices[0]].xp.empty(n, dtype=params[indices[0]].dtype)
        self.remaining = len(indices)
        self.work = None


class GradReducer:
    """Reduce the gradients of ``params`` across ranks during backward.

    ``average``: divide the sum by the world size (DDP); False keeps the sum (for losses already
    scaled by each rank's share of the global batch).
    """

    def __init__(self, params, bucket_cap_bytes, who, average=True):
        self.params, self.who, self.average = list(params), who, average
        self.cap = int(bucket_cap_bytes)
        self.world = dist.get_world_size()
        self._hook_handles = [p.register_post_accumulate_grad_hook(self._hook_for(i))
                              for i, p in enumerate(self.params)]
        self._set_buckets(assign_buckets(self.params, range(len(self.params) - 1, -1, -1),
                                         self.cap, FIRST_BUCKET_BYTES))
        self.rebuilt = False
        self.armed = False
        self.comm_seconds = 0.0  # time spent inside the reducer (copies, launches, waits)
        self.buckets_reduced = 0  # buckets all-reduced so far ...
        self.buckets_done_early = 0  # ... and how many had finished before backward ended
        self._reset()

    # ---- buckets ------------------------------------------------------------------------------
    def _set_buckets(self, buckets):
        self.buckets = [_Bucket(self.params, b) for b in buckets]
        self.bucket_of = {}
        for b, bucket in enumerate(self.buckets):
            for k, i in enumerate(bucket.indices):
                self.bucket_of[i] = (b, k)

    def bucket_sizes(self):
        """Elements per bucket, in launch order (for tests and the benchmark)."""
        return [b.flat.size for b in self.buckets]

    def _reset(self):
        for b in self.buckets:
            b.remaining, b.work = len(b.indices), None
        self.ready = set()
        self.ready_order = []
        self.next_bucket = 0

    # ---- the per-iteration protocol -----------------------------------------------------------
    def prepare_for_backward(self):
        """Arm the hooks for the next backward pass (DDP calls it from forward)."""
        if self.ready:
            missing = [i for i in range(len(self.params)) if i not in self.ready]
            names = [self.params[i].name or f"parameter {i}" for i in missing[:5]]
            self.armed = False
            self._reset()
            raise RuntimeError(
                f"{self.who}: Expected to have finished reduction in the prior iteration before "
                f"starting a new one. {len(missing)} parameter(s) received no gradient in the last "
                f"backward pass (e.g. {', '.join(names)}); every trainable parameter must take part "
                f"in producing the loss (find_unused_parameters=True is not supported by tinydl)")
        self._reset()
        self.armed = True

    def disarm(self):
        self.armed = False
        self._reset()

    def _hook_for(self, i):
        def hook(param):
            if self.armed:
                self._mark_ready(i)
        return hook

    def contribute_zeros(self):
        """Take part in the reduction with zero gradients (a rank with no samples this step)."""
        for i, p in enumerate(self.params):
            if p.grad is None:
                p.grad = Tensor._wrap(p.xp.zeros_like(p.data))
            if i not in self.ready:
                self._mark_ready(i)

    def _mark_ready(self, i):
        if i in self.ready:
            return
        t0 = time.perf_counter()
        self.ready.add(i)
        self.ready_order.append(i)
        b, _ = self.bucket_of[i]
        self.buckets[b].remaining -= 1
        while self.next_bucket < len(self.buckets) and self.buckets[self.next_bucket].remaining == 0:
            self._launch(self.buckets[self.next_bucket])
            self.next_bucket += 1
        self._poke()
        if len(self.ready) == len(self.params):
            self._finish()
        self.comm_seconds += time.perf_counter() - t0

    def _launch(self, bucket):
        for i, (lo, hi) in zip(bucket.indices, bucket.offsets):
            bucket.flat[lo:hi] = self.params[i].grad.data.reshape(-1)
        bucket.work = dist.all_reduce(Tensor._wrap(bucket.flat), dist.ReduceOp.SUM, async_op=True)

    def _poke(self):
        for bucket in self.buckets[:self.next_bucket]:
            if not bucket.work.is_completed():
                return

    def _finish(self):
        self.buckets_reduced += len(self.buckets)
        self.buckets_done_early += sum(b.work.is_completed() for b in self.buckets)
        for bucket in self.buckets:
            bucket.work.wait()
            if self.average and self.world > 1:
                bucket.flat /= self.world
            for i, (lo, hi) in zip(bucket.indices, bucket.offsets):
                g = self.params[i].grad
                g.data[...] = bucket.flat[lo:hi].reshape(g.shape)
        order = list(self.ready_order)
        self.armed = False
        self._reset()
        if not self.rebuilt:
            self._rebuild(order)

    def _rebuild(self, order):
        """Re-bucket once in the order gradients arrived on rank 0 (the same on every rank)."""
        self.rebuilt = True
        t = host_tensor(np.asarray(order, dtype=np.int64))
        dist.broadcast(t, 0)
        self._set_buckets(assign_buckets(self.params, [int(i) for i in t.detach().numpy()], self.cap,
                                         FIRST_BUCKET_BYTES))
        self._reset()

    def remove_hooks(self):
        for h in self._hook_handles:
            h.remove()
