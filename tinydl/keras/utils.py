"""``tinydl.keras.utils``: ``to_categorical``, ``normalize``, ``pad_sequences``,
``set_random_seed`` and ``plot_model`` (drawn by ``tinydl.viz``).

>>> from tinydl.keras.utils import pad_sequences
>>> pad_sequences([[1, 2, 3], [4]], maxlen=2).tolist()
[[2, 3], [0, 4]]
>>> pad_sequences([[1, 2, 3], [4]], padding="post", truncating="post").tolist()
[[1, 2, 3], [4, 0, 0]]
"""
import random

import numpy as np

from .. import viz as _viz

plot_model = _viz.plot_model  # Keras's keras.utils.plot_model


def to_categorical(x, num_classes=None):
    """One-hot rows (float32) from integer class labels (Keras's ``utils.to_categorical``); a
    trailing axis of size 1 is dropped."""
    y = np.asarray(x)
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y[..., 0]
    if y.size and (y.dtype.kind not in "iub" and not np.all(y == np.round(y))):
        raise ValueError("to_categorical: labels must be whole numbers")
    y = y.astype(np.int64)
    if num_classes is None:
        num_classes = int(y.max()) + 1 if y.size else 0
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"to_categorical: labels must be in [0, {num_classes}), got [{y.min()}, {y.max()}]")
    out = np.zeros(y.shape + (num_classes,), dtype="float32")
    np.put_along_axis(out, y[..., None], 1, axis=-1)
    return out


def normalize(x, axis=-1, order=2):
    """Scaled to unit ``order``-norm along ``axis`` (Keras's ``utils.normalize``); zero rows stay zero."""
    x = np.asarray(x.detach().numpy() if hasattr(x, "numpy") else x, dtype=np.float32)
    norm = np.atleast_1d(np.linalg.norm(x, ord=order, axis=axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0):
    """Keras's ``pad_sequences``: a list of sequences -> a (num_sequences, maxlen) array.

    ``maxlen`` defaults to the longest; longer sequences lose values at the start
    (``truncating='pre'``) or the end ('post'); shorter ones are padded with ``value`` before
    ('pre', the default) or after ('post')."""
    if padding not in ("pre", "post"):
        raise ValueError(f"pad_sequences: padding must be 'pre' or 'post', got {padding!r}")
    if truncating not in ("pre", "post"):
        raise ValueError(f"pad_sequences: truncating must be 'pre' or 'post', got {truncating!r}")
    if not hasattr(sequences, "__len__"):
        raise ValueError("pad_sequences: sequences must be a list of iterables")
    seqs = [np.asarray(s) for s in sequences]
    lengths = [len(s) if s.ndim else 1 for s in seqs]
    if maxlen is None:
        maxlen = max(lengths) if lengths else 0
    elif not isinstance(maxlen, (int, np.integer)) or maxlen < 0:
        raise ValueError(f"pad_sequences: maxlen must be a non-negative integer or None, got {maxlen!r}")
    sample_shape = next((s.shape[1:] for s in seqs if s.ndim and len(s)), ())
    is_str = np.issubdtype(np.dtype(dtype), np.str_) or np.dtype(dtype) == object
    if isinstance(value, str) and dtype != object and not is_str:
        raise ValueError(f"pad_sequences: dtype {dtype!r} cannot hold the string padding value {value!r}; "
                         "use dtype=object")
    out = np.full((len(seqs), maxlen) + sample_shape, value, dtype=dtype)
    for i, s in enumerate(seqs):
        if not lengths[i] or not maxlen:
            continue
        s = s.reshape((-1,) + sample_shape) if s.ndim else s.reshape((1,) + sample_shape)
        if s.shape[1:] != sample_shape:
            raise ValueError(f"pad_sequences: sequence {i} has element shape {s.shape[1:]}, expected {sample_shape}")
        trunc = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        if padding == "post":
            out[i, :len(trunc)] = trunc
        else:
            out[i, -len(trunc):] = trunc
    return out


def set_random_seed(seed):
    """Seed Python's ``random``, NumPy's global generator and tinydl's (``tinydl.manual_seed``)."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ValueError(f"set_random_seed: seed must be an integer, got {seed!r}")
    from ..core.random import manual_seed
    random.seed(int(seed))
    np.random.seed(int(seed) % 2 ** 32)
    manual_seed(int(seed))


from .stream_adapter import PyDataset, Sequence  # noqa: E402  (fit/evaluate/predict read them)

__all__ = ["to_categorical", "normalize", "pad_sequences", "set_random_seed", "plot_model", "PyDataset", "Sequence"]
