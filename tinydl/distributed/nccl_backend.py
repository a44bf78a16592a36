"""The 'nccl' backend: collectives on GPU (CuPy) arrays through ``cupy.cuda.nccl``.

UNTESTED: written without a GPU (see the README). Rank and world size come from MPI, which also
carries NCCL's unique id from rank 0 to the others; each process uses the GPU
``local rank % device count``. Collectives run on one dedicated CUDA stream that first waits for
the current stream (so earlier kernels writing the tensor finish first); a Work handle records an
event after the collective and its ``wait()`` polls that event with the group's timeout, aborting
the NCCL communicator when it passes.
"""
import numpy as np

from .mpi_backend import load_mpi
from .work import ReduceOp, Work


def load_nccl():
    try:
        import cupy
        from cupy.cuda import nccl
    except ImportError as e:
        raise RuntimeError(
            "tinydl.distributed: backend='nccl' needs CuPy built with NCCL (pip install "
            f"'tinydl[gpu,distributed]' on a machine with NVIDIA GPUs); importing it failed: {e}") from e
    if not getattr(nccl, "available", True):
        raise RuntimeError("tinydl.distributed: backend='nccl': this CuPy was built without NCCL")
    return cupy, nccl


class NCCLBackend:
    name = "nccl"

    def __init__(self, timeout):
        cupy, nccl = load_nccl()
        MPI = load_mpi()
        self.cupy, self.nccl, self.timeout = cupy, nccl, timeout
        world = MPI.COMM_WORLD
        self.rank, self.size = world.Get_rank(), world.Get_size()
        local_rank = world.Split_type(MPI.COMM_TYPE_SHARED).Get_rank()
        n_dev = cupy.cuda.runtime.getDeviceCount()
        if n_dev == 0:
            raise RuntimeError("tinydl.distributed: backend='nccl' found no CUDA device")
        self.device = cupy.cuda.Device(local_rank % n_dev)
        self.device.use()
        # NCCL's unique id (bytes in CuPy >= 13) goes from rank 0 to the others as raw bytes
        uid = np.zeros(128, np.uint8)  # NCCL_UNIQUE_ID_BYTES
        if self.rank == 0:
            uid[:] = np.frombuffer(bytes(nccl.get_unique_id()), np.uint8)
        world.Bcast(uid, root=0)
        uid = uid.tobytes()
        self.comm = nccl.NcclCommunicator(self.size, uid, self.rank)
        self.stream = cupy.cuda.Stream(non_blocking=True)
        self._dtypes = {"e": nccl.NCCL_FLOAT16, "f": nccl.NCCL_FLOAT32, "d": nccl.NCCL_FLOAT64,
                        "b": nccl.NCCL_INT8, "B": nccl.NCCL_UINT8, "i": nccl.NCCL_INT32,
                        "l": nccl.NCCL_INT64, "q": nccl.NCCL_INT64}
        self._ops = {ReduceOp.SUM: nccl.NCCL_SUM, ReduceOp.AVG: nccl.NCCL_SUM,
                     ReduceOp.MAX: nccl.NCCL_MAX, ReduceOp.MIN: nccl.NCCL_MIN}

    def check_array(self, a, who):
        if not hasattr(a, "get"):
            raise ValueError(f"tinydl.distributed.{who}: backend 'nccl' works on GPU tensors, but this "
                             f"tensor is on the CPU; move it with .to('gpu') or use backend 'mpi'")
        if a.dtype.char not in self._dtypes:
            raise TypeError(f"tinydl.distributed.{who}: dtype {a.dtype} is not supported by backend "
                            f"'nccl' (supported: float16/32/64, int8, uint8, int32, int64)")

    def _launch(self, name, call, finish=None):
        self.stream.wait_event(self.cupy.cuda.get_current_stream().record())
        with self.device:
            call(self.stream.ptr)
        event = self.stream.record()

        def finish_on_current_stream():
            self.cupy.cuda.get_current_stream().wait_event(event)
            if finish is not None:
                finish()

        return Work(name, lambda: event.done, self.timeout,
                    lambda: f"rank {self.rank} of {self.size} (backend 'nccl')", finish_on_current_stream)

    def all_reduce(self, buf, op, finish):
        dt = self._dtypes[buf.dtype.char]
        return self._launch("all_reduce", lambda s: self.comm.allReduce(
            buf.data.ptr, buf.data.ptr, buf.size, dt, self._ops[op], s), finish)

    def broadcast(self, buf, src, finish):
        dt = self._dtypes[buf.dtype.char]
        return self._launch("broadcast", lambda s: self.comm.bcast(buf.data.ptr, buf.size, dt, src, s),
                            finish)

    def all_gather(self, out, buf, finish):
        dt = self._dtypes[buf.dtype.char]
        return self._launch("all_gather", lambda s: self.comm.allGather(
            buf.data.ptr, out.data.ptr, buf.size, dt, s), finish)

    def reduce(self, buf, dst, op, finish):
        dt = self._dtypes[buf.dtype.char]
        return self._launch("reduce", lambda s: self.comm.reduce(
            buf.data.ptr, buf.data.ptr, buf.size, dt, self._ops[op], dst, s), finish)

    def barrier(self):
        token = self.cupy.zeros(1, self.cupy.float32)
        return self.all_reduce(token, ReduceOp.SUM, None)

    def abort(self, code=1):
        self.comm.abort()
        load_mpi().COMM_WORLD.Abort(code)

    def shutdown(self):
        self.comm.destroy()
