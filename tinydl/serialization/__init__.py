"""``tinydl.save`` / ``tinydl.load``: PyTorch's ``torch.save`` / ``torch.load`` without pickle.

``save(obj, f)`` writes tinydl's format (``native.py``: a zip of ``.npy`` arrays and a JSON tree,
checksummed, written atomically to a path or to an open binary file) for tensors, numpy arrays,
numbers, strings, None and lists/tuples/dicts/OrderedDicts of them: state_dicts, optimizer
state_dicts, checkpoints made of those.

``load(f)`` reads that format, and also real PyTorch files (``pt_reader.py``: the zip format and
the legacy one) through a restricted unpickler that rebuilds only tensors and plain containers
and refuses every other global with :class:`UnsafeFileError`. Tensors come back as tinydl Tensors
on the device they were saved from, or where ``map_location`` says (``'cpu'``, ``'cuda'``/``'gpu'``,
a ``torch.device``-like object, or a dict from saved location to new one).

>>> import io, numpy as np, tinydl
>>> buf = io.BytesIO()
>>> tinydl.save({"w": tinydl.Tensor(np.ones((2, 2), np.float32)), "epoch": 3}, buf)
>>> _ = buf.seek(0)
>>> back = tinydl.load(buf)
>>> back["w"].shape, back["epoch"]
((2, 2), 3)

safetensors files: ``tinydl.serialization.safetensors`` (``save_file``/``load_file``).
"""
import os
import zipfile

from ..core.tensor import Tensor
from ..io import CheckpointError
from . import native, pt_reader, safetensors
from .pt_reader import UnsafeFileError

__all__ = ["save", "load", "UnsafeFileError", "CheckpointError", "safetensors"]


def save(obj, f, pickle_module=None, pickle_protocol=2, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False):
    """Save ``obj`` (tensors, arrays, numbers, strings, None, and lists/tuples/dicts of them) to ``f``
    (a path, written atomically, or an open binary file) in tinydl's format (no pickle)."""
    if pickle_module is not None:
        raise NotImplementedError("tinydl.save: pickle_module is not supported (tinydl never pickles)")
    native.save(obj, f)


def _device_name(location):
    text = str(location)
    if text == "cpu":
        return "cpu"
    if text in ("gpu", "cuda") or text.startswith("cuda:"):
        return "gpu"
    raise ValueError(f"tinydl.load: unknown device {text!r} in map_location or the file; expected 'cpu' or 'cuda'")


def _placer(map_location, label):
    if map_location is not None and not isinstance(map_location, (str, dict)) and callable(map_location):
        raise NotImplementedError("tinydl.load: map_location as a function is not supported; pass 'cpu', "
                                  "'cuda', a device or a dict")

    def place(array, location, requires_grad):
        saved = "cuda:0" if location == "gpu" else str(location)
        target = saved
        if isinstance(map_location, dict):
            target = map_location.get(saved, saved)
        elif map_location is not None:
            target = map_location
        device = _device_name(target)
        if device == "gpu":
            from ..backends import gpu_available
            if not gpu_available():
                raise RuntimeError(f"{label}: attempting to load a tensor onto a CUDA device ({saved}) but no GPU "
                                   "is available; pass map_location='cpu'")
        grad = requires_grad and array.dtype.kind in "fc"
        if device == "cpu":  # wrapped as it is: PyTorch's strides and shared storages are kept
            return Tensor._wrap(array, grad)
        return Tensor(array, requires_grad=grad, device=device)
    return place


def _head(f):
    if hasattr(f, "read"):
        start = f.tell()
        head = f.read(512)
        f.seek(start)
        return head
    with open(f, "rb") as fh:
        return fh.read(512)


def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None, **pickle_load_args):
    """Load what ``tinydl.save`` or ``torch.save`` wrote (see the module docstring).

    ``weights_only=False`` is accepted but changes nothing: tinydl never runs code from a file,
    so a PyTorch file that needs other globals is refused either way.
    """
    if pickle_module is not None:
        raise NotImplementedError("tinydl.load: pickle_module is not supported (tinydl never unpickles freely)")
    if mmap:
        raise NotImplementedError("tinydl.load: mmap=True is not supported")
    label = getattr(f, "name", "<file object>") if hasattr(f, "read") else os.fspath(f)
    if not hasattr(f, "read"):
        f = os.fspath(f)
        if not os.path.exists(f):
            raise FileNotFoundError(f"tinydl.load: {f}: no such file")
    place = _placer(map_location, label)
    head = _head(f)
    start = f.tell() if hasattr(f, "tell") else 0
    if head[:2] == b"PK":
        try:
            with zipfile.ZipFile(f) as archive:
                names = archive.namelist()
                if pt_reader.is_torch_zip(names):
                    obj, _ = pt_reader.load_zip(archive, label, _pt_maker(place, map_location))
                    return obj
        except zipfile.BadZipFile as exc:
            raise CheckpointError(f"{label}: not a valid zip archive ({exc})", label) from None
        finally:
            if hasattr(f, "seek"):
                f.seek(start)
        return native.load(f, place)
    if len(head) >= 262 and head[257:262] == b"ustar":
        raise NotImplementedError(f"tinydl.load: {label} is in PyTorch's tar format (PyTorch before 0.4), "
                                  "which tinydl does not read; re-save it with a recent PyTorch")
    if pt_reader.is_legacy(head):
        if hasattr(f, "read"):
            data = f.read()
        else:
            with open(f, "rb") as fh:
                data = fh.read()
        obj, _ = pt_reader.load_legacy(data, label, _pt_maker(place, map_location))
        return obj
    if len(head) >= 9 and head[8:9] == b"{":
        raise CheckpointError(f"{label}: this looks like a safetensors file; read it with "
                              "tinydl.serialization.safetensors.load_file", label)
    raise CheckpointError(f"{label}: not a file written by tinydl.save or torch.save", label)


def _pt_maker(place, map_location):
    # PyTorch files record a location per storage; the reader hands each tensor its storage's
    def make(array, requires_grad, location="cpu"):
        return place(array, location, requires_grad)
    return make
