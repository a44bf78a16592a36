"""PyTorch's indexing functions: ``gather``, ``scatter``/``scatter_add``, ``index_select``,
``masked_fill``, ``masked_select``, ``take_along_dim``. Differentiable in the input and the source."""
import numbers

import numpy as np

from .. import functional as F
from ..ops import gather as G
from ..tensor import Tensor
from .shape import dim_of


def _index(op, index, x, d):
    if not isinstance(index, Tensor):
        raise TypeError(f"{op}(): argument 'index' must be Tensor, not {type(index).__name__}")
    if index.dtype != np.int64:
        raise RuntimeError(f"{op}(): Expected dtype int64 for index")
    if index.ndim != x.ndim:
        raise RuntimeError(f"Index tensor must have the same number of dimensions as input tensor")
    for k in range(x.ndim):
        if k != d and index.shape[k] > x.shape[k]:
            raise RuntimeError(f"Size does not match at dimension {k} expected index {list(index.shape)} to be "
                               f"smaller than self {list(x.shape)} apart from dimension {d}")
    idx = index.data
    if idx.size and (int(idx.min()) < -x.shape[d] or int(idx.max()) >= x.shape[d]):
        raise RuntimeError(f"index {int(idx.max()) if int(idx.max()) >= x.shape[d] else int(idx.min())} is out "
                           f"of bounds for dimension {d} with size {x.shape[d]}")
    return idx % max(x.shape[d], 1)


def _cut(x, shape, d):
    """x limited to ``shape`` in every dimension but ``d`` (PyTorch lets index be smaller)."""
    if all(k == d or x.shape[k] == n for k, n in enumerate(shape)):
        return x
    return F.getitem(x, tuple(slice(None) if k == d else slice(0, n) for k, n in enumerate(shape)))


def gather(input, dim, index, *, sparse_grad=False):  # noqa: A002
    """out[i][j] = input[i][index[i][j]] for dim=1 (and likewise for any dim)."""
    d = dim_of("gather", dim, input.ndim)
    idx = _index("gather", index, input, d)
    cut = _cut(input, idx.shape[:d] + (input.shape[d],) + idx.shape[d + 1:], d)
    return G.Gather.apply(cut, dim=d, index=idx)


def take_along_dim(input, indices, dim=None):  # noqa: A002
    if dim is None:
        return gather(F.reshape(input, (-1,)), 0, F.reshape(indices, (-1,)))
    return gather(input, dim, indices)


def _src(src, index, x, op):
    if isinstance(src, Tensor):
        if src.ndim != index.ndim or any(i > s for i, s in zip(index.shape, src.shape)):
            raise RuntimeError(f"{op}(): Expected index {list(index.shape)} to be smaller than src "
                               f"{list(src.shape)} in every dimension")
        return _cut(src, index.shape, -1)
    if not isinstance(src, numbers.Number):
        raise TypeError(f"{op}(): src must be a Tensor or a number, got {type(src).__name__}")
    return Tensor._wrap(x.xp.full(index.shape, src, dtype=x.dtype))


def scatter(input, dim, index, src=None, *, value=None, reduce=None):  # noqa: A002
    """A copy of input with input[i][index[i][j]] = src[i][j] (dim=1); src may be a number."""
    if reduce is not None:
        raise NotImplementedError("scatter(reduce=...): tinydl supports scatter without reduce and "
                                  "scatter_add; use scatter_add for reduce='add'")
    src = value if src is None else src
    d = dim_of("scatter", dim, input.ndim)
    idx = _index("scatter", index, input, d)
    return G.Scatter.apply(input, _src(src, idx, input, "scatter"), dim=d, index=idx)


def scatter_add(input, dim, index, src):  # noqa: A002
    """A copy of input with src added at input[i][index[i][j]] (repeated indices accumulate)."""
    d = dim_of("scatter_add", dim, input.ndim)
    idx = _index("scatter_add", index, input, d)
    placed = G.ScatterAddAlong.apply(_src(src, idx, input, "scatter_add"), dim=d, index=idx, shape=input.shape)
    return F.add(input, placed)


def index_select(input, dim, index):  # noqa: A002
    d = dim_of("index_select", dim, input.ndim)
    if not isinstance(index, Tensor) or index.ndim > 1 or index.dtype.kind not in "iu":
        raise RuntimeError("index_select(): Expected a 1-D integer (int64 or int32) index tensor")
    idx = index.data.reshape(-1)
    n = input.shape[d] if input.ndim else 1
    if idx.size and (int(idx.max()) >= n or int(idx.min()) < -n):
        raise IndexError(f"index out of range in self (index_select: indices must be in [-{n}, {n}) along dim {d})")
    if input.ndim == 0:
        return F.getitem(F.reshape(input, (1,)), idx)
    return F.getitem(input, (slice(None),) * d + (idx,))


def masked_fill(input, mask, value):  # noqa: A002
    """input with value where mask is True (mask broadcasts to input's shape)."""
    m = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != bool:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype {m.dtype}")
    if isinstance(value, Tensor) and value.ndim:
        raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                           f"{value.ndim} dimension(s).")
    if isinstance(value, Tensor):
        value = value if value.dtype == input.dtype else value.astype(input.dtype)
    else:  # a Python number takes the input's dtype, as in PyTorch (1.7 on an int tensor is 1)
        value = Tensor._wrap(input.xp.asarray(value).astype(input.dtype))
    out = F.where(m, value, input)
    if out.shape != input.shape:
        raise RuntimeError(f"masked_fill: the mask of shape {m.shape} does not broadcast to the input's "
                           f"shape {input.shape}")
    return out


def masked_select(input, mask):  # noqa: A002
    m = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    shape = np.broadcast_shapes(input.shape, m.shape)
    return F.getitem(F.broadcast_to(input, shape), input.xp.broadcast_to(m, shape))
