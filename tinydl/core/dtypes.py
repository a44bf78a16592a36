"""dtype rules, in one place.

- Python numbers and lists become float32 (if any float) or int64; NumPy arrays keep their dtype
  (as ``torch.from_numpy`` does); ``dtype=`` overrides.
- Between two tensors: NumPy's promotion (float32 with float64 gives float64).
- A Python scalar takes the other operand's dtype ("weak" scalars, as in NumPy 2 and PyTorch):
  ``float32_tensor * 2.5`` stays float32; an integer tensor with a Python float gives the default
  float dtype (PyTorch's rule), as does true division of two integer tensors.
- Across kinds (bool < integer < float), PyTorch's rule: the result takes the dtype of the operand
  of the higher kind (``int64_tensor * float32_tensor`` is float32, not NumPy's float64).
- Only floating tensors can require gradients.
"""
import numpy as np

DEFAULT_FLOAT = np.dtype(np.float32)
DEFAULT_INT = np.dtype(np.int64)


def infer_dtype(data):
    """The dtype a new tensor gets for Python data (lists, scalars)."""
    arr = np.asarray(data)
    if arr.dtype.kind == "f":
        return DEFAULT_FLOAT
    if arr.dtype.kind in "iu":
        return DEFAULT_INT
    return arr.dtype


def scalar_dtype(value, other_dtype):
    """dtype a Python scalar takes when combined with an array of ``other_dtype``."""
    if other_dtype.kind in "fc":
        return other_dtype
    if isinstance(value, float):
        return DEFAULT_FLOAT
    if isinstance(value, bool):
        return np.dtype(bool) if other_dtype.kind == "b" else other_dtype
    return other_dtype if other_dtype.kind in "iu" else DEFAULT_INT


_KIND_RANK = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def promote(a, b):
    """Two arrays about to meet in an element-wise op, cast by PyTorch's rules: when their kinds
    differ (bool < integer < float), the lower-kind one takes the other's dtype; within a kind a
    0-d array does not widen one with dimensions (float32 with a 0-d float64 stays float32, as a
    PyTorch 0-d tensor does), and otherwise NumPy's promotion applies (int32 with int64 gives int64)."""
    if a.dtype == b.dtype:
        return a, b
    ra, rb = _KIND_RANK.get(a.dtype.kind, 1), _KIND_RANK.get(b.dtype.kind, 1)
    if ra == rb:
        if a.ndim == 0 and b.ndim > 0:
            return a.astype(b.dtype), b
        if b.ndim == 0 and a.ndim > 0:
            return a, b.astype(a.dtype)
        return a, b
    return (a, b.astype(a.dtype)) if ra > rb else (a.astype(b.dtype), b)


def is_float(dtype):
    return np.dtype(dtype).kind == "f"
