"""Keras-named losses, in Keras's argument order ``loss(y_true, y_pred)``, on tinydl.nn.losses.

Classes (``SparseCategoricalCrossentropy(from_logits=False)``, ``CategoricalCrossentropy``,
``BinaryCrossentropy``, ``MeanSquaredError``, ``MeanAbsoluteError``) return a scalar Tensor that
backpropagates: the per-sample losses, times ``sample_weight`` if given, summed and divided by the
batch size (Keras's ``'sum_over_batch_size'``; ``reduction='sum'`` and ``'none'`` also work).

Functions (``sparse_categorical_crossentropy``, ``mean_squared_error``/``mse``, ...) return the
per-sample losses, shape ``(batch,)``, as Keras's functions do.

As in Keras, a softmax/sigmoid layer's output carries its logits and the cross-entropies use them,
so ``Dense(10, activation='softmax')`` + ``'sparse_categorical_crossentropy'`` is computed stably.

>>> import tinydl
>>> from tinydl.keras import losses
>>> y_pred = tinydl.Tensor([[0.5], [2.0]], requires_grad=True)
>>> loss = losses.MeanSquaredError()([[1.0], [1.0]], y_pred)
>>> loss.item(), losses.mse([[1.0], [1.0]], y_pred).tolist()
(0.625, [0.25, 1.0])
"""
import numpy as np

from ..core import functional as T
from ..core.tensor import Tensor, as_tensor
from ..nn import losses as _nl

__all__ = ["Loss", "SparseCategoricalCrossentropy", "CategoricalCrossentropy", "BinaryCrossentropy",
           "MeanSquaredError", "MeanAbsoluteError", "sparse_categorical_crossentropy",
           "categorical_crossentropy", "binary_crossentropy", "mean_squared_error", "mean_absolute_error",
           "mse", "mae", "MSE", "MAE", "get"]


def _per_sample(fn, y_true, y_pred, **kw):
    return fn(y_true, y_pred, reduction="none", **kw)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    """Per-sample cross-entropy against integer labels."""
    return _per_sample(_nl.sparse_categorical_crossentropy, y_true, y_pred, from_logits=from_logits)


def categorical_crossentropy(y_true, y_pred, from_logits=False):
    """Per-sample cross-entropy against one-hot (or soft) targets."""
    return _per_sample(_nl.categorical_crossentropy, y_true, y_pred, from_logits=from_logits)


def binary_crossentropy(y_true, y_pred, from_logits=False):
    """Per-sample binary cross-entropy (averaged over the last axis)."""
    return _per_sample(_nl.binary_crossentropy, y_true, y_pred, from_logits=from_logits)


def mean_squared_error(y_true, y_pred):
    """Per-sample mean squared error (averaged over the last axis)."""
    return _per_sample(_nl.mean_squared_error, y_true, y_pred)


def mean_absolute_error(y_true, y_pred):
    """Per-sample mean absolute error (averaged over the last axis)."""
    return _per_sample(_nl.mean_absolute_error, y_true, y_pred)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error

_REDUCTIONS = ("sum_over_batch_size", "auto", "mean", "sum", "none", None)


def reduce_loss(per_sample, sample_weight=None, reduction="sum_over_batch_size"):
    """Weight and reduce per-sample losses the Keras way (sum of weighted losses / batch size)."""
    per_sample = as_tensor(per_sample)
    if sample_weight is not None:
        w = np.asarray(sample_weight.numpy() if isinstance(sample_weight, Tensor) else sample_weight)
        w = w.astype(per_sample.dtype, copy=False)
        if w.ndim == per_sample.ndim + 1 and w.shape[-1] == 1:
            w = w[..., 0]
        if w.ndim and w.shape != per_sample.shape:
            raise ValueError(f"sample_weight has shape {w.shape}, the per-sample losses {tuple(per_sample.shape)}")
        per_sample = per_sample * Tensor(w, device=per_sample.device)
    if reduction in ("none", None):
        return per_sample
    if reduction == "sum":
        return T.sum(per_sample)
    if reduction in ("sum_over_batch_size", "auto", "mean"):
        return T.mean(per_sample) if per_sample.ndim else per_sample
    raise ValueError(f"unknown reduction {reduction!r}; expected one of {_REDUCTIONS}")


class Loss:
    """Base class: ``__call__(y_true, y_pred, sample_weight=None)`` -> scalar Tensor."""

    fn = None

    def __init__(self, reduction="sum_over_batch_size", name=None, **fn_kwargs):
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: unknown reduction {reduction!r}; expected one of {_REDUCTIONS}")
        self.reduction = reduction
        self.name = name or _snake(type(self).__name__)
        self.fn_kwargs = fn_kwargs

    def call(self, y_true, y_pred):
        return type(self).fn(y_true, y_pred, **self.fn_kwargs)

    def __call__(self, y_true, y_pred, sample_weight=None):
        return reduce_loss(self.call(y_true, y_pred), sample_weight, self.reduction)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, **self.fn_kwargs}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.fn_kwargs.items())
        return f"{type(self).__name__}({args})"


def _snake(name):
    import re
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


class SparseCategoricalCrossentropy(Loss):
    fn = staticmethod(sparse_categorical_crossentropy)

    def __init__(self, from_logits=False, reduction="sum_over_batch_size", name="sparse_categorical_crossentropy"):
        super().__init__(reduction, name, from_logits=from_logits)


class CategoricalCrossentropy(Loss):
    fn = staticmethod(categorical_crossentropy)

    def __init__(self, from_logits=False, reduction="sum_over_batch_size", name="categorical_crossentropy"):
        super().__init__(reduction, name, from_logits=from_logits)


class BinaryCrossentropy(Loss):
    fn = staticmethod(binary_crossentropy)

    def __init__(self, from_logits=False, reduction="sum_over_batch_size", name="binary_crossentropy"):
        super().__init__(reduction, name, from_logits=from_logits)


class MeanSquaredError(Loss):
    fn = staticmethod(mean_squared_error)

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error"):
        super().__init__(reduction, name)


class MeanAbsoluteError(Loss):
    fn = staticmethod(mean_absolute_error)

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error"):
        super().__init__(reduction, name)


class LossFunctionWrapper(Loss):
    """A plain function ``f(y_true, y_pred)`` (per-sample or scalar Tensor) used as a Loss."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None):
        super().__init__(reduction, name or getattr(fn, "__name__", "loss"))
        self._fn = fn

    def call(self, y_true, y_pred):
        return self._fn(y_true, y_pred)


_BY_NAME = {
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
}
_FUNCTIONS = {sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
              categorical_crossentropy: CategoricalCrossentropy, binary_crossentropy: BinaryCrossentropy,
              mean_squared_error: MeanSquaredError, mean_absolute_error: MeanAbsoluteError}


def get(identifier):
    """A Loss from a name (``'sparse_categorical_crossentropy'``, ``'mse'``, ...), a Loss object,
    a class, or a function ``f(y_true, y_pred)``."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier)
        if cls is None:
            raise ValueError(f"unknown loss {identifier!r}; known: {sorted(set(_BY_NAME))}")
        loss = cls()
        loss.name = identifier if identifier in ("mse", "mae") else loss.name
        return loss
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        cls = _FUNCTIONS.get(identifier)
        return cls() if cls is not None else LossFunctionWrapper(identifier)
    raise ValueError(f"cannot interpret {identifier!r} as a loss")
