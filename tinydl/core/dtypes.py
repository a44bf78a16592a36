"""dtype rules, in one place.

- Python numbers and lists become float32 (if any float) or int64; NumPy arrays keep their dtype
  (as ``torch.from_numpy`` does); ``dtype=`` overrides.
- Between two tensors: NumPy's promotion (float32 with float64 gives float64).
- A Python scalar takes the other operand's dtype ("weak" scalars, as in NumPy 2 and PyTorch):
  ``float32_tensor * 2.5`` stays float32; an integer tensor with a Python float gives float64
  (NumPy's rule: cast labels to float32 explicitly when that matters).
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
        return np.dtype(np.float64)
    if isinstance(value, bool):
        return np.dtype(bool) if other_dtype.kind == "b" else other_dtype
    return other_dtype if other_dtype.kind in "iu" else DEFAULT_INT


def is_float(dtype):
    return np.dtype(dtype).kind == "f"
