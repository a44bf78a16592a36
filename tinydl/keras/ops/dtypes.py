"""Keras 3's dtype rules for ``keras.ops`` (TensorFlow backend), and how values become Tensors.

``result_type`` is Keras's promotion lattice: bool < weak int < {uint8, int8} < ... < int64 <
weak float < {bfloat16, float16} < float32 < float64, the result the least type above all inputs.
A Python ``int``/``float`` is *weak*: it takes the tensor's kind and width (int32 tensor + 2 is
int32, int32 tensor + 2.5 is floatx, float16 tensor + 2.5 is float16); weak ints alone give
int64 or int32 as the TensorFlow backend does. uint64 becomes uint32, as in Keras.

>>> result_type("int8", "int16"), result_type("int32", float), result_type("float16", "float32")
('int16', 'float32', 'float32')
>>> result_type("uint8", "int8"), result_type(bool, bool), result_type("int64", float)
('int16', 'bool', 'float32')
"""
import numbers

import numpy as np

from ...core.tensor import Tensor
from ...tf._convert import to_array

FLOATX = "float32"
_INTS = ("uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64")
_FLOATS = ("bfloat16", "float16", "float32", "float64")
# each type and the types immediately above it
_ABOVE = {"bool": ["int"], "int": ["uint8", "int8"], "uint8": ["int16", "uint16"],
          "uint16": ["int32", "uint32"], "uint32": ["int64", "uint64"], "uint64": ["float"],
          "int8": ["int16"], "int16": ["int32"], "int32": ["int64"], "int64": ["float"],
          "float": ["bfloat16", "float16"], "bfloat16": ["float32"], "float16": ["float32"],
          "float32": ["float64"], "float64": []}


def _upper_bounds():
    ub = {}
    for node in _ABOVE:
        seen, todo = {node}, [node]
        while todo:
            for up in _ABOVE[todo.pop()]:
                if up not in seen:
                    seen.add(up)
                    todo.append(up)
        ub[node] = seen
    return ub


_UB = _upper_bounds()


def floatx():
    return FLOATX


def standardize_dtype(dtype):
    """A dtype (string, NumPy dtype, Python type, or a value with ``.dtype``) as Keras's name."""
    if dtype is None:
        return FLOATX
    if dtype is bool:
        return "bool"
    if dtype is int:
        return "int64"  # the TensorFlow backend's Python int
    if dtype is float:
        return "float32"
    if hasattr(dtype, "dtype") and not isinstance(dtype, (np.dtype, type)):
        dtype = dtype.dtype
    name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if name not in _INTS + _FLOATS + ("bool",):
        raise ValueError(f"keras.ops: dtype {dtype!r} is not supported (bool, integers and floats only)")
    return name


def _least_upper_bound(nodes):
    nodes = set(nodes)
    common = set.intersection(*(_UB[n] for n in nodes))
    least = (common & nodes) or {c for c in common if common <= _UB[c]}
    if len(least) != 1:
        raise ValueError(f"keras.ops: input dtypes {sorted(nodes)} have no implicit promotion; cast them first")
    return least.pop()


def result_type(*dtypes):
    """``keras.backend.result_type``: the dtype Keras's ops give for inputs of these dtypes (the
    Python types ``int`` and ``float`` stand for weak scalars; None for floatx)."""
    if not dtypes:
        return FLOATX
    pairs = [(standardize_dtype(d), d is int or d is float) for d in dtypes]
    names = [n for n, _ in pairs]
    weak_flags = [w for _, w in pairs]
    if len(pairs) == 1:
        out, weak = pairs[0]
    elif len(set(names)) == 1 and not all(weak_flags):
        out, weak = names[0], False
    elif all(weak_flags):
        out, weak = _least_upper_bound(names), True
    else:
        out = _least_upper_bound(_weak_name(n) if w else n for n, w in pairs)
        weak = out in ("int", "float")
    if weak and out != "bool":  # a weak result takes 32 bits (floatx for floats)
        out = "int32" if out[0] == "i" else "uint32" if out[0] == "u" else FLOATX
    return "uint32" if out == "uint64" else out


def _weak_name(name):
    if name == "bool":
        return name
    return "float" if "float" in name else "int"


# ---- values ------------------------------------------------------------------------------------


def check_concrete(value, who):
    """keras.ops on a symbolic KerasTensor (between layers of a functional model) is not supported."""
    from ..graph import KerasTensor
    if isinstance(value, KerasTensor) or (isinstance(value, (list, tuple)) and
                                          any(isinstance(v, KerasTensor) for v in value)):
        raise NotImplementedError(
            f"tinydl.keras.ops.{who} on a symbolic KerasTensor: calling keras.ops between the layers of a "
            "functional model is not supported; call it inside a layer's call() or in layers.Lambda")


def is_python_scalar(v):
    return isinstance(v, (bool, numbers.Number)) and not isinstance(v, (np.generic, Tensor))


def dtype_of(v, who="convert_to_tensor"):
    """What Keras hands result_type for an argument: int/float for weak Python scalars, else a dtype name."""
    check_concrete(v, who)
    if isinstance(v, Tensor):
        return v.dtype.name
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)) and not isinstance(v, np.generic):
        return type(v)
    return to_array(v, who=f"keras.ops.{who}").dtype.name


def cast(x, dtype):
    """``x`` (a Tensor) as ``dtype``: differentiable between floats; float -> int truncates toward zero."""
    d = np.dtype(standardize_dtype(dtype))
    if x.dtype == d:
        return x
    if d.kind == "b":
        return Tensor(x.data != 0)
    return x.astype(d)


def tensor(value, dtype=None, who="convert_to_tensor"):
    """``value`` as a Tensor the way Keras's TensorFlow backend converts it (Python floats float32,
    Python ints int32, NumPy keeps its dtype), then cast to ``dtype`` when given."""
    check_concrete(value, who)
    if isinstance(value, Tensor):
        return value if dtype is None else cast(value, dtype)
    if dtype is not None and is_python_scalar(value):
        return Tensor(np.asarray(value, dtype=standardize_dtype(dtype)))
    t = Tensor(to_array(value, who=f"keras.ops.{who}"))  # its errors name tinydl.tf.keras.ops.<who>
    return t if dtype is None else cast(t, dtype)


def float_of(x):
    """The float dtype Keras computes a float function of ``x`` in: x's own if float, else floatx."""
    return x.dtype.name if x.dtype.kind == "f" else FLOATX


def axes(axis, ndim):
    """An axis argument (None, int, list or tuple) as a tuple of non-negative axes, or None."""
    if axis is None:
        return None
    if isinstance(axis, Tensor):
        axis = axis.data.tolist()
    out = (int(axis),) if isinstance(axis, (int, np.integer)) else tuple(int(a) for a in axis)
    for a in out:
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise ValueError(f"keras.ops: axis {a} is out of bounds for a tensor of rank {ndim}")
    return tuple(a % max(ndim, 1) for a in out)


def shape_tuple(shape):
    if isinstance(shape, Tensor):
        shape = shape.data.tolist()
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(d) for d in shape)
