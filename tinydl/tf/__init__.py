"""``tinydl.tf``: the eager subset of TensorFlow that tutorials use, with TensorFlow's semantics.

Change ``tensorflow`` to ``tinydl.tf`` (and ``keras`` to ``tinydl.keras``) in a program's import
lines and nothing else::

    import tinydl.tf as tf
    from tinydl.tf import keras
    from tinydl.tf.keras import layers

At ``tinydl.tf`` the names mean TensorFlow's functions (``split``, ``transpose``, ``gather``,
``where``, ``argmax`` with axis 0 by default), at ``tinydl`` PyTorch's. ``tf.keras`` is
``tinydl.keras``; ``tf.Tensor`` is tinydl's Tensor; dtypes are NumPy dtypes.

``tf.function`` is a pass-through: tinydl always runs eagerly, so a decorated function runs as
plain Python every call (no tracing, no graph, no retracing rules; ``input_signature``,
``jit_compile`` and ``reduce_retracing`` are accepted and ignored).

>>> import tinydl.tf as tf
>>> x = tf.Variable(3.0)
>>> with tf.GradientTape() as tape:
...     y = x * x
>>> float(tape.gradient(y, x))
6.0
"""
import functools
import sys

import numpy as np

from .. import keras
from ..core.tensor import Tensor
from . import config, data, dtypes, linalg, math, nn, random  # noqa: F401  (tf.math, tf.nn, ...)
from .dtypes import (bool, double, float16, float32, float64, half, int8, int16, int32, int64,  # noqa: F401,A004
                     uint8, uint16, uint32, uint64, as_dtype, DType)
from .ops import (abs, add, add_n, argmax, argmin, cast, clip_by_value, concat, constant,  # noqa: F401,A004
                  convert_to_tensor, divide, equal, exp, expand_dims, eye, fill, floor, gather, gather_nd, greater,
                  greater_equal, identity, is_tensor, less, less_equal, linspace, logical_and, logical_not,
                  logical_or, matmul, maximum, minimum, multiply, negative, not_equal, one_hot, ones, ones_like, pow,
                  range, rank, reduce_all, reduce_any, reduce_logsumexp, reduce_max, reduce_mean, reduce_min,
                  reduce_prod, reduce_sum, reshape, round, shape, sigmoid, sign, size,
                  split, sqrt, square, squeeze, stack, stop_gradient, subtract, tanh, tile, transpose, unstack, where,
                  zeros, zeros_like)
from .tape import GradientTape, Variable

__all__ = ["GradientTape", "Variable", "TensorSpec", "Tensor", "function", "print", "newaxis", "keras",
           "config", "data", "dtypes", "linalg", "math", "nn", "random", "DType", "as_dtype",
           "bool", "double", "float16", "float32", "float64", "half", "int8", "int16", "int32", "int64",
           "uint8", "uint16", "uint32", "uint64",
           "abs", "add", "add_n", "argmax", "argmin", "cast", "clip_by_value", "concat", "constant", "convert_to_tensor",
           "divide", "equal", "exp", "expand_dims", "eye", "fill", "floor", "gather", "gather_nd", "greater",
           "greater_equal", "identity", "is_tensor", "less", "less_equal", "linspace", "logical_and", "logical_not",
           "logical_or", "matmul", "maximum", "minimum", "multiply", "negative", "not_equal", "one_hot", "ones",
           "ones_like", "pow", "range", "rank", "reduce_all", "reduce_any", "reduce_logsumexp", "reduce_max",
           "reduce_mean", "reduce_min", "reduce_prod", "reduce_sum", "reshape", "round", "shape", "sigmoid", "sign",
           "size", "split", "sqrt", "square", "squeeze", "stack", "stop_gradient", "subtract", "tanh", "tile",
           "transpose", "unstack", "where", "zeros", "zeros_like"]

newaxis = None
Tensor = Tensor  # tf.Tensor: isinstance(x, tf.Tensor) holds for every tensor tinydl.tf returns


class TensorSpec:
    """``tf.TensorSpec(shape, dtype=tf.float32, name=None)``: a shape (None for any size) and a dtype."""

    def __init__(self, shape, dtype="float32", name=None):
        self.shape = tuple(None if d is None else int(d) for d in (shape or ()))
        self.dtype, self.name = np.dtype(dtype), name

    def __eq__(self, other):
        return isinstance(other, TensorSpec) and (self.shape, self.dtype) == (other.shape, other.dtype)

    __hash__ = object.__hash__

    def __repr__(self):
        return f"TensorSpec(shape={self.shape}, dtype=tf.{self.dtype.name}, name={self.name!r})"


def function(func=None, input_signature=None, autograph=True, jit_compile=None, reduce_retracing=False, **kwargs):
    """``@tf.function`` and ``tf.function(f, ...)``: returns the function itself, run eagerly (see the module notes)."""
    def wrap(f):
        @functools.wraps(f)
        def eager(*args, **kw):
            return f(*args, **kw)
        eager.python_function = f
        return eager
    return wrap if func is None else wrap(func)


def print(*inputs, **kwargs):  # noqa: A001 - tf.print
    import builtins
    builtins.print(*[(x.detach().numpy() if isinstance(x, Tensor) else x) for x in inputs],
                   **{k: v for k, v in kwargs.items() if k in ("sep", "end")})


# `from tinydl.tf.keras import layers` and `import tinydl.tf.keras.layers`: tf.keras's submodules
# are tinydl.keras's own modules (one object under two names, never a second copy).
class _KerasAlias:
    prefix = __name__ + ".keras"

    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        if fullname != cls.prefix and not fullname.startswith(cls.prefix + "."):
            return None
        import importlib.util
        return importlib.util.spec_from_loader(fullname, cls)

    @classmethod
    def create_module(cls, spec):
        import importlib
        return importlib.import_module("tinydl.keras" + spec.name[len(cls.prefix):])

    @staticmethod
    def exec_module(module):
        pass


if not any(f is _KerasAlias or getattr(f, "prefix", None) == _KerasAlias.prefix for f in sys.meta_path):
    sys.meta_path.insert(0, _KerasAlias)
sys.modules[__name__ + ".keras"] = keras
for _name, _mod in list(sys.modules.items()):
    if _name.startswith("tinydl.keras."):
        sys.modules.setdefault(__name__ + _name[len("tinydl"):], _mod)
