"""tinydl's own file format for ``tinydl.save``: Python containers of tensors, without pickle.

A file is a ``tinydl.io`` state file (a zip of ``.npy`` members plus a ``__meta__`` JSON entry with
a SHA-256 per array; see ``tinydl/io.py``) whose metadata has ``"kind": "object"`` and
``"object"``: the saved object as a JSON tree. Every node is a JSON value or a tagged object:

==========================================  ===============================================
node                                        means
==========================================  ===============================================
``null``, ``true``, ``1``, ``1.5``, ``"s"``  None, a bool, an int, a float, a string
``NaN``, ``Infinity``, ``-Infinity``        those floats (Python's JSON extension)
``[n, ...]``                                a list
``{"$": "tuple", "items": [n, ...]}``       a tuple
``{"$": "dict", "keys": [n...],            a dict (``"OrderedDict"`` for an OrderedDict);
"values": [n...]}``                         keys are nodes too (ints, strings, tuples, ...)
``{"$": "tensor", "array": name,            a Tensor whose data is the ``.npy`` member
"requires_grad": b, "device": "cpu"}``      ``name``
``{"$": "ndarray", "array": name}``         a numpy array
``{"$": "scalar", "array": name}``          a numpy scalar (a 0-d member)
``{"$": "dtype", "name": "float32"}``       a numpy dtype
==========================================  ===============================================

Loading never runs code from the file: the tags name the few types above and nothing else. The
size limits and checks of ``tinydl.io.load_state`` apply (declared sizes are checked against the
file before anything is inflated).
"""
import collections

import numpy as np

from ..backends import is_gpu_array
from ..core.tensor import Tensor
from ..io import CheckpointError, load_state, save_state, write_state

KIND = "object"


def encode(obj):
    """``(tree, arrays)``: the JSON tree of ``obj`` and the arrays it refers to by name."""
    arrays = {}
    stack_guard = set()

    def walk(x, where):
        if x is None or isinstance(x, (bool, str)):
            return x
        if isinstance(x, int):
            return x
        if isinstance(x, float):
            return x
        if isinstance(x, Tensor):
            name = f"t{len(arrays)}"
            on_gpu = is_gpu_array(x.data)
            arrays[name] = x.data.get() if on_gpu else np.asarray(x.data)
            return {"$": "tensor", "array": name, "requires_grad": bool(x.requires_grad),
                    "device": "gpu" if on_gpu else "cpu"}
        if isinstance(x, np.ndarray):
            if x.dtype.kind not in "biufc":
                raise TypeError(f"tinydl.save: the numpy array at {where} has dtype {x.dtype}; only numeric "
                                "arrays are stored")
            name = f"a{len(arrays)}"
            arrays[name] = x
            return {"$": "ndarray", "array": name}
        if isinstance(x, (np.bool_, np.number)):
            name = f"s{len(arrays)}"
            arrays[name] = np.asarray(x)
            return {"$": "scalar", "array": name}
        if isinstance(x, np.dtype):
            return {"$": "dtype", "name": x.name}
        if isinstance(x, (list, tuple, dict)):
            if id(x) in stack_guard:
                raise ValueError(f"tinydl.save: the object contains itself (at {where}); cycles cannot be stored")
            stack_guard.add(id(x))
            try:
                if isinstance(x, list):
                    return [walk(v, f"{where}[{i}]") for i, v in enumerate(x)]
                if isinstance(x, tuple):
                    if hasattr(x, "_fields"):
                        raise TypeError(f"tinydl.save: cannot store the namedtuple {type(x).__name__} at {where}; "
                                        "use a tuple or a dict")
                    return {"$": "tuple", "items": [walk(v, f"{where}[{i}]") for i, v in enumerate(x)]}
                if type(x) not in (dict, collections.OrderedDict):
                    raise TypeError(f"tinydl.save: cannot store a {type(x).__name__} at {where}; "
                                    "use a dict or an OrderedDict")
                tag = "OrderedDict" if isinstance(x, collections.OrderedDict) else "dict"
                keys = [walk(k, f"{where} (a key)") for k in x]
                return {"$": tag, "keys": keys, "values": [walk(v, f"{where}[{k!r}]") for k, v in x.items()]}
            finally:
                stack_guard.discard(id(x))
        hint = " (save its state_dict() instead)" if hasattr(x, "state_dict") else ""
        raise TypeError(f"tinydl.save: cannot store a {type(x).__name__} at {where}{hint}; tinydl.save stores "
                        "tensors, numpy arrays, numbers, strings, None and lists/tuples/dicts/OrderedDicts of them "
                        "(nothing is pickled)")

    return walk(obj, "obj"), arrays


def decode(tree, arrays, label, place):
    """The object of ``tree``; ``place(array, device, requires_grad) -> Tensor`` puts tensors where they belong."""
    def bad(why):
        return CheckpointError(f"{label}: {why}; the file is corrupted or not written by tinydl.save", label)

    def array(node):
        name = node.get("array")
        if not isinstance(name, str) or name not in arrays:
            raise bad(f"the structure refers to a missing array {name!r}")
        return arrays[name]

    def walk(node):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [walk(v) for v in node]
        if not isinstance(node, dict):
            raise bad(f"unexpected node {type(node).__name__}")
        tag = node.get("$")
        if tag == "tuple":
            return tuple(walk(v) for v in _list(node, "items"))
        if tag in ("dict", "OrderedDict"):
            keys, values = _list(node, "keys"), _list(node, "values")
            if len(keys) != len(values):
                raise bad("a dict has different numbers of keys and values")
            out = collections.OrderedDict() if tag == "OrderedDict" else {}
            for k, v in zip(keys, values):
                k = walk(k)
                try:
                    out[k] = walk(v)
                except TypeError:
                    raise bad(f"a dict key of type {type(k).__name__} is not hashable") from None
            return out
        if tag == "tensor":
            return place(array(node), node.get("device", "cpu"), node.get("requires_grad") is True)
        if tag == "ndarray":
            return array(node)
        if tag == "scalar":
            a = array(node)
            if a.ndim != 0:
                raise bad("a numpy scalar is stored with a shape")
            return a[()]
        if tag == "dtype":
            try:
                return np.dtype(str(node.get("name")))
            except TypeError:
                raise bad(f"unknown dtype {node.get('name')!r}") from None
        raise bad(f"unknown node tag {tag!r}")

    def _list(node, key):
        v = node.get(key)
        if not isinstance(v, list):
            raise bad(f"a {node.get('$')} node has no {key!r} list")
        return v

    try:
        return walk(tree)
    except RecursionError:
        raise bad("the structure is nested too deeply") from None


def save(obj, f):
    tree, arrays = encode(obj)
    meta = {"kind": KIND, "object": tree}
    if hasattr(f, "write"):
        write_state(f, arrays, meta)
    else:
        save_state(f, arrays, meta)


def load(f, place):
    arrays, meta = load_state(f)
    label = getattr(f, "name", "<file object>") if hasattr(f, "read") else str(f)
    if meta.get("kind") != KIND:
        raise CheckpointError(f"{label}: this is a tinydl {meta.get('kind', 'state')!r} file, not one written by "
                              "tinydl.save (use tinydl.io.load_weights / load_checkpoint / load_state)", label)
    return decode(meta.get("object"), arrays, label, place)
