"""The backend seam: which array module (numpy or cupy) and which kernel provider an op uses.

Every op asks here, from the array itself, never from a global flag scattered in the code:

>>> import numpy as np
>>> from tinydl import backends
>>> backends.get_array_module(np.zeros(3)) is np
True
>>> backends.active_backend()
'cpu'

Kernel providers share one interface (see ``reference.py``): ``reference`` is the readable NumPy
path, ``numba_cpu`` the Numba kernels, ``cuda`` the CuPy/CUDA kernels. ``use_reference()`` forces
the reference path, for learning and as an oracle.
"""
import contextlib
import importlib
import sys

_active = "cpu"          # where new tensors are created: 'cpu' or 'gpu'
_force_reference = False  # set only through use_reference()


class BackendUnavailable(RuntimeError):
    """Raised when the GPU backend is asked for but cannot be used; the message says why."""


def _cupy_if_loaded():
    # Only look at cupy if the user already imported it: an array can't be a cupy array otherwise,
    # and importing cupy costs seconds.
    return sys.modules.get("cupy")


def is_gpu_array(a):
    cp = _cupy_if_loaded()
    return cp is not None and isinstance(a, cp.ndarray)


def get_array_module(*arrays):
    """numpy, or cupy when any of ``arrays`` lives on the GPU."""
    for a in arrays:
        if is_gpu_array(a):
            return _cupy_if_loaded()
    import numpy
    return numpy


def to_host(a):
    """A NumPy array with ``a``'s values, copied from the GPU when needed."""
    import numpy
    return a.get() if is_gpu_array(a) else numpy.asarray(a)


def device_of(a):
    return "gpu" if is_gpu_array(a) else "cpu"


def require_cupy():
    """Import cupy and check a device answers, or raise BackendUnavailable saying why."""
    try:
        import cupy
    except ImportError as e:  # pragma: no cover - depends on the machine
        raise BackendUnavailable(
            f"the GPU backend needs CuPy, which is not installed ({e}); "
            "install it with: pip install 'tinydl[gpu]'") from e
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # pragma: no cover - driver problems
        raise BackendUnavailable(f"CuPy is installed but the CUDA driver/runtime failed: {e}") from e
    if n == 0:  # pragma: no cover
        raise BackendUnavailable("CuPy is installed but no CUDA device is visible")
    return cupy


def gpu_available():
    try:
        require_cupy()
        return True
    except BackendUnavailable:
        return False


def set_backend(name):
    """Choose where new tensors live: ``'cpu'`` (numpy) or ``'gpu'`` (cupy)."""
    global _active
    if name not in ("cpu", "gpu"):
        raise ValueError(f"set_backend: unknown backend {name!r}; expected 'cpu' or 'gpu'")
    if name == "gpu":
        require_cupy()
    _active = name


def active_backend():
    return _active


def default_array_module():
    return require_cupy() if _active == "gpu" else importlib.import_module("numpy")


@contextlib.contextmanager
def use_reference(enabled=True):
    """Run CPU ops on the readable NumPy reference path instead of the Numba kernels.

    >>> import numpy as np
    >>> from tinydl import backends
    >>> with backends.use_reference():
    ...     backends.kernels_for(np.zeros(1)).__name__
    'tinydl.backends.reference'
    """
    global _force_reference
    old, _force_reference = _force_reference, enabled
    try:
        yield
    finally:
        _force_reference = old


def reference_forced():
    return _force_reference


def kernels_for(array):
    """The kernel provider module for ops on ``array`` (imported lazily: numba costs ~0.5 s)."""
    if is_gpu_array(array):
        return importlib.import_module("tinydl.backends.cuda")
    if _force_reference:
        return importlib.import_module("tinydl.backends.reference")
    return importlib.import_module("tinydl.backends.numba_cpu")


def check_same_device(tensors, op_name):
    """Raise if an op is given tensors on two devices; data moves only when asked."""
    devices = {device_of(t.data) for t in tensors}
    if len(devices) > 1:
        raise RuntimeError(
            f"{op_name}: inputs are on different devices (cpu and gpu); "
            "move them with tensor.to('gpu') or tensor.to('cpu') first")
