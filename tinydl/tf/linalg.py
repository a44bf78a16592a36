"""``tf.linalg``: matmul, norm, matrix_transpose, eye, trace, diag_part, l2_normalize."""
import numpy as np

from ..core import functional as T
from ._convert import axis_arg, to_tensor
from .ops import eye, matmul  # noqa: F401
from .nn import l2_normalize  # noqa: F401


__all__ = ["diag_part", "eye", "l2_normalize", "matmul", "matrix_transpose", "norm", "trace"]

def matrix_transpose(a, name=None, conjugate=False):
    return T.swapaxes(to_tensor(a), -1, -2)


def norm(tensor, ord="euclidean", axis=None, keepdims=None, name=None):
    """The Euclidean (or ord=1 / np.inf) vector norm over ``axis`` (all elements when None)."""
    x = to_tensor(tensor)
    axis = axis_arg(axis)
    keep = bool(keepdims)
    if ord in ("euclidean", 2, "fro"):
        return T.sqrt(T.sum(x * x, axis=axis, keepdims=keep))
    if ord == 1:
        return T.sum(T.abs(x), axis=axis, keepdims=keep)
    if ord == np.inf:
        return T.max(T.abs(x), axis=axis, keepdims=keep)
    raise NotImplementedError(f"tinydl.tf.linalg.norm: ord={ord!r} is not supported (euclidean, 1, inf)")


def trace(x, name=None):
    x = to_tensor(x)
    n = min(x.shape[-2:])
    return T.sum(T.getitem(x, (Ellipsis, np.arange(n), np.arange(n))), axis=-1)


def diag_part(input, name=None):  # noqa: A002
    x = to_tensor(input)
    n = min(x.shape[-2:])
    return T.getitem(x, (Ellipsis, np.arange(n), np.arange(n)))
