"""Grad mode and anomaly mode, per thread (context variables, as PyTorch's are thread-local).

A new thread starts with grad mode on and anomaly mode off, whatever other threads are doing:
a ``no_grad()`` block in one thread never turns off recording in another.

>>> import tinydl
>>> x = tinydl.Tensor([1.0, 2.0], requires_grad=True)
>>> with tinydl.no_grad():
...     y = x * 2
>>> y.requires_grad
False
"""
import contextlib
import contextvars
import threading

_grad_enabled = contextvars.ContextVar("tinydl_grad_enabled", default=True)
_anomaly_enabled = contextvars.ContextVar("tinydl_anomaly_enabled", default=False)


def is_grad_enabled():
    return _grad_enabled.get()


def is_anomaly_enabled():
    return _anomaly_enabled.get()


class _SetMode(contextlib.ContextDecorator):
    """Set a context variable for a block; the previous value comes back on exit.

    The tokens are kept per thread, so one instance may be entered by several threads at once;
    used as a decorator, each call gets a fresh instance (nested and recursive calls work).
    """

    _var = None
    _value = None

    def __init__(self):
        self._tokens = {}

    def __enter__(self):
        self._tokens.setdefault(threading.get_ident(), []).append(self._var.set(self._value))
        return self

    def __exit__(self, *exc):
        self._var.reset(self._tokens[threading.get_ident()].pop())
        return False

    def _recreate_cm(self):
        return type(self)()


class no_grad(_SetMode):
    """Build no graph inside this block (context manager or decorator); per thread."""

    _var, _value = _grad_enabled, False


class enable_grad(_SetMode):
    """Record the graph inside this block, even within ``no_grad()``; per thread."""

    _var, _value = _grad_enabled, True


class set_grad_enabled:
    """``set_grad_enabled(False)`` turns recording off at once (this thread); as a context manager
    it restores the previous mode on exit, as PyTorch's does."""

    def __init__(self, mode):
        self._prev = _grad_enabled.get()
        self.mode = bool(mode)
        _grad_enabled.set(self.mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _grad_enabled.set(self._prev)
        return False


class detect_anomaly(_SetMode):
    """Raise at the first op whose forward or backward produces NaN or inf (this thread).

    The error names the op and the line of user code that created it.
    """

    _var, _value = _anomaly_enabled, True

    def __init__(self, check_nan=True):
        super().__init__()
        if not check_nan:
            raise NotImplementedError("detect_anomaly(check_nan=False): tinydl always checks for NaN/inf")


def set_detect_anomaly(mode):
    """Turn anomaly mode on or off for this thread."""
    _anomaly_enabled.set(bool(mode))
