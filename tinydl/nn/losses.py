"""Keras's losses, as functions of Tensors (PyTorch's are ``tinydl.nn.loss_functions``, exported
by ``tinydl.nn.functional``).

Keras order ``loss(y_true, y_pred)`` (per-sample losses averaged over the last axis, then
``reduction`` over the batch): mean_squared_error, mean_absolute_error, binary_crossentropy,
categorical_crossentropy, sparse_categorical_crossentropy.

Stability: probabilities are clipped to [1e-7, 1 - 1e-7] before the log (Keras's epsilon); the
from-logits forms never exponentiate a large positive number, so logits of +-1e4 give finite
losses and gradients. As in Keras, a probability output made by a softmax or sigmoid layer
carries its logits, and the cross-entropies use them: the loss is then computed from logits.

>>> import tinydl
>>> from tinydl.nn import losses
>>> losses.sparse_categorical_crossentropy([1], tinydl.Tensor([[1e4, -1e4]]), from_logits=True).item()
20000.0
"""
import numpy as np

from ..core import functional as T
from ..core.tensor import Tensor, as_tensor
from . import ops, validation
from .logits import logits_of
from .loss_functions import softplus1

EPSILON = 1e-7
REDUCTIONS = ("mean", "sum", "none", "sum_over_batch_size", "auto")


def _reduce(per_sample, reduction, name):
    if reduction in ("mean", "sum_over_batch_size", "auto"):
        return T.mean(per_sample)
    if reduction == "sum":
        return T.sum(per_sample)
    if reduction == "none":
        return per_sample
    raise ValueError(f"{name}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _float_pair(y_true, y_pred, name):
    """Targets and predictions of the same shape; (N,) vs (N, 1) is the one allowed mismatch."""
    _check_real(name, y_true, y_pred)
    y_pred = as_tensor(y_pred)
    if y_pred.dtype.kind != "f":  # integer or boolean predictions (they carry no gradient): as float32,
        y_pred = Tensor._wrap(y_pred.data.astype(np.float32))  # never the targets cast to bool or int
    y_true = as_tensor(y_true) if isinstance(y_true, Tensor) else Tensor(np.asarray(y_true), device=y_pred.device)
    if y_true.shape != y_pred.shape:
        if y_true.shape + (1,) == y_pred.shape:
            y_true = T.unsqueeze(y_true, -1)
        elif y_true.shape == y_pred.shape + (1,):
            y_true = T.squeeze(y_true, -1)
        else:
            raise ValueError(f"{name}: y_true has shape {tuple(y_true.shape)} but y_pred has shape "
                             f"{tuple(y_pred.shape)}; they must match")
    if y_true.dtype != y_pred.dtype:
        y_true = Tensor._wrap(y_true.data.astype(y_pred.dtype))
    return y_true, y_pred


def _check_real(name, y_true, y_pred):
    """Complex or string targets/predictions are refused, naming the loss (never cast)."""
    validation.check_input(name, y_pred, "y_pred (the predictions)")
    validation.check_input(name, y_true, "y_true (the targets)")


def _per_sample(elementwise):
    """Keras's per-sample loss: the mean over the last axis (scalars per example)."""
    return T.mean(elementwise, axis=-1) if elementwise.ndim > 1 else elementwise


def mean_squared_error(y_true, y_pred, reduction="mean"):
    y_true, y_pred = _float_pair(y_true, y_pred, "mean_squared_error")
    d = y_pred - y_true
    return _reduce(_per_sample(d * d), reduction, "mean_squared_error")


def mean_absolute_error(y_true, y_pred, reduction="mean"):
    y_true, y_pred = _float_pair(y_true, y_pred, "mean_absolute_error")
    return _reduce(_per_sample(T.abs(y_pred - y_true)), reduction, "mean_absolute_error")


def _sigmoid_bce_with_logits(z, y):
    """log(1 + exp(z)) - z*y (Keras's max(z, 0) - z*y + log(1 + exp(-|z|)), the same value): finite
    for any z, its gradient sigmoid(z) - y and its second derivative sigmoid'(z) exact everywhere,
    z = 0 included (a relu/abs form gives -y there, or a wrong second derivative)."""
    return softplus1(z) - z * y


def binary_crossentropy(y_true, y_pred, from_logits=False, reduction="mean"):
    y_true, y_pred = _float_pair(y_true, y_pred, "binary_crossentropy")
    logits = y_pred if from_logits else logits_of(y_pred, "sigmoid")
    if logits is not None:
        elem = _sigmoid_bce_with_logits(logits, y_true)
    else:
        p = T.clip(y_pred, EPSILON, 1 - EPSILON)
        elem = -(y_true * T.log(p) + (1 - y_true) * T.log(1 - p))
    return _reduce(_per_sample(elem), reduction, "binary_crossentropy")


def categorical_crossentropy(y_true, y_pred, from_logits=False, reduction="mean"):
    """Cross-entropy against one-hot (or soft) float targets of the same shape."""
    _check_real("categorical_crossentropy", y_true, y_pred)
    y_pred = as_tensor(y_pred)
    yt = y_true.data if isinstance(y_true, Tensor) else np.asarray(y_true)
    if yt.dtype.kind in "iub":
        raise TypeError(f"categorical_crossentropy: y_true has integer dtype {yt.dtype} with shape {yt.shape}; "
                        "it expects one-hot float targets shaped like y_pred "
                        "(use sparse_categorical_crossentropy for integer labels)")
    y_true, y_pred = _float_pair(y_true, y_pred, "categorical_crossentropy")
    logits = y_pred if from_logits else logits_of(y_pred, "softmax")
    if logits is not None:
        per = -T.sum(y_true * T.log_softmax(logits, axis=-1), axis=-1)
    else:
        p = y_pred / T.sum(y_pred, axis=-1, keepdims=True)
        per = -T.sum(y_true * T.log(T.clip(p, EPSILON, 1 - EPSILON)), axis=-1)
    return _reduce(per, reduction, "categorical_crossentropy")


def _labels(y_true, y_pred, name):
    """Validate integer class labels against (N, K) predictions; returns an int array (N,)."""
    validation.check_input(name, y_pred, "the predictions")
    labels = y_true.data if isinstance(y_true, Tensor) else y_pred.xp.asarray(y_true)
    if labels.dtype.kind == "f" and bool((labels == labels.astype("int64")).all()):
        labels = labels.astype("int64")  # Keras casts float class ids (2.0 -> 2); whole numbers only here
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{name}: labels must be integers (or floats holding whole numbers), got dtype "
                        f"{labels.dtype} with non-integer values (one-hot targets go to categorical_crossentropy)")
    if y_pred.ndim != 2:
        raise ValueError(f"{name}: predictions must be (batch, classes), got shape {tuple(y_pred.shape)}")
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    n, k = y_pred.shape
    if labels.shape != (n,):
        raise ValueError(f"{name}: labels have shape {tuple(labels.shape)} but predictions have batch size {n} "
                         f"(shape {tuple(y_pred.shape)}); expected labels of shape ({n},)")
    # The range check reads the labels on the host; on the GPU that would stall the stream every
    # step, so there an out-of-range label yields a NaN loss instead (TerminateOnNaN reports it).
    on_gpu = hasattr(labels, "device") and not isinstance(labels, np.ndarray)
    if labels.size and not on_gpu and (int(labels.min()) < 0 or int(labels.max()) >= k):
        raise ValueError(f"{name}: labels must be in [0, {k}) for {k} classes, got values in "
                         f"[{int(labels.min())}, {int(labels.max())}]")
    return labels.astype(np.int64, copy=False)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, reduction="mean"):
    """Cross-entropy against integer class labels (N,) for predictions (N, K)."""
    y_pred = as_tensor(y_pred)
    labels = _labels(y_true, y_pred, "sparse_categorical_crossentropy")
    logits = y_pred if from_logits else logits_of(y_pred, "softmax")
    if logits is not None:
        per = ops.SoftmaxCrossEntropy.apply(logits, Tensor._wrap(labels))
    else:
        picked = y_pred[y_pred.xp.arange(len(labels)), labels]
        per = -T.log(T.clip(picked, EPSILON, 1 - EPSILON))
    return _reduce(per, reduction, "sparse_categorical_crossentropy")
