"""Data-parallel training of the seed CNN on MNIST, PyTorch style (DistributedDataParallel).

Launch one process per core (or per machine) with MPI:

    TINYDL_DATA=../shared/data mpiexec -n 2 python examples/mnist_ddp.py --epochs 1
    TINYDL_DATA=../shared/data mpiexec -n 2 python examples/mnist_ddp.py --epochs 1 --limit 6000

Each process trains on its DistributedSampler share (``--batch-size`` images per process and
step, so the global batch is that times the number of processes); gradients are averaged during
backward. Rank 0 prints progress and writes an atomic checkpoint after every epoch; the test set
is split over the processes and the correct counts are summed with ``all_reduce``.
"""
import argparse
import os
import time

import numpy as np

import tinydl
import tinydl.distributed as dist
from tinydl import nn, optim
from tinydl.data import DataLoader, load_mnist
from tinydl.io import save_checkpoint
from tinydl.nn.parallel import DistributedDataParallel as DDP
from tinydl.utils.data import DistributedSampler


def seed_cnn():
    """The seed's Keras CNN written with PyTorch's layer names (NCHW input)."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(),
        nn.Linear(64 * 3 * 3, 64), nn.ReLU(), nn.Linear(64, 10))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32, help="images per process and step")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--limit", type=int, default=None, help="use the first N training images")
    parser.add_argument("--test-limit", type=int, default=None, help="score the first N test images")
    parser.add_argument("--checkpoint", default="mnist_ddp_checkpoint.npz")
    parser.add_argument("--timeout", type=float, default=300, help="seconds any collective may wait")
    args = parser.parse_args()

    dist.init_process_group("mpi", timeout=args.timeout)
    rank, world = dist.get_rank(), dist.get_world_size()
    tinydl.manual_seed(0)

    (x_train, y_train), (x_test, y_test) = load_mnist(verbose=rank == 0)
    x_train, y_train = x_train[:args.limit], y_train[:args.limit]
    x_test, y_test = x_test[:args.test_limit], y_test[:args.test_limit]
    x_train = (x_train.astype(np.float32) / 255)[:, None]   # NCHW
    x_test = (x_test.astype(np.float32) / 255)[:, None]

    model = DDP(seed_cnn())
    opt = optim.Adam(model.parameters(), lr=args.lr)
    sampler = DistributedSampler(x_train, shuffle=True, seed=0)
    loader = DataLoader(x_train, y_train, batch_size=args.batch_size, sampler=sampler)
    if rank == 0:
        print(f"{world} processes x batch {args.batch_size}: {len(loader)} steps per epoch", flush=True)

    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        model.train()
        start, seen, loss_sum = time.perf_counter(), 0, 0.0
        for step, (xb, yb) in enumerate(loader):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(tinydl.Tensor(xb)), yb)
            loss.backward()          # gradients are averaged over the processes here
            opt.step()
            seen += len(xb)
            loss_sum += loss.item() * len(xb)
            if rank == 0 and (step + 1) % 100 == 0:
                print(f"epoch {epoch + 1} step {step + 1}/{len(loader)} loss {loss.item():.4f}", flush=True)
        stats = tinydl.Tensor(np.array([loss_sum, seen], np.float64))
        dist.all_reduce(stats)
        elapsed = time.perf_counter() - start
        if rank == 0:
            total_loss, total_seen = stats.tolist()
            print(f"epoch {epoch + 1}: mean loss {total_loss / total_seen:.4f}, {elapsed:.1f} s, "
                  f"{total_seen / elapsed:.0f} images/s over {world} processes", flush=True)
            save_checkpoint(args.checkpoint, model.module, opt, epoch=epoch)  # atomic

    # evaluation: each process scores its slice of the test set, the counts are summed
    model.eval()
    mine = np.array_split(np.arange(len(x_test)), world)[rank]
    correct = 0
    with tinydl.no_grad():
        for lo in range(0, len(mine), 500):
            idx = mine[lo:lo + 500]
            pred = model(tinydl.Tensor(x_test[idx])).detach().numpy().argmax(axis=1)
            correct += int((pred == y_test[idx]).sum())
    counts = tinydl.Tensor(np.array([correct, len(mine)], np.int64))
    dist.all_reduce(counts)
    if rank == 0:
        c, n = counts.tolist()
        print(f"test accuracy {c / n:.4f} ({c}/{n})", flush=True)
        if os.path.exists(args.checkpoint):
            print(f"checkpoint: {args.checkpoint}")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
