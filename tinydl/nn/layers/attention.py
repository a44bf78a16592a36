"""Attention: ``scaled_dot_product_attention`` and multi-head attention in both flavours.

``scaled_dot_product_attention(q, k, v, mask=None, causal=False)``
    ``softmax(q @ k^T * scale + masking) @ v`` over the last two axes: q (..., L, d),
    k (..., S, d), v (..., S, dv) -> (..., L, dv). ``scale`` defaults to 1/sqrt(d).

Masks. A boolean ``mask`` broadcastable to (..., L, S) says where a query MAY attend (True =
attend), as Keras's ``attention_mask`` and PyTorch's ``F.scaled_dot_product_attention``; a float
mask is added to the scores (-inf forbids). ``causal=True`` lets query i see keys j <= i (the
lower triangle anchored at the top-left, as both frameworks). PyTorch's
``nn.MultiheadAttention`` uses the opposite boolean convention (True = ignore) for its
``attn_mask`` and ``key_padding_mask``: that class converts.

Fully masked rows. The softmax is computed stably (max subtracted, masked entries exactly 0).
A query whose every key is masked has no distribution to normalize: tinydl defines its
attention weights as all zeros, so its output is 0 (and no gradient flows through that row),
where PyTorch returns NaN. Padding queries therefore come out as zero vectors.

Multi-head attention: ``MultiHeadAttention`` is Keras's layer (``num_heads, key_dim, value_dim,
dropout, use_bias, output_shape``; ``call(query, value, key=None, attention_mask=None,
return_attention_scores=False, use_causal_mask=False)``), storing Keras's weight shapes:
query/key kernels (dim, heads, key_dim), value kernel (dim, heads, value_dim), output kernel
(heads, value_dim, out_dim). PyTorch's ``nn.MultiheadAttention`` (``nn/modules/attention.py``)
uses ``attention`` below with its own weights and masks.

>>> import numpy as np, tinydl
>>> from tinydl.nn.layers.attention import scaled_dot_product_attention
>>> q = tinydl.zeros(1, 3, 3)                           # equal scores: uniform weights
>>> k = v = tinydl.Tensor(np.eye(3, dtype=np.float32)[None])
>>> out = scaled_dot_product_attention(q, k, v, causal=True)
>>> [round(float(a), 3) for a in out.numpy()[0, :, 0]]  # query i averages keys 0..i
[1.0, 0.5, 0.333]
"""
import math

import numpy as np

from ...core import functional as T
from ...core.random import get_rng
from ...core.tensor import Tensor, as_tensor
from .. import channels_last as F
from ..sequence_ops import MaskedSoftmax
from .. import validation as V
from .base import Layer, get_keras_mask


def masked_softmax(scores, keep=None):
    """Softmax over the last axis where ``keep`` is True; fully excluded rows give zeros."""
    scores = as_tensor(scores)
    keep = np.ones((), bool) if keep is None else (keep.data if isinstance(keep, Tensor) else keep)
    return MaskedSoftmax.apply(scores, Tensor._wrap(scores.xp.asarray(keep, dtype=bool)))


def causal_mask(length, source_length=None, xp=np):
    """(L, S) boolean: query i may attend keys j <= i."""
    s = length if source_length is None else source_length
    return xp.tril(xp.ones((length, s), dtype=bool))


def _mask_array(mask):
    if mask is None:
        return None
    return mask.data if isinstance(mask, Tensor) else np.asarray(mask)


def attention(q, k, v, keep=None, bias=None, causal=False, scale=None, dropout=0.0, training=True):
    """The core: boolean ``keep`` (True = attend) and/or float additive ``bias``; returns
    ``(output, weights)``."""
    q, k, v = as_tensor(q), as_tensor(k), as_tensor(v)
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"attention: queries have size {q.shape[-1]} but keys {k.shape[-1]} "
                         f"(shapes {tuple(q.shape)}, {tuple(k.shape)})")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"attention: {k.shape[-2]} keys but {v.shape[-2]} values "
                         f"(shapes {tuple(k.shape)}, {tuple(v.shape)})")
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = T.matmul(q * scale, T.swapaxes(k, -1, -2))
    xp = scores.xp
    if bias is not None:
        scores = scores + (bias if isinstance(bias, Tensor) else Tensor._wrap(xp.asarray(bias, dtype=scores.dtype)))
    keep = None if keep is None else xp.asarray(keep, dtype=bool)
    if causal:
        cm = causal_mask(q.shape[-2], k.shape[-2], xp)
        keep = cm if keep is None else keep & cm
    w = masked_softmax(scores, keep)
    wd = F.dropout(w, dropout, training) if dropout and training else w
    return T.matmul(wd, v), w


def scaled_dot_product_attention(q, k, v, mask=None, causal=False, scale=None, dropout=0.0, training=True,
                                 return_weights=False, attn_mask=None, dropout_p=None, is_causal=None):
    """``softmax(q k^T / sqrt(d) [masked]) v``; ``mask`` boolean (True = attend) or float (added).

    A query with every key masked outputs 0 (documented above). With ``return_weights`` the
    attention weights (..., L, S) are returned too. PyTorch's keyword names ``attn_mask``,
    ``dropout_p`` and ``is_causal`` are accepted (same meaning as in its
    ``F.scaled_dot_product_attention``: a boolean mask is True where attention is allowed).
    """
    mask = attn_mask if mask is None else mask
    dropout = dropout if dropout_p is None else dropout_p
    causal = causal if is_causal is None else is_causal
    m = _mask_array(mask)
    keep = bias = None
    if m is not None:
        if m.dtype == bool:
            keep = m
        else:
            bias = mask if isinstance(mask, Tensor) else m
    out, w = attention(q, k, v, keep=keep, bias=bias, causal=causal, scale=scale, dropout=dropout,
                       training=training)
    return (out, w) if return_weights else out


def _fan_glorot(fan_in, fan_out):
    limit = math.sqrt(6 / (fan_in + fan_out))
    return lambda shape, dtype: get_rng().uniform(-limit, limit, shape).astype(dtype)


class MultiHeadAttention(Layer):
    """Keras's ``MultiHeadAttention(num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
    output_shape=None, kernel_initializer='glorot_uniform', bias_initializer='zeros')``.

    ``call(query, value, key=None, attention_mask=None, return_attention_scores=False,
    training=None, use_causal_mask=False, query_mask=None, value_mask=None)`` with batch-major
    (B, T, dim) inputs; ``attention_mask`` is boolean (B, T, S) (or broadcastable), True =
    attend. Returns (B, T, out_dim), plus the weights (B, heads, T, S) if asked. tinydl lets
    ``value`` default to ``query`` (self-attention), so ``mha(x)`` also works in the one-input
    functional API. Dropout acts on the attention weights, in training only.
    """

    supports_masking = True  # the output keeps the query's mask, as Keras's

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True, output_shape=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, bias_constraint=None, attention_axes=None,
                 **kwargs):
        unsupported = [arg for arg in ("use_gate", "flash_attention") if kwargs.pop(arg, None)]
        super().__init__(**kwargs)
        who = V.owner(self)
        if unsupported:
            raise NotImplementedError(f"{who}: {unsupported[0]} is not implemented in tinydl")
        if attention_axes is not None:
            raise NotImplementedError(f"{who}: attention_axes is not implemented in tinydl (attention runs over "
                                      "the sequence axis, Keras's default)")
        self.attention_axes = attention_axes
        self.kernel_constraint, self.bias_constraint = kernel_constraint, bias_constraint
        V.positive_int(who, "num_heads", num_heads)
        V.positive_int(who, "key_dim", key_dim)
        if value_dim is not None:
            V.positive_int(who, "value_dim", value_dim)
        V.real(who, "dropout", dropout, 0, 1, high_open=True)
        V.boolean(who, "use_bias", use_bias)
        if output_shape is not None and not (V._is_int(output_shape) and output_shape >= 1):
            V.shape_hint(who, output_shape, "output_shape")
        self.num_heads, self.key_dim = int(num_heads), int(key_dim)
        self.value_dim = int(value_dim) if value_dim else self.key_dim
        if not 0 <= dropout < 1:
            raise ValueError(f"{self.name}: dropout must be in [0, 1), got {dropout}")
        self.dropout, self.use_bias = dropout, use_bias
        self.output_dim = output_shape if output_shape is None or isinstance(output_shape, int) else output_shape[-1]
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self._weights_ready = False

    # Keras builds from the shapes of query, value and key: done at the first call.
    def build(self, input_shape):
        pass

    def build_from_dims(self, query_dim, value_dim, key_dim=None):
        key_dim = value_dim if key_dim is None else key_dim
        h, kd, vd = self.num_heads, self.key_dim, self.value_dim
        out = self.output_dim or query_dim
        self.output_dim = out
        inits = self._initializers(query_dim, key_dim, value_dim, out)
        for name, shape, bshape, k_init in (("query", (query_dim, h, kd), (h, kd), inits[0]),
                                            ("key", (key_dim, h, kd), (h, kd), inits[1]),
                                            ("value", (value_dim, h, vd), (h, vd), inits[2]),
                                            ("output", (h, vd, out), (out,), inits[3])):
            self.add_weight(f"{name}_kernel", shape, k_init, self.kernel_regularizer,
                            constraint=self.kernel_constraint)
            if self.use_bias:
                self.add_weight(f"{name}_bias", bshape, self.bias_initializer, self.bias_regularizer,
                                constraint=self.bias_constraint)
            else:
                setattr(self, f"{name}_bias", None)
        self.dims = (query_dim, key_dim, value_dim)
        self._weights_ready = True

    def _initializers(self, qd, kd, vd, out):
        return [self.kernel_initializer] * 4

    def _project(self, x, name, width):
        """(B, T, dim) -> (B, heads, T, width)."""
        kernel, bias = getattr(self, f"{name}_kernel"), getattr(self, f"{name}_bias")
        b, t, d = x.shape
        y = T.matmul(T.reshape(x, (b * t, d)), T.reshape(kernel, (d, self.num_heads * width)))
        if bias is not None:
            y = y + T.reshape(bias, (self.num_heads * width,))
        return T.transpose(T.reshape(y, (b, t, self.num_heads, width)), (0, 2, 1, 3))

    def _check(self, query, value, key):
        for what, x in (("query", query), ("value", value), ("key", key)):
            if x.ndim != 3:
                raise ValueError(f"{self.name} (MultiHeadAttention): {what} must be (batch, seq, dim), "
                                 f"got shape {tuple(x.shape)}")
        if not self._weights_ready:
            self.build_from_dims(query.shape[-1], value.shape[-1], key.shape[-1])
        dims = (query.shape[-1], key.shape[-1], value.shape[-1])
        if dims != self.dims:
            raise ValueError(f"{self.name}: built for (query, key, value) dims {self.dims}, got {dims}")
        if key.shape[1] != value.shape[1]:
            raise ValueError(f"{self.name}: key and value must have the same length, got shapes "
                             f"{tuple(key.shape)} and {tuple(value.shape)}")

    def forward(self, query, value=None, key=None, attention_mask=None, return_attention_scores=False,
                training=None, use_causal_mask=False, query_mask=None, value_mask=None):
        if query_mask is None:  # Keras's: the masks that travel with the inputs (Embedding mask_zero)
            query_mask = get_keras_mask(query)
        if value_mask is None:
            value_mask = get_keras_mask(value if value is not None else query)
        query = as_tensor(query)
        value = query if value is None else as_tensor(value)
        key = value if key is None else as_tensor(key)
        self._check(query, value, key)
        keep = _mask_array(attention_mask)
        if keep is not None:
            keep = keep.astype(bool)
            if keep.ndim == 3:
                keep = keep[:, None]  # (B, 1, T, S): shared by the heads
        for m, where in ((query_mask, (slice(None), None, slice(None), None)),
                         (value_mask, (slice(None), None, None, slice(None)))):
            if m is not None:
                mm = _mask_array(m).astype(bool)[where]
                keep = mm if keep is None else keep & mm
        return self._attend(query, key, value, keep, None, use_causal_mask, training, return_attention_scores)

    def _attend(self, query, key, value, keep, bias, causal, training, return_weights):
        b, t = query.shape[0], query.shape[1]
        q = self._project(query, "query", self.key_dim)
        k = self._project(key, "key", self.key_dim)
        v = self._project(value, "value", self.value_dim)
        training = self.training if training is None else training
        o, w = attention(q, k, v, keep=keep, bias=bias, causal=causal, dropout=self.dropout, training=training)
        o = T.reshape(T.transpose(o, (0, 2, 1, 3)), (b * t, self.num_heads * self.value_dim))
        y = T.matmul(o, T.reshape(self.output_kernel, (self.num_heads * self.value_dim, self.output_dim)))
        if self.output_bias is not None:
            y = y + self.output_bias
        y = T.reshape(y, (b, t, self.output_dim))
        return (y, w) if return_weights else y
