"""Run under mpiexec: the last rank dies (SIGKILL) or raises in the middle of training.

usage: fault.py kill|raise|hang TIMEOUT_SECONDS
"""
import os
import signal
import sys
import time

import numpy as np

import tinydl
import tinydl.distributed as dist
from tinydl import nn, optim
from tinydl.nn.parallel import DistributedDataParallel

mode, timeout = sys.argv[1], float(sys.argv[2])
dist.init_process_group("mpi", timeout=timeout)
rank, size = dist.get_rank(), dist.get_world_size()
model = DistributedDataParallel(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1)))
opt = optim.SGD(model.parameters(), lr=0.1)
x = tinydl.Tensor(np.ones((4, 4), np.float32))
for step in range(1000):
    if step == 3 and rank == size - 1:
        print(f"rank {rank}: failing ({mode}) at step {step}", flush=True)
        if mode == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if mode == "hang":  # alive but never reaching the collective: the others' timeout must fire
            time.sleep(3600)
        raise ValueError("a deliberate failure in the training step")
    opt.zero_grad()
    (model(x) ** 2).mean().backward()
    opt.step()
    time.sleep(0.01)
print(f"rank {rank}: finished without noticing the failure", flush=True)
