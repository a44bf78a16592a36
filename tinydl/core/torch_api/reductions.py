"""PyTorch's reductions: ``dim``/``keepdim`` (``axis``/``keepdims`` accepted, as PyTorch does),
unbiased ``std``/``var`` by default, and the named ``(values, indices)`` results of ``max(dim)``,
``min(dim)``, ``sort``, ``topk``, ``mode``, ``median(dim)``, ``kthvalue``.

Values that come with indices are gathered from the input, so their gradient goes to the picked
element (PyTorch's rule); full ``max()``/``amax`` split it evenly among ties, as PyTorch does.
"""
import collections
import numbers

import numpy as np

from .. import functional as F
from ..ops import gather as G
from ..tensor import Tensor
from .aliases import numpy_aliases
from .shape import dim_of

_RESULTS = {}


def _result(name, values, indices):
    cls = _RESULTS.get(name)
    if cls is None:
        cls = _RESULTS[name] = collections.namedtuple(name, ["values", "indices"])
    return cls(values, indices)


def _pick_kwargs(kwargs, op):
    """Fold PyTorch's NumPy-compatible aliases (axis, keepdims) into dim/keepdim."""
    dim = kwargs.pop("axis", kwargs.pop("dim", None))
    keepdim = kwargs.pop("keepdims", kwargs.pop("keepdim", None))
    if kwargs:
        raise TypeError(f"{op}() got an unexpected keyword argument {next(iter(kwargs))!r}")
    return dim, keepdim


def _dims(op, dim, ndim):
    """dim (None, int, tuple/list) as the sorted tuple of reduced dimensions."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, numbers.Integral) else tuple(dim)
    if not dims:
        return tuple(range(ndim))
    out = sorted({dim_of(op, d, ndim) for d in dims})
    if len(out) != len(dims):
        raise RuntimeError(f"{op}(): dim {list(dims)} appears multiple times in the list of dims")
    return tuple(out)


def _int_as_long(x):
    return x if x.dtype.kind == "f" else Tensor._wrap(x.data.astype(np.int64))


def sum(x, dim=None, keepdim=False, *, dtype=None, **kw):  # noqa: A001
    d, k = _pick_kwargs(kw, "sum")
    dim, keepdim = (d if d is not None else dim), (k if k is not None else keepdim)
    if dtype is not None:
        x = x.to(dtype)
    return F.sum(_int_as_long(x), _dims("sum", dim, x.ndim), bool(keepdim))


def mean(x, dim=None, keepdim=False, *, dtype=None, **kw):
    d, k = _pick_kwargs(kw, "mean")
    dim, keepdim = (d if d is not None else dim), (k if k is not None else keepdim)
    if dtype is not None:
        x = x.to(dtype)
    if x.dtype.kind != "f":
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either a floating point "
                           f"or complex dtype. Got: {x.dtype}")
    return F.mean(x, _dims("mean", dim, x.ndim), bool(keepdim))


@numpy_aliases
def prod(x, dim=None, keepdim=False, *, dtype=None):
    if dtype is not None:
        x = x.to(dtype)
    if dim is not None and not isinstance(dim, numbers.Integral):
        raise TypeError("prod(): argument 'dim' must be int")
    return G.Prod.apply(_int_as_long(x), axes=_dims("prod", dim, x.ndim), keepdims=bool(keepdim))


def _var(op, x, dim, unbiased, keepdim, correction, kw):
    d, k = _pick_kwargs(kw, op)
    dim, keepdim = (d if d is not None else dim), (k if k is not None else keepdim)
    if isinstance(dim, bool):  # the legacy std(unbiased) overload
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise RuntimeError(f"{op}: cannot specify both unbiased and correction")
    ddof = correction if correction is not None else (1 if unbiased is None or unbiased else 0)
    if x.dtype.kind != "f":
        raise RuntimeError(f"{op}(): input dtype should be a floating point type, got {x.dtype}")
    return F.var(x, _dims(op, dim, x.ndim), bool(keepdim), ddof)


def var(x, dim=None, unbiased=None, keepdim=False, *, correction=None, **kw):
    """Variance; unbiased (correction=1) unless ``unbiased=False`` or ``correction=0``."""
    return _var("var", x, dim, unbiased, keepdim, correction, kw)


def std(x, dim=None, unbiased=None, keepdim=False, *, correction=None, **kw):
    return F.sqrt(_var("std", x, dim, unbiased, keepdim, correction, kw))


def var_mean(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return var(x, dim, unbiased, keepdim, correction=correction), mean(x, dim, keepdim)


def std_mean(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return std(x, dim, unbiased, keepdim, correction=correction), mean(x, dim, keepdim)


@numpy_aliases
def amax(x, dim=(), keepdim=False):
    return F.max(x, _dims("amax", dim, x.ndim), bool(keepdim))


@numpy_aliases
def amin(x, dim=(), keepdim=False):
    return F.min(x, _dims("amin", dim, x.ndim), bool(keepdim))


def _along(x, dim, keepdim, indices, name):
    """values = x gathered at indices (shape with the dim kept), then the dim dropped if asked."""
    values = G.Gather.apply(x, dim=dim, index=indices)
    idx = Tensor._wrap(indices)
    if not keepdim:
        values = F.squeeze(values, dim)
        idx = Tensor._wrap(indices.squeeze(dim))
    return _result(name, values, idx)


def _check_nonempty(op, x, d):
    if x.shape[d] == 0:
        raise IndexError(f"{op}(): Expected reduction dim {d} to have non-zero size.")


def _extreme(op, x, args, kw):
    """max(x), max(x, dim, keepdim=False) -> (values, indices), max(x, other) elementwise."""
    d, k = _pick_kwargs(dict(kw), op)
    other = args[0] if args and isinstance(args[0], Tensor) else None
    if other is not None:
        return F.maximum(x, other) if op == "max" else F.minimum(x, other)
    dim = args[0] if args else d
    keepdim = args[1] if len(args) > 1 else bool(k)
    if dim is None:
        if x.data.size == 0:
            raise RuntimeError(f"{op}(): Expected reduction dim to be specified for input.numel() == 0. "
                               "Specify the reduction dim with the 'dim' argument.")
        return F.max(x) if op == "max" else F.min(x)
    dim = dim_of(op, dim, x.ndim)
    _check_nonempty(op, x, dim)
    xp = x.xp
    data = x.data if x.ndim else x.data.reshape(1)
    arg = xp.argmax if op == "max" else xp.argmin
    indices = xp.expand_dims(arg(data, axis=dim), dim) if x.ndim else xp.zeros((1,), np.int64)
    src = x if x.ndim else F.reshape(x, (1,))
    res = _along(src, dim if x.ndim else 0, keepdim or not x.ndim, indices.astype(np.int64), op)
    if not x.ndim:
        res = _result(op, F.reshape(res.values, ()), Tensor._wrap(res.indices.data.reshape(())))
    return res


def max(x, *args, **kw):  # noqa: A001
    """``max(x)``: the largest value; ``max(x, dim, keepdim=False)``: named (values, indices);
    ``max(x, other)``: the element-wise maximum."""
    return _extreme("max", x, args, kw)


def min(x, *args, **kw):  # noqa: A001
    return _extreme("min", x, args, kw)


def _arg(op, x, dim, keepdim):
    xp = x.xp
    if dim is None:
        out = (xp.argmax if op == "argmax" else xp.argmin)(x.data.reshape(-1))
        return Tensor._wrap(xp.asarray(out, dtype=np.int64).reshape((1,) * x.ndim if keepdim else ()))
    d = dim_of(op, dim, x.ndim)
    if x.ndim == 0:
        return Tensor._wrap(xp.zeros((), np.int64))
    _check_nonempty(op, x, d)
    out = (xp.argmax if op == "argmax" else xp.argmin)(x.data, axis=d, keepdims=bool(keepdim))
    return Tensor._wrap(out.astype(np.int64))


@numpy_aliases
def argmax(x, dim=None, keepdim=False):
    return _arg("argmax", x, dim, keepdim)


@numpy_aliases
def argmin(x, dim=None, keepdim=False):
    return _arg("argmin", x, dim, keepdim)


def _descending(xp, data, d):
    """Indices of a stable descending sort (ties keep their order; NaN first, as PyTorch)."""
    keys = data
    if data.dtype.kind == "b":
        keys = data.astype(np.int8)
    if keys.dtype.kind == "f":
        keys = xp.where(xp.isnan(keys), -np.inf, -keys)
        return xp.argsort(keys, axis=d, kind="stable")
    return xp.argsort(-keys.astype(np.int64), axis=d, kind="stable")


@numpy_aliases
def sort(x, dim=-1, descending=False, stable=False):
    d = dim_of("sort", dim, x.ndim)
    if x.ndim == 0:
        return _result("sort", x, Tensor._wrap(x.xp.zeros((), np.int64)))
    xp = x.xp
    idx = _descending(xp, x.data, d) if descending else xp.argsort(x.data, axis=d, kind="stable")
    return _along(x, d, True, idx.astype(np.int64), "sort")


@numpy_aliases
def argsort(x, dim=-1, descending=False, stable=False):
    return sort(x, dim, descending, stable).indices


@numpy_aliases
def topk(x, k, dim=-1, largest=True, sorted=True):  # noqa: A002
    d = dim_of("topk", dim, x.ndim)
    n = x.shape[d] if x.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"selected index k out of range (k={k}, size={n})")
    xp = x.xp
    idx = _descending(xp, x.data, d) if largest else xp.argsort(x.data, axis=d, kind="stable")
    idx = idx[(slice(None),) * d + (slice(0, k),)]
    return _along(x, d, True, idx.astype(np.int64), "topk")


@numpy_aliases
def kthvalue(x, k, dim=-1, keepdim=False):
    d = dim_of("kthvalue", dim, x.ndim)
    if not 1 <= k <= x.shape[d]:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    idx = x.xp.argsort(x.data, axis=d, kind="stable")[(slice(None),) * d + (slice(k - 1, k),)]
    return _along(x, d, keepdim, idx.astype(np.int64), "kthvalue")


@numpy_aliases
def median(x, dim=None, keepdim=False):
    """``median(x)``: the lower median of all elements; ``median(x, dim)``: named (values, indices)."""
    if dim is None:
        flat = F.reshape(x, (-1,))
        if flat.shape[0] == 0:
            return Tensor._wrap(x.xp.asarray(np.nan, dtype=x.dtype))
        return kthvalue(flat, (flat.shape[0] + 1) // 2, 0).values
    d = dim_of("median", dim, x.ndim)
    _check_nonempty("median", x, d)
    res = kthvalue(x, (x.shape[d] + 1) // 2, d, keepdim)
    return _result("median", res.values, res.indices)


@numpy_aliases
def mode(x, dim=-1, keepdim=False):
    """The most frequent value along ``dim`` (the smallest among equally frequent ones) and the
    index of its last occurrence (PyTorch's CPU result)."""
    d = dim_of("mode", dim, x.ndim)
    host = np.moveaxis(np.asarray(x.detach().numpy() if not x.requires_grad else x.detach().numpy()), d, -1)
    flat = host.reshape(-1, host.shape[-1])
    best = np.empty(flat.shape[0], np.int64)
    for r, row in enumerate(flat):
        values, counts = np.unique(row, return_counts=True)
        v = values[np.argmax(counts)]  # unique sorts, argmax takes the first (smallest) of the ties
        best[r] = np.nonzero(row == v)[0][-1]
    idx = np.expand_dims(best.reshape(host.shape[:-1]), d) if x.ndim else best.reshape(())
    idx = x.xp.asarray(idx)
    if not x.ndim:
        return _result("mode", x, Tensor._wrap(idx))
    return _along(x, d, keepdim, idx, "mode")


@numpy_aliases
def logsumexp(x, dim, keepdim=False):
    return F.logsumexp(x, _dims("logsumexp", dim, x.ndim), bool(keepdim))


@numpy_aliases
def cumsum(x, dim, *, dtype=None):
    if dtype is not None:
        x = x.to(dtype)
    return G.CumSum.apply(_int_as_long(x), dim=dim_of("cumsum", dim, x.ndim))


@numpy_aliases
def norm(x, p="fro", dim=None, keepdim=False, dtype=None):
    """The vector p-norm over ``dim`` (all elements by default): 'fro'/2, 1, inf, -inf, 0 or any p."""
    if dtype is not None:
        x = x.to(dtype)
    dims = _dims("norm", dim, x.ndim)
    if p in ("fro", 2, 2.0):
        return _root_of_sum(F.sum(x * x, dims, keepdim), 2)
    if p == "nuc":
        raise NotImplementedError("norm(p='nuc'): the nuclear norm is not supported by tinydl")
    if p in (np.inf, float("inf")):
        return F.max(F.abs(x), dims, keepdim)
    if p in (-np.inf, float("-inf")):
        return F.min(F.abs(x), dims, keepdim)
    if p == 0:
        return F.sum(Tensor._wrap((x.data != 0).astype(x.dtype)), dims, keepdim)
    if p == 1:
        return F.sum(F.abs(x), dims, keepdim)
    return _root_of_sum(F.sum(F.pow(F.abs(x), float(p)), dims, keepdim), p)


def _root_of_sum(total, p):
    """``total ** (1/p)`` with PyTorch's gradient at a zero norm: 0, not 0 * inf = NaN. The root
    only sees the positive sums; a zero sum takes the constant 0 branch, whose gradient is 0 (at
    any order)."""
    positive = total.data != 0  # (NaN included: it must reach the root and propagate)
    if bool(positive.all()):
        return F.sqrt(total) if p == 2 else F.pow(total, 1.0 / p)
    mask = Tensor._wrap(positive)
    safe = F.where(mask, total, Tensor._wrap(total.xp.ones((), total.dtype)))
    root = F.sqrt(safe) if p == 2 else F.pow(safe, 1.0 / p)
    return F.where(mask, root, Tensor._wrap(total.xp.zeros((), total.dtype)))


def _logical(op, x, dim, keepdim):
    data = x.data.astype(bool)
    fn = data.all if op == "all" else data.any
    if dim is None:
        return Tensor._wrap(x.xp.asarray(fn()))
    return Tensor._wrap(x.xp.asarray(fn(axis=_dims(op, dim, x.ndim), keepdims=bool(keepdim))))


@numpy_aliases
def all(x, dim=None, keepdim=False):  # noqa: A001
    return _logical("all", x, dim, keepdim)


@numpy_aliases
def any(x, dim=None, keepdim=False):  # noqa: A001
    return _logical("any", x, dim, keepdim)


@numpy_aliases
def count_nonzero(x, dim=None):
    return Tensor._wrap(x.xp.asarray((x.data != 0).sum(axis=None if dim is None else _dims("count_nonzero", dim, x.ndim)), dtype=np.int64))

