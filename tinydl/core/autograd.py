"""Reverse-mode automatic differentiation: the Function base class and the graph walk.

An op is a ``Function`` subclass with ``forward`` (arrays in, array out) and ``backward``
(output gradient in, one gradient per input out) side by side. The base class does what no op
should repeat: wrapping results in Tensors, recording the graph, undoing broadcasting in the
gradients, casting them to each input's dtype, and the anomaly checks.

Ownership runs one way (output tensor -> its Function -> input tensors); a Function never holds
its output Tensor, so graphs contain no reference cycles and free themselves when dropped.
"""
import contextlib
import traceback

from .. import backends

OPS = {}  # name -> Function subclass: the inventory that the gradient tests must cover

_grad_enabled = True
_anomaly_mode = False


class no_grad(contextlib.ContextDecorator):
    """Build no graph inside this block (context manager or decorator).

    >>> import tinydl
    >>> x = tinydl.Tensor([1.0, 2.0], requires_grad=True)
    >>> with tinydl.no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    def __enter__(self):
        global _grad_enabled
        self._prev, _grad_enabled = _grad_enabled, False
        return self

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self._prev
        return False


class enable_grad(no_grad):
    def __enter__(self):
        global _grad_enabled
        self._prev, _grad_enabled = _grad_enabled, True
        return self


def is_grad_enabled():
    return _grad_enabled


class AnomalyError(FloatingPointError):
    """An op produced NaN or inf while ``detect_anomaly()`` was active."""


class detect_anomaly(contextlib.ContextDecorator):
    """Raise at the first op whose forward or backward produces NaN or inf.

    The error names the op and the line of user code that created it.
    """

    def __enter__(self):
        global _anomaly_mode
        self._prev, _anomaly_mode = _anomaly_mode, True
        return self

    def __exit__(self, *exc):
        global _anomaly_mode
        _anomaly_mode = self._prev
        return False


def _user_frame():
    """The innermost stack frame outside tinydl itself (where the user called the op)."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        if "/tinydl/" not in frame.filename.replace("\\", "/"):
            return f"{frame.filename}:{frame.lineno}: {frame.line}"
    return "<unknown>"


def _check_finite(arrays, what, fn):
    for a in arrays:
        if a is None:
            continue
        xp = backends.get_array_module(a)
        if a.dtype.kind == "f" and not bool(xp.isfinite(a).all()):
            raise AnomalyError(
                f"{fn.name} produced NaN or inf in its {what}; "
                f"the op was created at {fn.created_at}")


def unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape``: the one place broadcasting is undone for every op."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        i + extra for i, n in enumerate(shape) if n == 1 and grad.shape[i + extra] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


class Function:
    """Base class of every differentiable op.

    Subclasses set their parameters in ``__init__`` (non-tensor arguments such as ``axis``),
    implement ``forward(*arrays)`` returning an array and ``backward(grad)`` returning one
    gradient (or None) per input, shaped like the *broadcast* input: the base class reduces it.
    Gradients are only computed for inputs in ``self.needs_grad``.
    """

    differentiable = True

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        OPS[cls.__name__] = cls

    @property
    def name(self):
        return type(self).__name__

    @classmethod
    def apply(cls, *inputs, **params):
        from .tensor import Tensor, as_tensor
        fn = cls(**params)
        like = next((x for x in inputs if isinstance(x, Tensor)), None)
        tensors = [as_tensor(x, like) for x in inputs]
        if len(tensors) > 1:
            backends.check_same_device(tensors, fn.name)
        out = fn.forward(*[t.data for t in tensors])
        track = (_grad_enabled and cls.differentiable
                 and any(t.requires_grad for t in tensors))
        if _anomaly_mode:
            fn.created_at = _user_frame()
            _check_finite([out], "forward output", fn)
        result = Tensor._wrap(out, requires_grad=track)
        if track:
            fn.inputs = tensors
            fn.needs_grad = [t.requires_grad for t in tensors]
            result._creator = fn
        return result

    def forward(self, *arrays):  # pragma: no cover - abstract
        raise NotImplementedError(f"{self.name}.forward")

    def backward(self, grad):  # pragma: no cover - abstract
        raise NotImplementedError(f"{self.name}.backward")

    def input_grads(self, grad):
        """Run backward and shape/cast each gradient like its input."""
        grads = self.backward(grad)
        if not isinstance(grads, tuple):
            grads = (grads,)
        if _anomaly_mode:
            _check_finite(grads, "backward (input gradients)", self)
        out = []
        for t, g, need in zip(self.inputs, grads, self.needs_grad):
            if not need or g is None:
                out.append(None)
                continue
            g = unbroadcast(g, t.data.shape)
            if g.dtype != t.data.dtype:
                g = g.astype(t.data.dtype)
            out.append(g)
        return out

    def release(self):
        """Drop inputs and saved arrays once backward has used them (frees the graph)."""
        self.__dict__.clear()
        self.freed = True


def backward(root, grad, retain_graph=False):
    """Accumulate d(root)/d(leaf) into every leaf's ``.grad``; no recursion, any depth."""
    fn_root = root._creator
    if getattr(fn_root, "freed", False):
        raise RuntimeError(_FREED_MSG)
    order = _topological_order(fn_root)
    # Leaves with post-accumulate hooks: each fires once, after the last function feeding it.
    last_use = {id(t): i for i, fn in enumerate(order) for t in fn.inputs
                if t._creator is None and t._post_acc_hooks}
    got = set()
    pending = {id(fn_root): grad}
    for i, fn in enumerate(order):
        g = pending.pop(id(fn), None)
        inputs = fn.inputs
        if g is not None:  # else no gradient flows into this branch
            for t, gi in zip(inputs, fn.input_grads(g)):
                if gi is None:
                    continue
                creator = t._creator
                if creator is None:
                    t._accumulate(gi)
                    got.add(id(t))
                else:
                    key = id(creator)
                    pending[key] = gi if key not in pending else pending[key] + gi
        if not retain_graph:
            fn.release()
        if last_use:  # hooks of leaves that get nothing more from the rest of the graph
            for t in inputs:
                if last_use.get(id(t)) == i and id(t) in got:
                    del last_use[id(t)]
                    t._run_post_accumulate_hooks()


_FREED_MSG = ("backward: this graph was already freed by an earlier backward(); "
              "call backward(retain_graph=True) the first time to backpropagate through it twice")


def _topological_order(root_fn):
    """Functions ordered so each comes before the functions that made its inputs.

    An explicit-stack depth-first search (reverse post-order): a chain of any length works.
    """
    post, seen = [], set()
    stack = [(root_fn, False)]
    while stack:
        fn, expanded = stack.pop()
        if expanded:
            post.append(fn)
            continue
        if id(fn) in seen:
            continue
        if getattr(fn, "freed", False):
            raise RuntimeError(_FREED_MSG)
        seen.add(id(fn))
        stack.append((fn, True))
        for t in fn.inputs:
            c = t._creator
            if c is not None and id(c) not in seen:
                stack.append((c, False))
    post.reverse()
    return post
