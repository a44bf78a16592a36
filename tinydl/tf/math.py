"""``tf.math``: the elementwise and reduction functions (the same functions as at ``tf.*``)."""
import numpy as np

from ..core import functional as T
from ..core.tensor import Tensor
from ._convert import to_array, to_tensor
from .ops import (abs, add, add_n, argmax, argmin, ceil, divide, equal, exp, floor, greater, greater_equal,  # noqa: F401
                  less, less_equal, log, logical_and, logical_not, logical_or, maximum, minimum, multiply,
                  negative, not_equal, pow, reduce_all, reduce_any, reduce_logsumexp, reduce_max, reduce_mean,
                  reduce_min, reduce_prod, reduce_std, reduce_sum, reduce_variance, round, sigmoid, sign, sqrt,
                  square, subtract, tanh)
from .nn import l2_normalize, softplus  # noqa: F401


__all__ = ["abs", "add", "add_n", "argmax", "argmin", "ceil", "count_nonzero", "divide", "equal", "exp",
           "floor", "floormod", "greater", "greater_equal", "is_finite", "is_inf", "is_nan", "l2_normalize",
           "less", "less_equal", "log", "log1p", "logical_and", "logical_not", "logical_or", "maximum",
           "minimum", "multiply", "negative", "not_equal", "pow", "reciprocal", "reduce_all", "reduce_any",
           "reduce_logsumexp", "reduce_max", "reduce_mean", "reduce_min", "reduce_prod", "reduce_std",
           "reduce_sum", "reduce_variance", "round", "rsqrt", "sigmoid", "sign", "softplus", "sqrt",
           "square", "subtract", "tanh", "top_k"]

def log1p(x, name=None): return T.log(1 + to_tensor(x))
def reciprocal(x, name=None): return 1 / to_tensor(x)
def rsqrt(x, name=None): return 1 / T.sqrt(to_tensor(x))
def is_nan(x, name=None): return Tensor(np.isnan(to_array(x)))
def is_finite(x, name=None): return Tensor(np.isfinite(to_array(x)))
def is_inf(x, name=None): return Tensor(np.isinf(to_array(x)))
def floormod(x, y, name=None): return Tensor(np.mod(to_array(x), to_array(y)))


def top_k(input, k=1, sorted=True, name=None):  # noqa: A002
    """(values, indices) of the ``k`` largest entries along the last axis, largest first."""
    a = to_array(input)
    idx = np.argsort(-a, axis=-1, kind="stable")[..., :k].astype(np.int32)
    return Tensor(np.take_along_axis(a, idx, -1)), Tensor(idx)


def count_nonzero(input, axis=None, keepdims=False, dtype="int64", name=None):  # noqa: A002
    return Tensor(np.count_nonzero(to_array(input), axis=axis, keepdims=keepdims).astype(dtype))
