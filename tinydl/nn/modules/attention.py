"""MultiheadAttention (PyTorch's): ``in_proj_weight`` (3E, E) (or ``q/k/v_proj_weight`` when
kdim/vdim differ), ``in_proj_bias`` (3E,), ``out_proj`` a Linear(E, E). The attention itself is
``nn.layers.attention.attention`` (the Keras layer's too)."""
import math

import numpy as np

from ...core import functional as T
from ...core.tensor import Tensor, as_tensor
from .. import torch_init as init
from ..layers.attention import attention
from ..module import Module
from ._common import new_parameter, positive_int
from .linear import Linear


def _mask_array(mask):
    return None if mask is None else (mask.data if isinstance(mask, Tensor) else np.asarray(mask))


class MultiheadAttention(Module):
    """``MultiheadAttention(embed_dim, num_heads, dropout=0.0, bias=True, kdim=None, vdim=None,
    batch_first=False)``; ``forward(query, key, value, key_padding_mask=None, need_weights=True,
    attn_mask=None, average_attn_weights=True, is_causal=False)`` -> ``(attn_output,
    attn_weights)``. Boolean masks are True where attention is NOT allowed; float masks are added."""

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
                 kdim=None, vdim=None, batch_first=False, device=None, dtype=None):
        super().__init__()
        if add_bias_kv or add_zero_attn:
            raise NotImplementedError("MultiheadAttention: add_bias_kv and add_zero_attn are not implemented in tinydl")
        self.embed_dim = positive_int("MultiheadAttention", "embed_dim", embed_dim)
        self.num_heads = positive_int("MultiheadAttention", "num_heads", num_heads)
        if embed_dim % num_heads:
            raise AssertionError("embed_dim must be divisible by num_heads")
        self.kdim, self.vdim = kdim or embed_dim, vdim or embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.dropout, self.batch_first, self.head_dim = float(dropout), bool(batch_first), embed_dim // num_heads
        if self._qkv_same_embed_dim:
            self.in_proj_weight = new_parameter((3 * embed_dim, embed_dim), dtype, device)
        else:
            self.q_proj_weight = new_parameter((embed_dim, embed_dim), dtype, device)
            self.k_proj_weight = new_parameter((embed_dim, self.kdim), dtype, device)
            self.v_proj_weight = new_parameter((embed_dim, self.vdim), dtype, device)
        if bias:
            self.in_proj_bias = new_parameter((3 * embed_dim,), dtype, device)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, device=device, dtype=dtype)
        self.built = True
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)

    def _proj(self, x, i):
        e = self.embed_dim
        w = self.in_proj_weight[i * e:(i + 1) * e] if self._qkv_same_embed_dim else \
            (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)[i]
        y = T.matmul(x, T.transpose(w, (1, 0)))
        if self.in_proj_bias is not None:
            y = y + self.in_proj_bias[i * e:(i + 1) * e]
        n, length = y.shape[0], y.shape[1]
        return T.transpose(T.reshape(y, (n, length, self.num_heads, self.head_dim)), (0, 2, 1, 3))

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        q, k, v = as_tensor(query), as_tensor(key), as_tensor(value)
        unbatched = q.ndim == 2
        kpm = _mask_array(key_padding_mask)
        if unbatched:
            q, k, v = (T.unsqueeze(t, 0) for t in (q, k, v))
            kpm = None if kpm is None else kpm[None]
        elif not self.batch_first:
            q, k, v = (T.transpose(t, (1, 0, 2)) for t in (q, k, v))
        if q.ndim != 3 or q.shape[-1] != self.embed_dim or k.shape[-1] != self.kdim or v.shape[-1] != self.vdim:
            raise AssertionError(f"MultiheadAttention: was expecting embedding dimension of {self.embed_dim}, got "
                                 f"query {tuple(as_tensor(query).shape)}, key {tuple(as_tensor(key).shape)}, "
                                 f"value {tuple(as_tensor(value).shape)}")
        n, length, h = q.shape[0], q.shape[1], self.num_heads
        keep = bias = None

        def add(arr, reshape):
            nonlocal keep, bias
            if arr.dtype == bool:
                kk = reshape(~arr)
                keep = kk if keep is None else keep & kk
            else:
                bb = reshape(arr.astype(q.dtype))
                bias = bb if bias is None else bias + bb

        if kpm is not None:
            add(kpm, lambda a: a[:, None, None, :])
        am = _mask_array(attn_mask)
        if am is not None:
            add(am, lambda a: a if a.ndim == 2 else a.reshape(n, h, a.shape[-2], a.shape[-1]))
        causal = bool(is_causal) and am is None
        out, w = attention(self._proj(q, 0), self._proj(k, 1), self._proj(v, 2), keep=keep, bias=bias,
                           causal=causal, dropout=self.dropout, training=self.training)
        out = T.reshape(T.transpose(out, (0, 2, 1, 3)), (n, length, self.embed_dim))
        out = self.out_proj(out)
        if unbatched:
            out = T.squeeze(out, 0)
        elif not self.batch_first:
            out = T.transpose(out, (1, 0, 2))
        if not need_weights:
            return out, None
        if average_attn_weights:
            w = T.mean(w, axis=1)
        return out, (T.squeeze(w, 0) if unbatched else w)
