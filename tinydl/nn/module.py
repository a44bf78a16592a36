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
['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
>>> m(tinydl.zeros(3, 4)).shape
(3, 2)
"""
import collections
import itertools
import re

import numpy as np

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
    """A Tensor that a Module registers as trainable (``requires_grad`` unless frozen).

    ``Parameter(data=None, requires_grad=True)`` as PyTorch's (``data`` a Tensor or array)."""

    __slots__ = ("trainable", "regularizer", "constraint")

    def __init__(self, data=None, requires_grad=True, dtype=None):
        if data is None:
            data = np.zeros((0,), np.float32)
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)
        self.trainable = requires_grad
        self.regularizer = None
        self.constraint = None  # Keras's weight constraint, applied by tinydl.keras's optimizers

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


def buffer_array(value):
    """The array behind a buffer: Keras-semantics layers keep raw arrays, PyTorch's keep Tensors."""
    return value.data if isinstance(value, Tensor) else value


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


class RemovableHandle:
    """What ``register_forward_hook`` and friends return: ``handle.remove()`` unregisters."""

    _ids = itertools.count()

    def __init__(self, store):
        self._store, self.id = store, next(RemovableHandle._ids)

    def remove(self):
        self._store.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class _IncompatibleKeys(collections.namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _device_name(device):
    """'cpu' / 'gpu' for what PyTorch accepts as a device: 'cpu', 'cuda', 'cuda:0', a device object."""
    name = getattr(device, "type", device)
    if not isinstance(name, str):
        return None
    name = name.split(":")[0].lower()
    return {"cpu": "cpu", "cuda": "gpu", "gpu": "gpu"}.get(name)


def _float_dtype(dtype):
    """A NumPy float dtype from a dtype-like (tinydl's dtypes, numpy's, or their names); else None."""
    for candidate in (dtype, getattr(dtype, "numpy_dtype", None), getattr(dtype, "np", None)):
        if candidate is None or isinstance(candidate, bool):
            continue
        try:
            dt = np.dtype(candidate)
        except TypeError:
            continue
        return dt
    return None


class Module:
    """Base class: assign Parameters and Modules as attributes and they are registered.

    Subclasses implement ``forward``. Layers whose shapes depend on their input implement
    ``build(input_shape)``, called once on the first call (Keras's deferred building); the
    parameters it creates are registered then. PyTorch-named layers (``tinydl.nn.modules``)
    create theirs in ``__init__``.
    """

    def __init__(self, name=None):
        object.__setattr__(self, "_parameters", collections.OrderedDict())
        object.__setattr__(self, "_modules", collections.OrderedDict())
        object.__setattr__(self, "_buffers", collections.OrderedDict())  # name -> persistent
        object.__setattr__(self, "_forward_hooks", collections.OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", collections.OrderedDict())
        self.training = True
        self.built = False
        self.name = name or unique_name(_snake(type(self).__name__))

    # ---- registration ------------------------------------------------------------------------
    def __setattr__(self, key, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign attributes to {type(self).__name__} before "
                                 f"Module.__init__() call (call super().__init__() first)")
        if key in self._buffers and (value is None or isinstance(value, Tensor) or hasattr(value, "shape")) \
                and not isinstance(value, Parameter):
            if value is None:
                self._buffers.pop(key)
            object.__setattr__(self, key, value)
            return
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

    def _check_new_name(self, what, name):
        if not isinstance(name, str):
            raise TypeError(f"{what} name should be a string. Got {type(name).__name__}")
        if "." in name:
            raise KeyError(f'{what} name can\'t contain ".", got: {name}')
        if name == "":
            raise KeyError(f'{what} name can\'t be empty string ""')
        if hasattr(self, name) and name not in self._parameters and name not in self._buffers \
                and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")

    def register_parameter(self, name, param):
        """PyTorch's ``register_parameter(name, param)``: a Parameter, or None (no parameter)."""
        self._check_new_name("parameter", name)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                            "(tinydl.nn.Parameter or None required)")
        if param is None:
            self._parameters.pop(name, None)
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    def register_buffer(self, name, tensor, persistent=True):
        """Non-trainable state (e.g. BatchNorm's running statistics), in ``state_dict`` when
        ``persistent``. A Tensor is kept as given (PyTorch's layers); an array is kept as an
        array on the active backend (the Keras-semantics layers)."""
        self._check_new_name("buffer", name)
        if tensor is None:
            self._buffers.pop(name, None)
            object.__setattr__(self, name, None)
            return
        if isinstance(tensor, Parameter):
            raise TypeError(f"cannot assign a Parameter as buffer '{name}' (use register_parameter)")
        for store in (self._parameters, self._modules):
            store.pop(name, None)
        value = tensor if isinstance(tensor, Tensor) else Tensor(tensor).data
        object.__setattr__(self, name, value)
        self._buffers[name] = bool(persistent)

    def add_module(self, name, module):
        """Register a child module under ``name`` (``register_module`` is the same)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_new_name("module", name)
        if module is None:
            self._modules.pop(name, None)
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, module)

    register_module = add_module

    def get_submodule(self, target):
        mod = self
        for item in target.split(".") if target else []:
            if item not in mod._modules:
                raise AttributeError(f"{type(mod).__name__} has no attribute `{item}`")
            mod = mod._modules[item]
        return mod

    # ---- hooks -----------------------------------------------------------------------------------
    def register_forward_pre_hook(self, hook):
        """``hook(module, args)`` before ``forward``; a non-None result replaces the positional
        arguments (a tuple, or a single value wrapped into one)."""
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    def register_forward_hook(self, hook):
        """``hook(module, args, output)`` after ``forward``; a non-None result replaces the output."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    # ---- calling ------------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        if args:
            apply = symbolic_apply(args[0])
            if apply is not None:
                return apply(self, Module.call_eager, args, kwargs)
        return self.call_eager(*args, **kwargs)

    def call_eager(self, *args, **kwargs):
        """Run the pre-hooks, build on the first call, run forward and the forward hooks."""
        for hook in list(self._forward_pre_hooks.values()):
            res = hook(self, args)
            if res is not None:
                args = res if isinstance(res, tuple) else (res,)
        if not self.built:
            first = args[0] if args else None
            self.build(tuple(first.shape) if hasattr(first, "shape") else None)
            self.built = True
        out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            res = hook(self, args, out)
            if res is not None:
                out = res
        return out

    def build(self, input_shape):
        """Create parameters that depend on the input's shape (default: none)."""

    def forward(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    # ---- traversal ----------------------------------------------------------------------------
    def children(self):
        for _, m in self.named_children():
            yield m

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """Every module (self first, then depth-first in registration order) with its dotted name."""
        seen = set() if memo is None else memo
        stack = [(prefix, self)]
        while stack:
            name, m = stack.pop()
            if remove_duplicate:
                if id(m) in seen:
                    continue
                seen.add(id(m))
            yield name, m
            stack.extend(reversed([(f"{name}.{k}" if name else k, c) for k, c in m._modules.items()
                                   if c is not None]))

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def _named_members(self, members, prefix, recurse, remove_duplicate):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mname, m in mods:
            for name, value in members(m):
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{mname}.{name}" if mname else name), value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members(lambda m: m._parameters.items(), prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        """A generator over the parameters (as PyTorch's; wrap it in ``list`` to reuse it)."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        def members(m):
            for name in m._buffers:
                value = getattr(m, name)
                yield name, value if isinstance(value, Tensor) else Tensor._wrap(value)
        # array buffers are wrapped afresh on every call: deduplicate on the module and name instead
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mname, m in mods:
            for name, value in members(m):
                key = id(buffer_array(value))
                if remove_duplicate and key in seen:
                    continue
                seen.add(key)
                yield (f"{mname}.{name}" if mname else name), value

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def trainable_parameters(self):
        return [p for p in self.parameters() if p.requires_grad]

    def apply(self, fn):
        """``fn(module)`` on every submodule (children first) and then on self; returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ---- modes and gradients ----------------------------------------------------------------------
    def train(self, mode=True):
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for m in self.modules():
            m.training = mode
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Clear every parameter's ``.grad``: to None (default) or to zeros in place."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                g = p.grad.data if isinstance(p.grad, Tensor) else p.grad
                g[...] = 0

    def regularization_losses(self):
        """Keras's ``layer.losses``: the regularizer penalties of every parameter, as Tensors."""
        return [p.regularizer(p) for p in self.parameters() if p.regularizer is not None and p.requires_grad]

    # ---- device and dtype --------------------------------------------------------------------------
    def _cast_floats(self, dtype):
        for m in self.modules():
            for p in m._parameters.values():
                if p.dtype.kind == "f" and p.dtype != dtype:
                    p.data, p.grad = p.data.astype(dtype), None
            for name in m._buffers:
                value = getattr(m, name)
                arr = buffer_array(value)
                if arr.dtype.kind == "f" and arr.dtype != dtype:
                    if isinstance(value, Tensor):
                        value.data = arr.astype(dtype)
                    else:
                        object.__setattr__(m, name, arr.astype(dtype))
        return self

    def _move(self, device):
        for m in self.modules():
            for p in m._parameters.values():
                if _device_name(p.device) != device:
                    moved = p.to(device)
                    p.data, p.grad = moved.data, None
            for name in m._buffers:
                value = getattr(m, name)
                moved = Tensor(buffer_array(value), device=device).data
                if isinstance(value, Tensor):
                    value.data = moved
                else:
                    object.__setattr__(m, name, moved)
        return self

    def to(self, *args, **kwargs):
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)`` or ``to(tensor)``, in place; returns
        self. Devices: ``'cpu'``, ``'cuda'``/``'cuda:0'``/``'gpu'`` or a device object; dtypes
        cast floating parameters and buffers only (as PyTorch)."""
        device, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
        kwargs.pop("non_blocking", None)
        if kwargs:
            raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            elif _device_name(a) is not None:
                device = a
            elif _float_dtype(a) is not None:
                dtype = a
            else:
                raise TypeError(f"to() received an invalid argument {a!r}: expected a device or a dtype")
        if dtype is not None:
            dt = _float_dtype(dtype)
            if dt is None or dt.kind != "f":
                raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got desired dtype={dtype}")
            self._cast_floats(dt)
        if device is not None:
            name = _device_name(device)
            if name is None:
                raise ValueError(f"to: unknown device {device!r}; expected 'cpu', 'cuda' or 'gpu'")
            self._move(name)
        return self

    def cpu(self):
        return self._move("cpu")

    def cuda(self, device=None):
        return self._move("gpu")

    def float(self):
        return self._cast_floats(np.dtype(np.float32))

    def double(self):
        return self._cast_floats(np.dtype(np.float64))

    def half(self):
        return self._cast_floats(np.dtype(np.float16))

    # ---- state --------------------------------------------------------------------------------
    def _state_items(self, prefix=""):
        """(key, module, attribute, value) of every parameter and persistent buffer, in PyTorch's
        state_dict order (each module's parameters, its buffers, then its children), shared
        modules under each of their names."""
        stack = [(prefix, self)]
        while stack:
            pre, m = stack.pop()
            for name, p in m._parameters.items():
                if p is not None:
                    yield pre + name, m, name, p
            for name, persistent in m._buffers.items():
                value = getattr(m, name)
                if persistent and value is not None:
                    yield pre + name, m, name, value
            stack.extend(reversed([(f"{pre}{k}.", c) for k, c in m._modules.items() if c is not None]))

    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """An OrderedDict name -> Tensor of every parameter and persistent buffer, with PyTorch's
        keys (``fc.weight``, ``bn.running_mean``); the tensors are detached and share memory with
        the module (copy them to keep a snapshot)."""
        state = collections.OrderedDict() if destination is None else destination
        for key, _, _, value in self._state_items(prefix):
            if isinstance(value, Tensor):
                state[key] = value if keep_vars else value.detach()
            else:
                state[key] = Tensor._wrap(value)
        return state

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy a state_dict's tensors (Tensors or arrays) into the parameters and buffers.

        Returns ``(missing_keys, unexpected_keys)``; with ``strict`` a key mismatch raises
        PyTorch's RuntimeError. A shape mismatch always raises; floats load into floats (cast to
        the parameter's dtype), integers into integers. Nothing is modified unless every check passes.
        """
        if not hasattr(state_dict, "keys"):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        targets = {key: (m, name, value) for key, m, name, value in self._state_items()}
        missing = [k for k in targets if k not in state_dict]
        unexpected = [k for k in state_dict if k not in targets]
        errors = []
        if strict:
            if unexpected:
                errors.append("Unexpected key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in unexpected)))
            if missing:
                errors.append("Missing key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in missing)))
        arrays = {}
        for key, (m, name, value) in targets.items():
            if key not in state_dict:
                continue
            src = state_dict[key]
            arr = np.asarray(src.detach().numpy() if isinstance(src, Tensor) else src)
            cur = buffer_array(value)
            if tuple(arr.shape) != tuple(cur.shape):
                errors.append(f"size mismatch for {key}: copying a param with shape {tuple(arr.shape)} from "
                              f"checkpoint, the shape in current model is {tuple(cur.shape)}.")
            elif (arr.dtype.kind == "f") != (cur.dtype.kind == "f"):
                errors.append(f"dtype mismatch for {key}: copying a {arr.dtype} tensor from checkpoint into a "
                              f"{cur.dtype} one in the current model.")
            else:
                arrays[key] = arr
        if errors:
            raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(
                type(self).__name__, "\n\t".join(errors)))
        for key, arr in arrays.items():
            m, name, value = targets[key]
            cur = buffer_array(value)
            cur[...] = Tensor(arr.astype(cur.dtype, copy=False), device="gpu" if hasattr(cur, "get") else "cpu").data
            if isinstance(value, Tensor):
                value._bump_version()
        return _IncompatibleKeys(missing, unexpected)

    # ---- printing -----------------------------------------------------------------------------
    def extra_repr(self):
        """The text inside ``Name(...)`` of this module's line in ``repr`` (override it)."""
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        for key, child in self._modules.items():
            text = repr(child).replace("\n", "\n  ")
            lines.append(f"({key}): {text}")
        main = self._get_name() + "("
        if lines:
            if len(lines) == 1 and not self._modules:
                main += lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"
