"""PyTorch's loss functions (``loss(input, target)``), re-exported by ``tinydl.nn.functional``;
the loss modules (``nn.CrossEntropyLoss`` ...) are in ``tinydl.nn.modules.loss``.

Every loss takes ``reduction='mean' | 'sum' | 'none'``. Stability: the cross-entropies go through
``log_softmax`` and the logits-BCE through ``max(z, 0) - z*y + log(1 + exp(-|z|))``, so logits of
+-1e30 (float32) or +-1e4 (float16) give finite losses; ``binary_cross_entropy`` clamps each log
at -100 and its gradient is PyTorch's ``(x - y) / max(x (1 - x), 1e-12)``.

>>> import numpy as np, tinydl
>>> from tinydl.nn import functional as F
>>> loss = F.cross_entropy(tinydl.Tensor([[1e30, -1e30]]), tinydl.Tensor([1]))
>>> loss.dtype, loss.numpy() == np.float32(2e30)   # float32 and finite: 1e30 - (-1e30)
(dtype('float32'), np.True_)
"""
import warnings

import numpy as np

from ..core import functional as T
from ..core.autograd import Function, math_of
from ..core.tensor import Tensor, as_tensor
from ..backends import get_array_module
from . import ops, validation

REDUCTIONS = ("mean", "sum", "none")


def _reduce(loss, reduction, who):
    if reduction == "mean":
        return T.mean(loss)
    if reduction == "sum":
        return T.sum(loss)
    if reduction == "none":
        return loss
    raise ValueError(f"{reduction} is not a valid value for reduction (expected one of {REDUCTIONS}) in {who}")


def _pair(input, target, who):
    """Input and target as float Tensors of the input's dtype; different shapes broadcast with
    PyTorch's warning."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{who}(): argument 'input' must be a Tensor, not {type(input).__name__}")
    validation.check_input(who, input, "input")
    validation.check_input(who, target, "target")
    target = target if isinstance(target, Tensor) else Tensor(np.asarray(target), device=input.device)
    if input.dtype.kind != "f":
        raise RuntimeError(f"{who}: expected a floating point input, got dtype {input.dtype}")
    if target.dtype != input.dtype:
        target = Tensor._wrap(target.data.astype(input.dtype)) if not target.requires_grad else target.astype(input.dtype)
    if tuple(target.shape) != tuple(input.shape):
        try:
            np.broadcast_shapes(tuple(target.shape), tuple(input.shape))
        except ValueError:
            raise RuntimeError(f"{who}: the size of the target {tuple(target.shape)} does not match and cannot be "
                               f"broadcast to the size of the input {tuple(input.shape)}") from None
        warnings.warn(f"Using a target size ({tuple(target.shape)}) that is different to the input size "
                      f"({tuple(input.shape)}). This will likely lead to incorrect results due to broadcasting. "
                      "Please ensure they have the same size.", UserWarning, stacklevel=3)
    return input, target


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    input, target = _pair(input, target, "mse_loss")
    d = input - target
    return _reduce(d * d, reduction, "mse_loss")


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    input, target = _pair(input, target, "l1_loss")
    return _reduce(T.abs(input - target), reduction, "l1_loss")


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (beta = 0: the L1 loss)."""
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    input, target = _pair(input, target, "smooth_l1_loss")
    z = input - target
    d = T.abs(z)
    if beta == 0:
        return _reduce(d, reduction, "smooth_l1_loss")
    return _reduce(T.where(d.data < beta, 0.5 * z * z / beta, d - 0.5 * beta), reduction, "smooth_l1_loss")


def huber_loss(input, target, reduction="mean", delta=1.0):
    """0.5 d^2 where |d| <= delta, else delta (|d| - 0.5 delta)."""
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    input, target = _pair(input, target, "huber_loss")
    z = input - target
    d = T.abs(z)
    return _reduce(T.where(d.data <= delta, 0.5 * z * z, delta * (d - 0.5 * delta)), reduction, "huber_loss")


# ---- classification ------------------------------------------------------------------------------
def _class_last(input, who):
    """(N, C, d1, ...) -> (N*d1*..., C), (C,) -> (1, C); returns it and the per-element shape."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{who}(): argument 'input' must be a Tensor, not {type(input).__name__}")
    validation.check_input(who, input, "input")
    if input.ndim == 0:
        raise ValueError(f"{who}: expected an input of at least 1 dimension (C,) or (N, C, ...), got a scalar")
    if input.ndim == 1:
        return T.unsqueeze(input, 0), ()
    if input.ndim == 2:
        return input, (input.shape[0],)
    moved = T.transpose(input, (0,) + tuple(range(2, input.ndim)) + (1,))
    return T.reshape(moved, (-1, input.shape[1])), (input.shape[0],) + tuple(input.shape[2:])


def _class_targets(target, input, elem_shape, who, ignore_index):
    labels = target.data if isinstance(target, Tensor) else np.asarray(target)
    if labels.dtype.kind not in "iu":
        raise RuntimeError(f"{who}: expected class-index targets of an integer dtype (or probabilities shaped like "
                           f"the input), got dtype {labels.dtype} and shape {tuple(labels.shape)}")
    if tuple(labels.shape) != tuple(elem_shape):
        raise ValueError(f"{who}: expected target of shape {tuple(elem_shape)} for input of shape "
                         f"{tuple(input.shape)}, got {tuple(labels.shape)}")
    labels = labels.reshape(-1).astype(np.int64)
    c = input.shape[1] if input.ndim > 1 else input.shape[0]
    valid = labels != ignore_index
    host = labels.get() if hasattr(labels, "get") else labels
    hv = host[host != ignore_index]
    if hv.size and (int(hv.min()) < 0 or int(hv.max()) >= c):
        bad = int(hv.max()) if int(hv.max()) >= c else int(hv.min())
        raise IndexError(f"{who}: Target {bad} is out of bounds (for {c} classes).")
    return labels, valid


def _weighted_nll(logp, labels, valid, weight, reduction, elem_shape, who):
    """-w[y] * logp[i, y] per element (0 where ignored) and its reduction (mean divides by sum w[y])."""
    xp = get_array_module(logp.data)
    safe = xp.where(valid, labels, 0)
    picked = logp[xp.arange(len(safe)), safe]
    w = xp.ones(len(safe), dtype=logp.dtype) if weight is None else as_tensor(weight).data.astype(logp.dtype)[safe]
    w = w * valid
    per = -picked * Tensor._wrap(w)
    if reduction == "none":
        return T.reshape(per, elem_shape)
    if reduction == "sum":
        return T.sum(per)
    _reduce(per, reduction, who)  # validates the name
    return T.sum(per) / Tensor._wrap(xp.asarray(w.sum(), dtype=logp.dtype))


def _check_weight(weight, c, who):
    if weight is not None and tuple(as_tensor(weight).shape) != (c,):
        raise RuntimeError(f"{who}: weight tensor should be defined either for all {c} classes or no classes but "
                           f"got weight tensor of shape: {tuple(as_tensor(weight).shape)}")


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """Negative log-likelihood of log-probabilities (N, C, ...) at class indices (N, ...)."""
    flat, elem_shape = _class_last(input, "nll_loss")
    _check_weight(weight, flat.shape[1], "nll_loss")
    labels, valid = _class_targets(target, input, elem_shape, "nll_loss", ignore_index)
    return _weighted_nll(flat, labels, valid, weight, reduction, elem_shape, "nll_loss")


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Softmax cross-entropy from logits (N, C, ...) or (C,) and class indices (N, ...) or class
    probabilities shaped like the input, with PyTorch's ``weight``, ``ignore_index`` and
    ``label_smoothing``."""
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if isinstance(input, Tensor) and input.dtype == np.float16:  # float32 inside, as PyTorch's half kernels
        if isinstance(target, Tensor) and target.dtype == np.float16:
            target = target.astype(np.float32)
        return cross_entropy(input.astype(np.float32), target, weight, ignore_index=ignore_index,
                             reduction=reduction, label_smoothing=label_smoothing).astype(np.float16)
    flat, elem_shape = _class_last(input, "cross_entropy")
    c = flat.shape[1]
    _check_weight(weight, c, "cross_entropy")
    xp = get_array_module(flat.data)
    wvec = None if weight is None else Tensor._wrap(as_tensor(weight).data.astype(flat.dtype))
    is_probs = isinstance(target, Tensor) and target.dtype.kind == "f" or \
        (not isinstance(target, Tensor) and np.asarray(target).dtype.kind == "f")
    if is_probs:
        logp = T.log_softmax(flat, axis=-1)
        probs = as_tensor(target) if isinstance(target, Tensor) else Tensor(np.asarray(target), device=flat.device)
        if tuple(probs.shape) != tuple(input.shape):
            raise RuntimeError(f"cross_entropy: probability targets must have the input's shape {tuple(input.shape)}, "
                               f"got {tuple(probs.shape)}")
        tflat, _ = _class_last(probs if probs.dtype == flat.dtype else probs.astype(flat.dtype), "cross_entropy")
        if label_smoothing:
            tflat = tflat * (1 - label_smoothing) + label_smoothing / c
        terms = logp * tflat if wvec is None else logp * tflat * wvec
        per = -T.sum(terms, axis=-1)
        if reduction == "none":
            return T.reshape(per, elem_shape)
        return _reduce(per, reduction, "cross_entropy")
    labels, valid = _class_targets(target, input, elem_shape, "cross_entropy", ignore_index)
    if weight is None and not label_smoothing and bool(valid.all()):
        # the common case: one fused op (softmax and its log in one pass, the kernels' backward)
        per = ops.SoftmaxCrossEntropy.apply(flat, Tensor._wrap(labels))
        return T.reshape(per, elem_shape) if reduction == "none" else _reduce(per, reduction, "cross_entropy")
    logp = T.log_softmax(flat, axis=-1)
    nll = _weighted_nll(logp, labels, valid, weight, reduction, elem_shape, "cross_entropy")
    if not label_smoothing:
        return nll
    smooth = -T.sum(logp if wvec is None else logp * wvec, axis=-1) * Tensor._wrap(valid.astype(flat.dtype))
    if reduction == "none":
        smooth = T.reshape(smooth, elem_shape)
    elif reduction == "sum":
        smooth = T.sum(smooth)
    else:
        safe = xp.where(valid, labels, 0)
        denom = valid.sum() if wvec is None else (wvec.data[safe] * valid).sum()
        smooth = T.sum(smooth) / Tensor._wrap(xp.asarray(denom, dtype=flat.dtype))
    return nll * (1 - label_smoothing) + smooth * (label_smoothing / c)


def softplus1(z):
    """log(1 + exp(z)) for any z without overflow and with exact first and second derivatives
    everywhere (z = 0 included): ``z + log(1 + exp(-z))`` for z > 0, ``log(1 + exp(z))`` else, each
    branch fed only the values it is used for, so no exp ever overflows."""
    pos = z.data > 0
    zp, zn = T.where(pos, z, 0.0), T.where(pos, 0.0, z)
    return T.where(pos, zp + T.log(1 + T.exp(-zp)), T.log(1 + T.exp(zn)))


# ---- binary ---------------------------------------------------------------------------------------
class BinaryCrossEntropy(Function):
    """-w (y log x + (1 - y) log(1 - x)) with each log clamped at -100, and PyTorch's gradient
    ``w (x - y) / max(x (1 - x), 1e-12)`` (finite at x = 0 and 1)."""

    once_differentiable = False
    elementwise = True

    def forward(self, x, y):
        xp = get_array_module(x)
        self.save_for_backward(x, y)
        with np.errstate(divide="ignore"):
            lx, l1x = xp.maximum(xp.log(x), -100), xp.maximum(xp.log1p(-x), -100)
        return -(y * lx + (1 - y) * l1x)

    def backward(self, g):
        x, y = self.saved_tensors
        m = math_of(g)
        denom = m.maximum(x * (1 - x), _like(x, 1e-12))
        gx = g * (x - y) / denom
        gy = None
        if self.needs_grad[1]:
            gy = g * (m.maximum(m.log(1 - x), _like(x, -100.0)) - m.maximum(m.log(x), _like(x, -100.0)))
        return gx, gy


def _like(ref, value):
    if isinstance(ref, Tensor):
        return Tensor._wrap(ref.xp.asarray(value, dtype=ref.dtype))
    return get_array_module(ref).asarray(value, dtype=ref.dtype)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """BCE of probabilities in [0, 1]; each log is clamped at -100 as PyTorch does."""
    input, target = _pair(input, target, "binary_cross_entropy")
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size ({tuple(target.shape)}) that is different to the input size "
                         f"({tuple(input.shape)}) is deprecated. Please ensure they have the same size.")
    x = input.data
    host = x.get() if hasattr(x, "get") else x
    if host.size and not ((host >= 0) & (host <= 1) | np.isnan(host)).all():
        raise RuntimeError("all elements of input should be between 0 and 1")
    loss = BinaryCrossEntropy.apply(input, target)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """BCE of sigmoid(input), computed from logits: ``(1 - y) z + (1 + (p - 1) y) softplus(-z)``
    with p = ``pos_weight`` (broadcast over the last axis), finite for any z."""
    input, target = _pair(input, target, "binary_cross_entropy_with_logits")
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({tuple(target.shape)}) must be the same as input size ({tuple(input.shape)})")
    if input.dtype == np.float16:  # computed in float32 and rounded once, as PyTorch's half kernels do
        out = binary_cross_entropy_with_logits(input.astype(np.float32), target.astype(np.float32), weight,
                                               reduction=reduction, pos_weight=pos_weight)
        return out.astype(np.float16)
    z = input
    softplus_neg = softplus1(-z)
    if pos_weight is None:
        loss = (1 - target) * z + softplus_neg
    else:
        coef = 1 + (pos_weight - 1) * target
        loss = (1 - target) * z + coef * softplus_neg
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Pointwise ``target * (log target - input)`` (input holds log-probabilities; with
    ``log_target`` the target does too); ``reduction='batchmean'`` divides the sum by the batch size."""
    input, target = _pair(input, target, "kl_div")
    if log_target:
        loss = T.exp(target) * (target - input)
    else:
        pos = target.data > 0                      # xlogy(t, t): 0 where t == 0
        logt = T.log(T.where(pos, target, 1.0))
        loss = T.where(pos, target * logt, 0.0) - target * input
    if reduction == "batchmean":
        return T.sum(loss) / (input.shape[0] if input.ndim else 1)
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                      UserWarning, stacklevel=2)
    return _reduce(loss, reduction, "kl_div")
