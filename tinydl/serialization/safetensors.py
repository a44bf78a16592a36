"""safetensors files, read and written without the safetensors package (its ``safetensors.numpy``
API: ``save_file``, ``load_file``, ``save``, ``load``).

The layout: 8 bytes (little-endian u64) giving the header's length N, N bytes of JSON
``{"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
"__metadata__": {str: str}}``, then the data: each tensor's bytes (little-endian, C order) between
its offsets, counted from the end of the header. Reading checks, before allocating anything,
that the header is at most ``MAX_HEADER_BYTES``, is valid JSON of that shape, and that the
tensors' byte ranges match their dtype and shape, do not overlap, leave no gap and end exactly
at the end of the file.

Writing: tensors sorted by element size (largest first, so every tensor stays aligned), then by
name; the header padded with spaces to a multiple of 8 bytes, as the safetensors writer pads it. BF16 tensors are read as
float32 (NumPy has no bfloat16; the conversion is exact); there is nothing to write them from.

>>> import numpy as np
>>> blob = save({"w": np.arange(6, dtype=np.float32).reshape(2, 3)}, metadata={"format": "np"})
>>> load(blob)["w"].tolist()
[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
"""
import json
import math
import os
import struct

import numpy as np

from ..backends import is_gpu_array
from ..core.tensor import Tensor
from ..io import CheckpointError, atomic_write

__all__ = ["save_file", "load_file", "save", "load", "MAX_HEADER_BYTES"]

MAX_HEADER_BYTES = 100_000_000  # the safetensors library's own limit

_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
           "I16": np.int16, "I8": np.int8, "U64": np.uint64, "U32": np.uint32, "U16": np.uint16, "U8": np.uint8,
           "BOOL": np.bool_, "C64": np.complex64, "C128": np.complex128}
_CODES = {np.dtype(v): k for k, v in _DTYPES.items()}
_BF16 = "BF16"


def _plain_array(name, value):
    if isinstance(value, Tensor):
        value = value.data.get() if is_gpu_array(value.data) else np.asarray(value.data)
    if not isinstance(value, np.ndarray):
        raise TypeError(f"safetensors.save: {name!r} is a {type(value).__name__}, expected a numpy array or Tensor")
    dt = value.dtype.newbyteorder("=") if value.dtype.byteorder not in ("=", "|") else value.dtype
    if dt not in _CODES:
        raise TypeError(f"safetensors.save: {name!r} has dtype {value.dtype}, which safetensors cannot hold")
    return np.array(value, dtype=dt.newbyteorder("<"), order="C", copy=None)  # 0-d stays 0-d


def save(tensor_dict, metadata=None):
    """The bytes of a safetensors file holding ``tensor_dict`` (name -> array) and ``metadata`` (str -> str)."""
    if metadata is not None:
        if not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                     for k, v in metadata.items()):
            raise TypeError("safetensors.save: metadata must be a dict of str to str")
    arrays = {}
    for name, value in tensor_dict.items():
        if not isinstance(name, str) or name == "__metadata__":
            raise ValueError(f"safetensors.save: invalid tensor name {name!r}")
        arrays[name] = _plain_array(name, value)
    order = sorted(arrays, key=lambda n: (-arrays[n].dtype.itemsize, n))
    header, offset = {}, 0
    if metadata:
        header["__metadata__"] = dict(metadata)
    for name in order:
        a = arrays[name]
        header[name] = {"dtype": _CODES[a.dtype.newbyteorder("=")], "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return b"".join([struct.pack("<Q", len(text)), text] + [arrays[n].tobytes() for n in order])


def save_file(tensor_dict, filename, metadata=None):
    """Write ``tensor_dict`` to ``filename`` (atomically: a temporary file renamed into place)."""
    blob = save(tensor_dict, metadata)
    atomic_write(filename, lambda f: f.write(blob))


def _parse_header(head, total, label):
    """``(entries, metadata, data_start)`` after checking the header against the file's size."""
    if total < 8:
        raise CheckpointError(f"{label}: not a safetensors file (shorter than its 8-byte header length)", label)
    (n,) = struct.unpack("<Q", head[:8])
    if n > MAX_HEADER_BYTES:
        raise CheckpointError(f"{label}: the safetensors header declares {n} bytes, more than the "
                              f"{MAX_HEADER_BYTES} allowed", label)
    if 8 + n > total:
        raise CheckpointError(f"{label}: the safetensors header declares {n} bytes but the file has only "
                              f"{total - 8} after the length; the file is truncated", label)
    return n


def _entries(raw, n, total, label):
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CheckpointError(f"{label}: the safetensors header is not valid JSON ({exc})", label) from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{label}: the safetensors header is not a JSON object", label)
    metadata = header.pop("__metadata__", None)
    if metadata is not None and not (isinstance(metadata, dict) and
                                     all(isinstance(v, str) for v in metadata.values())):
        raise CheckpointError(f"{label}: __metadata__ must map strings to strings", label)
    entries, spans = [], []
    for name, info in header.items():
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise CheckpointError(f"{label}: tensor {name!r} has a malformed header entry", label)
        code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if code != _BF16 and code not in _DTYPES:
            raise CheckpointError(f"{label}: tensor {name!r} has dtype {code!r}, which tinydl does not read", label)
        if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                                  for d in shape):
            raise CheckpointError(f"{label}: tensor {name!r} has an invalid shape {shape!r}", label)
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)
                and 0 <= offsets[0] <= offsets[1]):
            raise CheckpointError(f"{label}: tensor {name!r} has invalid data_offsets {offsets!r}", label)
        itemsize = 2 if code == _BF16 else np.dtype(_DTYPES[code]).itemsize
        nbytes = math.prod(shape) * itemsize
        if offsets[1] - offsets[0] != nbytes:
            raise CheckpointError(f"{label}: tensor {name!r} of shape {shape} and dtype {code} needs {nbytes} "
                                  f"bytes but its data_offsets span {offsets[1] - offsets[0]}", label)
        entries.append((name, code, tuple(shape), offsets[0], offsets[1]))
        spans.append((offsets[0], offsets[1], name))
    end = 0
    for begin, stop, name in sorted(spans):
        if begin != end:
            raise CheckpointError(f"{label}: tensor {name!r} starts at byte {begin}, expected {end} "
                                  "(overlapping or missing data)", label)
        end = stop
    if 8 + n + end != total:
        raise CheckpointError(f"{label}: the header accounts for {end} data bytes but the file holds "
                              f"{total - 8 - n}; the file is truncated or has trailing data", label)
    return entries, metadata


def _array(code, shape, raw):
    if code == _BF16:
        return (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32).reshape(shape)
    dt = np.dtype(_DTYPES[code]).newbyteorder("<")
    return np.frombuffer(raw, dtype=dt).astype(dt.newbyteorder("="), copy=True).reshape(shape)


def load(data):
    """The arrays of a safetensors file given as bytes (name -> numpy array)."""
    label = "<bytes>"
    n = _parse_header(data[:8], len(data), label)
    entries, _ = _entries(data[8:8 + n], n, len(data), label)
    start = 8 + n
    return {name: _array(code, shape, data[start + b:start + e]) for name, code, shape, b, e in entries}


def load_file(filename, device="cpu"):
    """The arrays of the safetensors file ``filename`` (name -> numpy array)."""
    filename = os.fspath(filename)
    if device != "cpu":
        raise NotImplementedError("safetensors load_file: only device='cpu' (numpy arrays) is supported")
    with open(filename, "rb") as f:
        total = os.fstat(f.fileno()).st_size
        n = _parse_header(f.read(8), total, filename)
        entries, _ = _entries(f.read(n), n, total, filename)
        out = {}
        start = 8 + n
        for name, code, shape, b, e in sorted(entries, key=lambda t: t[3]):
            f.seek(start + b)
            out[name] = _array(code, shape, f.read(e - b))
    return {name: out[name] for name, *_ in entries}


def read_metadata(filename):
    """The ``__metadata__`` dict of a safetensors file (None when it has none)."""
    filename = os.fspath(filename)
    with open(filename, "rb") as f:
        total = os.fstat(f.fileno()).st_size
        n = _parse_header(f.read(8), total, filename)
        return _entries(f.read(n), n, total, filename)[1]
