"""The backend seam: which array module (numpy or cupy) and which kernel provider an op uses.

Every op asks here, from the array itself, never from a global flag scattered in the code:

>>> import numpy as np
>>> from tinydl import backends
>>> backends.get_array_module(np.zeros(3)) is np
True
>>> backends.active_backend()
'cpu'

Kernel providers implement one interface, ``interface.KernelProvider``: ``reference`` is the
readable NumPy path, ``numba_cpu`` the Numba kernels, ``cuda`` the CuPy/CUDA kernels.  Every op,
layer and optimizer reaches a kernel through :func:`provider_for` and nowhere else.
``use_reference()`` forces the reference path, for learning and as an oracle.

Which state is per thread: ``use_reference()`` is a context variable, so it holds only in the
thread (or asyncio task) that entered it, as PyTorch's grad mode does.  The active backend
(:func:`set_backend`) is process-wide on purpose, like ``torch.set_default_dtype``: it says where
a program's parameters and data live, and a data-loading or serving thread must create tensors
on the same device as the model it feeds.
"""
import contextlib
import contextvars
import importlib
import sys

from . import interface

_active = "cpu"  # where new tensors are created: 'cpu' or 'gpu' (process-wide, see above)
_reference_forced = contextvars.ContextVar("tinydl_use_reference", default=False)
_providers = {}  # module name -> interface.BoundProvider


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
    """Run the ops of this thread on the readable NumPy reference instead of the Numba kernels.

    >>> import numpy as np
    >>> from tinydl import backends
    >>> with backends.use_reference():
    ...     backends.provider_for(np.zeros(1)).name
    'tinydl.backends.reference'
    """
    token = _reference_forced.set(bool(enabled))
    try:
        yield
    finally:
        _reference_forced.reset(token)


def get_provider(name):
    """The provider ``'reference'``, ``'numba_cpu'`` or ``'cuda'`` seen through the interface (its
    delegated functions filled in from the reference); ops use :func:`provider_for` instead."""
    p = _providers.get(name)
    if p is None:
        ref = None if name == "reference" else get_provider("reference")
        p = _providers[name] = interface.bind(importlib.import_module(f"tinydl.backends.{name}"), ref)
    return p


def provider_for(array):
    """The kernel provider (an ``interface.KernelProvider``) for ops on ``array``: ``cuda`` for a
    CuPy array, else ``reference`` inside ``use_reference()``, else ``numba_cpu``.  This is the one
    place that choice is made; providers are imported lazily (Numba costs ~0.5 s to load)."""
    if is_gpu_array(array):
        return get_provider("cuda")
    if _reference_forced.get():
        return get_provider("reference")
    return get_provider("numba_cpu")


def check_same_device(tensors, op_name):
    """Raise if an op is given tensors on two devices; data moves only when asked."""
    devices = {device_of(t.data) for t in tensors}
    if len(devices) > 1:
        raise RuntimeError(
            f"{op_name}: inputs are on different devices (cpu and gpu); "
            "move them with tensor.to('gpu') or tensor.to('cpu') first")
