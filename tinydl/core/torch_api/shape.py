"""PyTorch's shape functions: ``view``, ``transpose(dim0, dim1)``, ``cat``, ``chunk``,
``split`` (chunks of a SIZE, or a list of sizes), ``repeat`` (tiling), ``squeeze`` (non-1 sizes
are left alone), ``expand`` (-1 keeps a size), ``narrow``, ``flip``, ``roll``, ``unflatten``.

Everything is built from the differentiable core ops (reshape, transpose, broadcast, getitem,
concatenate, stack), so gradients of any order come with them.
"""
import numbers

import numpy as np

from .. import functional as F
from ..ops.shape import check_axis
from ..tensor import Tensor


class DimError(IndexError, ValueError):
    """PyTorch's IndexError for a dimension out of range (a ValueError too, as tinydl raised before)."""


class ShapeError(RuntimeError, ValueError):
    """PyTorch's RuntimeError for an impossible shape (a ValueError too, as tinydl raised before)."""


def dim_of(op, dim, ndim, extra=0):
    """A dimension as a non-negative int, PyTorch's IndexError when out of range."""
    n = max(ndim + extra, 1)
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
        raise TypeError(f"{op}(): argument 'dim' must be int, not {type(dim).__name__}")
    if not -n <= dim < n:
        raise DimError(f"{op}(): Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    return int(dim) % n


def sizes_arg(args):
    """Varargs ints or one tuple/list of them."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


def _tensor(x, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(x).__name__}")
    return x


def _infer(shape, numel, op):
    shape = [int(s) for s in shape]
    if shape.count(-1) > 1:
        raise RuntimeError(f"{op}: only one dimension can be inferred")
    known = int(np.prod([s for s in shape if s != -1]))
    if -1 in shape:
        if known == 0 or numel % known:
            raise ShapeError(f"{op}: shape '{shape}' is invalid for input of size {numel}")
        shape[shape.index(-1)] = numel // known
    if int(np.prod(shape)) != numel or any(s < -1 for s in shape):
        raise ShapeError(f"{op}: shape '{shape}' is invalid for input of size {numel}")
    return tuple(shape)


def view(x, *shape):
    """A view with another shape; like PyTorch it refuses when the memory layout does not allow
    a view (``x.t().view(-1)``): use ``reshape`` then."""
    if len(shape) == 1 and not isinstance(shape[0], (tuple, list, numbers.Integral)):
        raise NotImplementedError("view(dtype): reinterpreting a tensor's bytes as another dtype is not "
                                  "supported by tinydl")
    shape = _infer(sizes_arg(shape), x.data.size, "view")
    probe = x.xp.asarray(x.data).view()
    try:
        probe.shape = shape  # raises when only a copy could give this shape
    except AttributeError:
        raise RuntimeError("view size is not compatible with input tensor's size and stride (at least one "
                           "dimension spans across two contiguous subspaces). Use .reshape(...) instead.") from None
    return F.reshape(x, shape)


def reshape(x, *shape):
    return F.reshape(_tensor(x, "reshape"), _infer(sizes_arg(shape), x.data.size, "reshape"))


def transpose(x, dim0, dim1):
    """Swap two dimensions (both required, as in PyTorch)."""
    x = _tensor(x, "transpose")
    a, b = dim_of("transpose", dim0, x.ndim), dim_of("transpose", dim1, x.ndim)
    perm = list(range(x.ndim))
    perm[a], perm[b] = perm[b], perm[a]
    return F.transpose(x, perm) if x.ndim else x


swapaxes = swapdims = transpose


def permute(x, *dims):
    x = _tensor(x, "permute")
    dims = sizes_arg(dims)
    if len(dims) != x.ndim:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
                           f"length of the desired ordering of dimensions i.e. input.dim() = {x.ndim} is not "
                           f"equal to len(dims) = {len(dims)}")
    perm = [dim_of("permute", d, x.ndim) for d in dims]
    if len(set(perm)) != len(perm):
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return F.transpose(x, perm)


def t(x):
    """Transpose of a matrix; 0-d and 1-d tensors come back as they are."""
    if x.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {x.ndim}D")
    return F.transpose(x, (1, 0)) if x.ndim == 2 else x


def flatten(x, start_dim=0, end_dim=-1):
    x = _tensor(x, "flatten")
    if x.ndim == 0:
        return F.reshape(x, (1,))
    s, e = dim_of("flatten", start_dim, x.ndim), dim_of("flatten", end_dim, x.ndim)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    return F.flatten(x, s, e)


def unflatten(x, dim, sizes):
    d = dim_of("unflatten", dim, x.ndim)
    inner = _infer(sizes, x.shape[d], "unflatten")
    return F.reshape(x, x.shape[:d] + inner + x.shape[d + 1:])


def squeeze(x, dim=None):
    """Drop size-1 dimensions (all, or those of ``dim``); a named dim whose size is not 1 stays."""
    dims = range(x.ndim) if dim is None else dim if isinstance(dim, (tuple, list)) else (dim,)
    dims = {dim_of("squeeze", d, x.ndim) for d in dims}
    return F.reshape(x, [n for i, n in enumerate(x.shape) if not (i in dims and n == 1)])


def unsqueeze(x, dim):
    d = dim_of("unsqueeze", dim, x.ndim, extra=1)
    return F.reshape(x, x.shape[:d] + (1,) + x.shape[d:])


def expand(x, *sizes):
    """Broadcast to ``sizes`` (a view); -1 keeps a dimension's size, new dimensions go in front."""
    sizes = sizes_arg(sizes)
    if len(sizes) < x.ndim:
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to "
                           f"the number of dimensions in the tensor ({x.ndim})")
    lead = len(sizes) - x.ndim
    target = []
    for i, s in enumerate(sizes):
        if s == -1:
            if i < lead:
                raise RuntimeError(f"expand: -1 is not allowed in a leading, non-existing dimension {i}")
            s = x.shape[i - lead]
        elif i >= lead and x.shape[i - lead] not in (1, s):
            raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing size "
                               f"({x.shape[i - lead]}) at non-singleton dimension {i}.  Target sizes: "
                               f"{list(sizes)}.  Tensor sizes: {list(x.shape)}")
        target.append(int(s))
    return F.broadcast_to(x, tuple(target))


def expand_as(x, other):
    return expand(x, other.shape)


def repeat(x, *sizes):
    """Tile: ``repeat(2, 3)`` on a (4, 5) tensor gives (8, 15) (NumPy's tile, not repeat)."""
    reps = sizes_arg(sizes)
    if len(reps) < x.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions "
                           "of tensor")
    shape = (1,) * (len(reps) - x.ndim) + x.shape
    interleaved = F.reshape(x, [v for s in shape for v in (1, s)])
    tiled = F.broadcast_to(interleaved, [v for r, s in zip(reps, shape) for v in (r, s)])
    return F.reshape(tiled, [r * s for r, s in zip(reps, shape)])


def cat(tensors, dim=0, *, axis=None, out=None):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    dim = axis if axis is not None else dim
    d = dim_of("cat", dim, tensors[0].ndim)
    for i, t_ in enumerate(tensors):
        if t_.ndim != tensors[0].ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {tensors[0].ndim} and {t_.ndim}")
        for k in range(t_.ndim):
            if k != d and t_.shape[k] != tensors[0].shape[k]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. Expected size "
                                   f"{tensors[0].shape[k]} but got size {t_.shape[k]} for tensor number {i} "
                                   "in the list.")
    return F.concatenate(tensors, axis=d)


concat = concatenate = cat


def stack(tensors, dim=0, *, out=None):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    d = dim_of("stack", dim, tensors[0].ndim, extra=1)
    for i, t_ in enumerate(tensors):
        if t_.shape != tensors[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(tensors[0].shape)} "
                               f"at entry 0 and {list(t_.shape)} at entry {i}")
    return F.stack(tensors, axis=d)


def _pieces(x, d, sizes):
    out, start = [], 0
    for s in sizes:
        out.append(F.getitem(x, (slice(None),) * d + (slice(start, start + s),)))
        start += s
    return tuple(out)


def split(x, split_size_or_sections, dim=0):
    """Pieces of ``split_size`` along ``dim`` (the last one smaller), or of the listed sizes."""
    d = dim_of("split", dim, x.ndim)
    n = x.shape[d]
    if isinstance(split_size_or_sections, numbers.Integral):
        size = int(split_size_or_sections)
        if size < 0 or (size == 0 and n != 0):
            raise RuntimeError(f"split expects split_size be non-negative, but got split_size={size}")
        sizes = [min(size, n - i) for i in range(0, n, size)] if size else [0]
        return _pieces(x, d, sizes or [0])
    sizes = [int(s) for s in split_size_or_sections]
    if sum(sizes) != n or any(s < 0 for s in sizes):
        raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at "
                           f"dimension {d}), but got split_sizes={sizes}")
    return _pieces(x, d, sizes)


def chunk(x, chunks, dim=0):
    """At most ``chunks`` pieces of ceil(n / chunks) along ``dim`` (fewer when they run out)."""
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = dim_of("chunk", dim, x.ndim)
    n = x.shape[d]
    size = -(-n // chunks)
    return split(x, size, d) if n else split(x, [0] * chunks, d)


def tensor_split(x, indices_or_sections, dim=0):
    d = dim_of("tensor_split", dim, x.ndim)
    n = x.shape[d]
    if isinstance(indices_or_sections, numbers.Integral):
        k = int(indices_or_sections)
        sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
    else:
        edges = [0] + [min(max(int(i), 0), n) for i in indices_or_sections] + [n]
        sizes = [max(b - a, 0) for a, b in zip(edges[:-1], edges[1:])]
    return _pieces(x, d, sizes)


def unbind(x, dim=0):
    d = dim_of("unbind", dim, x.ndim)
    return tuple(F.getitem(x, (slice(None),) * d + (i,)) for i in range(x.shape[d]))


def narrow(x, dim, start, length):
    d = dim_of("narrow", dim, x.ndim)
    n = x.shape[d]
    start = int(start) + (n if start < 0 else 0)
    if not 0 <= start <= n or length < 0 or start + length > n:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
    return F.getitem(x, (slice(None),) * d + (slice(start, start + length),))


def flip(x, *dims):
    dims = sizes_arg(dims)
    index = [slice(None)] * x.ndim
    for d in dims:
        index[dim_of("flip", d, x.ndim)] = slice(None, None, -1)
    return F.getitem(x, tuple(index))


def roll(x, shifts, dims=None):
    if dims is None:
        return F.reshape(roll(F.reshape(x, (-1,)), shifts, 0), x.shape)
    shifts = (shifts,) if isinstance(shifts, numbers.Integral) else tuple(shifts)
    dims = (dims,) if isinstance(dims, numbers.Integral) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    out = x
    for s, d in zip(shifts, dims):
        d = dim_of("roll", d, x.ndim)
        n = x.shape[d]
        if n:
            order = (np.arange(n) - int(s)) % n
            out = F.getitem(out, (slice(None),) * d + (order,))
    return out


def movedim(x, source, destination):
    src = [dim_of("movedim", d, x.ndim) for d in ((source,) if isinstance(source, int) else source)]
    dst = [dim_of("movedim", d, x.ndim) for d in ((destination,) if isinstance(destination, int) else destination)]
    if len(src) != len(dst) or len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)} dims) should "
                           f"contain the same number of dims as destination ({list(dst)} dims), without repeats")
    perm = [None] * x.ndim
    for s_, d_ in zip(src, dst):
        perm[d_] = s_
    rest = iter(i for i in range(x.ndim) if i not in src)
    return F.transpose(x, [p if p is not None else next(rest) for p in perm])


def contiguous(x, memory_format=None):
    """A C-contiguous tensor: ``x`` itself when it already is, else a differentiable copy."""
    return x if x.data.flags.c_contiguous else F.clone(x)


__all__ = ["check_axis"]
