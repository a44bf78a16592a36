"""``tf.Variable`` and ``tf.GradientTape`` on tinydl's autograd.

tinydl records every op on a tensor that requires a gradient (define-by-run), so the tape does
not record anything itself: it decides what ``gradient`` may differentiate against, as
TensorFlow does. A source gets a gradient when the tape watches it: a trainable ``Variable`` (or
Keras weight) when ``watch_accessed_variables`` is true, a tensor passed to ``watch``, or a tensor
computed inside the graph from watched ones. Anything else, and a source the target does not
depend on, gets ``None`` (or zeros with ``unconnected_gradients='zero'``).

Differences from TensorFlow, by design of a define-by-run engine: a computation on a trainable
Variable made *before* the tape was entered still connects to it (TensorFlow would not have
recorded it); ``watch(t)`` marks ``t`` as requiring a gradient for good.

Nested tapes work through ``create_graph``: while any tape is recording, ``gradient`` records
its own computation, so an outer tape can differentiate it again (second derivatives).
"""
import contextvars

import numpy as np

from ..core.engine import run_backward
from ..core.grad_mode import no_grad
from ..core.tensor import Tensor
from ..nn.module import Parameter
from ._convert import to_array

_recording = contextvars.ContextVar("tinydl_tf_tapes", default=())


class Variable(Parameter):
    """``tf.Variable(initial_value, trainable=True, name=None, dtype=None)``: a mutable tensor.

    A float Variable that is trainable requires a gradient; ``assign``/``assign_add``/``assign_sub``
    write in place (never recorded, as in TensorFlow) and return the variable. Assigned as an
    attribute of a Keras layer it is tracked as one of its weights.
    """

    __slots__ = ()

    def __init__(self, initial_value, trainable=True, name=None, dtype=None, shape=None, **kwargs):
        if callable(initial_value):
            initial_value = initial_value()
        a = np.array(to_array(initial_value, dtype, "Variable"), copy=True)
        trainable = bool(trainable) and a.dtype.kind == "f"
        super().__init__(a, requires_grad=trainable)
        self.trainable = trainable
        self.name = name or "Variable"

    def _check(self, value, op):
        a = to_array(value, None, f"Variable.{op}")
        if a.shape != self.shape and np.broadcast_shapes(a.shape, self.shape) != self.shape:
            raise ValueError(f"Variable.{op}: '{self.name}' has shape {self.shape}, the value has shape {a.shape}")
        return self.xp.asarray(a, dtype=self.dtype)

    def assign(self, value, use_locking=None, name=None, read_value=True):
        self.data[...] = self._check(value, "assign")
        return self

    def assign_add(self, delta, use_locking=None, name=None, read_value=True):
        self.data[...] = self.data + self._check(delta, "assign_add")
        return self

    def assign_sub(self, delta, use_locking=None, name=None, read_value=True):
        self.data[...] = self.data - self._check(delta, "assign_sub")
        return self

    def read_value(self):
        return Tensor(self.data.copy())

    def value(self):
        return self.read_value()

    def __repr__(self):
        return (f"<tf.Variable '{self.name}' shape={self.shape} dtype={self.dtype.name}, "
                f"numpy={np.array2string(self.detach().numpy(), separator=', ')}>")


def _flatten(structure):
    """The leaves of a nested list/tuple/dict (dicts in sorted key order, as tf.nest)."""
    if isinstance(structure, dict):
        return [v for k in sorted(structure) for v in _flatten(structure[k])]
    if isinstance(structure, (list, tuple)):
        return [v for item in structure for v in _flatten(item)]
    return [structure]


def _pack(structure, flat):
    """``flat`` values in the shape of ``structure`` (the inverse of _flatten)."""
    it = iter(flat)

    def build(s):
        if isinstance(s, dict):
            done = {k: build(s[k]) for k in sorted(s)}
            return {k: done[k] for k in s}
        if isinstance(s, (list, tuple)):
            items = [build(v) for v in s]
            return items if isinstance(s, list) else type(s)(items) if not hasattr(s, "_fields") else type(s)(*items)
        return next(it)
    return build(structure)


class GradientTape:
    """``tf.GradientTape(persistent=False, watch_accessed_variables=True)``; see the module notes."""

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self.persistent = bool(persistent)
        self.watch_accessed_variables = bool(watch_accessed_variables)
        self._watched = {}
        self._used = False
        self._token = None
        self._paused = 0

    def __enter__(self):
        self._token = _recording.set(_recording.get() + (self,))
        return self

    def __exit__(self, *exc):
        _recording.reset(self._token)
        self._token = None
        return False

    def watch(self, tensor):
        """Differentiate against ``tensor`` (or each tensor of a nested structure) from now on."""
        for t in _flatten(tensor):
            if not isinstance(t, Tensor):
                raise ValueError(f"GradientTape.watch: expected a Tensor or Variable, got {type(t).__name__}")
            if t.dtype.kind != "f":
                continue  # TF ignores non-float tensors (their gradients are None)
            if not t.requires_grad and t._creator is None:
                t.requires_grad_(True)
            self._watched[id(t)] = t

    def watched_variables(self):
        return tuple(t for t in self._watched.values() if isinstance(t, Variable))

    def reset(self):
        self._watched.clear()

    def stop_recording(self):
        """A context in which operations are not recorded (tinydl: ``no_grad``)."""
        return no_grad()

    def _differentiable(self, t):
        if not isinstance(t, Tensor) or t.dtype.kind != "f":
            return False
        if id(t) in self._watched:
            return True
        if t._creator is not None:
            return True
        return self.watch_accessed_variables and isinstance(t, Parameter) and t.requires_grad

    def _claim(self, what):
        if self._used and not self.persistent:
            raise RuntimeError("A non-persistent GradientTape can only be used to compute one set of "
                               "gradients (or jacobians)")
        self._used = True

    def gradient(self, target, sources, output_gradients=None, unconnected_gradients="none"):
        """d(sum of ``target``)/d``sources``, in the structure of ``sources``; None where unconnected."""
        self._claim("gradient")
        if str(getattr(unconnected_gradients, "value", unconnected_gradients)).lower() not in ("none", "zero"):
            raise ValueError(f"GradientTape.gradient: unconnected_gradients must be 'none' or 'zero', got "
                             f"{unconnected_gradients!r}")
        zeros = str(getattr(unconnected_gradients, "value", unconnected_gradients)).lower() == "zero"
        flat_src = _flatten(sources)
        for i, s in enumerate(flat_src):
            if not isinstance(s, Tensor):
                raise ValueError(f"GradientTape.gradient: source {i} is a {type(s).__name__}, not a Tensor or "
                                 "Variable")
        targets = _flatten(target)
        seeds = _flatten(output_gradients) if output_gradients is not None else [None] * len(targets)
        if len(seeds) != len(targets):
            raise ValueError(f"GradientTape.gradient: {len(seeds)} output_gradients for {len(targets)} targets")
        pairs = [(t, s) for t, s in zip(targets, seeds) if isinstance(t, Tensor) and t.requires_grad]
        wanted = [s for s in flat_src if self._differentiable(s)]
        found = {}
        if pairs and wanted:
            create = bool(_recording.get())  # a tape is recording: record this gradient too
            grads = []
            for t, s in pairs:
                if s is None:
                    g = t.xp.ones_like(t.data)
                else:
                    g = to_array(s).astype(t.dtype, copy=False)
                    if g.shape != t.shape:
                        raise ValueError(f"GradientTape.gradient: output_gradients has shape {g.shape}, the "
                                         f"target has shape {t.shape}")
                    g = t.xp.asarray(g)
                grads.append(Tensor._wrap(g) if create else g)
            unique = list({id(s): s for s in wanted}.values())
            result = run_backward([t for t, _ in pairs], grads, retain_graph=True, create_graph=create,
                                  inputs=unique, accumulate=False)
            found = {id(s): g for s, g in zip(unique, result)}
        out = []
        for s in flat_src:
            g = found.get(id(s))
            if g is None:
                out.append(Tensor(np.zeros(s.shape, s.dtype)) if zeros and s.dtype.kind == "f" else None)
            else:
                out.append(g if isinstance(g, Tensor) else Tensor._wrap(g))
        return _pack(sources, out)

    def jacobian(self, target, sources, unconnected_gradients="none", parallel_iterations=None,
                 experimental_use_pfor=True):
        """d``target``[i...]/d``source``[j...], shaped ``target.shape + source.shape`` (one backward per element)."""
        self._claim("jacobian")
        persistent, self.persistent = self.persistent, True
        try:
            flat_src = _flatten(sources)
            rows = [[] for _ in flat_src]
            size = int(np.prod(target.shape)) if isinstance(target, Tensor) else 0
            for k in range(size):
                seed = np.zeros(target.shape, dtype=target.dtype)
                seed.reshape(-1)[k] = 1
                gs = self.gradient(target, flat_src, output_gradients=seed, unconnected_gradients=unconnected_gradients)
                for r, g in zip(rows, gs):
                    r.append(g)
            out = []
            for s, r in zip(flat_src, rows):
                if not r or any(g is None for g in r):
                    out.append(None)
                else:
                    out.append(Tensor(np.stack([g.detach().numpy() for g in r]).reshape(tuple(target.shape) + tuple(s.shape))))
            return _pack(sources, out)
        finally:
            self.persistent = persistent
