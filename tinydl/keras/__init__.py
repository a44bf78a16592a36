"""``tinydl.keras``: a thin tf.keras-shaped facade over tinydl.nn.

Change ``tensorflow`` to ``tinydl`` in a Keras program's imports and it runs::

    import tinydl as tf
    from tinydl.keras import layers, models
    model = tf.keras.Sequential([tf.keras.layers.Dense(units=1, input_shape=(1,))])

Submodules: ``layers`` (tinydl.nn's layers under their Keras names, ``Input``), ``models``
(``Sequential``, ``Model``), ``losses``, ``optimizers``, ``callbacks``, ``metrics``, ``datasets``,
``distribute`` (data-parallel ``fit`` over MPI); ``regularizers`` and ``initializers`` are
tinydl.nn's; ``utils`` has ``to_categorical``. Nothing here implements a layer a second time. A model's parts live by job: ``graph`` (Input and the
functional graph), ``models`` (the containers), ``training`` and ``data_adapter`` (compile, fit,
evaluate, predict), ``summary``, ``saving`` (weights and weight files).

>>> import tinydl as tf
>>> tf.keras.layers.Dense is tf.nn.Dense
True
>>> tf.keras.utils.to_categorical([0, 2], num_classes=3).tolist()
[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
"""
import sys
import types

import numpy as np

from . import layers, losses, metrics, optimizers, callbacks, datasets, models, distribute
from .layers import Input, InputLayer
from .models import Model, Sequential
from ..nn import regularizers, init as initializers
from .. import viz as _viz


def to_categorical(y, num_classes=None, dtype="float32"):
    """One-hot rows from integer class labels (Keras's ``utils.to_categorical``)."""
    y = np.asarray(y)
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y[..., 0]
    if y.size and (y.dtype.kind not in "iub" and not np.all(y == np.round(y))):
        raise ValueError("to_categorical: labels must be whole numbers")
    y = y.astype(np.int64)
    if num_classes is None:
        num_classes = int(y.max()) + 1 if y.size else 0
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"to_categorical: labels must be in [0, {num_classes}), got [{y.min()}, {y.max()}]")
    out = np.zeros(y.shape + (num_classes,), dtype=dtype)
    np.put_along_axis(out, y[..., None], 1, axis=-1)
    return out


def normalize(x, axis=-1, order=2):
    """Rows scaled to unit ``order``-norm (Keras's ``utils.normalize``)."""
    x = np.asarray(x, dtype=np.float32)
    norm = np.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    return x / np.where(norm == 0, 1, norm)


# `tinydl.keras.utils` as an importable module (`from tinydl.keras.utils import to_categorical`).
utils = types.ModuleType(__name__ + ".utils", "Keras's utils: to_categorical, normalize, plot_model.")
utils.to_categorical, utils.normalize = to_categorical, normalize
utils.plot_model = _viz.plot_model  # Keras's keras.utils.plot_model, drawn by tinydl.viz
sys.modules[utils.__name__] = utils

__all__ = ["distribute", "layers", "models", "losses", "metrics", "optimizers", "callbacks", "datasets", "regularizers",
           "initializers", "utils", "Input", "InputLayer", "Model", "Sequential"]
