"""Run under mpiexec: every collective, op and dtype against NumPy; prints one line per rank."""
import sys

import numpy as np

import tinydl
import tinydl.distributed as dist
from tinydl.distributed import ReduceOp

DTYPES = [np.float16, np.float32, np.float64, np.int8, np.uint8, np.int16, np.int32, np.int64]
NP_OPS = {ReduceOp.SUM: lambda a: np.sum(a, axis=0, dtype=a.dtype),
          ReduceOp.MAX: lambda a: a.max(axis=0), ReduceOp.MIN: lambda a: a.min(axis=0)}


def data(rank, dtype, shape=(3, 5)):
    rng = np.random.default_rng(100 + rank)
    if np.dtype(dtype).kind == "f":
        return rng.normal(size=shape).astype(dtype)
    info = np.iinfo(dtype)
    # small values: the sum over ranks must not overflow (NumPy would wrap, MPI may not define it)
    lo, hi = max(info.min, -20), min(info.max, 20)
    return rng.integers(lo, hi, size=shape).astype(dtype)


def main():
    dist.init_process_group("mpi", timeout=20)
    rank, size = dist.get_rank(), dist.get_world_size()
    checks = 0

    def same(got, want, what):
        nonlocal checks
        checks += 1
        got = np.asarray(got)
        if got.dtype != want.dtype or not np.array_equal(got, want):
            raise AssertionError(f"rank {rank}: {what}: got {got!r} want {want!r}")

    for dtype in DTYPES:
        everyone = np.stack([data(r, dtype) for r in range(size)])
        mine = everyone[rank]
        ops = dict(NP_OPS)
        if np.dtype(dtype).kind == "f":
            ops[ReduceOp.AVG] = lambda a: (np.sum(a, axis=0, dtype=a.dtype) / a.dtype.type(size)).astype(a.dtype)
        for op, ref in ops.items():
            for async_op in (False, True):
                t = tinydl.Tensor(mine.copy())
                w = dist.all_reduce(t, op=op, async_op=async_op)
                if async_op:
                    assert w.wait() is True and w.is_completed()
                same(t.detach().numpy(), ref(everyone), f"all_reduce {op} {np.dtype(dtype)} async={async_op}")
            t = tinydl.Tensor(mine.copy())
            dist.reduce(t, dst=size - 1, op=op)
            same(t.detach().numpy(), ref(everyone) if rank == size - 1 else mine, f"reduce {op} {np.dtype(dtype)}")
        if np.dtype(dtype).kind != "f":
            try:
                dist.all_reduce(tinydl.Tensor(mine.copy()), op=ReduceOp.AVG)
                raise AssertionError("AVG on integers did not raise")
            except TypeError as e:
                assert "AVG" in str(e), e
        t = tinydl.Tensor(mine.copy())
        dist.broadcast(t, src=size - 1)
        same(t.detach().numpy(), everyone[size - 1], f"broadcast {np.dtype(dtype)}")
        outs = [tinydl.Tensor(np.zeros_like(mine)) for _ in range(size)]
        dist.all_gather(outs, tinydl.Tensor(mine.copy()), async_op=True).wait()
        for r in range(size):
            same(outs[r].detach().numpy(), everyone[r], f"all_gather {np.dtype(dtype)} part {r}")

    # a non-contiguous tensor is reduced in place too
    base = np.arange(12, dtype=np.float64).reshape(3, 4) * (rank + 1)
    t = tinydl.Tensor(base.T)
    dist.all_reduce(t)
    same(base.T, np.arange(12, dtype=np.float64).reshape(3, 4).T * sum(range(1, size + 1)), "non-contiguous")
    # bad input: clear errors
    for call, kind in ((lambda: dist.all_gather([tinydl.zeros(2)], tinydl.zeros(2)), ValueError),
                       (lambda: dist.broadcast(tinydl.zeros(2), src=size), ValueError),
                       (lambda: dist.all_reduce(np.zeros(2)), TypeError),
                       (lambda: dist.all_reduce(tinydl.Tensor(np.zeros(2, bool))), TypeError)):
        try:
            call()
            raise AssertionError("no error")
        except kind:
            checks += 1
    dist.barrier()
    assert dist.is_initialized() and dist.get_backend() == "mpi"
    dist.destroy_process_group()
    assert not dist.is_initialized()
    print(f"rank {rank} of {size}: all {checks} checks passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
