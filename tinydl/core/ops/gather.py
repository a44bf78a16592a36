"""Ops that pick or place elements along one dimension by an index tensor (gather, scatter),
the running sum, the product, and einsum."""
import numpy as np

from ..autograd import Function, is_tensor, math_of
from ...backends import get_array_module


def along(index, dim):
    """The full advanced index that addresses ``a[..., index[...], ...]`` along ``dim``."""
    xp = get_array_module(index)
    grids = list(xp.indices(index.shape, sparse=True))
    grids[dim] = index
    return tuple(grids)


class Gather(Function):
    """out[i][j] = a[i][index[i][j]] (dim=1); the gradient scatter-adds back (repeats accumulate)."""

    once_differentiable = False
    linear = True

    def __init__(self, dim, index):
        self.dim, self.index = dim, index

    def forward(self, a):
        self.shape = a.shape
        return a[along(self.index, self.dim)]

    def backward(self, g):
        if is_tensor(g):
            return ScatterAddAlong.apply(g, dim=self.dim, index=self.index, shape=self.shape)
        return scatter_add_along(g, self.dim, self.index, self.shape)


def scatter_add_along(src, dim, index, shape):
    xp = get_array_module(src)
    out = xp.zeros(shape, dtype=src.dtype)
    xp.add.at(out, along(index, dim), src)
    return out


class ScatterAddAlong(Function):
    """zeros(shape) with src added at [index along dim]; Gather's gradient and scatter_add's core."""

    once_differentiable = False
    linear = True

    def __init__(self, dim, index, shape):
        self.dim, self.index, self.shape = dim, index, tuple(shape)

    def forward(self, src):
        return scatter_add_along(src, self.dim, self.index, self.shape)

    def backward(self, g):
        return Gather.apply(g, dim=self.dim, index=self.index) if is_tensor(g) else g[along(self.index, self.dim)]


class Scatter(Function):
    """a with a[index along dim] = src (src already cut to index's shape); the written places get
    no gradient from a, src gets the gradient of the places it wrote."""

    once_differentiable = False
    linear = True

    def __init__(self, dim, index):
        self.dim, self.index = dim, index

    def forward(self, a, src):
        where = along(self.index, self.dim)
        out = a.copy()
        out[where] = src
        keep = get_array_module(a).ones(a.shape, dtype=a.dtype)
        keep[where] = 0
        self.keep = keep
        return out

    def backward(self, g):
        gsrc = Gather.apply(g, dim=self.dim, index=self.index) if is_tensor(g) else g[along(self.index, self.dim)]
        return g * self.keep, gsrc


def _flip(x, dim):
    return x[(slice(None),) * dim + (slice(None, None, -1),)]


class CumSum(Function):
    """Running sum along ``dim``; the gradient is the reversed running sum of the gradient."""

    once_differentiable = False
    linear = True

    def __init__(self, dim):
        self.dim = dim

    def forward(self, a):
        return get_array_module(a).cumsum(a, axis=self.dim)

    def backward(self, g):
        if is_tensor(g):
            return _flip(CumSum.apply(_flip(g, self.dim), dim=self.dim), self.dim)
        return _flip(get_array_module(g).cumsum(_flip(g, self.dim), axis=self.dim), self.dim)


class Prod(Function):
    """Product over ``axes``. The gradient is the product of the other elements, computed with
    exclusive running products, so zeros in the input are handled exactly (first order);
    the recorded (create_graph) gradient is out / a, valid where a != 0."""

    once_differentiable = False

    def __init__(self, axes, keepdims=False):
        self.axes, self.keepdims = tuple(axes), keepdims

    def forward(self, a):
        self.save_for_backward(a)
        self.shape = a.shape
        return a.prod(axis=self.axes, keepdims=self.keepdims)

    def _expand(self, g):
        if self.keepdims:
            return g
        return g.reshape([1 if i in self.axes else n for i, n in enumerate(self.shape)])

    def backward(self, g):
        a, = self.saved_tensors
        g = self._expand(g)
        if is_tensor(g) or is_tensor(a):
            return g * Prod.apply(a, axes=self.axes, keepdims=True) / a
        return g * _others_product(a, self.axes)


def _others_product(a, axes):
    """For each element, the product of the other elements in its reduction group."""
    xp = get_array_module(a)
    rest = [i for i in range(a.ndim) if i not in axes]
    moved = xp.transpose(a, rest + list(axes))
    flat = moved.reshape(moved.shape[:len(rest)] + (-1,))
    ones = xp.ones(flat.shape[:-1] + (1,), dtype=a.dtype)
    left = xp.concatenate([ones, xp.cumprod(flat, axis=-1)[..., :-1]], axis=-1)
    right = xp.concatenate([ones, xp.cumprod(flat[..., ::-1], axis=-1)[..., :-1]], axis=-1)[..., ::-1]
    others = (left * right).reshape(moved.shape)
    inverse = np.argsort(rest + list(axes))
    return xp.transpose(others, inverse)


class Einsum(Function):
    """Einstein summation (explicit or implicit output, no ellipsis). The gradient of each operand
    is the einsum of the output gradient with the other operands."""

    once_differentiable = False

    def __init__(self, equation):
        self.equation = equation.replace(" ", "")
        if "..." in self.equation:
            raise NotImplementedError("einsum: tinydl does not support '...' (ellipsis) in the equation yet")
        lhs, arrow, rhs = self.equation.partition("->")
        self.terms = lhs.split(",")
        if not arrow:  # implicit output: the letters seen once, in alphabetical order
            letters = "".join(self.terms)
            rhs = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
        self.out = rhs

    def forward(self, *arrays):
        if len(arrays) != len(self.terms):
            raise ValueError(f"einsum: the equation {self.equation!r} has {len(self.terms)} operands, "
                             f"got {len(arrays)} tensors")
        for term, a in zip(self.terms, arrays):
            if len(term) != a.ndim:
                raise ValueError(f"einsum: subscripts {term!r} do not match an operand of shape {a.shape}")
        self.save_for_backward(*arrays)
        self.shapes = [a.shape for a in arrays]
        return get_array_module(*arrays).einsum(f"{','.join(self.terms)}->{self.out}", *arrays)

    def backward(self, g):
        arrays = self.saved_tensors
        grads = []
        for i, term in enumerate(self.terms):
            if not self.needs_grad[i]:
                grads.append(None)
                continue
            if len(set(term)) != len(term):
                raise NotImplementedError(f"einsum: the gradient for repeated subscripts {term!r} "
                                          "(a diagonal or trace) is not supported by tinydl")
            others = [t for j, t in enumerate(self.terms) if j != i]
            seen = set(self.out).union(*others)
            kept = "".join(c for c in term if c in seen)
            operands = [g] + [a for j, a in enumerate(arrays) if j != i]
            eq = f"{','.join([self.out] + others)}->{kept}"
            gi = math_of(g).einsum(eq, *operands)
            if kept != term:  # letters summed inside this operand only: broadcast back
                shape = [self.shapes[i][k] if c in seen else 1 for k, c in enumerate(term)]
                gi = math_of(g).broadcast_to(gi.reshape(shape), self.shapes[i])
            grads.append(gi)
        return tuple(grads)
