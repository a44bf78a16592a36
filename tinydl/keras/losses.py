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
           "mse", "mae", "MSE", "MAE", "get", "Huber", "KLDivergence", "CosineSimilarity", "Hinge", "SquaredHinge",
           "CategoricalHinge", "LogCosh", "Poisson", "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError",
           "huber", "kl_divergence", "cosine_similarity", "hinge", "squared_hinge", "categorical_hinge", "log_cosh",
           "poisson", "mean_absolute_percentage_error", "mean_squared_logarithmic_error", "mape", "msle", "kld",
           "logcosh", "LossFunctionWrapper"]


def _per_sample(fn, y_true, y_pred, **kw):
    return fn(y_true, y_pred, reduction="none", **kw)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    """Per-sample cross-entropy against integer labels. Probabilities (not a softmax layer's
    output, which keeps its logits) are first divided by their sum, as Keras does: the gradient
    then reaches every class, not only the labelled one."""
    if not from_logits:
        from ..nn.logits import logits_of
        y_pred = as_tensor(y_pred)
        if logits_of(y_pred, "softmax") is None and y_pred.ndim >= 1:
            y_pred = y_pred / T.sum(y_pred, axis=-1, keepdims=True)
    return _per_sample(_nl.sparse_categorical_crossentropy, y_true, y_pred, from_logits=from_logits)


def _targets(y_true):
    return y_true.detach().numpy() if isinstance(y_true, Tensor) else np.asarray(y_true)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Per-sample cross-entropy against one-hot (or soft) targets; ``label_smoothing`` mixes
    the targets with the uniform distribution: ``y * (1 - ls) + ls / classes``."""
    if axis not in (-1, T._t(y_pred).ndim - 1):
        raise NotImplementedError(f"categorical_crossentropy: axis={axis!r} (only the last axis)")
    if label_smoothing:
        y = _targets(y_true)
        if y.dtype.kind in "iub":
            y = y.astype(np.float32)
        y_true = y * (1 - label_smoothing) + label_smoothing / y.shape[-1]
    return _per_sample(_nl.categorical_crossentropy, y_true, y_pred, from_logits=from_logits)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Per-sample binary cross-entropy (averaged over the last axis); ``label_smoothing``
    moves the targets towards 1/2: ``y * (1 - ls) + ls / 2``."""
    if axis not in (-1, T._t(y_pred).ndim - 1):
        raise NotImplementedError(f"binary_crossentropy: axis={axis!r} (only the last axis)")
    if label_smoothing:
        y = _targets(y_true).astype(np.float32)
        y_true = y * (1 - label_smoothing) + 0.5 * label_smoothing
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
        w = np.asarray(sample_weight.detach().numpy() if isinstance(sample_weight, Tensor) else sample_weight)
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

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="categorical_crossentropy"):
        super().__init__(reduction, name, from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class BinaryCrossentropy(Loss):
    fn = staticmethod(binary_crossentropy)

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="binary_crossentropy"):
        super().__init__(reduction, name, from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class MeanSquaredError(Loss):
    fn = staticmethod(mean_squared_error)

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error"):
        super().__init__(reduction, name)


class MeanAbsoluteError(Loss):
    fn = staticmethod(mean_absolute_error)

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error"):
        super().__init__(reduction, name)


# ---- the other Keras losses: per-sample functions made of core ops ------------------------------
_EPS = 1e-7  # Keras's backend.epsilon()


def _pair(y_true, y_pred, name):
    from ..nn.losses import _float_pair
    return _float_pair(y_true, y_pred, name)


def _last_mean(x):
    return T.mean(x, axis=-1) if x.ndim > 1 else x


def huber(y_true, y_pred, delta=1.0):
    """Per-sample Huber loss: 0.5 e^2 where |e| <= delta, delta (|e| - delta / 2) beyond."""
    y_true, y_pred = _pair(y_true, y_pred, "huber")
    e = T.abs(y_pred - y_true)
    quad = T.minimum(e, delta)
    return _last_mean(quad * quad * 0.5 + (e - quad) * delta)


def kl_divergence(y_true, y_pred):
    """``sum(y_true * log(y_true / y_pred))`` over the last axis, both clipped to [1e-7, 1]."""
    y_true, y_pred = _pair(y_true, y_pred, "kl_divergence")
    t, p = T.clip(y_true, _EPS, 1.0), T.clip(y_pred, _EPS, 1.0)
    return T.sum(t * T.log(t / p), axis=-1)


def _l2_normalize(x, axis):
    return x / T.sqrt(T.maximum(T.sum(x * x, axis=axis, keepdims=True), 1e-12))


def cosine_similarity(y_true, y_pred, axis=-1):
    """``-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)`` (Keras's loss is the negative)."""
    y_true, y_pred = _pair(y_true, y_pred, "cosine_similarity")
    return -T.sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis)


def _hinge_labels(y_true):
    """Keras maps {0, 1} labels to {-1, 1} (labels already in {-1, 1} are kept)."""
    y = y_true.detach().numpy()
    if np.all((y == 0) | (y == 1)):
        return Tensor(2 * y - 1, device=y_true.device)
    return y_true


def hinge(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred, "hinge")
    return _last_mean(T.relu(1.0 - _hinge_labels(y_true) * y_pred))


def squared_hinge(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred, "squared_hinge")
    h = T.relu(1.0 - _hinge_labels(y_true) * y_pred)
    return _last_mean(h * h)


def categorical_hinge(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred, "categorical_hinge")
    pos = T.sum(y_true * y_pred, axis=-1)
    neg = T.max((1.0 - y_true) * y_pred, axis=-1)
    return T.relu(neg - pos + 1.0)


def log_cosh(y_true, y_pred):
    """``mean(log(cosh(e)))`` computed as ``e + softplus(-2 e) - log 2`` (finite for large e)."""
    from ..nn.activations import softplus
    y_true, y_pred = _pair(y_true, y_pred, "log_cosh")
    e = y_pred - y_true
    return _last_mean(e + softplus(e * -2.0) - float(np.log(2.0)))


def poisson(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred, "poisson")
    return _last_mean(y_pred - y_true * T.log(y_pred + _EPS))


def mean_absolute_percentage_error(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred, "mean_absolute_percentage_error")
    denom = Tensor(np.maximum(np.abs(y_true.detach().numpy()), _EPS), device=y_pred.device)
    return _last_mean(T.abs((y_true - y_pred) / denom)) * 100.0


def mean_squared_logarithmic_error(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred, "mean_squared_logarithmic_error")
    d = T.log(T.maximum(y_pred, _EPS) + 1.0) - T.log(T.maximum(y_true, _EPS) + 1.0)
    return _last_mean(d * d)


mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh


def _loss_class(name, fn, doc, **defaults):
    def __init__(self, *args, reduction="sum_over_batch_size", name=name, **kwargs):
        params = dict(defaults)
        for key, value in zip(defaults, args):
            params[key] = value
        unknown = set(kwargs) - set(defaults)
        if unknown:
            raise TypeError(f"{cls.__name__}: unexpected argument(s) {sorted(unknown)}")
        params.update(kwargs)
        Loss.__init__(self, reduction, name, **params)
    cls = type(_camel(name), (Loss,), {"fn": staticmethod(fn), "__init__": __init__, "__doc__": doc})
    return cls


def _camel(snake):
    return {"kl_divergence": "KLDivergence", "log_cosh": "LogCosh"}.get(
        snake, "".join(w.capitalize() for w in snake.split("_")))


Huber = _loss_class("huber_loss", huber, "``Huber(delta=1.0)``.", delta=1.0)
Huber.__name__ = Huber.__qualname__ = "Huber"
KLDivergence = _loss_class("kl_divergence", kl_divergence, "``KLDivergence()``.")
CosineSimilarity = _loss_class("cosine_similarity", cosine_similarity, "``CosineSimilarity(axis=-1)``.", axis=-1)
Hinge = _loss_class("hinge", hinge, "``Hinge()``: labels in {-1, 1} (or {0, 1}, mapped).")
SquaredHinge = _loss_class("squared_hinge", squared_hinge, "``SquaredHinge()``.")
CategoricalHinge = _loss_class("categorical_hinge", categorical_hinge, "``CategoricalHinge()``.")
LogCosh = _loss_class("log_cosh", log_cosh, "``LogCosh()``.")
Poisson = _loss_class("poisson", poisson, "``Poisson()``.")
MeanAbsolutePercentageError = _loss_class("mean_absolute_percentage_error", mean_absolute_percentage_error,
                                          "``MeanAbsolutePercentageError()``.")
MeanSquaredLogarithmicError = _loss_class("mean_squared_logarithmic_error", mean_squared_logarithmic_error,
                                          "``MeanSquaredLogarithmicError()``.")


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
    "huber": Huber, "huber_loss": Huber, "kl_divergence": KLDivergence, "kld": KLDivergence, "KLD": KLDivergence,
    "kullback_leibler_divergence": KLDivergence, "cosine_similarity": CosineSimilarity, "hinge": Hinge,
    "squared_hinge": SquaredHinge, "categorical_hinge": CategoricalHinge, "log_cosh": LogCosh, "logcosh": LogCosh,
    "poisson": Poisson, "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError, "msle": MeanSquaredLogarithmicError,
    "MSLE": MeanSquaredLogarithmicError,
}
_FUNCTIONS = {sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
              categorical_crossentropy: CategoricalCrossentropy, binary_crossentropy: BinaryCrossentropy,
              mean_squared_error: MeanSquaredError, mean_absolute_error: MeanAbsoluteError, huber: Huber,
              kl_divergence: KLDivergence, cosine_similarity: CosineSimilarity, hinge: Hinge,
              squared_hinge: SquaredHinge, categorical_hinge: CategoricalHinge, log_cosh: LogCosh, poisson: Poisson,
              mean_absolute_percentage_error: MeanAbsolutePercentageError,
              mean_squared_logarithmic_error: MeanSquaredLogarithmicError}


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
