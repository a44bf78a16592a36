"""Keras-named metrics: stateful objects (``update_state`` / ``result`` / ``reset_state``) and
per-sample functions, computed on numpy arrays (metrics are not differentiated).

``'accuracy'`` in ``compile(metrics=[...])`` resolves as Keras resolves it: from the loss first
(sparse / categorical / binary cross-entropy), otherwise from the shapes: a single output unit
means binary accuracy (threshold 0.5), integer labels of lower rank (or a trailing 1) against
several outputs mean sparse categorical accuracy, anything else categorical accuracy.

>>> from tinydl.keras import metrics
>>> m = metrics.SparseCategoricalAccuracy()
>>> m.update_state([2, 1], [[0.1, 0.2, 0.7], [0.5, 0.4, 0.1]])
>>> m.result()
0.5
>>> m.update_state([0], [[0.9, 0.05, 0.05]])
>>> round(m.result(), 4)
0.6667
"""
import numpy as np

__all__ = ["Metric", "Mean", "MeanMetricWrapper", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy",
           "SparseCategoricalAccuracy", "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy",
           "MeanSquaredError", "MeanAbsoluteError", "RootMeanSquaredError", "Precision", "Recall",
           "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
           "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "mean_squared_error",
           "mean_absolute_error", "mse", "mae", "get", "resolve", "AUC", "F1Score", "FBetaScore"]


def __getattr__(name):
    # AUC, F1Score and FBetaScore live in metrics_curves (which imports Metric from here)
    if name in ("AUC", "F1Score", "FBetaScore"):
        return _curve_metrics()[name]
    raise AttributeError(f"module 'tinydl.keras.metrics' has no attribute {name!r}")


def _np(a):
    if hasattr(a, "numpy") and callable(a.numpy):
        a = a.detach().numpy()
    return np.asarray(a)


# ---- per-sample functions ----------------------------------------------------------------------

def binary_accuracy(y_true, y_pred, threshold=0.5):
    y_true, y_pred = _np(y_true), _np(y_pred)
    y_true = _match_rank(y_true, y_pred)
    # element-wise, as Keras 3 (Keras 2 averaged over the last axis); the metric averages all
    return (y_true == (y_pred > threshold).astype(y_true.dtype)).astype(np.float64)


def categorical_accuracy(y_true, y_pred):
    y_true, y_pred = _np(y_true), _np(y_pred)
    return (y_true.argmax(axis=-1) == y_pred.argmax(axis=-1)).astype(np.float64)


def sparse_categorical_accuracy(y_true, y_pred):
    y_true, y_pred = _np(y_true), _np(y_pred)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return (y_true.astype(np.int64) == y_pred.argmax(axis=-1)).astype(np.float64)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    return sparse_top_k_categorical_accuracy(_np(y_true).argmax(axis=-1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    y_true, y_pred = _np(y_true), _np(y_pred)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    k = min(k, y_pred.shape[-1])
    top = np.argpartition(-y_pred, k - 1, axis=-1)[..., :k]
    return (top == y_true.astype(np.int64)[..., None]).any(axis=-1).astype(np.float64)


def accuracy(y_true, y_pred):
    """Exact equality of values (Keras's ``Accuracy``), element-wise as Keras 3."""
    y_true, y_pred = _np(y_true), _np(y_pred)
    y_true = _match_rank(y_true, y_pred)
    return (y_true == y_pred).astype(np.float64)


def mean_squared_error(y_true, y_pred):
    y_true, y_pred = _np(y_true).astype(np.float64), _np(y_pred).astype(np.float64)
    d = _match_rank(y_true, y_pred) - y_pred
    return (d * d).mean(axis=-1) if d.ndim > 1 else d * d


def mean_absolute_error(y_true, y_pred):
    y_true, y_pred = _np(y_true).astype(np.float64), _np(y_pred).astype(np.float64)
    d = np.abs(_match_rank(y_true, y_pred) - y_pred)
    return d.mean(axis=-1) if d.ndim > 1 else d


mse = mean_squared_error
mae = mean_absolute_error


def _match_rank(y_true, y_pred):
    if y_true.shape != y_pred.shape:
        if y_true.shape + (1,) == y_pred.shape:
            return y_true[..., None]
        if y_true.shape == y_pred.shape + (1,):
            return y_true[..., 0]
    return y_true


# ---- stateful metric objects --------------------------------------------------------------------

class Metric:
    """Base class: ``update_state(y_true, y_pred, sample_weight=None)``, ``result()`` (a float),
    ``reset_state()``; calling the metric updates it and returns the result."""

    def __init__(self, name=None, dtype=None):
        self.name = name or _snake(type(self).__name__)
        self.reset_state()

    def reset_state(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None):  # pragma: no cover - abstract
        raise NotImplementedError

    def result(self):  # pragma: no cover - abstract
        raise NotImplementedError

    reset_states = property(lambda self: self.reset_state)  # Keras 2 spelling

    def __call__(self, y_true, y_pred, sample_weight=None):
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    def get_config(self):
        return {"name": self.name}

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} result={self.result():.4f}>"


def _snake(name):
    import re
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


class Mean(Metric):
    """The (weighted) mean of the values given to ``update_state(values, sample_weight=None)``."""

    def reset_state(self):
        self.total, self.count = 0.0, 0.0

    def update_state(self, values, sample_weight=None):
        values = _np(values).astype(np.float64)
        if sample_weight is None:
            self.total += float(values.sum())
            self.count += float(values.size)
        else:
            w = np.broadcast_to(_np(sample_weight).astype(np.float64).reshape(
                _np(sample_weight).shape + (1,) * max(values.ndim - _np(sample_weight).ndim, 0)), values.shape)
            self.total += float((values * w).sum())
            self.count += float(w.sum())

    def result(self):
        return self.total / self.count if self.count else 0.0


class MeanMetricWrapper(Mean):
    """Averages a per-sample function ``fn(y_true, y_pred, **kwargs)`` over all samples seen."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        self._fn, self._fn_kwargs = fn, kwargs
        super().__init__(name=name or getattr(fn, "__name__", "metric"))

    def update_state(self, y_true, y_pred, sample_weight=None):
        super().update_state(self._fn(y_true, y_pred, **self._fn_kwargs), sample_weight)


class Accuracy(MeanMetricWrapper):
    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name)


class BinaryAccuracy(MeanMetricWrapper):
    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(binary_accuracy, name, threshold=threshold)


class CategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name, k=k)


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None):
        super().__init__(sparse_top_k_categorical_accuracy, name, k=k)


class MeanSquaredError(MeanMetricWrapper):
    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name)


class MeanAbsoluteError(MeanMetricWrapper):
    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name)


class RootMeanSquaredError(MeanSquaredError):
    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name)

    def result(self):
        return float(np.sqrt(super().result()))


class _Confusion(Metric):
    """Counts over every element, thresholding predictions at ``thresholds`` (0.5), as Keras."""

    def __init__(self, thresholds=None, name=None, dtype=None):
        self.threshold = 0.5 if thresholds is None else float(thresholds)
        super().__init__(name=name)

    def reset_state(self):
        self.tp = self.fp = self.fn = 0.0

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _np(y_true), _np(y_pred)
        y_true = _match_rank(y_true, y_pred).astype(bool)
        pred = y_pred > self.threshold
        w = 1.0 if sample_weight is None else np.broadcast_to(
            _np(sample_weight).reshape(_np(sample_weight).shape + (1,) * (pred.ndim - _np(sample_weight).ndim)),
            pred.shape)
        self.tp += float(np.sum(w * (pred & y_true)))
        self.fp += float(np.sum(w * (pred & ~y_true)))
        self.fn += float(np.sum(w * (~pred & y_true)))


class Precision(_Confusion):
    """tp / (tp + fp)."""

    def result(self):
        d = self.tp + self.fp
        return self.tp / d if d else 0.0


class Recall(_Confusion):
    """tp / (tp + fn)."""

    def result(self):
        d = self.tp + self.fn
        return self.tp / d if d else 0.0


# ---- resolution of compile(metrics=[...]) --------------------------------------------------------

_BY_NAME = {
    "binary_accuracy": BinaryAccuracy, "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "root_mean_squared_error": RootMeanSquaredError, "precision": Precision, "recall": Recall,
}


def _curve_metrics():
    from .metrics_curves import AUC, F1Score, FBetaScore
    return {"auc": AUC, "AUC": AUC, "f1_score": F1Score, "F1Score": F1Score, "fbeta_score": FBetaScore,
            "FBetaScore": FBetaScore}


class _AutoAccuracy(MeanMetricWrapper):
    """``'accuracy'``: the concrete accuracy is chosen on the first batch (loss, then shapes)."""

    def __init__(self, name, loss_name=None):
        self.loss_name = loss_name
        super().__init__(None, name)

    def update_state(self, y_true, y_pred, sample_weight=None):
        if self._fn is None:
            self._fn = _accuracy_for(self.loss_name, _np(y_true).shape, _np(y_pred).shape)
        super().update_state(y_true, y_pred, sample_weight)


def _accuracy_for(loss_name, true_shape, pred_shape):
    if loss_name in ("sparse_categorical_crossentropy",):
        return sparse_categorical_accuracy
    if loss_name in ("categorical_crossentropy",):
        return categorical_accuracy
    if loss_name in ("binary_crossentropy",):
        return binary_accuracy
    pred_last = pred_shape[-1] if pred_shape else 1
    true_last = true_shape[-1] if true_shape else 1
    if pred_last == 1:
        return binary_accuracy
    if len(true_shape) < len(pred_shape) or (true_last == 1 and pred_last > 1):
        return sparse_categorical_accuracy
    return categorical_accuracy


def get(identifier, loss_name=None):
    """A Metric object from a name, a Metric, a Metric class or a function ``f(y_true, y_pred)``."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        if identifier in ("accuracy", "acc"):
            return _AutoAccuracy(identifier, loss_name)
        cls = _BY_NAME.get(identifier) or _curve_metrics().get(identifier)
        if cls is None:
            raise ValueError(f"unknown metric {identifier!r}; known: "
                             f"{sorted(['accuracy', 'acc'] + list(_BY_NAME))}")
        m = cls()
        m.name = identifier
        return m
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise ValueError(f"cannot interpret {identifier!r} as a metric")


def resolve(metrics, loss_name=None):
    """A list of Metric objects for ``compile(metrics=...)`` (None -> [])."""
    if metrics is None:
        return []
    if isinstance(metrics, (str, Metric)) or callable(metrics) and not isinstance(metrics, (list, tuple)):
        metrics = [metrics]
    if isinstance(metrics, dict):
        raise NotImplementedError("per-output metric dicts are not supported (models have one output here)")
    return [get(m, loss_name) for m in metrics]
