"""PyTorch's containers: Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict."""
import collections
import operator

from ..module import Module, Parameter


def _index(i, n, who):
    i = operator.index(i)
    if not -n <= i < n:
        raise IndexError(f"index {i} is out of range for {who} of length {n}")
    return i % n


class Sequential(Module):
    """Modules applied in order: ``Sequential(m0, m1, ...)`` or ``Sequential(OrderedDict(name=m))``.

    Indexing gives a module, slicing a new Sequential (keeping the names); ``len``, iteration,
    ``append``, ``extend``, ``insert``, ``del seq[i]`` as PyTorch's."""

    def __init__(self, *args, name=None):
        super().__init__(name=name)
        if len(args) == 1 and isinstance(args[0], collections.OrderedDict):
            for key, module in args[0].items():
                self.add_module(key, module)
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), module)

    def __getitem__(self, idx):
        items = list(self._modules.items())
        if isinstance(idx, slice):
            return type(self)(collections.OrderedDict(items[idx]))
        return items[_index(idx, len(items), "Sequential")][1]

    def __setitem__(self, idx, module):
        key = list(self._modules)[_index(idx, len(self._modules), "Sequential")]
        setattr(self, key, module)

    def __delitem__(self, idx):
        keys = list(self._modules)
        for key in (keys[idx] if isinstance(idx, slice) else [keys[_index(idx, len(keys), "Sequential")]]):
            delattr(self, key)
        # PyTorch renumbers nothing: the remaining keys keep their names

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        n = len(self._modules)
        index = index + n if index < 0 else index
        if not 0 <= index <= n:
            raise IndexError(f"Index out of range: {index}")
        mods = list(self._modules.values())
        mods.insert(index, module)
        for key in list(self._modules):
            delattr(self, key)
        for i, m in enumerate(mods):
            self.add_module(str(i), m)
        return self

    def forward(self, input):
        for module in self._modules.values():
            input = module(input)
        return input


class ModuleList(Module):
    """A list of modules, registered (their parameters are the list's); no forward."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        mods = list(self._modules.values())
        if isinstance(idx, slice):
            return type(self)(mods[idx])
        return mods[_index(idx, len(mods), "ModuleList")]

    def __setitem__(self, idx, module):
        setattr(self, str(_index(idx, len(self), "ModuleList")), module)

    def __delitem__(self, idx):
        mods = list(self._modules.values())
        if isinstance(idx, slice):
            del mods[idx]
        else:
            del mods[_index(idx, len(mods), "ModuleList")]
        for key in list(self._modules):
            delattr(self, key)
        for i, m in enumerate(mods):
            self.add_module(str(i), m)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __iadd__(self, modules):
        return self.extend(modules)

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        if isinstance(modules, (Module, str)) or not hasattr(modules, "__iter__"):
            raise TypeError(f"ModuleList.extend should be called with an iterable, but got {type(modules).__name__}")
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        mods = list(self._modules.values())
        mods.insert(index, module)
        for key in list(self._modules):
            delattr(self, key)
        for i, m in enumerate(mods):
            self.add_module(str(i), m)


class _NamedEntries(Module):
    """What ModuleDict and ParameterDict share: a dict view of one of the Module's registries
    (``_entries`` names it), whose entries are registered attributes under their keys."""

    _entries = None

    def _registry(self):
        return getattr(self, self._entries)

    def __getitem__(self, key):
        return self._registry()[key]

    def __delitem__(self, key):
        delattr(self, key)

    def __len__(self):
        return len(self._registry())

    def __iter__(self):
        return iter(self._registry())

    def __contains__(self, key):
        return key in self._registry()

    def keys(self):
        return self._registry().keys()

    def items(self):
        return self._registry().items()

    def values(self):
        return self._registry().values()

    def pop(self, key):
        value = self._registry()[key]
        delattr(self, key)
        return value

    def clear(self):
        for key in list(self._registry()):
            delattr(self, key)

    def update(self, entries):
        pairs = entries.items() if hasattr(entries, "items") else entries
        for key, value in pairs:
            self[key] = value


class ModuleDict(_NamedEntries):
    """An ordered dict of modules, registered under their keys."""

    _entries = "_modules"

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __setitem__(self, key, module):
        self.add_module(key, module)


def _as_parameter(value):
    return value if isinstance(value, Parameter) else Parameter(value)


class ParameterList(Module):
    """A list of Parameters, registered as ``0``, ``1``, ... (tensors/arrays become Parameters)."""

    def __init__(self, values=None):
        super().__init__()
        object.__setattr__(self, "_size", 0)
        if values is not None:
            self.extend(values)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)([self._parameters[str(i)] for i in range(len(self))[idx]])
        return self._parameters[str(_index(idx, len(self), "ParameterList"))]

    def __setitem__(self, idx, value):
        self.register_parameter(str(_index(idx, len(self), "ParameterList")), _as_parameter(value))

    def __len__(self):
        return self._size

    def __iter__(self):
        return (self._parameters[str(i)] for i in range(len(self)))

    def __iadd__(self, values):
        return self.extend(values)

    def append(self, value):
        object.__setattr__(self, "_size", self._size + 1)
        self.register_parameter(str(self._size - 1), _as_parameter(value))
        return self

    def extend(self, values):
        for v in values:
            self.append(v)
        return self

    def extra_repr(self):
        return "\n".join(f"({i}): Parameter containing: [{type(p).__name__} of size {'x'.join(map(str, p.shape))}]"
                         for i, p in enumerate(self))


class ParameterDict(_NamedEntries):
    """An ordered dict of Parameters, registered under their keys."""

    _entries = "_parameters"

    def __init__(self, parameters=None):
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __setitem__(self, key, value):
        self.register_parameter(key, _as_parameter(value))
