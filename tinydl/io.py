"""Saving and loading weights and training checkpoints: plain ``.npz`` files, written atomically.

File format: a zip archive written by ``np.savez`` holding one ``.npy`` entry per array plus one
entry ``__meta__``: the UTF-8 bytes of a JSON document stored as a uint8 array. The JSON holds
the format tag, the caller's metadata and the SHA-256 of every array's bytes. Nothing is pickled:
files are always opened with ``allow_pickle=False``, so loading a file cannot run code.

Writing goes to a temporary file in the destination directory, which is flushed and fsynced and
then renamed over the destination with ``os.replace`` (atomic on POSIX and Windows): a crash or
an error mid-save leaves the previous file as it was, and an interrupt (Ctrl-C) reaches the
caller as itself.  The new file keeps the mode of the file it replaces (a new file gets
``0o666`` less the umask, as ``open`` would give).  A save killed outright leaves its temporary
behind; the next save to the same path removes such leftovers once they are unlocked (the
writer holds an ``flock`` while it writes) and a minute old, so a concurrent save is never hurt.

Every failure to read a file (missing, truncated, corrupted, not a zip, object arrays, no or bad
metadata, a checksum mismatch, a member that is not a regular ``.npy`` entry) raises
:class:`CheckpointError` (a ``ValueError``) naming the file.  Reading costs bounded memory: the
member names are checked against the metadata, and every member's declared size against its
``.npy`` header (and, for weights and checkpoints, against the model) before anything is
inflated; each member is inflated at most to its declared size, and a declared size is refused
if deflate could not have produced it from the member's compressed size.

>>> import os, tempfile, numpy as np
>>> path = os.path.join(tempfile.mkdtemp(), "state.npz")
>>> save_state(path, {"w": np.arange(3.0)}, {"step": 7})
>>> arrays, meta = load_state(path)
>>> arrays["w"].tolist(), meta["step"]
([0.0, 1.0, 2.0], 7)

Three levels:

- ``save_state`` / ``load_state``: named arrays + JSON metadata.
- ``save_weights`` / ``load_weights``: a Module's ``state_dict()``. Loading checks every name,
  shape and dtype first and changes nothing unless all fit.
- ``save_checkpoint`` / ``load_checkpoint``: weights + optimizer state + tinydl's RNG state +
  step/epoch counters + your ``extra`` (JSON-able, arrays allowed), so training resumes bit for bit.
"""
import hashlib
import json
import math
import os
import re
import stat
import tempfile
import time
import zipfile

try:
    import fcntl
except ImportError:  # Windows: stale temporaries are recognised by age alone
    fcntl = None

import numpy as np

__all__ = ["CheckpointError", "save_state", "load_state", "save_weights", "load_weights",
           "check_state_dict", "save_checkpoint", "load_checkpoint"]

FORMAT = "tinydl-state"
VERSION = 1
META_KEY = "__meta__"
MAX_META_BYTES = 64 << 20  # the JSON metadata of any real checkpoint is far smaller
_DEFLATE_MAX_RATIO = 1032  # deflate cannot expand its input more than about 1032 : 1
_READ_CHUNK = 16 << 20
STALE_TEMPORARY_SECONDS = 60  # a temporary this old and unlocked belongs to a killed save


class CheckpointError(ValueError):
    """A weights or checkpoint file cannot be used (unreadable, corrupt, or does not fit the model)."""

    def __init__(self, message, path=None):
        super().__init__(message)
        self.path = path


# ---- named arrays + JSON -------------------------------------------------------------------------

def _digest(array):
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def save_state(path, arrays, meta=None):
    """Write ``arrays`` (name -> numpy array) and ``meta`` (a JSON-able dict) to ``path`` atomically.

    The file is written exactly at ``path`` (no extension is added). Object arrays are refused.
    """
    clean = _encode_state(arrays, meta)
    atomic_write(path, lambda f: _write_npz(f, clean))


def atomic_write(path, write):
    """Call ``write(f)`` on a temporary file beside ``path``, then rename it over ``path`` (see the
    module docstring: fsynced, locked while written, mode kept, the old file intact on failure)."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    remove_stale_temporaries(directory, base)
    mode = _mode_for(path)
    fd, tmp = tempfile.mkstemp(prefix="." + base + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            if fcntl is not None:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX)  # marks the temporary as in use
            write(f)
            f.flush()
            if hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
            if os.name == "posix":  # rename while still holding the lock
                os.replace(tmp, path)
        if os.name != "posix":
            os.chmod(tmp, mode)
            os.replace(tmp, path)
    except BaseException:  # an interrupt included: clean up, then re-raise it as itself
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(directory)


def write_state(f, arrays, meta=None):
    """:func:`save_state`'s format written to an open binary file object (no atomic rename)."""
    _write_npz(f, _encode_state(arrays, meta))


def _encode_state(arrays, meta):
    """The members of a state file: every array checked, plus the metadata (with checksums) as bytes."""
    meta = {} if meta is None else dict(meta)
    clean = {}
    for name, a in arrays.items():
        if not isinstance(name, str) or not name or name == META_KEY:
            raise ValueError(f"save_state: invalid array name {name!r}")
        a = np.asarray(a.get() if hasattr(a, "get") else a)
        if a.dtype.hasobject or a.dtype.kind not in "biufc":
            raise TypeError(f"save_state: array {name!r} has dtype {a.dtype}; only numeric arrays "
                            "are stored (no pickled objects)")
        clean[name] = a
    doc = {"format": FORMAT, "version": VERSION, "meta": meta,
           "sha256": {name: _digest(a) for name, a in clean.items()}}
    try:
        text = json.dumps(doc, allow_nan=True)
    except TypeError as exc:
        raise TypeError(f"save_state: the metadata is not JSON-serializable: {exc}") from None
    clean[META_KEY] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    return clean


def _write_npz(f, arrays):
    """``np.savez``'s format (one stored ``.npy`` member per array), written by hand so that an
    exception mid-write propagates as itself: closing the archive with a member still open (as
    ``np.savez``'s ``with`` block does on the way out) raises a ValueError that would hide it."""
    archive = zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True)
    try:
        for name, a in arrays.items():
            with archive.open(name + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(a), allow_pickle=False)
    except BaseException:
        archive.fp = None  # abandon the archive (the caller deletes the file): closing would raise
        raise
    archive.close()


def _current_umask():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)  # no /proc: read it by setting it (briefly process-wide)
    os.umask(old)
    return old


def _mode_for(path):
    """The permission bits the saved file gets: the replaced file's, else 0o666 less the umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~_current_umask()


_TEMP_SUFFIX = re.compile(r"[a-z0-9_]{8}\.tmp")  # mkstemp's 8 random characters


def remove_stale_temporaries(directory, base):
    """Delete the temporaries that killed saves to ``directory/base`` left behind.

    Only regular files named as this module names its temporaries, owned by this user, older
    than ``STALE_TEMPORARY_SECONDS`` and not locked by a running save are removed; returns
    their names.  Errors are ignored: cleaning up never makes a save fail.
    """
    prefix = "." + base + "."
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        name = entry.name
        if not name.startswith(prefix) or not _TEMP_SUFFIX.fullmatch(name[len(prefix):]):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if (not stat.S_ISREG(st.st_mode) or now - st.st_mtime < STALE_TEMPORARY_SECONDS
                    or (hasattr(os, "getuid") and st.st_uid != os.getuid())):
                continue
            fd = os.open(entry.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            continue
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # a live save holds it
            if os.fstat(fd).st_ino == st.st_ino:
                os.remove(entry.path)
                removed.append(name)
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed


def _fsync_directory(directory):
    """Make the rename itself durable (best effort: not every platform can open a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load_state(path, check=None):
    """Read a file written by :func:`save_state` (a path or an open binary file): returns ``(arrays, meta)``.

    Raises :class:`CheckpointError` naming the file on any problem; never unpickles anything.
    ``check(stubs, meta)``, if given, is called after the metadata and every member's ``.npy``
    header are read and before any array is inflated: ``stubs`` maps each name to a zero-stride
    array of the declared shape and dtype (no memory), so a caller can refuse a file that does
    not fit (raising CheckpointError) before it costs memory.
    """
    if hasattr(path, "read"):  # an open binary file object
        source, path = path, getattr(path, "name", "<file object>")
        start = source.tell()
        head = source.read(6)
        source.seek(start)
    else:
        source = path = os.fspath(path)
        if not os.path.exists(path):
            raise CheckpointError(f"{path}: no such file", path)
        head = None
    try:
        if head is None:
            with open(path, "rb") as f:
                head = f.read(6)
        if head == b"\x93NUMPY":
            raise CheckpointError(f"{path}: not a tinydl checkpoint (a single .npy array, not an .npz archive)", path)
        with zipfile.ZipFile(source) as archive:
            members = _members(archive, path)
            if META_KEY not in members:
                raise CheckpointError(f"{path}: not a tinydl checkpoint (no {META_KEY} entry; was it written "
                                      "by tinydl.io.save_state / model.save_weights?)", path)
            if members[META_KEY].file_size > MAX_META_BYTES:
                raise CheckpointError(f"{path}: the {META_KEY} entry declares {members[META_KEY].file_size} "
                                      f"bytes, more than metadata ever needs ({MAX_META_BYTES})", path)
            raw = _read_member(archive, members[META_KEY], META_KEY, path)
            doc = _parse_meta(raw, path)
            sums = doc.get("sha256")
            names = sorted(k for k in members if k != META_KEY)
            if not isinstance(sums, dict) or sorted(sums) != names:
                raise CheckpointError(f"{path}: the metadata lists arrays "
                                      f"{sorted(sums) if isinstance(sums, dict) else sums} but the file holds "
                                      f"{names}; the file is corrupted", path)
            headers = {name: _member_header(archive, members[name], name, path) for name in names}
            meta = doc.get("meta")
            meta = meta if isinstance(meta, dict) else {}
            if check is not None:
                check({name: _stub(shape, dtype) for name, (shape, dtype, _) in headers.items()}, meta)
            arrays = {name: _read_member(archive, members[name], name, path) for name in names}
    except CheckpointError:
        raise
    except Exception as exc:  # noqa: BLE001 - zip, zlib, header errors: all mean "bad file"
        raise CheckpointError(f"{path}: cannot read the checkpoint ({_describe(exc)}); the file is "
                              "truncated, corrupted or not a tinydl checkpoint", path) from exc
    for name, a in arrays.items():
        if _digest(a) != sums[name]:
            raise CheckpointError(f"{path}: the content of {name!r} does not match its SHA-256; "
                                  "the file is corrupted", path)
    return arrays, meta


def _members(archive, path):
    """name -> ZipInfo for every member, after checking each is a plain, sized ``.npy`` entry."""
    members = {}
    for info in archive.infolist():
        name = info.filename
        kind = stat.S_IFMT(info.external_attr >> 16)
        if info.is_dir() or kind not in (0, stat.S_IFREG):
            raise CheckpointError(f"{path}: member {name!r} is not a regular file (a symlink or a "
                                  "directory); refused", path)
        if not name.endswith(".npy"):
            raise CheckpointError(f"{path}: member {name!r} is not a .npy array; refused", path)
        if info.flag_bits & 0x1:
            raise CheckpointError(f"{path}: member {name!r} is encrypted; refused", path)
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise CheckpointError(f"{path}: member {name!r} uses compression method "
                                  f"{info.compress_type}; only stored and deflated members are read", path)
        limit = info.compress_size if info.compress_type == zipfile.ZIP_STORED else \
            info.compress_size * _DEFLATE_MAX_RATIO + 1024
        if info.file_size > limit:
            raise CheckpointError(f"{path}: member {name!r} declares {info.file_size} bytes from "
                                  f"{info.compress_size} compressed bytes, which is impossible; refused", path)
        key = name[:-len(".npy")]
        if key in members:
            raise CheckpointError(f"{path}: member {name!r} appears twice; refused", path)
        members[key] = info
    return members


def _header(f, name, path):
    """``(shape, dtype, fortran_order)`` from an open ``.npy`` member, after its sanity checks."""
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
    else:
        raise CheckpointError(f"{path}: member {name!r} has .npy format version {version}", path)
    if dtype.hasobject:
        raise CheckpointError(f"{path}: entry {name!r} is an object array (it contains pickled Python "
                              "objects, which tinydl never loads); refused", path)
    if dtype.kind not in "biufc" or dtype.fields is not None or dtype.subdtype is not None:
        raise CheckpointError(f"{path}: entry {name!r} has dtype {dtype}; only numeric arrays are read", path)
    return tuple(int(n) for n in shape), dtype, bool(fortran)


def _member_header(archive, info, name, path):
    """The member's header, checked against its declared (uncompressed) size."""
    with archive.open(info) as f:
        shape, dtype, fortran = _header(f, name, path)
        offset = f.tell()
    nbytes = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
    if offset + nbytes != info.file_size:
        raise CheckpointError(f"{path}: entry {name!r} declares shape {shape} of {dtype} ({nbytes} bytes) "
                              f"but its member holds {info.file_size - offset}; the file is corrupted", path)
    return shape, dtype, fortran


def _read_member(archive, info, name, path):
    """Inflate one member into a new array, never past its declared size."""
    shape, dtype, fortran = _member_header(archive, info, name, path)
    out = np.empty(math.prod(shape), dtype=dtype)
    view = out.view(np.uint8)
    with archive.open(info) as f:
        _header(f, name, path)
        done = 0
        while done < view.size:
            chunk = f.read(min(_READ_CHUNK, view.size - done))
            if not chunk:
                raise CheckpointError(f"{path}: entry {name!r} ends early; the file is truncated", path)
            view[done:done + len(chunk)] = np.frombuffer(chunk, np.uint8)
            done += len(chunk)
        if f.read(1):  # the end: zipfile checks the CRC here
            raise CheckpointError(f"{path}: entry {name!r} holds more data than it declares", path)
    if dtype.byteorder not in ("=", "|"):
        out = out.astype(dtype.newbyteorder("="))
    return out.reshape(shape, order="F" if fortran else "C")


def _stub(shape, dtype):
    """An array of ``shape`` and ``dtype`` that uses one element of memory (all strides 0)."""
    return np.lib.stride_tricks.as_strided(np.zeros(1, dtype), shape, (0,) * len(shape), writeable=False)


def _parse_meta(raw, path):
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise CheckpointError(f"{path}: the {META_KEY} entry is not a uint8 byte string", path)
    try:
        doc = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CheckpointError(f"{path}: the metadata is not valid JSON ({exc}); the file is corrupted", path) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a tinydl checkpoint (metadata format tag is "
                              f"{doc.get('format') if isinstance(doc, dict) else None!r})", path)
    if doc.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {doc.get('version')!r}, this tinydl "
                              f"reads version {VERSION}", path)
    return doc


def _describe(exc):
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, zipfile.BadZipFile) or "zip" in type(exc).__name__.lower():
        kind = "not a valid zip archive"
    elif "pickle" in text.lower() or "object arrays" in text.lower():
        kind = "it contains pickled Python objects, which tinydl never loads"
    else:
        kind = type(exc).__name__
    return f"{kind}: {text}" if text else kind


# ---- model weights ---------------------------------------------------------------------------------

def _state_dict_of(model):
    return model.state_dict()


def save_weights(path, model, meta=None):
    """Save ``model.state_dict()`` to ``path`` (atomically)."""
    info = {"kind": "weights", "model": getattr(model, "name", type(model).__name__),
            "model_class": type(model).__name__}
    info.update(meta or {})
    save_state(path, _state_dict_of(model), info)


def _owner_of(model, key):
    """'conv2d (Conv2D)' for a state_dict key, to make error messages point at the layer."""
    prefix = key.rsplit(".", 1)[0] if "." in key else ""
    for name, m in model.named_modules():
        if name == prefix:
            return f"layer '{getattr(m, 'name', name)}' ({type(m).__name__})"
    return "the model"


def check_state_dict(model, state, path="<memory>"):
    """Check that ``state`` fits ``model`` exactly (names, shapes, dtype kinds); raise CheckpointError otherwise."""
    own = _state_dict_of(model)
    missing = [k for k in own if k not in state]
    extra = [k for k in state if k not in own]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {missing[:8]}{' ...' if len(missing) > 8 else ''}")
        if extra:
            parts.append(f"unexpected {extra[:8]}{' ...' if len(extra) > 8 else ''}")
        raise CheckpointError(
            f"{path}: the weights do not fit model '{getattr(model, 'name', '?')}': "
            f"{'; '.join(parts)} (the file has {len(state)} entries, the model {len(own)}); "
            "was it saved from a different architecture?", path)
    for k, mine in own.items():
        theirs = np.asarray(state[k])
        if theirs.shape != mine.shape:
            raise CheckpointError(
                f"{path}: '{k}' of {_owner_of(model, k)} has shape {theirs.shape} in the file, "
                f"the model expects {mine.shape}; was it saved from a different architecture?", path)
        if theirs.dtype.kind != mine.dtype.kind or theirs.dtype.kind not in "biuf":
            raise CheckpointError(
                f"{path}: '{k}' of {_owner_of(model, k)} has dtype {theirs.dtype} in the file, "
                f"the model expects {mine.dtype}", path)


def _weights_in(arrays, meta):
    if meta.get("kind") == "checkpoint":
        return {k[len("model/"):]: v for k, v in arrays.items() if k.startswith("model/")}
    return arrays


def load_weights(path, model):
    """Load weights saved by :func:`save_weights`; ``model`` is unchanged unless everything fits.
    Names, shapes and dtypes are checked against the model before any array is inflated."""
    path = os.fspath(path)
    arrays, meta = load_state(path, check=lambda stubs, meta: check_state_dict(model, _weights_in(stubs, meta), path))
    arrays = _weights_in(arrays, meta)
    check_state_dict(model, arrays, path)
    model.load_state_dict(arrays)
    return meta


# ---- full training checkpoints -----------------------------------------------------------------------

def _flatten(obj, prefix, arrays):
    """JSON skeleton of ``obj`` with every array moved into ``arrays`` under a path-like key."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if isinstance(k, int) and not isinstance(k, bool):
                k = str(k)  # an optimizer state_dict's parameter indices; load_state_dict takes either
            if not isinstance(k, str):
                raise TypeError(f"checkpoint: dict keys must be strings, got {k!r} at {prefix}")
            out[k] = _flatten(v, f"{prefix}/{k}", arrays)
        return out
    if isinstance(obj, (list, tuple)):
        return [_flatten(v, f"{prefix}/{i}", arrays) for i, v in enumerate(obj)]
    if hasattr(obj, "shape") and hasattr(obj, "dtype") and not isinstance(obj, np.generic):
        arrays[prefix] = np.asarray(obj.get() if hasattr(obj, "get") else obj)
        return {"__array__": prefix}
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"checkpoint: cannot store a {type(obj).__name__} at {prefix} "
                    "(use numbers, strings, lists, dicts and numpy arrays)")


def _unflatten(obj, arrays, path):
    if isinstance(obj, dict):
        if set(obj) == {"__array__"}:
            key = obj["__array__"]
            if key not in arrays:
                raise CheckpointError(f"{path}: the metadata refers to a missing array {key!r}", path)
            return arrays[key]
        return {k: _unflatten(v, arrays, path) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_unflatten(v, arrays, path) for v in obj]
    return obj


def _bound_optimizer(model, optimizer):
    """``optimizer``, bound to the model's parameters first if it is a tinydl.keras optimizer that
    has not seen them yet (a fresh model that is resumed before its first step)."""
    if optimizer is not None and getattr(optimizer, "inner", False) is None and hasattr(optimizer, "build"):
        optimizer.build(model.parameters())
    return optimizer


def save_checkpoint(path, model, optimizer=None, extra=None, step=None, epoch=None):
    """Save weights, optimizer state, tinydl's RNG state, counters and ``extra`` to ``path``.

    ``optimizer`` defaults to ``model.optimizer`` when the model was compiled (tinydl.keras).
    ``extra``: anything JSON-able, numpy arrays allowed anywhere inside it.
    """
    from .core import random as trandom

    if optimizer is None:
        optimizer = getattr(model, "optimizer", None)
    optimizer = _bound_optimizer(model, optimizer)
    arrays = {f"model/{k}": v for k, v in _state_dict_of(model).items()}
    opt_doc = None
    if optimizer is not None:
        opt_doc = _flatten(optimizer.state_dict(), "optimizer", arrays)
    extra_doc = _flatten(extra, "extra", arrays) if extra is not None else None
    meta = {"kind": "checkpoint", "model": getattr(model, "name", type(model).__name__),
            "model_class": type(model).__name__, "optimizer": opt_doc,
            "optimizer_class": type(optimizer).__name__ if optimizer is not None else None,
            "rng_state": trandom.get_rng_state(), "step": step, "epoch": epoch, "extra": extra_doc}
    save_state(path, arrays, meta)


def _check_rng_state(state, path):
    """Refuse an RNG state that tinydl's generator cannot take, without touching the generator."""
    from .core import random as trandom

    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: the checkpoint has no RNG state", path)
    current = trandom.get_rng().bit_generator
    kind = type(current).__name__
    if state.get("bit_generator") != kind:
        raise CheckpointError(f"{path}: the RNG state is for the generator {state.get('bit_generator')!r}, "
                              f"tinydl uses {kind}", path)
    try:
        type(current)().state = state  # a throw-away generator of the same kind takes it first
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise CheckpointError(f"{path}: the RNG state is invalid ({exc})", path) from None


def load_checkpoint(path, model, optimizer=None, restore_rng=True):
    """Restore what :func:`save_checkpoint` wrote into ``model`` (and ``optimizer``).

    Everything is validated before anything is changed: a checkpoint that does not fit leaves the
    model, the optimizer and the RNG as they were. Returns ``{"step", "epoch", "extra", "meta"}``.
    """
    from .core import random as trandom

    path = os.fspath(path)
    if optimizer is None:
        optimizer = getattr(model, "optimizer", None)

    def check(stubs, meta):  # before anything is inflated
        if meta.get("kind") != "checkpoint":
            raise CheckpointError(f"{path}: this is a {meta.get('kind', 'plain')!r} file, not a training "
                                  "checkpoint (use load_weights for weights files)", path)
        check_state_dict(model, _weights_in(stubs, meta), path)
        if optimizer is not None and meta.get("optimizer") is None:
            raise CheckpointError(f"{path}: the checkpoint has no optimizer state", path)
        if restore_rng:
            _check_rng_state(meta.get("rng_state"), path)

    arrays, meta = load_state(path, check=check)
    check(arrays, meta)
    weights = _weights_in(arrays, meta)
    optimizer = _bound_optimizer(model, optimizer)
    opt_state = meta.get("optimizer")
    rng_state = meta.get("rng_state")

    # everything is validated; now change things (the optimizer validates its state itself first)
    if optimizer is not None:
        state = _unflatten(opt_state, arrays, path)
        try:
            optimizer.load_state_dict(state)  # validates before changing anything
        except (ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(f"{path}: the optimizer state does not fit: {exc}", path) from exc
    model.load_state_dict(weights)
    if restore_rng:
        trandom.set_rng_state(rng_state)
    return {"step": meta.get("step"), "epoch": meta.get("epoch"),
            "extra": _unflatten(meta.get("extra"), arrays, path), "meta": meta}
