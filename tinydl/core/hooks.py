"""The one hook in the op mechanism: an optional observer of every op's forward and backward.

``Function.apply`` and the backward walk read ``op_observer`` once; when it holds None (the
default) they call the op directly, so nothing is paid unless a tool is active. The value is a
ContextVar, so an observer entered in one thread (or asyncio task) never sees another's ops.

Tools that observe ops (``tinydl.profiler.profile``, the module recorder used by ``tinydl.viz``
and ``tinydl.summary``) subclass ``Observer``; observers nest: each one passes the op on to the
observer that was active when it was entered. The two call sites:

    out = fn.forward(*arrays) if obs is None else obs.forward(fn, arrays)
    grads = <run fn's backward> if obs is None else obs.backward(fn, lambda: <run fn's backward>)
"""
import contextvars

op_observer = contextvars.ContextVar("tinydl_op_observer", default=None)


class Observer:
    """Base class: a context manager that sees ``forward(fn, arrays)`` and ``backward(fn, run)``.

    Subclasses override the two methods and call ``super()`` to run the op (through any outer
    observer); they must return what the op returns.
    """

    _token = None

    def __enter__(self):
        if self._token is not None:
            raise RuntimeError(f"{type(self).__name__} is already active; enter a new one instead")
        self.outer = op_observer.get()
        self._token = op_observer.set(self)
        return self

    def __exit__(self, *exc):
        op_observer.reset(self._token)
        self._token = None
        return False

    def forward(self, fn, arrays):
        """Run ``fn``'s forward on ``arrays`` (through the outer observer, if any)."""
        if self.outer is not None:
            return self.outer.forward(fn, arrays)
        return fn.forward(*arrays)

    def backward(self, fn, run):
        """Run ``fn``'s backward: ``run()`` computes and returns its input gradients."""
        if self.outer is not None:
            return self.outer.backward(fn, run)
        return run()
