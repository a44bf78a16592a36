"""Read PyTorch's ``torch.save`` files without PyTorch, through a restricted unpickler.

Two layouts are read:

- the zip format (PyTorch >= 1.6): ``<archive>/data.pkl`` (the object, pickled, with tensors'
  storages as persistent ids ``('storage', storage_type, key, location, numel)``),
  ``<archive>/data/<key>`` (each storage's raw bytes), ``<archive>/byteorder`` (optional);
- the legacy format (``_use_new_zipfile_serialization=False``): a magic-number pickle, a protocol
  pickle, a system-info pickle, the object pickle, the list of storage keys, then each storage
  as an int64 element count followed by its bytes.

The unpickler resolves only the globals ``torch.load(weights_only=True)`` needs for tensors and
plain containers, each mapped to a tinydl function written here: the tensor rebuilders
(``torch._utils._rebuild_tensor_v2`` and kin), the storage classes, ``torch.Size``,
``torch.device``, dtypes, ``collections.OrderedDict``, ``set``/``frozenset``/``complex``/
``bytearray`` and ``_codecs.encode`` (bytes in protocol 2). Any other global, ``os.system`` or a
user class, raises :class:`UnsafeFileError` naming it before anything is called: nothing in the
file can run code.

Bounds: the pickle may declare at most ``MAX_PICKLE_BYTES``; every storage's declared size is
checked against its element count and against the bytes the file can hold before it is
allocated; each tensor's size, stride and offset must lie inside its storage. Tensors are NumPy
views of their storage with PyTorch's strides (tensors sharing a storage share memory, as in
PyTorch). Differences: bfloat16 storages become float32 (NumPy has no bfloat16; the conversion is
exact); a tensor with more elements than its storage (an ``expand``-ed tensor) is refused;
``nn.Parameter`` comes back as a Tensor with ``requires_grad=True``.
"""
import collections
import io
import pickle
import struct
import zipfile

import numpy as np

from ..io import _DEFLATE_MAX_RATIO, _READ_CHUNK, CheckpointError

MAX_PICKLE_BYTES = 16 << 20   # the pickle of a state_dict with thousands of tensors is well under 1 MB
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

_STORAGE_DTYPES = {
    "DoubleStorage": np.float64, "FloatStorage": np.float32, "HalfStorage": np.float16,
    "BFloat16Storage": "bfloat16", "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
    "ComplexDoubleStorage": np.complex128, "ComplexFloatStorage": np.complex64,
}
_TORCH_DTYPES = {
    "float64": np.float64, "double": np.float64, "float32": np.float32, "float": np.float32,
    "float16": np.float16, "half": np.float16, "bfloat16": "bfloat16", "int64": np.int64, "long": np.int64,
    "int32": np.int32, "int": np.int32, "int16": np.int16, "short": np.int16, "int8": np.int8,
    "uint8": np.uint8, "bool": np.bool_, "complex64": np.complex64, "complex128": np.complex128,
}


class UnsafeFileError(pickle.UnpicklingError):
    """A PyTorch file asks for something other than tensors and plain containers; nothing was run."""


class _StorageType:
    def __init__(self, name):
        self.name, self.dtype = name, _STORAGE_DTYPES[name]


class _Storage:
    """One storage: its element dtype and, once read, its NumPy array (1-D)."""

    def __init__(self, dtype, numel, key):
        self.dtype, self.numel, self.key = dtype, numel, key
        self.array = None


class _PendingTensor:
    """A tensor whose storage is read after the pickle (the legacy layout)."""

    def __init__(self, storage, offset, size, stride, requires_grad):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride
        self.requires_grad = requires_grad


# ---- the functions the allowed globals map to -------------------------------------------------

def _rebuild_tensor(storage, storage_offset, size, stride, requires_grad=False, *_):
    if not isinstance(storage, _Storage):
        raise pickle.UnpicklingError("a tensor's storage is not a storage")
    return _PendingTensor(storage, int(storage_offset), tuple(int(s) for s in size),
                          tuple(int(s) for s in stride), bool(requires_grad))


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None):
    return _rebuild_tensor(storage, storage_offset, size, stride, requires_grad)


def _rebuild_parameter(data, requires_grad, backward_hooks, *_):
    if isinstance(data, _PendingTensor):
        data.requires_grad = bool(requires_grad)
    return data


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    return _rebuild_parameter(data, requires_grad, backward_hooks)


def _rebuild_from_type_v2(func, new_type, args, state):
    if new_type not in (_TENSOR_CLASS, _PARAMETER_CLASS):
        raise UnsafeFileError("a tensor subclass other than torch.Tensor / nn.Parameter")
    return func(*args)


def _codecs_encode(text, encoding="latin1"):
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("_codecs.encode is allowed only as protocol 2 writes bytes")
    return text.encode("latin1")


def _torch_size(*args):
    return tuple(*args) if args else ()


def _torch_device(*args):
    return ":".join(str(a) for a in args)


_TENSOR_CLASS = object()     # stand-ins: never instantiated, only compared
_PARAMETER_CLASS = object()

_ALLOWED = {
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter_with_state,
    ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type_v2,
    ("torch", "Tensor"): _TENSOR_CLASS,
    ("torch._tensor", "Tensor"): _TENSOR_CLASS,
    ("torch.nn.parameter", "Parameter"): _PARAMETER_CLASS,
    ("torch", "Size"): _torch_size,
    ("torch", "device"): _torch_device,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "complex"): complex,
    ("builtins", "bytearray"): bytearray,
    ("_codecs", "encode"): _codecs_encode,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, source, label, load_storage):
        super().__init__(io.BytesIO(source) if isinstance(source, bytes) else source, encoding="utf-8")
        self.label, self.load_storage = label, load_storage

    def find_class(self, module, name):
        found = _ALLOWED.get((module, name))
        if found is not None:
            return found
        if module in ("torch", "torch.storage") and name in _STORAGE_DTYPES:
            return _StorageType(name)
        if module == "torch" and name in _TORCH_DTYPES:
            return np.dtype(np.float32 if _TORCH_DTYPES[name] == "bfloat16" else _TORCH_DTYPES[name])
        raise UnsafeFileError(
            f"{self.label}: refused to load the global '{module}.{name}': this file asks for more than tensors "
            "and plain containers (tinydl reads what torch.load(weights_only=True) allows, and runs nothing "
            "from the file)")

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage":
            raise pickle.UnpicklingError(f"{self.label}: unknown persistent id {str(pid)[:80]!r}")
        storage_type, key, location, numel = pid[1:5]
        if len(pid) > 5 and pid[5] is not None:
            raise CheckpointError(f"{self.label}: a storage view (PyTorch 0.x layout) is not supported", self.label)
        if not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError(f"{self.label}: a storage of unknown type {str(storage_type)[:60]}")
        if not isinstance(numel, int) or numel < 0:
            raise pickle.UnpicklingError(f"{self.label}: a storage declares {numel!r} elements")
        return self.load_storage(storage_type.dtype, str(key), str(location), numel)


# ---- building tensors ---------------------------------------------------------------------------

def _itemsize(dtype):
    return 2 if isinstance(dtype, str) else np.dtype(dtype).itemsize


def _finish_storage(raw, dtype, big_endian):
    """A bytearray -> a writable 1-D array of the storage's elements, without a copy when the bytes
    are already in this machine's order (bfloat16 widened to float32)."""
    if isinstance(dtype, str):  # bfloat16: the high half of a float32
        halves = np.frombuffer(raw, dtype=">u2" if big_endian else "<u2").astype(np.uint32)
        return (halves << 16).view(np.float32)
    stored = np.dtype(dtype).newbyteorder(">" if big_endian else "<")
    if stored.isnative or stored.itemsize == 1:
        return np.frombuffer(raw, dtype=np.dtype(dtype))
    return np.frombuffer(raw, dtype=stored).astype(np.dtype(dtype))


def _materialize(pending, label):
    s = pending.storage
    size, stride, offset = pending.size, pending.stride, pending.offset
    if len(size) != len(stride) or any(n < 0 for n in size) or any(st < 0 for st in stride) or offset < 0:
        raise CheckpointError(f"{label}: a tensor has size {size}, stride {stride}, offset {offset}; refused", label)
    numel = int(np.prod(size, dtype=object)) if size else 1
    if numel > 0:
        last = offset + sum((n - 1) * st for n, st in zip(size, stride))
        if last >= s.numel:
            raise CheckpointError(f"{label}: a tensor of size {size} and stride {stride} at offset {offset} reaches "
                                  f"past its storage of {s.numel} elements; the file is corrupted", label)
        if numel > s.numel:
            raise CheckpointError(f"{label}: a tensor of size {size} has more elements than its storage "
                                  f"({s.numel}): an expanded tensor, which tinydl does not load", label)
    arr = s.array
    if numel == 0:
        return np.zeros(size, dtype=arr.dtype)
    item = arr.dtype.itemsize
    return np.lib.stride_tricks.as_strided(arr[offset:], shape=size, strides=tuple(st * item for st in stride))


def _replace_pending(obj, make, label):
    """The loaded object with every pending tensor built (containers rebuilt, iteratively deep)."""
    def walk(x, depth):
        if depth > 900:
            raise CheckpointError(f"{label}: the object is nested too deeply", label)
        if isinstance(x, _PendingTensor):
            return make(_materialize(x, label), x.requires_grad, getattr(x.storage, "location", "cpu"))
        if isinstance(x, collections.OrderedDict):
            out = collections.OrderedDict((k, walk(v, depth + 1)) for k, v in x.items())
            out.__dict__.update({k: walk(v, depth + 1) for k, v in x.__dict__.items()})
            return out
        if isinstance(x, dict):
            return {k: walk(v, depth + 1) for k, v in x.items()}
        if isinstance(x, list):
            return [walk(v, depth + 1) for v in x]
        if isinstance(x, tuple):
            return tuple(walk(v, depth + 1) for v in x)
        if isinstance(x, _Storage):
            raise CheckpointError(f"{label}: the file holds a bare storage, which tinydl does not load", label)
        return x
    return walk(obj, 0)


def _unpickle(data, label, load_storage):
    try:
        return _RestrictedUnpickler(data, label, load_storage).load()
    except (UnsafeFileError, CheckpointError):
        raise
    except RecursionError:
        raise CheckpointError(f"{label}: the pickled object is nested too deeply", label) from None
    except Exception as exc:  # noqa: BLE001 - every malformed pickle is a bad file
        raise CheckpointError(f"{label}: cannot read the pickled object ({type(exc).__name__}: {exc})", label) from None


# ---- the zip layout -----------------------------------------------------------------------------

def is_torch_zip(names):
    return any(n == "data.pkl" or n.endswith("/data.pkl") for n in names)


def _check_member(info, limit, label):
    if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise CheckpointError(f"{label}: member {info.filename!r} is encrypted or uses an unsupported "
                              "compression; refused", label)
    most = info.compress_size if info.compress_type == zipfile.ZIP_STORED else \
        info.compress_size * _DEFLATE_MAX_RATIO + 1024
    if info.file_size > most:
        raise CheckpointError(f"{label}: member {info.filename!r} declares {info.file_size} bytes from "
                              f"{info.compress_size} compressed bytes, which is impossible; refused", label)
    if limit is not None and info.file_size > limit:
        raise CheckpointError(f"{label}: member {info.filename!r} declares {info.file_size} bytes, more than "
                              f"{limit} allowed", label)


def _read_exactly(archive, info, label):
    out = bytearray(info.file_size)
    with archive.open(info) as f:
        done = 0
        while done < len(out):
            chunk = f.read(min(_READ_CHUNK, len(out) - done))
            if not chunk:
                raise CheckpointError(f"{label}: member {info.filename!r} ends early; the file is truncated", label)
            out[done:done + len(chunk)] = chunk
            done += len(chunk)
        if f.read(1):
            raise CheckpointError(f"{label}: member {info.filename!r} holds more than it declares", label)
    return out


def load_zip(archive, label, make):
    """The object of a PyTorch zip file; ``make(array, requires_grad) -> Tensor``."""
    infos = {i.filename: i for i in archive.infolist()}
    pkl = sorted(n for n in infos if n == "data.pkl" or n.endswith("/data.pkl"))
    if len(pkl) != 1:
        raise CheckpointError(f"{label}: expected one data.pkl in the PyTorch archive, found {pkl}", label)
    prefix = pkl[0][:-len("data.pkl")]
    big_endian = False
    if prefix + "byteorder" in infos:
        _check_member(infos[prefix + "byteorder"], 16, label)
        order = bytes(_read_exactly(archive, infos[prefix + "byteorder"], label)).decode("ascii", "replace").strip()
        if order not in ("little", "big"):
            raise CheckpointError(f"{label}: unknown byteorder {order!r}", label)
        big_endian = order == "big"
    _check_member(infos[pkl[0]], MAX_PICKLE_BYTES, label)
    storages = {}

    def load_storage(dtype, key, location, numel):
        if key in storages:
            return storages[key]
        info = infos.get(f"{prefix}data/{key}")
        if info is None:
            raise CheckpointError(f"{label}: the pickle refers to storage {key!r}, which the archive lacks", label)
        nbytes = numel * _itemsize(dtype)
        if info.file_size != nbytes:
            raise CheckpointError(f"{label}: storage {key!r} declares {numel} elements ({nbytes} bytes) but its "
                                  f"member holds {info.file_size} bytes; the file is corrupted", label)
        _check_member(info, None, label)
        s = _Storage(dtype, numel, key)
        s.location = location
        s.array = _finish_storage(_read_exactly(archive, info, label), dtype, big_endian)
        storages[key] = s
        return s

    obj = _unpickle(bytes(_read_exactly(archive, infos[pkl[0]], label)), label, load_storage)
    return _replace_pending(obj, make, label), storages


# ---- the legacy layout --------------------------------------------------------------------------

def is_legacy(head):
    return head[:1] == b"\x80"


def load_legacy(data, label, make):
    """The object of a legacy (non-zip) ``torch.save`` file, given the file's bytes."""
    # each pickle in the file is read from a slice; its length is where the unpickler stopped
    pos = [0]

    def read_pickle(what, load_storage):
        reader = _CountingReader(data, pos[0])
        up = _RestrictedUnpickler(reader, label, load_storage)
        try:
            value = up.load()
        except (UnsafeFileError, CheckpointError):
            raise
        except RecursionError:
            raise CheckpointError(f"{label}: the pickled object is nested too deeply", label) from None
        except Exception as exc:  # noqa: BLE001
            raise CheckpointError(f"{label}: cannot read the {what} of a legacy PyTorch file "
                                  f"({type(exc).__name__}: {exc})", label) from None
        if reader.pos - pos[0] > MAX_PICKLE_BYTES:
            raise CheckpointError(f"{label}: the {what} pickle is larger than {MAX_PICKLE_BYTES} bytes", label)
        pos[0] = reader.pos
        return value

    if read_pickle("magic number", _no_storage) != _LEGACY_MAGIC:
        raise CheckpointError(f"{label}: not a PyTorch file (no magic number; a plain pickle is never loaded)", label)
    protocol = read_pickle("protocol version", _no_storage)
    if protocol != 1001:
        raise CheckpointError(f"{label}: legacy PyTorch protocol {protocol!r}; only 1001 is read", label)
    info = read_pickle("system info", _no_storage)
    big_endian = isinstance(info, dict) and info.get("little_endian") is False
    storages = {}

    def load_storage(dtype, key, location, numel):
        if key not in storages:
            s = _Storage(dtype, numel, key)
            s.location = location
            storages[key] = s
        return storages[key]

    obj = read_pickle("object", load_storage)
    keys = read_pickle("storage key list", _no_storage)
    if not isinstance(keys, list) or sorted(map(str, keys)) != sorted(storages):
        raise CheckpointError(f"{label}: the storage key list does not match the storages the object uses", label)
    offset = pos[0]
    for key in keys:
        s = storages[str(key)]
        if offset + 8 > len(data):
            raise CheckpointError(f"{label}: the file ends before storage {key!r}", label)
        (count,) = struct.unpack("<q" if not big_endian else ">q", data[offset:offset + 8])
        nbytes = s.numel * _itemsize(s.dtype)
        if count != s.numel or offset + 8 + nbytes > len(data):
            raise CheckpointError(f"{label}: storage {key!r} declares {count} elements, the object "
                                  f"{s.numel}, and the file has {len(data) - offset - 8} bytes left; "
                                  "the file is corrupted", label)
        s.array = _finish_storage(bytearray(data[offset + 8:offset + 8 + nbytes]), s.dtype, big_endian)
        offset += 8 + nbytes
    return _replace_pending(obj, make, label), storages


class _CountingReader:
    def __init__(self, data, pos):
        self.data, self.pos = data, pos

    def read(self, n=-1):
        end = len(self.data) if n is None or n < 0 else min(len(self.data), self.pos + n)
        out = self.data[self.pos:end]
        self.pos = end
        return out

    def readline(self):
        end = self.data.find(b"\n", self.pos)
        end = len(self.data) if end < 0 else end + 1
        out = self.data[self.pos:end]
        self.pos = end
        return out

    def readinto(self, buf):
        chunk = self.read(len(buf))
        buf[:len(chunk)] = chunk
        return len(chunk)

    def peek(self, n=1):
        return self.data[self.pos:self.pos + n]


def _no_storage(*_):
    raise pickle.UnpicklingError("a storage where none is expected")
