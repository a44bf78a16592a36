"""TensorFlow's conversion rules: what ``tf.constant`` makes of Python and NumPy values.

Python floats become float32 and Python ints int32 (TensorFlow's defaults, unlike NumPy's
float64/int64 and tinydl's int64); NumPy arrays keep their dtype; a Tensor passes through.
"""
import numbers

import numpy as np

from ..core.tensor import Tensor


def as_dtype(dtype):
    """A dtype (``tf.float32``, ``'float32'``, ``np.float32``) as a NumPy dtype; strings are refused."""
    if dtype is None:
        return None
    d = np.dtype(dtype)
    if d.kind not in "biuf":
        raise TypeError(f"tinydl.tf: dtype {dtype!r} is not supported (numbers and bool only)")
    return d


def _python_kind(value):
    """'float', 'int', 'bool' or None for nested Python scalars/lists (TF picks float32/int32)."""
    stack, kind = [value], None
    while stack:
        v = stack.pop()
        if isinstance(v, (list, tuple)):
            stack.extend(v)
        elif isinstance(v, (bool, np.bool_)):
            kind = kind or "bool"
        elif isinstance(v, numbers.Integral) and not isinstance(v, np.integer):
            kind = "int" if kind in (None, "bool") else kind
        elif isinstance(v, numbers.Real) and not isinstance(v, np.floating):
            kind = "float"
        else:
            return None
    return kind


def to_array(value, dtype=None, who="convert_to_tensor"):
    """``value`` as a NumPy array with TensorFlow's dtype rules."""
    want = as_dtype(dtype)
    if isinstance(value, Tensor):
        a = value.detach().numpy()  # TensorFlow reads values whether or not they are watched
    else:
        kind = _python_kind(value) if isinstance(value, (list, tuple, numbers.Number)) else None
        a = np.asarray(value)
        if kind == "float" and want is None:
            a = a.astype(np.float32)
        elif kind == "int" and want is None:
            a = a.astype(np.int32)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"tinydl.tf.{who}: values of dtype {a.dtype} are not supported (numbers and bool only)")
    if want is not None and a.dtype != want:
        if want.kind in "iub" and isinstance(value, (numbers.Number, list, tuple)) and \
                _python_kind(value) == "float":
            raise TypeError(f"tinydl.tf.{who}: Cannot convert {value!r} to EagerTensor of dtype {want.name}")
        a = a.astype(want)  # NumPy data is cast (floats truncate toward zero), as TensorFlow does
    return a


def to_tensor(value, dtype=None, who="convert_to_tensor"):
    """A Tensor (``value`` itself when it already is one of the right dtype)."""
    if isinstance(value, Tensor) and (dtype is None or value.dtype == as_dtype(dtype)):
        return value
    if isinstance(value, Tensor):
        raise ValueError(f"tinydl.tf.{who}: Tensor conversion requested dtype {as_dtype(dtype).name} for Tensor "
                         f"with dtype {value.dtype.name}; use tf.cast to change it")
    return Tensor(to_array(value, dtype, who))


def pair(a, b):
    """Two operands as Tensors of one dtype: a Python number takes the other operand's dtype."""
    if isinstance(a, Tensor) and not isinstance(b, Tensor):
        return a, Tensor(np.asarray(b, dtype=a.dtype) if isinstance(b, numbers.Number) else to_array(b))
    if isinstance(b, Tensor) and not isinstance(a, Tensor):
        return Tensor(np.asarray(a, dtype=b.dtype) if isinstance(a, numbers.Number) else to_array(a)), b
    a = to_tensor(a)
    b = Tensor(np.asarray(b, dtype=a.dtype)) if isinstance(b, numbers.Number) and not isinstance(b, bool) \
        else to_tensor(b)
    return a, b


def axis_arg(axis):
    """A TF axis argument (int, list, tuple, Tensor or None) as what the core reductions take."""
    if axis is None:
        return None
    if isinstance(axis, Tensor):
        axis = axis.detach().numpy().tolist()
    if isinstance(axis, np.ndarray):
        axis = axis.tolist()
    if isinstance(axis, (list, tuple)):
        return tuple(int(a) for a in axis)
    return int(axis)


def shape_arg(shape):
    if isinstance(shape, Tensor):
        shape = shape.detach().numpy()
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(d) for d in np.asarray(shape).reshape(-1).tolist()) if not isinstance(shape, tuple) else \
        tuple(int(d) for d in shape)
