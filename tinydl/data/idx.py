"""Reading and writing IDX files, the format MNIST and Fashion-MNIST ship in.

An IDX file is a 4-byte magic number ``00 00 TT NN`` (TT: element type, NN: number of
dimensions), then NN big-endian uint32 sizes, then the elements, big-endian, row-major.
Files may be gzip-compressed; we detect that from the content (gzip's magic ``1f 8b``),
never from the file name. Nothing is ever unpickled.

>>> import os, tempfile, numpy as np
>>> path = os.path.join(tempfile.mkdtemp(), "demo-idx2-ubyte.gz")
>>> write_idx(path, np.arange(6, dtype=np.uint8).reshape(2, 3))
>>> read_idx(path)
array([[0, 1, 2],
       [3, 4, 5]], dtype=uint8)
"""
import gzip
import math
import os
import struct
import zlib

import numpy as np

__all__ = ["IDXError", "read_idx", "parse_idx", "read_file_bytes", "idx_bytes", "write_idx"]

# IDX element-type code -> big-endian numpy dtype (the codes are fixed by the format).
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODE_FOR_KIND = {(dt.kind, dt.itemsize): code for code, dt in IDX_DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"
_GZIP_MAX_RATIO = 1032  # deflate cannot expand its input more than about 1032 : 1


class IDXError(ValueError):
    """A file is not a well-formed IDX file (bad magic, truncated, or wrong size)."""


def read_file_bytes(path):
    """Return the file's content, gunzipped if it is gzip data (detected by magic bytes).

    Gzip data is inflated incrementally and never past the size its IDX header declares (plus
    one byte, to notice extra data); a declared size that gzip could not have produced from the
    file's size is refused before inflating.  So a small hostile file costs small memory.

    >>> import os, tempfile, gzip
    >>> p = os.path.join(tempfile.mkdtemp(), "x.bin")
    >>> with gzip.open(p, "wb") as f: _ = f.write(idx_bytes(np.arange(3, dtype=np.uint8)))
    >>> read_file_bytes(p)
    b'\\x00\\x00\\x08\\x01\\x00\\x00\\x00\\x03\\x00\\x01\\x02'
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        if f.read(2) != _GZIP_MAGIC:
            f.seek(0)
            return f.read()  # raw: the file's own size bounds the memory
        f.seek(0)
        compressed = os.fstat(f.fileno()).st_size
        try:
            with gzip.GzipFile(fileobj=f, mode="rb") as g:
                data = g.read(4)
                if len(data) == 4:
                    data += g.read(4 * data[3])
                declared = _declared_size(data)
                if declared is None:  # a short or malformed header: parse_idx says which
                    return data
                if declared > compressed * _GZIP_MAX_RATIO + 1024:
                    raise IDXError(f"{path}: the IDX header declares {declared} bytes, more than gzip can "
                                   f"hold in a file of {compressed} bytes; refused")
                data += g.read(declared - len(data) + 1)  # one byte more: extra data shows up
        except (EOFError, OSError, zlib.error) as exc:
            # A cut-off download shows up here; say which file and why, not just "EOF".
            raise IDXError(f"{path}: corrupt or truncated gzip data ({exc})") from exc
    return data


def _declared_size(data):
    """Header plus data bytes an IDX header declares (a Python int: no overflow), or None when
    ``data`` does not start with a whole, well-formed header."""
    if len(data) < 4:
        return None
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or code not in IDX_DTYPES or len(data) < 4 + 4 * ndim:
        return None
    shape = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    return 4 + 4 * ndim + math.prod(shape) * IDX_DTYPES[code].itemsize


def parse_idx(data, name="<bytes>"):
    """Decode IDX bytes into a native-endian numpy array; `name` is used in error messages.

    >>> parse_idx(b"\\x00\\x00\\x08\\x01\\x00\\x00\\x00\\x02\\x07\\x09")
    array([7, 9], dtype=uint8)
    """
    if len(data) < 4:
        raise IDXError(f"{name}: truncated IDX header: {len(data)} bytes, need at least 4")
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or code not in IDX_DTYPES:
        raise IDXError(
            f"{name}: bad IDX magic number 0x{data[:4].hex()} "
            f"(expected 0000TTNN with type TT in {sorted(hex(c) for c in IDX_DTYPES)})"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IDXError(
            f"{name}: truncated IDX header: {ndim} dimensions need {header} bytes, "
            f"file has {len(data)}"
        )
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = IDX_DTYPES[code]
    expected = header + math.prod(shape) * dtype.itemsize  # Python ints: a huge product cannot wrap
    if len(data) < expected:
        raise IDXError(
            f"{name}: truncated IDX data: shape {shape} of {dtype.name} needs "
            f"{expected} bytes, file has {len(data)}"
        )
    if len(data) > expected:
        raise IDXError(
            f"{name}: IDX size mismatch: shape {shape} of {dtype.name} needs "
            f"{expected} bytes, file has {len(data)} ({len(data) - expected} extra)"
        )
    flat = np.frombuffer(data, dtype=dtype, offset=header)
    # astype copies: the result is writable, native-endian and does not pin `data`.
    return flat.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


def read_idx(path):
    """Read an IDX file (raw or gzip) into a numpy array of the file's dtype and shape.

    >>> import os, tempfile, numpy as np
    >>> p = os.path.join(tempfile.mkdtemp(), "f-idx1-float")
    >>> write_idx(p, np.array([0.5, -1.0], dtype=np.float32), compress=False)
    >>> read_idx(p)
    array([ 0.5, -1. ], dtype=float32)
    """
    return parse_idx(read_file_bytes(path), os.fspath(path))


def idx_bytes(array):
    """Encode a numpy array as IDX bytes (the inverse of `parse_idx`).

    >>> idx_bytes(np.array([1, 2], dtype=np.uint8)).hex()
    '00000801000000020102'
    """
    array = np.asarray(array)
    code = _CODE_FOR_KIND.get((array.dtype.kind, array.dtype.itemsize))
    if code is None:
        raise TypeError(
            f"IDX cannot store dtype {array.dtype}; use uint8, int8, int16, int32, "
            "float32 or float64"
        )
    header = struct.pack(f">BBBB{array.ndim}I", 0, 0, code, array.ndim, *array.shape)
    return header + array.astype(IDX_DTYPES[code], copy=False).tobytes(order="C")


def write_idx(path, array, compress=None):
    """Write `array` as an IDX file; gzip it if `compress` (default: path ends in .gz)."""
    path = os.fspath(path)
    data = idx_bytes(array)
    if compress is None:
        compress = path.endswith(".gz")
    if compress:
        # mtime=0 keeps the bytes reproducible, so tests can checksum them.
        data = gzip.compress(data, mtime=0)
    with open(path, "wb") as f:
        f.write(data)
