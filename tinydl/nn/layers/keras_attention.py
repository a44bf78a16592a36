"""Keras's dot-product ``Attention`` (Luong) and ``AdditiveAttention`` (Bahdanau) layers.

Called on ``[query, value]`` or ``[query, value, key]`` (key defaults to value); ``mask`` is
``[query_mask, value_mask]`` (booleans (N, Tq) and (N, Tv)): masked values get a score of
-1e9 before the softmax, masked queries an output of 0, as Keras.
"""
import numpy as np

from ...core import functional as T
from ...backends import to_host
from ...core.tensor import Tensor
from .. import channels_last as F
from .. import validation as V
from .base import Layer
from .keras_util import add_keras_weight


class _BaseAttention(Layer):
    def __init__(self, dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.dropout = float(V.real(V.owner(self), "dropout", dropout, 0, 1, high_open=True))
        self.seed = seed
        self.supports_masking = True

    def _split(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) not in (2, 3):
            raise ValueError(f"{V.owner(self)}: expects a list [query, value] or [query, value, key], got "
                             f"{type(inputs).__name__}")
        q, v = T._t(inputs[0]), T._t(inputs[1])
        k = T._t(inputs[2]) if len(inputs) == 3 else v
        for name, t in (("query", q), ("value", v), ("key", k)):
            if t.ndim != 3:
                raise ValueError(f"{V.owner(self)}: {name} must be 3-d (batch, steps, dim), got shape {tuple(t.shape)}")
        if k.shape[:2] != v.shape[:2]:
            raise ValueError(f"{V.owner(self)}: key and value must share batch and steps, got {tuple(k.shape)} "
                             f"and {tuple(v.shape)}")
        return q, v, k

    def build(self, input_shape):
        pass

    def forward(self, inputs, mask=None, training=None, return_attention_scores=False, use_causal_mask=False):
        q, v, k = self._split(inputs)
        if not self.__dict__.get("_weights_made"):   # built on the first call ([q, v] has no one shape)
            self._make_weights(tuple(q.shape), tuple(k.shape))
            self._weights_made = True
        scores = self._scores(q, k)                     # (N, Tq, Tv)
        q_mask = v_mask = None
        if mask is not None:
            q_mask, v_mask = (list(mask) + [None])[:2] if isinstance(mask, (list, tuple)) else (None, mask)
        keep = None
        if v_mask is not None:
            vm = to_host(v_mask.data) if isinstance(v_mask, Tensor) else to_host(v_mask)
            keep = vm.astype(bool)[:, None, :]
        if use_causal_mask:
            tq, tv = scores.shape[1], scores.shape[2]
            causal = np.tril(np.ones((tq, tv), dtype=bool))[None]
            keep = causal if keep is None else keep & causal
        if keep is not None:
            big = 65504.0 if scores.dtype == np.float16 else 1.0e9
            scores = scores - Tensor._wrap(scores.xp.asarray((~np.broadcast_to(keep, scores.shape)) * big,
                                                             dtype=scores.dtype))
        weights = T.softmax(scores, axis=-1)
        training = self.training if training is None else training
        attended = F.dropout(weights, self.dropout, training) if self.dropout else weights
        out = T.matmul(attended, v)
        if q_mask is not None:
            qm = to_host(q_mask.data) if isinstance(q_mask, Tensor) else to_host(q_mask)
            out = out * Tensor._wrap(out.xp.asarray(qm[..., None], dtype=out.dtype))
        return (out, weights) if return_attention_scores else out

    def compute_mask(self, inputs, mask=None):
        if mask is None or not isinstance(mask, (list, tuple)):
            return None
        return mask[0]


class Attention(_BaseAttention):
    """``Attention(use_scale=False, score_mode='dot', dropout=0.0, seed=None)``: scores
    ``q . k`` ('dot', times a learned scalar ``scale`` if ``use_scale``) or
    ``concat_score_weight * sum(tanh(scale * (q + k)))`` ('concat')."""

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(dropout=dropout, seed=seed, **kwargs)
        who = V.owner(self)
        self.use_scale = V.boolean(who, "use_scale", use_scale)
        self.score_mode = V.choice(who, "score_mode", score_mode, ("dot", "concat"))

    def _make_weights(self, q_shape, k_shape):
        self.scale = add_keras_weight(self, "scale", (), "ones") if self.use_scale else None
        if self.score_mode == "concat":
            self.concat_score_weight = add_keras_weight(self, "concat_score_weight", (), "ones")

    def _scores(self, q, k):
        if self.score_mode == "dot":
            s = T.matmul(q, T.transpose(k, (0, 2, 1)))
            return s * self.scale if getattr(self, "scale", None) is not None else s
        pair = T.unsqueeze(q, 2) + T.unsqueeze(k, 1)     # (N, Tq, Tv, d)
        if getattr(self, "scale", None) is not None:
            pair = pair * self.scale
        return self.concat_score_weight * T.sum(T.tanh(pair), axis=-1)


class AdditiveAttention(_BaseAttention):
    """``AdditiveAttention(use_scale=True, dropout=0.0)``: scores
    ``sum(scale * tanh(q + k), axis=-1)`` with a learned ``scale`` of shape (dim,)."""

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        super().__init__(dropout=dropout, **kwargs)
        self.use_scale = V.boolean(V.owner(self), "use_scale", use_scale)

    def _make_weights(self, q_shape, k_shape):
        self.scale = add_keras_weight(self, "scale", (q_shape[-1],), "glorot_uniform") if self.use_scale else None

    def _scores(self, q, k):
        t = T.tanh(T.unsqueeze(q, 2) + T.unsqueeze(k, 1))  # (N, Tq, Tv, d)
        if getattr(self, "scale", None) is not None:
            t = t * self.scale
        return T.sum(t, axis=-1)
