"""PyTorch's creation functions: ``tensor`` (copies), ``as_tensor``/``from_numpy`` (share),
``zeros/ones/full/empty`` and their ``_like``, ``arange``, ``linspace``, ``eye``, the random ones
(with ``generator=``), ``Generator`` and ``manual_seed``."""
import builtins
import json
import numbers

import numpy as np

from ... import backends
from .. import dtypes, random as _random
from ..tensor import Tensor
from .dtypes_devices import Size, as_dtype, backend_of, get_default_dtype


def _xp(device):
    if device is None:
        return backends.default_array_module()
    return backends.require_cupy() if backend_of(device, "tensor") == "gpu" else np


def _finish(array, dtype, device, requires_grad, op):
    out = Tensor._wrap(_xp(device).asarray(array))
    if requires_grad:
        if out.dtype.kind != "f":
            raise RuntimeError(f"{op}: only Tensors of floating point dtype can require gradients, got {out.dtype}")
        out.requires_grad = True
    return out


def size_of(size, op):
    """Varargs or one tuple/list/Size as a shape tuple of non-negative ints."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if isinstance(s, builtins.bool) or not isinstance(s, (numbers.Integral, Tensor)):
            raise TypeError(f"{op}(): size must be a tuple of ints, but got an element of type {type(s).__name__}")
        if int(s) < 0:
            raise RuntimeError(f"{op}(): trying to create tensor with negative dimension {int(s)}: {list(size)}")
    return tuple(int(s) for s in size)


def _host(data):
    if isinstance(data, Tensor):
        return data.data.get() if backends.is_gpu_array(data.data) else data.data
    return data


def tensor(data, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new tensor holding a copy of ``data`` (a number, nested lists, an ndarray or a Tensor).
    Python floats become the default dtype, ints int64, bools bool; ndarrays keep their dtype."""
    dtype = as_dtype(dtype, "tensor")
    host = _host(data)
    if isinstance(host, (np.ndarray, np.generic)):
        arr = np.array(host, dtype=dtype, copy=True)
    else:
        if isinstance(host, (list, tuple)):
            host = [_host(x) if isinstance(x, Tensor) else x for x in host]
        arr = np.array(host, dtype=dtype if dtype is not None else dtypes.infer_dtype(host))
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"tensor: could not infer dtype of {type(data).__name__} (got NumPy dtype {arr.dtype})")
    return _finish(arr, dtype, device, requires_grad, "tensor")


def as_tensor(data, dtype=None, device=None):
    """``data`` as a tensor without a copy when it already is one (or an ndarray) of that dtype
    and device; otherwise converted as ``tensor`` does."""
    dtype = as_dtype(dtype, "as_tensor")
    if isinstance(data, Tensor):
        out = data if dtype is None else data.to(dtype)
        return out if device is None else out.to(device)
    if isinstance(data, np.ndarray) and (device is None or backend_of(device, "as_tensor") == "cpu") \
            and backends.active_backend() == "cpu" and (dtype is None or data.dtype == dtype):
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(ndarray):
    """A CPU tensor sharing memory with ``ndarray`` (changes show through both ways)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    if ndarray.dtype.kind not in "biuf":
        raise TypeError(f"can't convert np.ndarray of type {ndarray.dtype}. The only supported types are: "
                        "float64, float32, float16, int64, int32, int16, int8, uint8, and bool.")
    return Tensor._wrap(ndarray)


def _filled(op, size, value, dtype, device, requires_grad):
    shape = size_of(size, op)
    dtype = as_dtype(dtype, op) or get_default_dtype()
    return _finish(_xp(device).full(shape, value, dtype=dtype), dtype, device, requires_grad, op)


def zeros(*size, dtype=None, device=None, requires_grad=False, out=None):
    return _filled("zeros", size, 0, dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False, out=None):
    return _filled("ones", size, 1, dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False, out=None):
    """Uninitialised memory in PyTorch; tinydl fills it with zeros."""
    return _filled("empty", size, 0, dtype, device, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False, out=None):
    """dtype from ``fill_value`` when not given: bool, int64, or the default float dtype."""
    if dtype is None:
        dtype = np.dtype(bool) if isinstance(fill_value, builtins.bool) else \
            dtypes.DEFAULT_INT if isinstance(fill_value, numbers.Integral) else get_default_dtype()
    return _filled("full", (size,), _host(fill_value), dtype, device, requires_grad)


def _like(op, t, value, dtype, device, requires_grad):
    dtype = as_dtype(dtype, op) or t.dtype
    if device is None:
        device = "cuda" if backends.is_gpu_array(t.data) else "cpu"
    return _filled(op, (t.shape,), value, dtype, device, requires_grad)


def zeros_like(input, dtype=None, device=None, requires_grad=False):  # noqa: A002
    return _like("zeros_like", input, 0, dtype, device, requires_grad)


def ones_like(input, dtype=None, device=None, requires_grad=False):  # noqa: A002
    return _like("ones_like", input, 1, dtype, device, requires_grad)


def empty_like(input, dtype=None, device=None, requires_grad=False):  # noqa: A002
    return _like("empty_like", input, 0, dtype, device, requires_grad)


def full_like(input, fill_value, dtype=None, device=None, requires_grad=False):  # noqa: A002
    return _like("full_like", input, fill_value, dtype, device, requires_grad)


def arange(start=0, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """[start, end) in steps; int64 when start, end and step are all integers, else the default float."""
    if end is None:
        start, end = 0, start
    start, end, step = (_host(v).item() if isinstance(v, Tensor) else v for v in (start, end, step))
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(f"arange: upper bound and larger bound inconsistent with step sign "
                           f"(start={start}, end={end}, step={step})")
    integral = all(isinstance(v, numbers.Integral) for v in (start, end, step))
    dtype = as_dtype(dtype, "arange") or (dtypes.DEFAULT_INT if integral else get_default_dtype())
    n = int(np.ceil((end - start) / step))
    values = start + np.arange(n, dtype=np.float64 if not integral else np.int64) * step
    return _finish(values.astype(dtype), dtype, device, requires_grad, "arange")


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    """``steps`` evenly spaced values from start to end inclusive (PyTorch's symmetric formula)."""
    if isinstance(steps, builtins.bool) or not isinstance(steps, numbers.Integral) or steps < 0:
        raise RuntimeError(f"linspace: number of steps must be a non-negative integer, got {steps!r}")
    dtype = as_dtype(dtype, "linspace") or get_default_dtype()
    i = np.arange(steps, dtype=np.float64)
    step = (end - start) / (steps - 1) if steps > 1 else 0.0
    half = steps // 2
    values = np.where(i < half, start + step * i, end - step * (steps - 1 - i))
    return _finish(values.astype(dtype), dtype, device, requires_grad, "linspace")


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    dtype = as_dtype(dtype, "eye") or get_default_dtype()
    return _finish(np.eye(n, n if m is None else m, dtype=dtype), dtype, device, requires_grad, "eye")


# ---- randomness --------------------------------------------------------------------------------
class Generator:
    """A random generator (PyTorch's interface over a NumPy PCG64 stream).

    ``tinydl.default_generator`` is the one every tinydl draw uses (init, dropout, shuffling);
    a ``Generator()`` of your own is independent. ``get_state()`` is a uint8 tensor that
    ``set_state`` restores (its bytes are NumPy's state, not PyTorch's Mersenne Twister state,
    so the numbers drawn differ from PyTorch's for the same seed).
    """

    def __init__(self, device="cpu"):
        self.device = backend_of(device, "Generator")
        self._seed = 67280421310721  # PyTorch's default initial seed
        self._own = np.random.default_rng(self._seed)

    @property
    def _rng(self):
        return self._own

    def manual_seed(self, seed):
        self._seed = int(seed)
        self._own = np.random.default_rng(self._seed)
        return self

    def seed(self):
        """Reseed from the OS's entropy; returns the new seed."""
        s = int(np.random.SeedSequence().entropy % (2 ** 63))
        self.manual_seed(s)
        return s

    def initial_seed(self):
        return self._seed

    def get_state(self):
        blob = json.dumps(self._rng.bit_generator.state).encode()
        return Tensor._wrap(np.frombuffer(blob, dtype=np.uint8).copy())

    def set_state(self, new_state):
        if not isinstance(new_state, Tensor) or new_state.dtype != np.uint8:
            raise TypeError("set_state: expected a torch.ByteTensor (a uint8 tensor from get_state())")
        self._rng.bit_generator.state = json.loads(bytes(np.asarray(new_state.data)).decode())
        return self


class _DefaultGenerator(Generator):
    """The process-wide generator: its stream is tinydl.core.random's."""

    def __init__(self):
        self.device, self._seed = "cpu", 0

    @property
    def _rng(self):
        return _random.get_rng()

    def manual_seed(self, seed):
        self._seed = int(seed)
        _random.manual_seed(self._seed)
        return self


default_generator = _DefaultGenerator()


def manual_seed(seed):
    """Seed tinydl's generator (init, dropout, shuffling, rand...); returns it, as PyTorch does."""
    if isinstance(seed, builtins.bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__}")
    return default_generator.manual_seed(seed)


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def _rng(generator):
    if generator is None:
        return _random.get_rng()
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a tinydl.Generator, got {type(generator).__name__}")
    return generator._rng


def _float_dtype(dtype, op):
    dtype = as_dtype(dtype, op) or get_default_dtype()
    if dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating point dtype, got {dtype}")
    return dtype


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform on [0, 1)."""
    dtype = _float_dtype(dtype, "rand")
    values = _rng(generator).random(size_of(size, "rand")).astype(dtype)
    return _finish(values, dtype, device, requires_grad, "rand")


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Standard normal."""
    dtype = _float_dtype(dtype, "randn")
    values = _rng(generator).standard_normal(size_of(size, "randn")).astype(dtype)
    return _finish(values, dtype, device, requires_grad, "randn")


def randint(*args, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    """``randint(high, size)`` or ``randint(low, high, size)``: integers in [low, high), int64."""
    if size is None:
        if not args:
            raise TypeError("randint() missing required argument 'size'")
        *args, size = args
    if len(args) == 1:
        low, high = 0, args[0]
    elif len(args) == 2:
        low, high = args
    else:
        raise TypeError("randint() expects randint(high, size) or randint(low, high, size)")
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    dtype = as_dtype(dtype, "randint") or dtypes.DEFAULT_INT
    values = _rng(generator).integers(low, high, size_of((size,), "randint")).astype(dtype)
    return _finish(values, dtype, device, requires_grad, "randint")


def randperm(n, generator=None, dtype=None, device=None, requires_grad=False):
    dtype = as_dtype(dtype, "randperm") or dtypes.DEFAULT_INT
    return _finish(_rng(generator).permutation(int(n)).astype(dtype), dtype, device, requires_grad, "randperm")


def rand_like(input, dtype=None, device=None, requires_grad=False):  # noqa: A002
    return rand(input.shape, dtype=dtype or input.dtype, device=device, requires_grad=requires_grad)


def randn_like(input, dtype=None, device=None, requires_grad=False):  # noqa: A002
    return randn(input.shape, dtype=dtype or input.dtype, device=device, requires_grad=requires_grad)


def is_tensor(obj):
    return isinstance(obj, Tensor)


def numel(input):  # noqa: A002
    return int(input.data.size)


__all__ = ["Size"]
