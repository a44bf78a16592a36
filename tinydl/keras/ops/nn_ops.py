"""``keras.ops``'s nn group: activations, softmax, one_hot, the cross-entropies, moments, normalize.

Keras 3's defaults: ``gelu(x, approximate=True)`` (tanh form), ``leaky_relu(x,
negative_slope=0.2)``, ``elu(x, alpha=1.0)``, ``hard_sigmoid = relu6(x + 3) / 6``. The
cross-entropies return one value per example (no mean); from probabilities they clip to
[1e-7, 1 - 1e-7] as Keras does, and ``categorical_crossentropy`` first rescales the output to sum 1.
"""
import numpy as np

from ...core import functional as T
from ...core.ops import pointwise as P
from ...core.tensor import Tensor
from .dtypes import FLOATX, axes, cast, result_type, standardize_dtype, tensor
from .numpy_math import float_input

EPSILON = 1e-7  # keras.backend.epsilon()
_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


_float = float_input


def _no_bool(x, who):
    x = tensor(x, who=who)
    if x.dtype == np.bool_:
        raise TypeError(f"keras.ops.{who}: not defined for bool tensors (the TensorFlow backend refuses it)")
    return x


def _const(value, like):
    return Tensor(np.asarray(value, like.dtype))


def relu(x):
    x = _no_bool(x, "relu")
    return T.relu(x) if x.dtype.kind == "f" else Tensor(np.maximum(x.data, 0).astype(x.dtype))


def relu6(x):
    x = _no_bool(x, "relu6")
    return T.clip(x, 0.0, 6.0) if x.dtype.kind == "f" else Tensor(np.clip(x.data, 0, 6).astype(x.dtype))


def sigmoid(x): return T.sigmoid(_float(x, "sigmoid"))


def softplus(x):
    """log(1 + exp(x)) as relu(x) + log1p(exp(-|x|)): finite for any x."""
    x = _float(x, "softplus")
    return T.relu(x) + P.Log1p.apply(T.exp(T.neg(T.abs(x))))


def softsign(x):
    x = _float(x, "softsign")
    return x / (T.abs(x) + _const(1, x))


def silu(x):
    x = _float(x, "silu")
    return x * T.sigmoid(x)


swish = silu


def gelu(x, approximate=True):
    return T.gelu(_float(x, "gelu"), approximate="tanh" if approximate else "none")


def elu(x, alpha=1.0):
    x = _float(x, "elu")
    neg = P.Expm1.apply(T.minimum(x, _const(0, x))) * _const(alpha, x)
    return T.where(x.data > 0, x, neg)


def selu(x):
    x = _float(x, "selu")
    return elu(x, _SELU_ALPHA) * _const(_SELU_SCALE, x)


def leaky_relu(x, negative_slope=0.2):
    """Integer input is computed in floatx, as Keras."""
    x = _no_bool(x, "leaky_relu")
    return T.leaky_relu(cast(x, FLOATX) if x.dtype.kind in "iu" else x, float(negative_slope))


def log_sigmoid(x):
    x = _float(x, "log_sigmoid")
    return T.neg(softplus(T.neg(x)))


def hard_sigmoid(x):
    x = _float(x, "hard_sigmoid")
    return T.clip(x + _const(3, x), 0.0, 6.0) / _const(6, x)


def softmax(x, axis=-1):
    x = _float(x, "softmax")
    return T.softmax(x, axis=axes(axis, x.ndim)[0])


def log_softmax(x, axis=-1):
    x = _float(x, "log_softmax")
    return T.log_softmax(x, axis=axes(axis, x.ndim)[0])


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """Indices to one-hot vectors (float32 unless ``dtype``); an out-of-range index gives zeros."""
    if sparse:
        raise NotImplementedError("tinydl.keras.ops.one_hot: sparse=True is not implemented (no sparse tensors)")
    idx = tensor(x, who="one_hot").data.astype(np.int64)
    out = (idx[..., None] == np.arange(int(num_classes))).astype(standardize_dtype(dtype))
    if axis != -1:
        out = np.moveaxis(out, -1, axis)
    return Tensor(out)


def _same_shape(target, output, who):
    if tuple(target.shape) != tuple(output.shape):
        raise ValueError(f"keras.ops.{who}: target and output must have the same shape, got {target.shape} "
                         f"and {output.shape}")


def _float_target(target, output, who):
    """The target in output's dtype; integer targets are refused, as the TensorFlow backend refuses them."""
    t = tensor(target, who=who)
    if t.dtype.kind != "f":
        raise TypeError(f"keras.ops.{who}: target must be a float tensor, got dtype {t.dtype.name} (cast it first)")
    return cast(t, output.dtype.name)


def binary_crossentropy(target, output, from_logits=False):
    """Elementwise -(t log p + (1 - t) log(1 - p)); from logits: relu(z) - z t + log1p(exp(-|z|))."""
    output = _float(output, "binary_crossentropy")
    target = _float_target(target, output, "binary_crossentropy")
    _same_shape(target, output, "binary_crossentropy")
    if from_logits:
        return T.relu(output) - output * target + P.Log1p.apply(T.exp(T.neg(T.abs(output))))
    p = T.clip(output, EPSILON, 1.0 - EPSILON)
    one = _const(1, p)
    return T.neg(target * T.log(p) + (one - target) * T.log(one - p))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    output = _float(output, "categorical_crossentropy")
    target = _float_target(target, output, "categorical_crossentropy")
    _same_shape(target, output, "categorical_crossentropy")
    axis = axes(axis, output.ndim)[0]
    if from_logits:
        return T.neg(T.sum(target * T.log_softmax(output, axis=axis), axis=axis))
    p = T.clip(output / T.sum(output, axis=axis, keepdims=True), EPSILON, 1.0 - EPSILON)
    return T.neg(T.sum(target * T.log(p), axis=axis))


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Integer targets (a trailing axis of 1 is dropped); from probabilities, -log of the clipped
    probability of the target over the sum of the clipped probabilities."""
    output = _float(output, "sparse_categorical_crossentropy")
    if axis not in (-1, output.ndim - 1):
        raise ValueError(f"keras.ops.sparse_categorical_crossentropy: only the last axis is supported, got {axis}")
    t = tensor(target, who="sparse_categorical_crossentropy").data.astype(np.int64)
    if t.ndim == output.ndim and t.shape[-1] == 1:
        t = t[..., 0]
    if tuple(t.shape) != tuple(output.shape[:-1]):
        raise ValueError(f"keras.ops.sparse_categorical_crossentropy: target shape {t.shape} must be output's "
                         f"shape without the last axis, {output.shape[:-1]}")
    if t.size and (t.min() < 0 or t.max() >= output.shape[-1]):
        raise ValueError(f"keras.ops.sparse_categorical_crossentropy: targets must be in [0, {output.shape[-1]}), "
                         f"got [{t.min()}, {t.max()}]")
    logits = output if from_logits else T.log(T.clip(output, EPSILON, 1.0 - EPSILON))
    onehot = Tensor((t[..., None] == np.arange(output.shape[-1])).astype(output.dtype))
    return T.neg(T.sum(onehot * T.log_softmax(logits, axis=-1), axis=-1))


def moments(x, axes, keepdims=False, synchronized=False):  # noqa: A002 - Keras's argument name
    """(mean, biased variance) over ``axes``; float16 is computed in float32 and cast back."""
    x = tensor(x, who="moments")
    from .dtypes import axes as axes_of
    ax = axes_of(axes, x.ndim)
    d = x.dtype.name
    xc = cast(x, result_type(d, "float32"))
    m = T.mean(xc, axis=ax, keepdims=True)
    centered = xc - m
    v = T.mean(centered * centered, axis=ax, keepdims=bool(keepdims))
    if not keepdims:
        m = T.reshape(m, tuple(n for i, n in enumerate(xc.shape) if i not in ax))
    return cast(m, d), cast(v, d)


def normalize(x, axis=-1, order=2, epsilon=None):
    """x divided by its ``order``-norm along ``axis`` (at least ``epsilon``, default 1e-7)."""
    if not isinstance(order, int) or order < 1:
        raise ValueError(f"keras.ops.normalize: order must be an int >= 1, got {order!r}")
    x = tensor(x, who="normalize")
    x = T.reshape(x, (1,)) if x.ndim == 0 else x
    eps = EPSILON if epsilon is None else epsilon
    if order == 2:
        inv = T.div(_const(1, x), T.sqrt(T.sum(x * x, axis=axes(axis, x.ndim), keepdims=True)))
        return x * T.minimum(inv, _const(1.0 / eps, x))
    from .numpy_math import norm
    return x / T.maximum(norm(x, ord=order, axis=axis, keepdims=True), _const(eps, x))


def _norm_axes(x, axis):
    return axes(axis, x.ndim)


def _weight(v, x, ax):
    """gamma/beta/scale in x's dtype, reshaped to broadcast over ``ax`` unless it already does."""
    v = tensor(v, x.dtype.name, who="layer_normalization")
    if v.ndim != x.ndim and tuple(ax) != (x.ndim - 1,):
        v = T.reshape(v, tuple(x.shape[i] if i in ax else 1 for i in range(x.ndim)))
    return v


def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, **kwargs):
    """(x - mean) / sqrt(var + epsilon) * gamma + beta over ``axis`` (epsilon 1e-7 by default),
    computed in at least float32 and cast back."""
    if kwargs.get("rms_scaling"):
        raise NotImplementedError("tinydl.keras.ops.layer_normalization: the deprecated rms_scaling=True is "
                                  "not implemented; use ops.rms_normalization")
    x = tensor(x, who="layer_normalization")
    original = x.dtype.name
    x = cast(x, result_type(original, "float32"))
    ax = _norm_axes(x, axis)
    eps = EPSILON if epsilon is None else epsilon
    mean = T.mean(x, axis=ax, keepdims=True)
    centered = x - mean
    out = centered / T.sqrt(T.mean(centered * centered, axis=ax, keepdims=True) + _const(eps, x))
    if gamma is not None:
        out = out * _weight(gamma, x, ax)
    if beta is not None:
        out = out + _weight(beta, x, ax)
    return cast(out, original)


def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    """x / sqrt(mean(x**2) + epsilon) * scale over ``axis`` (epsilon 1e-7 by default)."""
    x = tensor(x, who="rms_normalization")
    original = x.dtype.name
    x = cast(x, result_type(original, "float32"))
    x = T.reshape(x, (1,)) if x.ndim == 0 else x
    ax = _norm_axes(x, axis)
    eps = EPSILON if epsilon is None else epsilon
    out = x / T.sqrt(T.mean(x * x, axis=ax, keepdims=True) + _const(eps, x))
    if scale is not None:
        out = out * _weight(scale, x, ax)
    return cast(out, original)


def dot_product_attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False,
                          flash_attention=None, attn_logits_soft_cap=None):
    """softmax(q k^T * scale + bias, masked) v on (batch, length, heads, head_dim) tensors, as Keras's
    TensorFlow backend: scale 1/sqrt(head_dim) by default; ``mask`` (bool, broadcast to (batch, heads,
    T, S)) and ``is_causal`` replace the hidden logits by a large negative number; fewer key/value
    heads than query heads are repeated (grouped-query attention); logits and softmax in float32."""
    if flash_attention:
        raise ValueError("keras.ops.dot_product_attention: flash attention is not supported (as in Keras's "
                         "TensorFlow backend)")
    if attn_logits_soft_cap is not None:
        raise ValueError("keras.ops.dot_product_attention: attn_logits_soft_cap is only supported by Keras for "
                         "JAX on TPU")
    q, k, v = (tensor(t, who="dot_product_attention") for t in (query, key, value))
    if q.ndim != 4 or k.ndim != 4 or v.ndim != 4:
        raise ValueError(f"keras.ops.dot_product_attention: only 4D inputs (batch, length, heads, head_dim) are "
                         f"supported, got shapes {q.shape}, {k.shape}, {v.shape}")
    d = result_type(q.dtype.name, k.dtype.name, v.dtype.name)
    q, k, v = cast(q, d), cast(k, d), cast(v, d)
    heads, kv_heads = q.shape[2], k.shape[2]
    if heads > kv_heads > 1:  # each key/value head serves heads // kv_heads consecutive query heads
        order = np.repeat(np.arange(kv_heads), heads // kv_heads)
        k, v = T.getitem(k, (slice(None), slice(None), order)), T.getitem(v, (slice(None), slice(None), order))
    logits_dtype = result_type(d, "float32")
    scale = 1.0 / np.sqrt(np.float32(k.shape[-1])) if scale is None else scale
    logits = cast(T.einsum("BTNH,BSNH->BNTS", q, k), logits_dtype) * Tensor(np.asarray(scale, logits_dtype))
    if bias is not None:
        logits = logits + cast(tensor(bias, d, who="dot_product_attention"), logits_dtype)
    if mask is not None or is_causal:
        keep = np.ones(logits.shape, bool)
        if mask is not None:
            keep &= np.broadcast_to(tensor(mask, who="dot_product_attention").data.astype(bool), logits.shape)
        if is_causal:
            keep &= np.tri(logits.shape[2], logits.shape[3], dtype=bool)
        large_negative = (65500.0 if logits_dtype == "float16" else 3.38953e38) * -0.7
        logits = T.where(keep, logits, Tensor(np.asarray(large_negative, logits_dtype)))
    probs = cast(T.softmax(cast(logits, result_type(logits_dtype, "float32")), axis=-1), k.dtype.name)
    return T.einsum("BNTS,BSNH->BTNH", probs, v)


__all__ = ["dot_product_attention", "layer_normalization", "rms_normalization",
           "binary_crossentropy", "categorical_crossentropy", "elu", "gelu", "hard_sigmoid", "leaky_relu",
           "log_sigmoid", "log_softmax", "moments", "normalize", "one_hot", "relu", "relu6", "selu", "sigmoid",
           "silu", "softmax", "softplus", "softsign", "sparse_categorical_crossentropy", "swish"]
