"""Keras's threshold metrics: ``AUC`` (ROC and PR curves from confusion counts at
``num_thresholds`` thresholds) and ``F1Score``/``FBetaScore`` (per-class counts).

AUC's thresholds are Keras's: ``-1e-7``, ``i / (num_thresholds - 1)`` for i = 1 ... n-2, and
``1 + 1e-7``; a prediction is positive when it is above a threshold. The area is a Riemann sum
('interpolation' trapezoids for ROC, Davis & Goadrich's interpolation for PR; 'minoring' and
'majoring' take the lower or upper side).

>>> auc = AUC()
>>> auc.update_state([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
>>> round(auc.result(), 4)
0.75
"""
import numpy as np

from .metrics import Metric, _np

_EPS = 1e-7


def _weights(sample_weight, shape):
    if sample_weight is None:
        return np.ones(shape)
    w = _np(sample_weight).astype(np.float64)
    w = w.reshape(w.shape + (1,) * (len(shape) - w.ndim))
    return np.broadcast_to(w, shape)


class AUC(Metric):
    """``AUC(num_thresholds=200, curve='ROC', summation_method='interpolation', name=None,
    dtype=None, thresholds=None, multi_label=False, num_labels=None, label_weights=None,
    from_logits=False)``; ``multi_label=True`` is not supported."""

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name=None, dtype=None,
                 thresholds=None, multi_label=False, num_labels=None, label_weights=None, from_logits=False):
        if curve not in ("ROC", "PR"):
            raise ValueError(f"AUC: curve must be 'ROC' or 'PR', got {curve!r}")
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError(f"AUC: summation_method must be 'interpolation', 'minoring' or 'majoring', "
                             f"got {summation_method!r}")
        if multi_label or label_weights is not None:
            raise NotImplementedError("AUC: multi_label / label_weights are not supported")
        if thresholds is not None:
            inner = sorted(float(t) for t in thresholds)
            self.thresholds = np.array([-_EPS] + inner + [1 + _EPS])
        else:
            if num_thresholds < 2:
                raise ValueError(f"AUC: num_thresholds must be > 1, got {num_thresholds}")
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self.thresholds = np.array([-_EPS] + inner + [1 + _EPS])
        self.num_thresholds = len(self.thresholds)
        self.curve, self.summation_method = curve, summation_method
        self.multi_label, self.num_labels, self.label_weights = multi_label, num_labels, label_weights
        self.from_logits = from_logits
        super().__init__(name=name or "auc")

    def reset_state(self):
        n = len(self.thresholds)
        self.tp, self.fp, self.tn, self.fn = (np.zeros(n) for _ in range(4))

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _np(y_true).astype(np.float64), _np(y_pred).astype(np.float64)
        if self.from_logits:
            y_pred = 1 / (1 + np.exp(-y_pred))
        if y_true.shape != y_pred.shape and y_true.size == y_pred.size:
            y_true = y_true.reshape(y_pred.shape)
        w = _weights(sample_weight, y_pred.shape).ravel()
        t, p = y_true.ravel().astype(bool), y_pred.ravel()
        above = p[None, :] > self.thresholds[:, None]            # (thresholds, samples)
        self.tp += (above & t) @ w
        self.fp += (above & ~t) @ w
        self.fn += (~above & t) @ w
        self.tn += (~above & ~t) @ w

    def result(self):
        tp, fp, tn, fn = self.tp, self.fp, self.tn, self.fn
        div = lambda a, b: np.divide(a, b, out=np.zeros_like(a), where=b != 0)  # noqa: E731
        if self.curve == "PR" and self.summation_method == "interpolation":
            dtp = tp[:-1] - tp[1:]
            p = tp + fp
            dp = p[:-1] - p[1:]
            slope = div(dtp, np.maximum(dp, 0))
            intercept = tp[1:] - slope * p[1:]
            both = (p[:-1] > 0) & (p[1:] > 0)
            ratio = np.where(both, div(p[:-1], np.maximum(p[1:], 0)), 1.0)
            return float(np.sum(div(slope * (dtp + intercept * np.log(np.where(ratio > 0, ratio, 1.0))),
                                    np.maximum(tp[1:] + fn[1:], 0))))
        recall = div(tp, tp + fn)
        if self.curve == "ROC":
            x, y = div(fp, fp + tn), recall
        else:
            x, y = recall, div(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return float(np.sum((x[:-1] - x[1:]) * heights))

    def get_config(self):
        return {"name": self.name, "num_thresholds": self.num_thresholds, "curve": self.curve,
                "summation_method": self.summation_method, "from_logits": self.from_logits}


class FBetaScore(Metric):
    """``FBetaScore(average=None, beta=1.0, threshold=None, name='fbeta_score', dtype=None)`` on
    one-hot (or multi-label) targets (batch, classes). Without ``threshold`` the arg-max class of
    each row is the prediction; ``average`` None gives one score per class, 'micro' pools the
    counts, 'macro' averages the class scores, 'weighted' weights them by class support."""

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError(f"{type(self).__name__}: average must be None, 'micro', 'macro' or 'weighted', "
                             f"got {average!r}")
        if not beta > 0:
            raise ValueError(f"{type(self).__name__}: beta must be > 0, got {beta!r}")
        self.average, self.beta, self.threshold = average, float(beta), threshold
        super().__init__(name=name)

    def reset_state(self):
        self.tp = self.fp = self.fn = self.support = 0.0

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _np(y_true).astype(np.float64), _np(y_pred).astype(np.float64)
        if y_pred.ndim != 2 or y_true.shape != y_pred.shape:
            raise ValueError(f"{type(self).__name__}: expects y_true and y_pred of the same shape (batch, classes), "
                             f"got {y_true.shape} and {y_pred.shape}")
        if self.threshold is None:
            pred = (y_pred >= y_pred.max(axis=-1, keepdims=True)).astype(np.float64)
        else:
            pred = (y_pred > self.threshold).astype(np.float64)
        w = _weights(sample_weight, y_pred.shape)
        axis = None if self.average == "micro" else 0
        self.tp = self.tp + np.sum(pred * y_true * w, axis=axis)
        self.fp = self.fp + np.sum(pred * (1 - y_true) * w, axis=axis)
        self.fn = self.fn + np.sum((1 - pred) * y_true * w, axis=axis)
        self.support = self.support + np.sum(y_true * w, axis=axis)

    def result(self):
        precision = self.tp / (self.tp + self.fp + _EPS)
        recall = self.tp / (self.tp + self.fn + _EPS)
        b2 = self.beta ** 2
        score = (1 + b2) * precision * recall / (b2 * precision + recall + _EPS)
        if self.average == "weighted":
            return float(np.sum(score * self.support / (np.sum(self.support) + _EPS)))
        if self.average is not None:
            return float(np.mean(score))
        return np.asarray(score, dtype=np.float32)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"

    def get_config(self):
        return {"name": self.name, "average": self.average, "beta": self.beta, "threshold": self.threshold}


class F1Score(FBetaScore):
    """``F1Score(average=None, threshold=None, name='f1_score', dtype=None)``: FBetaScore with beta 1."""

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "average": self.average, "threshold": self.threshold}
