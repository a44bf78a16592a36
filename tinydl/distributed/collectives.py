"""Collectives on Tensors with torch.distributed's signatures and in-place semantics.

Each returns None, or with ``async_op=True`` a ``Work`` handle whose ``wait()`` makes the result
visible in the given tensors.
"""
import numpy as np

from ..core.tensor import Tensor
from .process_group import _check_group, default_backend
from .work import ReduceOp


def _array(tensor, who):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"tinydl.distributed.{who}: expected a tinydl Tensor, got {type(tensor).__name__}")
    return tensor.data


def _contiguous(a, xp):
    """A C-contiguous buffer for ``a`` and a callback that writes it back when it is a copy."""
    if a.flags.c_contiguous:
        return a, None
    buf = xp.ascontiguousarray(a)
    return buf, lambda: a.__setitem__(Ellipsis, buf)


def _check_op(op, a, who):
    if not isinstance(op, ReduceOp):
        raise TypeError(f"tinydl.distributed.{who}: op must be a ReduceOp (SUM, AVG, MAX, MIN), got {op!r}")
    if op is ReduceOp.AVG and a.dtype.kind != "f":
        raise TypeError(f"tinydl.distributed.{who}: ReduceOp.AVG needs a floating-point tensor, "
                        f"got dtype {a.dtype} (the mean of integers is not an integer)")


def _check_rank(r, size, who, what):
    if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or not 0 <= r < size:
        raise ValueError(f"tinydl.distributed.{who}: {what}={r!r} is not a rank of this group "
                         f"(world size {size})")


def _chain(*steps):
    steps = [s for s in steps if s is not None]
    return (lambda: [s() for s in steps]) if steps else None


def _done(work, async_op):
    if async_op:
        return work
    work.wait()
    return None


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``tensor`` over all ranks in place: every rank ends with the result."""
    _check_group(group)
    impl = default_backend()
    a = _array(tensor, "all_reduce")
    impl.check_array(a, "all_reduce")
    _check_op(op, a, "all_reduce")
    buf, write_back = _contiguous(a, tensor.xp)
    average = (lambda: buf.__itruediv__(impl.size)) if op is ReduceOp.AVG else None
    return _done(impl.all_reduce(buf, op, _chain(average, write_back)), async_op)


def broadcast(tensor, src, group=None, async_op=False):
    """Copy rank ``src``'s ``tensor`` into ``tensor`` on every rank."""
    _check_group(group)
    impl = default_backend()
    a = _array(tensor, "broadcast")
    impl.check_array(a, "broadcast")
    _check_rank(src, impl.size, "broadcast", "src")
    buf, write_back = _contiguous(a, tensor.xp)
    return _done(impl.broadcast(buf, int(src), write_back), async_op)


def reduce(tensor, dst, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``tensor`` over all ranks into rank ``dst``'s ``tensor``; the others keep theirs."""
    _check_group(group)
    impl = default_backend()
    a = _array(tensor, "reduce")
    impl.check_array(a, "reduce")
    _check_op(op, a, "reduce")
    _check_rank(dst, impl.size, "reduce", "dst")
    buf, write_back = _contiguous(a, tensor.xp)
    is_dst = impl.rank == dst
    average = (lambda: buf.__itruediv__(impl.size)) if op is ReduceOp.AVG and is_dst else None
    return _done(impl.reduce(buf, int(dst), op, _chain(average, write_back if is_dst else None)),
                 async_op)


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Fill ``tensor_list[r]`` with rank r's ``tensor`` on every rank (the list must hold
    world-size tensors of the same shape and dtype)."""
    _check_group(group)
    impl = default_backend()
    a = _array(tensor, "all_gather")
    impl.check_array(a, "all_gather")
    if not isinstance(tensor_list, (list, tuple)) or len(tensor_list) != impl.size:
        n = len(tensor_list) if isinstance(tensor_list, (list, tuple)) else type(tensor_list).__name__
        raise ValueError(f"tinydl.distributed.all_gather: tensor_list must be a list of world-size "
                         f"({impl.size}) tensors, got {n}")
    for i, t in enumerate(tensor_list):
        o = _array(t, "all_gather")
        if o.shape != a.shape or o.dtype != a.dtype:
            raise ValueError(f"tinydl.distributed.all_gather: tensor_list[{i}] has shape {o.shape} and "
                             f"dtype {o.dtype}, but the input tensor has shape {a.shape} and dtype {a.dtype}")
    xp = tensor.xp
    send = xp.ascontiguousarray(a)
    out = xp.empty((impl.size,) + a.shape, dtype=a.dtype)

    def scatter_out():
        for t, part in zip(tensor_list, out):
            t.data[...] = part

    return _done(impl.all_gather(out, send, scatter_out), async_op)


def barrier(group=None, async_op=False, device_ids=None):
    """Wait until every rank has reached this call."""
    _check_group(group)
    return _done(default_backend().barrier(), async_op)
