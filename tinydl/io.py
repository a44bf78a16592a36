"""Saving and loading weights and training checkpoints: plain ``.npz`` files, written atomically.

File format: a zip archive written by ``np.savez`` holding one ``.npy`` entry per array plus one
entry ``__meta__``: the UTF-8 bytes of a JSON document stored as a uint8 array. The JSON holds
the format tag, the caller's metadata and the SHA-256 of every array's bytes. Nothing is pickled:
files are always opened with ``allow_pickle=False``, so loading a file cannot run code.

Writing goes to a temporary file in the destination directory, which is flushed and fsynced and
then renamed over the destination with ``os.replace`` (atomic on POSIX and Windows): a crash or
an error mid-save leaves the previous file as it was.

Every failure to read a file (missing, truncated, corrupted, not a zip, object arrays, no or bad
metadata, a checksum mismatch) raises :class:`CheckpointError` (a ``ValueError``) naming the file.

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
import os
import tempfile
import zipfile

import numpy as np

__all__ = ["CheckpointError", "save_state", "load_state", "save_weights", "load_weights",
           "check_state_dict", "save_checkpoint", "load_checkpoint"]

FORMAT = "tinydl-state"
VERSION = 1
META_KEY = "__meta__"


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
    path = os.fspath(path)
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

    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **clean)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(directory)


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


def load_state(path):
    """Read a file written by :func:`save_state`: returns ``(arrays, meta)``.

    Raises :class:`CheckpointError` naming the file on any problem; never unpickles anything.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise CheckpointError(f"{path}: no such file", path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            if not hasattr(npz, "files"):
                raise CheckpointError(f"{path}: not a tinydl checkpoint (a single .npy array, not an .npz archive)", path)
            names = list(npz.files)
            if META_KEY not in names:
                raise CheckpointError(f"{path}: not a tinydl checkpoint (no {META_KEY} entry; was it written "
                                      "by tinydl.io.save_state / model.save_weights?)", path)
            raw = npz[META_KEY]
            arrays = {name: npz[name] for name in names if name != META_KEY}
    except CheckpointError:
        raise
    except Exception as exc:  # noqa: BLE001 - zip, zlib, header, pickle refusals: all mean "bad file"
        raise CheckpointError(f"{path}: cannot read the checkpoint ({_describe(exc)}); the file is "
                              "truncated, corrupted or not a tinydl checkpoint", path) from exc

    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise CheckpointError(f"{path}: the {META_KEY} entry is not a uint8 byte string", path)
    try:
        doc = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CheckpointError(f"{path}: the metadata is not valid JSON ({exc}); the file is corrupted", path) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a tinydl checkpoint (metadata format tag is "
                              f"{doc.get('format') if isinstance(doc, dict) else None!r})", path)
    if doc.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {doc.get('version')!r}, this tinydl "
                              f"reads version {VERSION}", path)
    sums = doc.get("sha256")
    if not isinstance(sums, dict) or set(sums) != set(arrays):
        raise CheckpointError(f"{path}: the metadata lists arrays {sorted(sums) if isinstance(sums, dict) else sums} "
                              f"but the file holds {sorted(arrays)}; the file is corrupted", path)
    for name, a in arrays.items():
        if a.dtype.hasobject:
            raise CheckpointError(f"{path}: entry {name!r} is an object array; refused", path)
        if _digest(a) != sums[name]:
            raise CheckpointError(f"{path}: the content of {name!r} does not match its SHA-256; "
                                  "the file is corrupted", path)
    meta = doc.get("meta")
    return arrays, (meta if isinstance(meta, dict) else {})


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


def load_weights(path, model):
    """Load weights saved by :func:`save_weights`; ``model`` is unchanged unless everything fits."""
    arrays, meta = load_state(path)
    if meta.get("kind") == "checkpoint":
        arrays = {k[len("model/"):]: v for k, v in arrays.items() if k.startswith("model/")}
    check_state_dict(model, arrays, os.fspath(path))
    model.load_state_dict(arrays)
    return meta


# ---- full training checkpoints -----------------------------------------------------------------------

def _flatten(obj, prefix, arrays):
    """JSON skeleton of ``obj`` with every array moved into ``arrays`` under a path-like key."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
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


def load_checkpoint(path, model, optimizer=None, restore_rng=True):
    """Restore what :func:`save_checkpoint` wrote into ``model`` (and ``optimizer``).

    Everything is validated before anything is changed: a checkpoint that does not fit leaves the
    model, the optimizer and the RNG as they were. Returns ``{"step", "epoch", "extra", "meta"}``.
    """
    from .core import random as trandom

    path = os.fspath(path)
    arrays, meta = load_state(path)
    if meta.get("kind") != "checkpoint":
        raise CheckpointError(f"{path}: this is a {meta.get('kind', 'plain')!r} file, not a training "
                              "checkpoint (use load_weights for weights files)", path)
    weights = {k[len("model/"):]: v for k, v in arrays.items() if k.startswith("model/")}
    check_state_dict(model, weights, path)
    if optimizer is None:
        optimizer = getattr(model, "optimizer", None)
    optimizer = _bound_optimizer(model, optimizer)
    opt_state = meta.get("optimizer")
    if optimizer is not None and opt_state is None:
        raise CheckpointError(f"{path}: the checkpoint has no optimizer state", path)
    rng_state = meta.get("rng_state")
    if restore_rng and not isinstance(rng_state, dict):
        raise CheckpointError(f"{path}: the checkpoint has no RNG state", path)

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
