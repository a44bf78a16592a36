"""PyTorch's functions take NumPy's ``axis``/``keepdims`` as aliases of ``dim``/``keepdim``."""
import functools


def numpy_aliases(fn):
    """Accept ``axis=`` for ``dim=`` and ``keepdims=`` for ``keepdim=``."""
    @functools.wraps(fn)
    def wrapped(*args, **kw):
        if "axis" in kw:
            kw["dim"] = kw.pop("axis")
        if "keepdims" in kw:
            kw["keepdim"] = kw.pop("keepdims")
        return fn(*args, **kw)
    return wrapped
