"""Hypothesis strategies for testing ops: shapes, broadcastable shapes, arrays in safe ranges.

>>> from hypothesis import given
>>> from tinydl.testing import strategies as tst
>>> @given(tst.arrays_for(tst.broadcastable_shapes(2), tst.floats(-3, 3)))
... def test_add_commutes(ab):
...     a, b = ab
...     assert ((a + b) == (b + a)).all()
>>> test_add_commutes()
"""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


def shapes(min_dims=0, max_dims=3, min_side=1, max_side=4):
    """Array shapes."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def broadcastable_shapes(n=2, min_dims=0, max_dims=3, min_side=1, max_side=4):
    """Tuples of ``n`` shapes that broadcast together (dimensions of 1, missing leading axes)."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=n, min_dims=min_dims, max_dims=max_dims, min_side=min_side,
        max_side=max_side).map(lambda r: r.input_shapes)


def floats(lo=-3.0, hi=3.0):
    """Element values in [lo, hi], finite, no subnormals."""
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def positive(lo=0.1, hi=4.0):
    """Safe values for log, sqrt, division."""
    return floats(lo, hi)


def away_from(points=(0.0,), margin=0.05, lo=-3.0, hi=3.0):
    """Values at least ``margin`` from each kink (relu/abs at 0, clip bounds)."""
    return floats(lo, hi).filter(lambda v: all(abs(v - p) >= margin for p in points))


def arrays(shape, elements=None, dtype=np.float64, unique=False):
    """One numpy array of ``shape`` (a tuple or a strategy)."""
    return hnp.arrays(dtype, shape, elements=elements if elements is not None else floats(), unique=unique)


def arrays_for(shapes_strategy, elements=None, dtype=np.float64, unique=False):
    """A tuple of arrays, one per shape drawn from ``shapes_strategy`` (a strategy of tuples).

    ``elements`` may be one strategy or a list with one per array.
    """
    def build(shape_tuple):
        per = elements if isinstance(elements, (list, tuple)) else [elements] * len(shape_tuple)
        return st.tuples(*[arrays(s, e, dtype, unique) for s, e in zip(shape_tuple, per)])
    return shapes_strategy.flatmap(build)


def tensors(shape=None, elements=None, dtype=np.float64, requires_grad=True):
    """Tensors of a given or drawn shape."""
    from ..core.tensor import Tensor
    return arrays(shape if shape is not None else shapes(), elements, dtype).map(
        lambda a: Tensor(a, requires_grad=requires_grad and a.dtype.kind == "f"))


def distinct(shape_strategy, scale=3.0):
    """Arrays whose elements are pairwise well apart (no ties for max/min/maximum)."""
    def build(shape):
        n = int(np.prod(shape))
        return st.lists(st.integers(-1000, 1000), min_size=n, max_size=n, unique=True).map(
            lambda v: np.asarray(v, dtype=np.float64).reshape(shape) * (scale / 1000))
    return shape_strategy.flatmap(build)
