"""The Tensor: an n-d array of the active backend plus the autograd bookkeeping.

>>> import tinydl
>>> w = tinydl.Tensor([[1.0, -2.0]], requires_grad=True)
>>> loss = (w * w).sum()
>>> loss.backward()
>>> w.grad
Tensor([[ 2., -4.]], dtype=float32)
"""
import weakref

import numpy as np

from .. import backends
from . import autograd, dtypes, inplace
from . import functional as F
from .torch_api.methods import TorchMethods


_NONE_UNTIL_SET = frozenset({"_base", "_hooks", "_post_hooks", "_accumulator", "_tangent"})


class Tensor(TorchMethods):
    # Make numpy defer to our reflected operators (ndarray + Tensor -> Tensor.__radd__).
    __array_ufunc__ = None
    # _vc: the version counter, a one-element list shared with views and detached copies;
    # _base: the tensor whose memory a view shares; _output_nr: which output of _creator.
    __slots__ = ("data", "requires_grad", "grad", "_creator", "name", "_vc", "_output_nr",
                 "_base", "_hooks", "_post_hooks", "_accumulator", "_tangent", "__weakref__")

    def __init__(self, data, requires_grad=False, dtype=None, device=None):
        if isinstance(data, Tensor):
            data = data.data
        if device == "cpu" and backends.is_gpu_array(data):
            data = data.get()
        xp = _module_for(data, device)
        if dtype is None and not hasattr(data, "dtype"):
            dtype = dtypes.infer_dtype(data)
        self.data = xp.asarray(data, dtype=dtype)
        if self.data.dtype.kind not in "biufc":  # strings, objects, dates: no op computes with them
            raise TypeError(f"Tensor: cannot hold dtype {self.data.dtype}; expected numbers or booleans")
        self.grad = self._creator = self.name = None
        self._vc, self._output_nr = [0], 0
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, array, requires_grad=False):
        """Wrap an op's result array without conversion."""
        t = cls.__new__(cls)
        t.data, t.requires_grad, t.grad, t._creator, t.name = array, requires_grad, None, None, None
        t._vc, t._output_nr = [0], 0
        return t

    def __getattr__(self, name):
        # The rarely used slots are left unset (cheaper tensors); unset, they read as None.
        if name in _NONE_UNTIL_SET:
            return None
        raise AttributeError(f"'Tensor' object has no attribute {name!r}")

    # ---- autograd: the graph ----------------------------------------------------------------
    @property
    def grad_fn(self):
        """The Function that made this tensor (None for a leaf)."""
        return self._creator

    @property
    def is_leaf(self):
        """True for tensors made by the user (and every tensor that does not require grad)."""
        return self._creator is None

    @property
    def _version(self):
        """How many times the data was changed in place (shared with views and detach())."""
        return self._vc[0]

    def _bump_version(self):
        self._vc[0] += 1

    def requires_grad_(self, requires_grad=True):
        if requires_grad and not dtypes.is_float(self.data.dtype):
            raise TypeError(
                f"only floating-point tensors can require gradients, got dtype {self.data.dtype}")
        if not requires_grad and self._creator is not None:
            raise RuntimeError("requires_grad_: you can only change requires_grad flags of leaf tensors; "
                               "use detach() to get a tensor cut from the graph")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self):
        """Keep this non-leaf tensor's gradient in ``.grad`` during backward (leaves always do)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: can't retain_grad on a tensor that has requires_grad=False")
        if self._creator is not None:
            retained = self._creator._output_hooks()[1]
            retained[self._output_nr] = weakref.ref(self)

    @property
    def retains_grad(self):
        c = self._creator
        return c is not None and c._out_hooks is not None and self._output_nr in c._out_hooks[1]

    def register_hook(self, hook):
        """``hook(grad) -> Tensor or None`` runs when this tensor's gradient is computed; a returned
        tensor replaces the gradient. Returns a handle whose ``remove()`` unregisters it."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that doesn't require gradient")
        if self._creator is None:
            if self._hooks is None:
                self._hooks = autograd._HookDict()
            return autograd.add_hook(self._hooks, hook)
        per_output = self._creator._output_hooks()[0]
        hooks = per_output.setdefault(self._output_nr, autograd._HookDict())
        return autograd.add_hook(hooks, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """``hook(tensor)`` runs after backward has accumulated this leaf's ``.grad``; returns a handle
        whose ``remove()`` unregisters it (PyTorch's semantics: leaves only)."""
        if not self.requires_grad:
            raise RuntimeError("register_post_accumulate_grad_hook: cannot register a hook on a tensor "
                               "that doesn't require gradient")
        if self._creator is not None:
            raise RuntimeError("register_post_accumulate_grad_hook: post accumulate grad hooks cannot be "
                               "registered on non-leaf tensors")
        if not callable(hook):
            raise TypeError(f"register_post_accumulate_grad_hook: hook must be callable, got "
                            f"{type(hook).__name__}")
        if self._post_hooks is None:
            self._post_hooks = autograd._HookDict()
        return autograd.add_hook(self._post_hooks, hook)

    def _grad_accumulator(self):
        if self._accumulator is None:
            self._accumulator = autograd.AccumulateGrad(self)
        return self._accumulator

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Backpropagate from this tensor into the ``.grad`` of every leaf that requires one
        (only of ``inputs`` when given). ``create_graph=True`` records the backward pass, so the
        gradients can be differentiated again; ``retain_graph`` defaults to ``create_graph``."""
        from .engine import make_grads, run_backward
        grads = make_grads([self], [gradient], create_graph)
        if retain_graph is None:
            retain_graph = create_graph
        if inputs is not None:
            inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
            if not inputs:
                raise RuntimeError("backward: inputs= was given but is empty")
            for t in inputs:
                if not t.requires_grad:
                    raise RuntimeError("backward: one of the inputs does not require grad")
        run_backward([self], grads, retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)

    def _accumulate(self, g, create_graph=False):
        if create_graph:  # keep the graph: the gradient can be differentiated again
            if not isinstance(g, Tensor):
                g = Tensor._wrap(g)
            self.grad = g if self.grad is None else self.grad + g
        elif self.grad is None:
            # copy: an op may hand the same gradient array to several inputs
            self.grad = Tensor._wrap(g.copy())
        else:
            self.grad = Tensor._wrap(self.grad.data + g)

    def detach(self):
        """The same data (and version counter), cut from the graph."""
        t = Tensor._wrap(self.data)
        t._vc = self._vc
        return t

    def detach_(self):
        """Cut this tensor from the graph in place: it becomes a leaf that does not require grad."""
        self._creator, self._output_nr, self.requires_grad = None, 0, False
        return self

    def clone(self):
        """A copy of the data; differentiable (the gradient flows back unchanged)."""
        return F.clone(self)

    def zero_grad(self):
        self.grad = None

    # ---- in-place ops (tinydl/core/inplace.py) ----------------------------------------------
    def add_(self, other, alpha=1): return inplace.add_(self, other, alpha)
    def sub_(self, other, alpha=1): return inplace.sub_(self, other, alpha)
    def mul_(self, other): return inplace.mul_(self, other)
    def div_(self, other): return inplace.div_(self, other)
    def pow_(self, other): return inplace.pow_(self, other)
    def clamp_(self, min=None, max=None): return inplace.clamp_(self, min, max)  # noqa: A002
    def clip_(self, min=None, max=None): return inplace.clamp_(self, min, max)  # noqa: A002
    def zero_(self): return inplace.fill_(self, 0)
    def fill_(self, value): return inplace.fill_(self, value)
    def masked_fill_(self, mask, value): return inplace.masked_fill_(self, mask, value)
    def normal_(self, mean=0.0, std=1.0): return inplace.normal_(self, mean, std)
    def uniform_(self, a=0.0, b=1.0): return inplace.uniform_(self, a, b)
    def __setitem__(self, index, value): inplace.setitem_(self, index, value)
    def __iadd__(self, o): return inplace.add_(self, o)
    def __isub__(self, o): return inplace.sub_(self, o)
    def __imul__(self, o): return inplace.mul_(self, o)
    def __itruediv__(self, o): return inplace.div_(self, o)
    def __ipow__(self, o): return inplace.pow_(self, o)

    def copy_(self, src):
        """Overwrite the data in place with ``src`` (a Tensor, an array on any device, or a number);
        shapes must broadcast to this tensor's shape. Differentiable with respect to ``src``."""
        return inplace.copy_(self, src)

    # ---- arrays and devices --------------------------------------------------------------
    @property
    def xp(self):
        return backends.get_array_module(self.data)

    def _host(self):
        return self.data.get() if hasattr(self.data, "get") else self.data

    def __array__(self, dtype=None, copy=None):
        # NumPy interop works for every tensor (also one that requires grad), 0-d included
        a = np.asarray(self._host())
        a = a if dtype is None else a.astype(dtype)
        return a.copy() if copy and a is self.data else a  # np.array(t, copy=True) must not alias

    def item(self):
        if self.data.size != 1:
            raise _ScalarError(f"item: a Tensor with {self.data.size} elements cannot be converted to Scalar "
                               f"(shape {self.shape})")
        return self.data.reshape(()).item()

    def tolist(self):
        return np.asarray(self._host()).tolist()

    def __format__(self, spec):
        if self.data.ndim == 0:
            return format(self.item(), spec)
        return object.__format__(self, spec)

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.data.shape[0]))

    def astype(self, dtype):
        """A tensor of another dtype; differentiable between float dtypes."""
        if dtypes.is_float(dtype) and dtypes.is_float(self.dtype):
            return _Cast.apply(self, dtype=np.dtype(dtype))
        return Tensor(self.data.astype(dtype))

    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def T(self):
        return F.transpose(self)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self):
        body = np.array2string(np.asarray(self._host()), separator=", ", prefix="Tensor(")
        extra = f", dtype={self.dtype}"
        if backends.is_gpu_array(self.data):
            extra += f", device='{self.device}'"
        if self._creator is not None:
            extra += f", grad_fn=<{self._creator.name()}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"Tensor({body}{extra})"

    def __bool__(self):
        if self.data.size != 1:
            raise _ScalarError(f"the truth value of a tensor with {self.data.size} elements is ambiguous")
        return bool(self.data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    __hash__ = object.__hash__

    # ---- operators ------------------------------------------------------------------------
    def __add__(self, o): return F.add(self, o)
    def __radd__(self, o): return F.add(o, self)
    def __sub__(self, o): return F.sub(self, o)
    def __rsub__(self, o): return F.sub(o, self)
    def __mul__(self, o): return F.mul(self, o)
    def __rmul__(self, o): return F.mul(o, self)
    def __truediv__(self, o): return F.div(self, o)
    def __rtruediv__(self, o): return F.div(o, self)
    def __pow__(self, o): return F.pow(self, o)
    def __rpow__(self, o): return F.pow(o, self)
    def __matmul__(self, o): return F.matmul(self, o)
    def __rmatmul__(self, o): return F.matmul(o, self)
    def __neg__(self): return F.neg(self)
    def __pos__(self): return self
    def __abs__(self): return F.abs(self)
    def __getitem__(self, index): return F.getitem(self, index)
    def __eq__(self, o): return F.eq(self, o)
    def __ne__(self, o): return F.ne(self, o)
    def __lt__(self, o): return F.lt(self, o)
    def __le__(self, o): return F.le(self, o)
    def __gt__(self, o): return F.gt(self, o)
    def __ge__(self, o): return F.ge(self, o)

class _Cast(autograd.Function):
    """dtype conversion between floating types; the gradient converts back."""

    once_differentiable = False
    elementwise = True

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, a):
        return a.astype(self.dtype)

    def backward(self, g):
        return g  # the base class casts it to the input's dtype


class _ScalarError(RuntimeError, ValueError):
    """PyTorch raises RuntimeError where tinydl used to raise ValueError: both catch it."""


def _module_for(data, device):
    if device is not None:
        device = _backend_name(device)
        if device == "gpu":
            return backends.require_cupy()
        return np
    if backends.is_gpu_array(data):
        return backends.get_array_module(data)  # GPU data stays on the GPU
    # Host data (Python values, NumPy arrays) goes to the active backend, like PyTorch's default
    # device: after set_backend('gpu'), Tensor(numpy_array) lives on the GPU.
    return backends.default_array_module()


def _backend_name(device):
    if device in ("cpu", "gpu"):
        return device
    from .torch_api.dtypes_devices import backend_of
    try:
        return backend_of(device, "Tensor")
    except (RuntimeError, TypeError):
        raise ValueError(f"Tensor: unknown device {device!r}; expected 'cpu', 'cuda' or 'gpu'") from None


def as_tensor(x, like=None):
    """``x`` as a Tensor; Python scalars take ``like``'s dtype and device (weak scalars)."""
    if isinstance(x, Tensor):
        return x
    if like is not None and isinstance(x, (int, float, bool)) and not isinstance(x, np.generic):
        return Tensor._wrap(like.xp.asarray(x, dtype=dtypes.scalar_dtype(x, like.dtype)))
    return Tensor(x)


from .torch_api import methods as _methods  # noqa: E402 - the method modules import Tensor

_methods._bind()
