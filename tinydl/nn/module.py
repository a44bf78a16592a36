"""Module: the base of every layer and model (PyTorch's API, Keras's deferred building).

>>> import tinydl
>>> from tinydl import nn
>>> class TwoLayer(nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.hidden = nn.Linear(4, 8)
...         self.out = nn.Linear(8, 2)
...     def forward(self, x):
...         return self.out(tinydl.relu(self.hidden(x)))
>>> m = TwoLayer()
>>> [name for name, _ in m.named_parameters()]
['hidden.kernel', 'hidden.bias', 'out.kernel', 'out.bias']
>>> m(tinydl.zeros(3, 4)).shape
(3, 2)
"""
import collections
import re

import numpy as np

from ..core.torch_api.dtypes_devices import device as torch_device
from ..core.tensor import Tensor

_name_counts = collections.Counter()


def unique_name(base):
    """Keras-style layer names: 'dense', 'dense_1', 'dense_2', ..."""
    n = _name_counts[base]
    _name_counts[base] += 1
    return base if n == 0 else f"{base}_{n}"


def _snake(name):
    return re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


class Parameter(Tensor):
    """A Tensor that a Module registers as trainable (``requires_grad`` unless frozen)."""

    __slots__ = ("trainable", "regularizer", "constraint")

    def __init__(self, data, requires_grad=True, dtype=None):
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)
        self.trainable = requires_grad
        self.regularizer = None
        self.constraint = None  # Keras's weight constraint, applied by tinydl.keras's optimizers


def symbolic_apply(arg):
    """How a module applies to a symbolic argument, or None for real values.

    A symbolic type (tinydl.keras's KerasTensor: a shape, no values) defines the static method
    ``__tinydl_module_call__(module, eager_call, args, kwargs)``; calling a module on one such
    value, or on a non-empty list/tuple of them, hands the call to it (for instance to record a
    graph node). nn knows nothing else about the symbolic types, so nothing needs patching.
    """
    if isinstance(arg, (list, tuple)):
        if not arg:
            return None
        apply = getattr(type(arg[0]), "__tinydl_module_call__", None)
        if apply is None or any(getattr(type(a), "__tinydl_module_call__", None) is not apply for a in arg[1:]):
            return None
        return apply
    return getattr(type(arg), "__tinydl_module_call__", None)


class Module:
    """Base class: assign Parameters and Modules as attributes and they are registered.

    Subclasses implement ``forward``. Layers whose shapes depend on their input implement
    ``build(input_shape)``, called once on the first call (Keras's deferred building); the
    parameters it creates are registered then.
    """

    def __init__(self, name=None):
        object.__setattr__(self, "_parameters", collections.OrderedDict())
        object.__setattr__(self, "_modules", collections.OrderedDict())
        object.__setattr__(self, "_buffers", collections.OrderedDict())
        self.training = True
        self.built = False
        self.name = name or unique_name(_snake(type(self).__name__))

    # ---- registration ------------------------------------------------------------------------
    def __setattr__(self, key, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        for store in (self._parameters, self._modules, self._buffers):
            store.pop(key, None)
        if isinstance(value, Parameter):
            self._parameters[key] = value
        elif isinstance(value, Module):
            self._modules[key] = value
        object.__setattr__(self, key, value)

    def __delattr__(self, key):
        for store in (self._parameters, self._modules, self._buffers):
            store.pop(key, None)
        object.__delattr__(self, key)

    def add_parameter(self, name, array, trainable=True, regularizer=None):
        p = Parameter(array, requires_grad=trainable)
        p.regularizer = regularizer
        p.name = f"{self.name}/{name}"
        setattr(self, name, p)
        return p

    def register_buffer(self, name, array):
        """Non-trainable state saved in state_dict (e.g. BatchNorm's running statistics)."""
        object.__setattr__(self, name, Tensor(array).data)  # on the active backend
        self._buffers[name] = True

    # ---- calling ------------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        if args:
            apply = symbolic_apply(args[0])
            if apply is not None:
                return apply(self, Module.call_eager, args, kwargs)
        return self.call_eager(*args, **kwargs)

    def call_eager(self, *args, **kwargs):
        """Build on the first call, then run forward on real tensors."""
        if not self.built:
            first = args[0] if args else None
            self.build(tuple(first.shape) if hasattr(first, "shape") else None)
            self.built = True
        return self.forward(*args, **kwargs)

    def build(self, input_shape):
        """Create parameters that depend on the input's shape (default: none)."""

    def forward(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    # ---- traversal ----------------------------------------------------------------------------
    def children(self):
        return iter(self._modules.values())

    def named_children(self):
        return iter(self._modules.items())

    def named_modules(self, prefix=""):
        stack = [(prefix, self)]
        seen = set()
        while stack:
            name, m = stack.pop(0)
            if id(m) in seen:
                continue
            seen.add(id(m))
            yield name, m
            stack[0:0] = [(f"{name}.{k}" if name else k, c) for k, c in m._modules.items()]

    def modules(self):
        return (m for _, m in self.named_modules())

    def named_parameters(self, prefix=""):
        seen = set()
        for mname, m in self.named_modules(prefix):
            for pname, p in m._parameters.items():
                if id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{mname}.{pname}" if mname else pname), p

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def trainable_parameters(self):
        return [p for p in self.parameters() if p.requires_grad]

    def train(self, mode=True):
        for m in self.modules():
            m.training = mode
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self):
        for p in self.parameters():
            p.grad = None

    def regularization_losses(self):
        """Keras's ``layer.losses``: the regularizer penalties of every parameter, as Tensors."""
        return [p.regularizer(p) for p in self.parameters() if p.regularizer is not None and p.requires_grad]

    def to(self, device):
        """Move every parameter and buffer to ``'cpu'`` or ``'gpu'`` (``'cuda'``) in place; returns self."""
        for m in self.modules():
            for name, p in list(m._parameters.items()):
                if p.device != torch_device(device):
                    moved = p.to(device)
                    p.data, p.grad = moved.data, None
            for name in m._buffers:
                object.__setattr__(m, name, Tensor(getattr(m, name), device=device).data)
        return self

    # ---- state --------------------------------------------------------------------------------
    def state_dict(self):
        """An ordered dict name -> numpy array of every parameter and buffer."""
        state = collections.OrderedDict()
        for mname, m in self.named_modules():
            for pname, p in m._parameters.items():
                state[f"{mname}.{pname}" if mname else pname] = np.array(p.detach().numpy(), copy=True)
            for bname in m._buffers:
                arr = getattr(m, bname)
                state[f"{mname}.{bname}" if mname else bname] = np.array(Tensor(arr).detach().numpy(), copy=True)
        return state

    def load_state_dict(self, state, strict=True):
        """Copy arrays into the parameters and buffers, after checking names, shapes and dtypes.

        Nothing is modified unless every check passes.
        """
        own = self.state_dict()
        missing = [k for k in own if k not in state]
        extra = [k for k in state if k not in own]
        if strict and (missing or extra):
            raise KeyError(f"load_state_dict for {self.name}: missing keys {missing}, unexpected keys {extra}")
        for k, v in state.items():
            if k in own:
                v = np.asarray(v)
                if v.shape != own[k].shape:
                    raise ValueError(f"load_state_dict for {self.name}: '{k}' has shape {v.shape}, "
                                     f"the model expects {own[k].shape}")
                if v.dtype.kind != own[k].dtype.kind:
                    raise TypeError(f"load_state_dict for {self.name}: '{k}' has dtype {v.dtype}, "
                                    f"the model expects {own[k].dtype}")
        targets = {}
        for mname, m in self.named_modules():
            for pname in list(m._parameters) + list(m._buffers):
                targets[f"{mname}.{pname}" if mname else pname] = (m, pname)
        for k, v in state.items():
            if k not in targets:
                continue
            m, pname = targets[k]
            if pname in m._parameters:
                p = m._parameters[pname]
                p.data[...] = p.xp.asarray(v, dtype=p.dtype)
            else:
                cur = getattr(m, pname)
                cur[...] = Tensor(np.asarray(v, dtype=cur.dtype), device="gpu" if hasattr(cur, "get") else "cpu").data
        return self

    def __repr__(self):
        lines = [f"{type(self).__name__}(name={self.name!r}"]
        for k, c in self._modules.items():
            lines.append(f"  ({k}): " + repr(c).replace("\n", "\n  "))
        return "\n".join(lines) + ")"


class Sequential(Module):
    """Layers applied in order (PyTorch's nn.Sequential)."""

    def __init__(self, *layers, name=None):
        super().__init__(name=name)
        for i, layer in enumerate(layers):
            setattr(self, str(i), layer)

    def append(self, layer):
        setattr(self, str(len(self._modules)), layer)
        return self

    def __iter__(self):
        return iter(self._modules.values())

    def __len__(self):
        return len(self._modules)

    def __getitem__(self, i):
        return list(self._modules.values())[i]

    def forward(self, x):
        for layer in self._modules.values():
            x = layer(x)
        return x
