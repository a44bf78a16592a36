"""tinydl.distributed: torch.distributed's process-group API over MPI (and NCCL for GPU tensors).

Launch N copies of a program with an MPI launcher (``mpiexec -n 2 python train.py``, or
``srun``); each calls ``init_process_group(backend='mpi')`` and then talks to the others through
collectives on Tensors::

    import tinydl, tinydl.distributed as dist
    dist.init_process_group("mpi")
    t = tinydl.Tensor([float(dist.get_rank())])
    dist.all_reduce(t, op=dist.ReduceOp.SUM)     # every rank now holds 0 + 1 + ... + (N - 1)
    dist.destroy_process_group()

Needs the ``distributed`` extra (``pip install 'tinydl[distributed]'``: mpi4py and the mpich wheel).
"""
from .collectives import all_gather, all_reduce, barrier, broadcast, reduce
from .process_group import (destroy_process_group, get_backend, get_rank, get_world_size,
                            init_process_group, is_available, is_initialized, is_mpi_available,
                            is_nccl_available)
from .work import DistributedTimeoutError, ReduceOp, Work

__all__ = [
    "init_process_group", "destroy_process_group", "is_available", "is_initialized",
    "is_mpi_available", "is_nccl_available", "get_rank", "get_world_size", "get_backend",
    "all_reduce", "broadcast", "reduce", "all_gather", "barrier",
    "ReduceOp", "Work", "DistributedTimeoutError",
]
