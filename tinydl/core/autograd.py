"""Reverse-mode automatic differentiation: the Function base class (one graph node per op call).

Two kinds of Function share this one mechanism (the node, the graph, saved tensors and their
version checks, hooks, anomaly checks, the walk in ``engine.py``):

- **array ops** (every built-in op): ``forward(self, *arrays)`` returns an array and
  ``backward(self, grad)`` returns one gradient per input, shaped like the *broadcast* input (the
  base class reduces it). The same backward runs on arrays (the fast path, the default) or, with
  ``create_graph=True``, on Tensors in a recorded graph: values it needs come from
  ``self.saved_tensors`` (arrays in the fast path, Tensors in graph mode) and its math uses
  operators and ``math_of(g)`` (the array module, or ``tinydl.core.functional`` for Tensors).
  Such ops set ``once_differentiable = False``. A fused op whose fast backward cannot run on
  Tensors defines ``composite(self, *tensors)`` instead: the same function written with
  differentiable core ops, which graph mode differentiates. Any other array op is
  once-differentiable (the default): a second backward through it raises, naming the op.
- **ctx functions** (PyTorch's ``autograd.Function``): ``@staticmethod forward(ctx, *args)`` and
  ``@staticmethod backward(ctx, *grad_outputs)`` on Tensors; ``MyFn.apply(...)``.

Ownership runs one way (output tensor -> its Function -> input tensors); a Function never holds
its output Tensor: a saved output is kept as its array plus its version counter and is rebuilt
as a Tensor pointing at this node when the backward asks for it, so graphs have no reference
cycles and free themselves when dropped.

>>> import tinydl
>>> x = tinydl.Tensor([1.0, 2.0], requires_grad=True)
>>> y = (x * x).sum()
>>> y.grad_fn, y.grad_fn.next_functions
(<SumBackward>, ((<MulBackward>, 0),))
>>> y.grad_fn.next_functions[0][0].next_functions
((<AccumulateGrad>, 0), (<AccumulateGrad>, 0))
"""
import inspect
import traceback
import weakref

from .. import backends
from .hooks import op_observer  # the profiler/viz hook: see hooks.py
from . import forward_ad
from .grad_mode import (no_grad, enable_grad, set_grad_enabled, is_grad_enabled,  # noqa: F401
                        detect_anomaly, set_detect_anomaly, is_anomaly_enabled,
                        _grad_enabled, _anomaly_enabled)

OPS = {}  # name -> Function subclass: the inventory that the gradient tests must cover

_IN, _OUT, _OTHER = "input", "output", "other"


class AnomalyError(FloatingPointError):
    """An op produced NaN or inf while ``detect_anomaly()`` was active."""


def _user_frame():
    """The innermost stack frame outside tinydl itself (where the user called the op)."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        if "/tinydl/" not in frame.filename.replace("\\", "/"):
            return f"{frame.filename}:{frame.lineno}: {frame.line}"
    return "<unknown>"


def raw(x):
    """The array inside a Tensor (or x itself): for masks and other constants of a backward."""
    return getattr(x, "data", x) if _is_tensor(x) else x


_tensor_module = None


def _tensors():
    """tinydl.core.tensor, imported on first use (it imports this module)."""
    global _tensor_module
    if _tensor_module is None:
        from . import tensor
        _tensor_module = tensor
    return _tensor_module


def _is_tensor(x):
    return isinstance(x, _tensors().Tensor)


is_tensor = _is_tensor  # in a backward: True in graph mode (create_graph), where grads are Tensors


def math_of(x):
    """The namespace a backward rule computes with: the array module (numpy/cupy) for arrays,
    ``tinydl.core.functional`` (differentiable ops) for Tensors."""
    if _is_tensor(x):
        from . import functional
        return functional
    return backends.get_array_module(x)


def _check_finite(values, what, fn):
    for a in values:
        a = raw(a)
        if a is None:
            continue
        xp = backends.get_array_module(a)
        if a.dtype.kind == "f" and not bool(xp.isfinite(a).all()):
            raise AnomalyError(
                f"{type(fn).__name__} produced NaN or inf in its {what}; "
                f"the op was created at {getattr(fn, 'created_at', '<unknown>')}")


def unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape``: the one place broadcasting is undone for every op.
    Works on arrays and on Tensors (graph mode)."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra < 0 or any(n != 1 and grad.shape[i + extra] != n for i, n in enumerate(shape)):
        raise RuntimeError(f"a gradient of shape {grad.shape} does not broadcast to its input's shape {shape}")
    axes = tuple(range(extra)) + tuple(
        i + extra for i, n in enumerate(shape) if n == 1 and grad.shape[i + extra] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


class RemovableHandle:
    """Returned by the ``register_*hook`` methods; ``remove()`` unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks):
        self._hooks = weakref.ref(hooks) if hooks is not None else None
        RemovableHandle._next_id += 1
        self.id = RemovableHandle._next_id

    def remove(self):
        hooks = self._hooks() if self._hooks is not None else None
        if hooks is not None:
            hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class _HookDict(dict):
    """A dict that a weak reference can point to (the handles hold one)."""


def add_hook(owner_dict, hook):
    handle = RemovableHandle(owner_dict)
    owner_dict[handle.id] = hook
    return handle


class AccumulateGrad:
    """The graph-inspection node of a leaf that requires grad (``next_functions`` shows it)."""

    def __init__(self, tensor):
        self._variable = weakref.ref(tensor)

    @property
    def variable(self):
        return self._variable()

    @property
    def next_functions(self):
        return ()

    def name(self):
        return "AccumulateGrad"

    def __repr__(self):
        return "<AccumulateGrad>"


class Function:
    """Base class of every differentiable op and of user-defined autograd Functions.

    An instance is one node of the graph (and, for ctx functions, the ``ctx``). See the module
    docstring for the two ways to write one.
    """

    differentiable = True
    # True: the backward runs on arrays only; a second backward through it raises (naming the op).
    # Array ops that write their backward with saved_tensors/math_of set it to False; defining
    # ``composite`` sets it to False too.
    once_differentiable = True
    is_view = False  # the output may share memory (and so the version counter) with input 0
    elementwise = False  # forward mode: diagonal Jacobian per input, tangent = backward(tangent)
    linear = False  # forward mode: the tangent is the op applied to the tangents
    _ctx_style = False
    _has_composite = False
    freed = False
    _n_out = 1
    _graph_mode = False  # set per backward: saved_tensors hands out Tensors when True
    _out_hooks = None  # ({output: hooks}, {output: retained tensor}) for non-leaf tensors

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        cls._ctx_style = isinstance(inspect.getattr_static(cls, "forward", None), staticmethod)
        cls._has_composite = hasattr(cls, "composite")
        if cls._ctx_style or "composite" in cls.__dict__:
            cls.once_differentiable = False  # made of differentiable ops (see _composite_grads)
        # the inventory is tinydl's own array ops (ctx functions are user code, e.g. in doctests)
        if cls.__module__.startswith("tinydl.") and cls.__dict__.get("_inventory", True) and not cls._ctx_style:
            OPS[cls.__name__] = cls

    # ---- graph inspection (PyTorch's names) -----------------------------------------------
    def name(self):
        return f"{type(self).__name__}Backward"

    def __repr__(self):
        return f"<{self.name()}>"

    @property
    def next_functions(self):
        out = []
        for t in self.__dict__.get("_inputs", ()):
            if t._creator is not None:
                out.append((t._creator, t._output_nr))
            elif t.requires_grad:
                out.append((t._grad_accumulator(), 0))
            else:
                out.append((None, 0))
        return tuple(out)

    def _output_hooks(self):
        if self._out_hooks is None:
            self._out_hooks = ({}, {})
        return self._out_hooks

    @property
    def needs_input_grad(self):
        return tuple(self.needs_grad)

    # ---- saving what the backward needs ----------------------------------------------------
    def save_for_backward(self, *values):
        """Keep inputs or outputs (arrays in array ops, Tensors in ctx functions) for backward;
        a later in-place change to one of them makes the backward raise."""
        self._to_save = values

    def mark_non_differentiable(self, *tensors):
        self._non_differentiable = tensors

    def set_materialize_grads(self, value):
        self._materialize = bool(value)

    def _record(self, tensors, out, result):
        """At the forward of an array op: what the backward walks and checks."""
        self._inputs = tensors
        self.needs_grad = [t.requires_grad for t in tensors]
        if "_to_save" in self.__dict__ or self._has_composite:  # versions, for the checks
            self._versions = [t._vc[0] for t in tensors]
            self._out = (out, result._vc, result._vc[0])

    def _pack_saved(self, in_values, out_values, out_tensors):
        """ctx functions: turn ``_to_save`` (Tensors) into (kind, index, value, counter, version)."""
        to_save = self.__dict__.pop("_to_save", None)
        if to_save is None:
            return
        entries = []
        for s in to_save:
            entry = None
            if s is not None:
                for k, o in enumerate(out_values):
                    if s is o:
                        t = out_tensors[k]
                        entry = (_OUT, k, t.data, t._vc, t._vc[0])
                        break
                else:
                    for i, v in enumerate(in_values):
                        if s is v:
                            t = self._inputs[i]
                            entry = (_IN, i, s, t._vc, t._vc[0])
                            break
                    else:
                        vc = getattr(s, "_vc", None)
                        entry = (_OTHER, 0, s, vc, None if vc is None else vc[0])
            entries.append(entry)
        self._saved = entries

    @property
    def saved_tensors(self):
        """What ``save_for_backward`` kept, checked against in-place changes since.

        Array ops get arrays in the fast path and Tensors in graph mode; ctx functions get Tensors.
        An array op's saved arrays are matched to its inputs and output by identity, here (not
        at the forward, which stays cheap).
        """
        if self.freed:
            raise RuntimeError(_FREED_MSG)
        d = self.__dict__
        if self._ctx_style:
            return self._unpack_ctx(d)
        values = d.get("_to_save", ())
        graph = self._graph_mode
        out_array, out_vc, out_version = d.get("_out", (None, None, None))
        inputs, versions = d.get("_inputs", ()), d.get("_versions")
        if not graph:  # the fast path: check the versions, hand out the arrays
            for s in values:
                if s is out_array:
                    if out_vc[0] != out_version:
                        raise RuntimeError(self._modified_message(_OUT, 0, s, out_vc[0], out_version))
                elif s is not None and versions is not None:
                    for i, t in enumerate(inputs):
                        if s is t.data:
                            if t._vc[0] != versions[i]:
                                raise RuntimeError(self._modified_message(_IN, i, s, t._vc[0], versions[i]))
                            break
            return values
        unpacked = []
        for s in values:
            if s is None:
                unpacked.append(None)
                continue
            if s is out_array:
                if out_vc[0] != out_version:
                    raise RuntimeError(self._modified_message(_OUT, 0, s, out_vc[0], out_version))
                unpacked.append(self._output_tensor(0, s, out_vc))
                continue
            for i, t in enumerate(inputs):
                if s is t.data:
                    if versions is not None and t._vc[0] != versions[i]:
                        raise RuntimeError(self._modified_message(_IN, i, s, t._vc[0], versions[i]))
                    unpacked.append(t)
                    break
            else:
                unpacked.append(s)
        return tuple(unpacked)

    def _unpack_ctx(self, d):
        out = []
        for entry in d.get("_saved", ()):
            if entry is None:
                out.append(None)
                continue
            kind, k, value, vc, version = entry
            if vc is not None and vc[0] != version:
                raise RuntimeError(self._modified_message(kind, k, value, vc[0], version))
            if kind == _IN:
                out.append(self._inputs[k])
            elif kind == _OUT:
                out.append(self._output_tensor(k, value, vc))
            else:
                out.append(value)
        return tuple(out)

    def _output_tensor(self, k, array, vc):
        from .tensor import Tensor
        t = Tensor._wrap(array, requires_grad=self.__dict__.get("_graph_mode", False))
        t._vc = vc
        if t.requires_grad:
            t._creator, t._output_nr = self, k
        return t

    def _modified_message(self, kind, k, value, now, version):
        if kind == _IN:
            t = self._inputs[k]
            what = f"input {k}" + (f" ({t.name!r})" if t.name else "")
        else:
            what = f"output {k}" if kind == _OUT else "a saved tensor"
        value = raw(value)
        return (f"one of the tensors needed for gradient computation has been modified by an in-place "
                f"operation: {what} of {self.name()} (shape {tuple(value.shape)}, dtype {value.dtype}) "
                f"is at version {now}; expected version {version} instead. Hint: do the in-place change "
                f"after backward(), or on a clone()")

    # ---- forward: build the node -----------------------------------------------------------
    @classmethod
    def apply(cls, *inputs, **params):
        if cls._ctx_style:
            from .function_ctx import apply_ctx
            return apply_ctx(cls, inputs, params)
        tm = _tensor_module or _tensors()
        Tensor, as_tensor = tm.Tensor, tm.as_tensor
        fn = cls(**params)
        like = next((x for x in inputs if isinstance(x, Tensor)), None)
        tensors = [x if type(x) is Tensor else as_tensor(x, like) for x in inputs]
        if len(tensors) > 1:
            backends.check_same_device(tensors, cls.__name__)
        arrays = [t.data for t in tensors]
        obs = op_observer.get()  # hook: None unless a profiler or module recorder is active
        out = fn.forward(*arrays) if obs is None else obs.forward(fn, arrays)
        anomaly = _anomaly_enabled.get()
        if anomaly:
            fn.created_at = _user_frame()
            _check_finite([out], "forward output", fn)
        track = (cls.differentiable and _grad_enabled.get()
                 and any(t.requires_grad for t in tensors))
        result = Tensor._wrap(out, requires_grad=track)
        if cls.is_view and tensors and _shares_memory(out, arrays[0]):
            base = tensors[0]
            result._vc, result._base = base._vc, (base._base if base._base is not None else base)
        if track:
            fn._record(tensors, out, result)
            result._creator = fn
        if forward_ad._levels.active and any(t._tangent is not None for t in tensors):
            tangent = forward_ad.output_tangent(fn, cls, params, tensors, arrays, out, result)
            if track:  # the jvp rules may have changed what backward reads: restore it
                fn._record(tensors, out, result)
            result._tangent = tangent
        return result

    def forward(self, *arrays):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, grad):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__}.backward")

    # ---- backward: called by the engine ----------------------------------------------------
    def _input_grads(self, grads, create_graph):
        """One gradient per input (None where not needed), shaped and typed like the input:
        arrays in the fast path, Tensors when ``create_graph``."""
        if not create_graph and not self._ctx_style:  # the fast path: arrays only
            if self._graph_mode:
                self._graph_mode = False
            raw_grads = self.backward(*grads)
            if type(raw_grads) is not tuple:
                raw_grads = (raw_grads,)
            if _anomaly_enabled.get():
                _check_finite(raw_grads, "backward (input gradients)", self)
            if len(raw_grads) != len(self._inputs):
                raise RuntimeError(f"{self.name()} returned {len(raw_grads)} gradients for "
                                   f"{len(self._inputs)} inputs")
            out = []
            for t, g, need in zip(self._inputs, raw_grads, self.needs_grad):
                if not need or g is None:
                    out.append(None)
                    continue
                data = t.data
                if g.shape != data.shape:
                    g = unbroadcast(g, data.shape)
                if g.dtype != data.dtype:
                    g = g.astype(data.dtype)
                out.append(g)
            return out
        self._graph_mode = create_graph  # what saved_tensors hands out (arrays or Tensors)
        if self._ctx_style:
            from .function_ctx import backward_ctx
            raw_grads = backward_ctx(self, grads, create_graph)
        elif create_graph and self.once_differentiable:
            raw_grads = _once_differentiable_grads(self, grads)
        elif create_graph and hasattr(self, "composite"):
            raw_grads = self._composite_grads(grads)
        elif create_graph:
            from .tensor import Tensor
            grads = [g if isinstance(g, Tensor) else Tensor._wrap(g) for g in grads]
            with enable_grad():
                raw_grads = self.backward(*grads)
        else:
            raw_grads = self.backward(*grads)
        if not isinstance(raw_grads, tuple):
            raw_grads = (raw_grads,)
        if _anomaly_enabled.get():
            _check_finite(raw_grads, "backward (input gradients)", self)
        if len(raw_grads) != len(self._inputs):
            raise RuntimeError(f"{self.name()} returned {len(raw_grads)} gradients for "
                               f"{len(self._inputs)} inputs")
        out = []
        with enable_grad() if create_graph else _NULL:
            for t, g, need in zip(self._inputs, raw_grads, self.needs_grad):
                if not need or g is None:
                    out.append(None)
                    continue
                if create_graph and not _is_tensor(g):
                    from .tensor import Tensor
                    g = Tensor._wrap(backends.get_array_module(t.data).asarray(g))
                g = unbroadcast(g, t.data.shape)
                if g.dtype != t.data.dtype:
                    g = g.astype(t.data.dtype)
                out.append(g)
        return out

    def _composite_grads(self, grads):
        """Graph mode for a fused op: differentiate ``self.composite`` (the same function written
        with differentiable core ops) at the saved inputs; the fused kernels stay the fast path."""
        from .engine import run_backward
        from .tensor import Tensor
        for k, (t, v) in enumerate(zip(self._inputs, self._versions)):
            if t._vc[0] != v:
                raise RuntimeError(self._modified_message(_IN, k, t.data, t._vc[0], v))
        with enable_grad():
            out = self.composite(*self._inputs)
        wrt = [t for t, need in zip(self._inputs, self.needs_grad) if need]
        g = grads[0] if isinstance(grads[0], Tensor) else Tensor._wrap(grads[0])
        found = iter(run_backward([out], [g], retain_graph=True, create_graph=True, inputs=wrt,
                                  accumulate=False) if out.requires_grad else [None] * len(wrt))
        return tuple(next(found) if need else None for need in self.needs_grad)

    def release(self):
        """Drop inputs and saved values once backward has used them (frees the graph)."""
        self.__dict__.clear()
        self.freed = True


class _NullContext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


_NULL = _NullContext()


def _shares_memory(out, a):
    if out is a:
        return True
    if getattr(out, "base", None) is None:
        return False
    return bool(backends.get_array_module(out).may_share_memory(out, a))


class _NotTwiceDifferentiable(Function):
    """Stands for the gradient of a once-differentiable op in a recorded graph; differentiating
    through it raises, naming the op (PyTorch's once_differentiable)."""

    _inventory = False
    once_differentiable = False

    def __init__(self, op):
        self.op = op

    def forward(self, grad, *others):
        return grad

    def backward(self, g):
        raise RuntimeError(
            f"{self.op}: the op's backward is not differentiable (it is declared once-differentiable, "
            f"see the README's list), so it cannot be differentiated twice")


def _once_differentiable_grads(fn, grads):
    """Run the array backward, then tie each gradient to the graph through a node that raises."""
    from .tensor import Tensor
    grads = [raw(g) for g in grads]
    arrays = fn.backward(*grads)
    if not isinstance(arrays, tuple):
        arrays = (arrays,)
    deps = [t for t in fn._inputs if t.requires_grad]
    out = []
    with enable_grad():
        for a in arrays:
            out.append(None if a is None else
                       _NotTwiceDifferentiable.apply(Tensor._wrap(a), *deps, op=type(fn).__name__))
    return tuple(out)


_FREED_MSG = ("backward: this graph was already freed by an earlier backward(); "
              "call backward(retain_graph=True) the first time to backpropagate through it twice")


def backward(root, grad, retain_graph=False):
    """Accumulate d(root)/d(leaf) into every leaf's ``.grad`` (kept for callers of the old API)."""
    from .engine import run_backward
    run_backward([root], [grad], retain_graph=retain_graph, create_graph=False)
