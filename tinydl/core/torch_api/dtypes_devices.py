"""PyTorch's dtype names, default dtype, ``device`` and ``Size``.

A tinydl dtype is a NumPy dtype: ``tinydl.float32 is np.dtype('float32')``, so
``t.dtype == tinydl.float32`` and ``t.dtype == np.float32`` both hold (printing shows
``float32`` rather than ``torch.float32``).
"""
import builtins

import numpy as np

from ... import backends
from .. import dtypes

float32 = float = np.dtype(np.float32)  # noqa: A001 - PyTorch's alias
float64 = double = np.dtype(np.float64)
float16 = half = np.dtype(np.float16)
int64 = long = np.dtype(np.int64)
int32 = int = np.dtype(np.int32)  # noqa: A001
int16 = short = np.dtype(np.int16)
int8 = np.dtype(np.int8)
uint8 = np.dtype(np.uint8)
bool = np.dtype(np.bool_)  # noqa: A001

_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
               "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor", "int8": "CharTensor",
               "uint8": "ByteTensor", "bool": "BoolTensor"}


def as_dtype(dtype, op="dtype"):
    """``dtype`` (a tinydl/NumPy dtype, a NumPy scalar type, or a name) as a NumPy dtype."""
    if dtype is None:
        return None
    if isinstance(dtype, str) and dtype.startswith("torch."):
        dtype = dtype[len("torch."):]
    try:
        d = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{op}: {dtype!r} is not a dtype") from None
    if d.kind not in "biuf":
        raise TypeError(f"{op}: unsupported dtype {d}")
    return d


def type_name(dtype):
    """PyTorch's legacy type string, as ``Tensor.type()`` returns it: ``'torch.FloatTensor'``."""
    return "torch." + _TYPE_NAMES[np.dtype(dtype).name]


def dtype_from_type_name(name):
    for key, value in _TYPE_NAMES.items():
        if name in (f"torch.{value}", value):
            return np.dtype(key)
    raise ValueError(f"type: invalid type {name!r}")


def get_default_dtype():
    """The dtype Python floats and the float creation functions get (float32 unless changed)."""
    return dtypes.DEFAULT_FLOAT


def set_default_dtype(d):
    """Make ``d`` (a floating dtype) the default; process-wide, as in PyTorch."""
    d = as_dtype(d, "set_default_dtype")
    if d.kind != "f":
        raise TypeError(f"set_default_dtype: only floating-point types are supported as the default type, got {d}")
    dtypes.DEFAULT_FLOAT = d


def is_floating_point(t):
    return t.dtype.kind == "f"


class Size(tuple):
    """A shape: a tuple (PyTorch's ``torch.Size``) with ``numel()``."""

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self):
        return f"Size({list(self)})"


class device:  # noqa: N801 - PyTorch's name
    """``device('cpu')``, ``device('cuda')``, ``device('cuda:0')``, ``device('cuda', 0)``.

    ``'cuda'`` maps onto tinydl's GPU backend (CuPy); tinydl uses one GPU, index 0.
    As in PyTorch, a device equals only another device, never a string.
    """

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):  # noqa: A002
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        if not isinstance(type, str):
            raise TypeError(f"device: expected a string or a device, got {type.__class__.__name__}")
        name = type
        if ":" in name:
            if index is not None:
                raise RuntimeError(f"device: type (string) must not include an index because index was "
                                   f"passed explicitly: {name}")
            name, _, idx = name.partition(":")
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}'")
            index = builtins.int(idx)
        if name == "gpu":  # tinydl's own spelling
            name = "cuda"
        if name not in ("cpu", "cuda"):
            raise RuntimeError(f"Expected one of cpu, cuda device type at start of device string: {type}")
        if index is not None and (not isinstance(index, (builtins.int, np.integer)) or index < 0):
            raise RuntimeError(f"device: index must be a non-negative integer, got {index!r}")
        self.type, self.index = name, None if index is None else builtins.int(index)

    @property
    def backend(self):
        """tinydl's backend name for this device: ``'cpu'`` or ``'gpu'``."""
        return "gpu" if self.type == "cuda" else "cpu"

    def __eq__(self, other):
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        return f"device(type='{self.type}')" if self.index is None else \
            f"device(type='{self.type}', index={self.index})"


def backend_of(dev, op="to"):
    """A device spec (device, 'cpu', 'cuda', 'cuda:0', 'gpu') as tinydl's backend name."""
    d = dev if isinstance(dev, device) else device(dev)
    if d.type == "cuda":
        if d.index not in (None, 0):
            raise RuntimeError(f"{op}: tinydl drives one GPU (cuda:0); got {d}")
        if not cuda_is_available():
            raise AssertionError(f"{op}: {d} was asked for, but no CUDA GPU is usable here "
                                 "(tinydl's GPU backend needs CuPy and a working NVIDIA GPU)")
    return d.backend


def device_of_array(a):
    return device("cuda", 0) if backends.is_gpu_array(a) else device("cpu")


def cuda_is_available():
    try:
        backends.require_cupy()
    except Exception:  # noqa: BLE001 - any failure means: no usable GPU
        return False
    return True
