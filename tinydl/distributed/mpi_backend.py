"""The 'mpi' backend: collectives on host (NumPy) arrays through mpi4py.

Every collective is MPI's non-blocking form (``Iallreduce``, ``Ibcast``, ...); a blocking call is
the non-blocking one followed by ``Work.wait()``, which polls with a deadline, so no collective
waits forever for a rank that died. MPI advances a non-blocking collective only while some MPI call
runs in this process; ``Work.is_completed()`` is such a call (DDP calls it from its gradient hooks).
"""
from .work import ReduceOp, Work

_MPI_DTYPES = "efdbBhHiIlLqQ"  # float16/32/64 and the integer types MPI reduces


def load_mpi():
    try:
        from mpi4py import MPI
    except ImportError as e:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "tinydl.distributed: backend='mpi' needs mpi4py and an MPI library; install them with "
            "pip install 'tinydl[distributed]' (mpi4py and the mpich wheel). "
            f"Importing mpi4py failed: {e}") from e
    return MPI


class MPIBackend:
    name = "mpi"

    def __init__(self, timeout):
        MPI = load_mpi()
        self.MPI = MPI
        # Our own communicator: tinydl's messages never match a user's own COMM_WORLD traffic.
        self.comm = MPI.COMM_WORLD.Dup()
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.timeout = timeout
        self._ops = {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.MAX: MPI.MAX,
                     ReduceOp.MIN: MPI.MIN}

    def check_array(self, a, who):
        if hasattr(a, "get"):
            raise ValueError(f"tinydl.distributed.{who}: backend 'mpi' works on CPU tensors, but this "
                             f"tensor is on the GPU; use init_process_group(backend='nccl') for GPU tensors")
        if a.dtype.char not in _MPI_DTYPES:
            raise TypeError(f"tinydl.distributed.{who}: dtype {a.dtype} is not supported by backend "
                            f"'mpi' (supported: float16/32/64 and integer tensors)")

    def _work(self, name, request, finish=None, result=None):
        return Work(name, request.Test, self.timeout,
                    lambda: f"rank {self.rank} of {self.size} (backend 'mpi')", finish, result)

    def all_reduce(self, buf, op, finish):
        req = self.comm.Iallreduce(self.MPI.IN_PLACE, buf, self._ops[op])
        return self._work("all_reduce", req, finish)

    def broadcast(self, buf, src, finish):
        return self._work("broadcast", self.comm.Ibcast(buf, root=src), finish)

    def all_gather(self, out, buf, finish):
        return self._work("all_gather", self.comm.Iallgather(buf, out), finish)

    def reduce(self, buf, dst, op, finish):
        if self.rank == dst:
            req = self.comm.Ireduce(self.MPI.IN_PLACE, buf, self._ops[op], root=dst)
        else:
            req = self.comm.Ireduce(buf, None, self._ops[op], root=dst)
        return self._work("reduce", req, finish)

    def barrier(self):
        return self._work("barrier", self.comm.Ibarrier())

    def abort(self, code=1):
        self.MPI.COMM_WORLD.Abort(code)

    def shutdown(self):
        self.comm.Free()
