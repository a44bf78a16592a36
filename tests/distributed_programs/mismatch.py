"""Run under mpiexec: the last rank builds a different model; every rank must report the error."""
import sys

import tinydl.distributed as dist
from tinydl import nn
from tinydl.nn.parallel import DistributedDataParallel

dist.init_process_group("mpi", timeout=20)
rank, size = dist.get_rank(), dist.get_world_size()
kind = sys.argv[1]
hidden = 8
if rank == size - 1 and kind == "shape":
    hidden = 9
layers = [nn.Linear(4, hidden), nn.ReLU(), nn.Linear(hidden, 2)]
if rank == size - 1 and kind == "extra":
    layers.append(nn.Linear(2, 2))
try:
    DistributedDataParallel(nn.Sequential(*layers))
except RuntimeError as e:
    print(f"rank {rank} error: {e}", flush=True)
    dist.barrier()  # both ranks got here: nobody was left waiting
    sys.exit(3)
print(f"rank {rank}: no error", flush=True)
