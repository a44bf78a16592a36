"""tinydl.nn.parallel: data parallelism across processes (see tinydl.distributed)."""
from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
