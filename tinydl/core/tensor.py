"""The Tensor: an n-d array of the active backend plus the autograd bookkeeping.

>>> import tinydl
>>> w = tinydl.Tensor([[1.0, -2.0]], requires_grad=True)
>>> loss = (w * w).sum()
>>> loss.backward()
>>> w.grad
Tensor([[ 2., -4.]], dtype=float32)
"""
import numpy as np

from .. import backends
from . import autograd, dtypes
from . import functional as F


class Tensor:
    # Make numpy defer to our reflected operators (ndarray + Tensor -> Tensor.__radd__).
    __array_ufunc__ = None
    __slots__ = ("data", "requires_grad", "grad", "_creator", "name", "_post_acc_hooks", "__weakref__")

    def __init__(self, data, requires_grad=False, dtype=None, device=None):
        if isinstance(data, Tensor):
            data = data.data
        if device == "cpu" and backends.is_gpu_array(data):
            data = data.get()
        xp = _module_for(data, device)
        if dtype is None and not hasattr(data, "dtype"):
            dtype = dtypes.infer_dtype(data)
        self.data = xp.asarray(data, dtype=dtype)
        self.grad = None
        self._creator = None
        self.name = None
        self._post_acc_hooks = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, array, requires_grad=False):
        """Wrap an op's result array without conversion."""
        t = cls.__new__(cls)
        t.data, t.requires_grad, t.grad, t._creator, t.name = array, requires_grad, None, None, None
        t._post_acc_hooks = None
        return t

    # ---- autograd -----------------------------------------------------------------------
    def requires_grad_(self, flag=True):
        if flag and not dtypes.is_float(self.data.dtype):
            raise TypeError(
                f"only floating-point tensors can require gradients, got dtype {self.data.dtype}")
        self.requires_grad = bool(flag)
        return self

    @property
    def is_leaf(self):
        return self._creator is None

    def backward(self, grad=None, retain_graph=False):
        """Backpropagate from this tensor into the ``.grad`` of every leaf that requires one."""
        if not self.requires_grad:
            raise RuntimeError("backward: this tensor does not require grad (no graph was recorded "
                               "for it: were its inputs created with requires_grad=True?)")
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward: grad can be omitted only for a scalar output, but this tensor has "
                    f"shape {self.shape}; pass grad= with that shape (or reduce it with .sum())")
            grad = self.xp.ones_like(self.data)
        else:
            grad = grad.data if isinstance(grad, Tensor) else self.xp.asarray(grad, dtype=self.dtype)
            if grad.shape != self.shape:
                raise ValueError(f"backward: grad has shape {grad.shape} but the tensor has shape {self.shape}")
        if self._creator is None:
            self._accumulate(grad)
            self._run_post_accumulate_hooks()
        else:
            autograd.backward(self, grad, retain_graph=retain_graph)

    def _accumulate(self, g):
        if self.grad is None:
            # copy: an op may hand the same gradient array to several inputs
            self.grad = Tensor._wrap(g.copy())
        else:
            self.grad = Tensor._wrap(self.grad.data + g)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` after backward has accumulated this leaf's ``.grad`` (once per
        backward pass, after all its contributions). Returns a handle whose ``remove()`` unregisters
        it. PyTorch's semantics: leaves only; the hook's return value must be None."""
        if not self.requires_grad:
            raise RuntimeError("register_post_accumulate_grad_hook: cannot register a hook on a "
                               "tensor that does not require gradient")
        if self._creator is not None:
            raise RuntimeError("register_post_accumulate_grad_hook: post accumulate grad hooks "
                               "cannot be registered on non-leaf tensors")
        if not callable(hook):
            raise TypeError(f"register_post_accumulate_grad_hook: hook must be callable, got "
                            f"{type(hook).__name__}")
        if self._post_acc_hooks is None:
            self._post_acc_hooks = {}
        handle = _HookHandle(self._post_acc_hooks)
        self._post_acc_hooks[handle.id] = hook
        return handle

    def _run_post_accumulate_hooks(self):
        for hook in list((self._post_acc_hooks or {}).values()):
            if hook(self) is not None:
                raise RuntimeError("Tensor post accumulate grad hooks should return None.")

    def copy_(self, src):
        """Overwrite the data in place with ``src`` (a Tensor, an array on any device, or a number);
        shapes must broadcast to this tensor's shape. Returns self."""
        src = src.data if isinstance(src, Tensor) else src
        if backends.is_gpu_array(src) and not backends.is_gpu_array(self.data):
            src = src.get()
        self.data[...] = self.xp.asarray(src, dtype=self.dtype)
        return self

    def detach(self):
        """The same data, cut from the graph."""
        return Tensor._wrap(self.data)

    def zero_grad(self):
        self.grad = None

    # ---- arrays and devices --------------------------------------------------------------
    @property
    def xp(self):
        return backends.get_array_module(self.data)

    @property
    def device(self):
        return backends.device_of(self.data)

    def to(self, device):
        """A copy on ``'cpu'`` or ``'gpu'`` (the same tensor if it is already there).

        The copy is a new leaf that keeps ``requires_grad``.
        """
        if device not in ("cpu", "gpu"):
            raise ValueError(f"to: unknown device {device!r}; expected 'cpu' or 'gpu'")
        if device == self.device:
            return self
        t = Tensor(self.data, device=device)
        t.requires_grad = self.requires_grad
        return t

    def numpy(self):
        """The data as a numpy array (copied from the GPU when needed)."""
        return self.data.get() if hasattr(self.data, "get") else self.data

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a if dtype is None else a.astype(dtype)

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors convert to a Python scalar, shape is {self.shape}")
        return self.data.reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

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
    def size(self):
        return self.data.size

    @property
    def T(self):
        return F.transpose(self)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self):
        body = np.array2string(self.numpy(), separator=", ", prefix="Tensor(")
        extra = f", dtype={self.dtype}"
        if self.device != "cpu":
            extra += f", device='{self.device}'"
        if self._creator is not None:
            extra += f", grad_fn={self._creator.name}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"Tensor({body}{extra})"

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor with {self.data.size} elements is ambiguous")
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

    # ---- methods mirroring the op functions -----------------------------------------------
    def exp(self): return F.exp(self)
    def log(self): return F.log(self)
    def sqrt(self): return F.sqrt(self)
    def abs(self): return F.abs(self)
    def clip(self, lo=None, hi=None): return F.clip(self, lo, hi)
    def relu(self): return F.relu(self)
    def sigmoid(self): return F.sigmoid(self)
    def tanh(self): return F.tanh(self)
    def sum(self, axis=None, keepdims=False): return F.sum(self, axis, keepdims)
    def mean(self, axis=None, keepdims=False): return F.mean(self, axis, keepdims)
    def max(self, axis=None, keepdims=False): return F.max(self, axis, keepdims)
    def min(self, axis=None, keepdims=False): return F.min(self, axis, keepdims)
    def var(self, axis=None, keepdims=False, ddof=0): return F.var(self, axis, keepdims, ddof)
    def std(self, axis=None, keepdims=False, ddof=0): return F.std(self, axis, keepdims, ddof)
    def logsumexp(self, axis=None, keepdims=False): return F.logsumexp(self, axis, keepdims)
    def softmax(self, axis=-1): return F.softmax(self, axis)
    def log_softmax(self, axis=-1): return F.log_softmax(self, axis)
    def argmax(self, axis=None, keepdims=False): return F.argmax(self, axis, keepdims)
    def argmin(self, axis=None, keepdims=False): return F.argmin(self, axis, keepdims)
    def transpose(self, *axes): return F.transpose(self, axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else (axes or None))
    def permute(self, *axes): return F.permute(self, *axes)
    def swapaxes(self, a, b): return F.swapaxes(self, a, b)
    def expand(self, *shape): return F.broadcast_to(self, shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape)
    def broadcast_to(self, shape): return F.broadcast_to(self, shape)
    def squeeze(self, axis=None): return F.squeeze(self, axis)
    def unsqueeze(self, axis): return F.unsqueeze(self, axis)
    def flatten(self, start_axis=0, end_axis=-1): return F.flatten(self, start_axis, end_axis)

    def reshape(self, *shape):
        return F.reshape(self, shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape)


class _HookHandle:
    """What ``register_*_hook`` returns: ``remove()`` unregisters the hook (idempotent)."""

    _next_id = 0

    def __init__(self, hooks):
        self._hooks, self.id = hooks, _HookHandle._next_id
        _HookHandle._next_id += 1

    def remove(self):
        self._hooks.pop(self.id, None)


class _Cast(autograd.Function):
    """dtype conversion between floating types; the gradient converts back."""

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, a):
        return a.astype(self.dtype)

    def backward(self, g):
        return g  # the base class casts it to the input's dtype


def _module_for(data, device):
    if device is not None:
        if device not in ("cpu", "gpu"):
            raise ValueError(f"Tensor: unknown device {device!r}; expected 'cpu' or 'gpu'")
        if device == "gpu":
            return backends.require_cupy()
        return np
    if backends.is_gpu_array(data):
        return backends.get_array_module(data)  # GPU data stays on the GPU
    # Host data (Python values, NumPy arrays) goes to the active backend, like PyTorch's default
    # device: after set_backend('gpu'), Tensor(numpy_array) lives on the GPU.
    return backends.default_array_module()


def as_tensor(x, like=None):
    """``x`` as a Tensor; Python scalars take ``like``'s dtype and device (weak scalars)."""
    if isinstance(x, Tensor):
        return x
    if like is not None and isinstance(x, (int, float, bool)) and not isinstance(x, np.generic):
        return Tensor._wrap(like.xp.asarray(x, dtype=dtypes.scalar_dtype(x, like.dtype)))
    return Tensor(x)
