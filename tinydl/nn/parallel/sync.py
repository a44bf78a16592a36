"""Make every rank's copy of a model the same: check the architecture, broadcast rank 0's state."""
import json

import numpy as np

from ... import distributed as dist
from ...core.tensor import Tensor
from ..module import buffer_array


def named_state(module):
    """[(name, array, is_parameter)] for every parameter and buffer, in a fixed order."""
    out = []
    for mname, m in module.named_modules():
        for pname, p in m._parameters.items():
            out.append((f"{mname}.{pname}" if mname else pname, p.data, True))
        for bname in m._buffers:
            out.append((f"{mname}.{bname}" if mname else bname, buffer_array(getattr(m, bname)), False))
    return out


def host_tensor(array):
    """A Tensor of host data that the active backend can communicate (NCCL needs the GPU);
    ``.detach().numpy()`` brings the result back."""
    return Tensor(array, device="gpu" if dist.get_backend() == "nccl" else "cpu")


def check_same_architecture(module, who):
    """Compare names, shapes and dtypes of parameters and buffers across ranks.

    Every rank receives every rank's description, so when they differ every rank raises the same
    error (none is left waiting in a later collective).
    """
    desc = [[name, list(a.shape), str(a.dtype)] for name, a, _ in named_state(module)]
    mine = np.frombuffer(json.dumps(desc).encode(), dtype=np.uint8)
    size = dist.get_world_size()
    lengths = [host_tensor(np.zeros(1, np.int64)) for _ in range(size)]
    dist.all_gather(lengths, host_tensor(np.array([mine.size], np.int64)))
    longest = max(int(t.item()) for t in lengths)
    padded = np.zeros(longest, np.uint8)
    padded[:mine.size] = mine
    gathered = [host_tensor(np.zeros(longest, np.uint8)) for _ in range(size)]
    dist.all_gather(gathered, host_tensor(padded))
    descs = [json.loads(g.detach().numpy()[:int(n.item())].tobytes().decode()) for g, n in zip(gathered, lengths)]
    for r, other in enumerate(descs[1:], start=1):
        if other != descs[0]:
            raise RuntimeError(f"{who}: the model on rank {r} differs from the model on rank 0: "
                               f"{_first_difference(descs[0], other)}. Every rank must build the same "
                               f"architecture (names, shapes and dtypes of parameters and buffers)")


def _first_difference(a, b):
    da, db = {n: (s, d) for n, s, d in a}, {n: (s, d) for n, s, d in b}
    for name in da:
        if name not in db:
            return f"'{name}' exists on rank 0 only"
        if da[name] != db[name]:
            return (f"'{name}' has shape {tuple(da[name][0])} and dtype {da[name][1]} on rank 0 "
                    f"but shape {tuple(db[name][0])} and dtype {db[name][1]} there")
    for name in db:
        if name not in da:
            return f"'{name}' is missing on rank 0"
    return "the parameters are registered in a different order"


def broadcast_state(module, buffers_only=False):
    """Overwrite every parameter (and buffer) with rank 0's, in place."""
    works = []
    for _, a, is_param in named_state(module):
        if buffers_only and is_param:
            continue
        works.append(dist.broadcast(Tensor._wrap(a), 0, async_op=True))
    for w in works:
        w.wait()
