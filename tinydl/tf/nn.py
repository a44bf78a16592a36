"""``tf.nn``: activations, the cross-entropies from logits, dropout and moments (TensorFlow's arguments)."""
import numpy as np

from ..core import functional as T
from ..core.random import get_rng
from ..core.tensor import Tensor
from ._convert import axis_arg, pair, to_array, to_tensor


__all__ = ["bias_add", "dropout", "elu", "gelu", "l2_loss", "l2_normalize", "leaky_relu", "log_softmax",
           "moments", "relu", "relu6", "sigmoid", "sigmoid_cross_entropy_with_logits", "silu", "softmax",
           "softmax_cross_entropy_with_logits", "softplus", "sparse_softmax_cross_entropy_with_logits",
           "swish", "tanh"]

def relu(features, name=None): return T.relu(to_tensor(features))
def relu6(features, name=None): return T.clip(to_tensor(features), 0.0, 6.0)
def sigmoid(x, name=None): return T.sigmoid(to_tensor(x))
def tanh(x, name=None): return T.tanh(to_tensor(x))
def softmax(logits, axis=None, name=None): return T.softmax(to_tensor(logits), axis=-1 if axis is None else int(axis))


def log_softmax(logits, axis=None, name=None):
    return T.log_softmax(to_tensor(logits), axis=-1 if axis is None else int(axis))


def leaky_relu(features, alpha=0.2, name=None):
    return T.leaky_relu(to_tensor(features), alpha)


def gelu(features, approximate=False, name=None):
    return T.gelu(to_tensor(features), approximate="tanh" if approximate else "none")


def softplus(features, name=None):
    """log(1 + exp(x)), stable for large |x|: relu(x) + log(1 + exp(-|x|))."""
    x = to_tensor(features)
    return T.relu(x) + T.log(1 + T.exp(T.neg(T.abs(x))))


def silu(features, beta=1.0, name=None):
    x = to_tensor(features)
    return x * T.sigmoid(x * beta) if beta != 1.0 else x * T.sigmoid(x)


swish = silu


def elu(features, name=None):
    x = to_tensor(features)
    return T.where(x.data > 0, x, T.exp(T.minimum(x, Tensor(np.zeros((), x.dtype)))) - 1)


def bias_add(value, bias, data_format=None, name=None):
    value, bias = pair(value, bias)
    if data_format in ("NCHW", "NCW", "NCDHW"):
        bias = T.reshape(bias, (-1,) + (1,) * (value.ndim - 2))
    return value + bias


def l2_loss(t, name=None):
    """sum(t ** 2) / 2."""
    t = to_tensor(t)
    return T.sum(t * t) / 2


def l2_normalize(x, axis=None, epsilon=1e-12, name=None):
    x = to_tensor(x)
    sq = T.sum(x * x, axis=axis_arg(axis), keepdims=True)
    return x / T.sqrt(T.maximum(sq, Tensor(np.asarray(epsilon, x.dtype))))


def sigmoid_cross_entropy_with_logits(labels=None, logits=None, name=None):
    """Elementwise max(x, 0) - x * z + log(1 + exp(-|x|)): finite for any logits."""
    if labels is None or logits is None:
        raise ValueError("sigmoid_cross_entropy_with_logits: give both labels= and logits=")
    z, x = pair(labels, logits)
    if tuple(z.shape) != tuple(x.shape):
        raise ValueError(f"sigmoid_cross_entropy_with_logits: logits and labels must have the same shape "
                         f"({x.shape} vs {z.shape})")
    return T.relu(x) - x * z + T.log(1 + T.exp(T.neg(T.abs(x))))


def softmax_cross_entropy_with_logits(labels, logits, axis=-1, name=None):
    """Per example: -sum(labels * log_softmax(logits)) over ``axis`` (labels are probabilities)."""
    z, x = pair(labels, logits)
    if tuple(z.shape) != tuple(x.shape):
        raise ValueError(f"softmax_cross_entropy_with_logits: logits and labels must have the same shape "
                         f"({x.shape} vs {z.shape})")
    return T.neg(T.sum(Tensor(z.data) * T.log_softmax(x, axis=axis), axis=axis))


def sparse_softmax_cross_entropy_with_logits(labels=None, logits=None, name=None):
    """Per example: -log_softmax(logits)[label]; labels are class indices (logits' shape minus the last axis)."""
    if labels is None or logits is None:
        raise ValueError("sparse_softmax_cross_entropy_with_logits: give both labels= and logits=")
    x = to_tensor(logits)
    y = to_array(labels)
    if y.dtype.kind not in "iu":
        raise TypeError(f"sparse_softmax_cross_entropy_with_logits: labels must be integers, got {y.dtype}")
    if tuple(y.shape) != tuple(x.shape[:-1]):
        raise ValueError(f"sparse_softmax_cross_entropy_with_logits: labels shape {y.shape} must equal logits "
                         f"shape without the last axis {x.shape[:-1]}")
    if y.size and (y.min() < 0 or y.max() >= x.shape[-1]):
        raise ValueError(f"sparse_softmax_cross_entropy_with_logits: labels must be in [0, {x.shape[-1]}), "
                         f"got [{y.min()}, {y.max()}]")
    onehot = (y[..., None] == np.arange(x.shape[-1])).astype(x.dtype)
    return T.neg(T.sum(Tensor(onehot) * T.log_softmax(x, axis=-1), axis=-1))


def dropout(x, rate, noise_shape=None, seed=None, name=None):
    """Always applied (tf.nn.dropout has no training flag): zero a fraction ``rate``, scale the rest by 1/(1-rate)."""
    x = to_tensor(x)
    rate = float(rate)
    if not 0 <= rate < 1:
        raise ValueError(f"tf.nn.dropout: rate must be in [0, 1), got {rate}")
    if rate == 0:
        return x
    shape = x.shape if noise_shape is None else tuple(int(d) for d in noise_shape)
    keep = get_rng().random(shape) >= rate
    return x * Tensor(keep.astype(x.dtype) * x.dtype.type(1 / (1 - rate)))


def moments(x, axes, shift=None, keepdims=False, name=None):
    """(mean, variance) over ``axes`` (biased variance, as TensorFlow)."""
    x = to_tensor(x)
    axes = axis_arg(axes)
    mean = T.mean(x, axis=axes, keepdims=True)
    var = T.mean((x - mean) * (x - mean), axis=axes, keepdims=keepdims)
    return (mean if keepdims else T.mean(x, axis=axes)), var
