"""Run under mpiexec: train with DistributedDataParallel; rank 0 saves the final parameters.

usage: ddp_train.py OUT.npz DTYPE BUCKET_CAP_MB ACCUMULATE STEPS
Each rank takes its DistributedSampler share of every global batch of 32 (16 per rank with two
ranks); with ACCUMULATE=2 that share is split into two micro-batches, the first under no_sync().
"""
import sys

import numpy as np

import tinydl
import tinydl.distributed as dist
from tinydl import nn, optim
from tinydl.data import DataLoader
from tinydl.nn.parallel import DistributedDataParallel
from tinydl.utils.data import DistributedSampler

GLOBAL_BATCH = 32


def make_data(n=160):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(n, 6))
    y = np.tanh(x @ rng.normal(size=(6, 3)))
    return x, y


def make_model(dtype):
    return nn.Sequential(nn.Linear(6, 16, dtype=dtype), nn.Tanh(), nn.Linear(16, 16, dtype=dtype),
                         nn.ReLU(), nn.Linear(16, 3, dtype=dtype))


def mse(out, y):
    return ((out - tinydl.Tensor(y)) ** 2).mean()


def main(out_path, dtype, cap_mb, accumulate, steps):
    dist.init_process_group("mpi", timeout=30)
    rank, size = dist.get_rank(), dist.get_world_size()
    tinydl.manual_seed(rank)  # different initial weights: DDP must broadcast rank 0's
    model = DistributedDataParallel(make_model(dtype), bucket_cap_mb=cap_mb)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    x, y = make_data()
    x, y = x.astype(dtype), y.astype(dtype)
    sampler = DistributedSampler(x, shuffle=False)
    loader = DataLoader(x, y, batch_size=GLOBAL_BATCH // size, sampler=sampler)
    for step, (xb, yb) in zip(range(steps), loader):
        opt.zero_grad()
        parts = np.array_split(np.arange(len(xb)), accumulate)
        for k, part in enumerate(parts):
            last = k == len(parts) - 1
            if last:
                loss = mse(model(tinydl.Tensor(xb[part])), yb[part]) / accumulate
                loss.backward()
            else:
                with model.no_sync():
                    loss = mse(model(tinydl.Tensor(xb[part])), yb[part]) / accumulate
                    loss.backward()
        opt.step()
    state = {k: v for k, v in model.module.state_dict().items()}
    gathered = [tinydl.Tensor(np.zeros_like(state[k])) for k in state for _ in range(size)]
    works = [dist.all_gather(gathered[i * size:(i + 1) * size], tinydl.Tensor(v), async_op=True)
             for i, v in enumerate(state.values())]
    for w in works:
        w.wait()
    for i, k in enumerate(state):  # every rank holds the same parameters
        for r in range(1, size):
            assert np.array_equal(gathered[i * size].detach().numpy(), gathered[i * size + r].detach().numpy()), k
    if rank == 0:
        np.savez(out_path, buckets=np.array(model.reducer.bucket_sizes()), **state)
    dist.destroy_process_group()
    print(f"rank {rank}: trained {steps} steps, buckets {model.reducer.bucket_sizes()}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], np.dtype(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
