"""Transformer building blocks: ``TransformerBlock`` (pre-norm) and ``TransformerLM`` (a small GPT).

``TransformerBlock(dim, num_heads, ff_dim=4*dim, dropout=0.0, causal=False, activation='gelu',
epsilon=1e-5)`` computes, on (N, T, dim)::

    x = x + Dropout(MultiHeadAttention(LayerNorm(x)))        # self-attention, causal if asked
    x = x + Dropout(Dense(dim)(act(Dense(ff_dim)(LayerNorm(x)))))

(the pre-norm arrangement of GPT-2). ``activation='gelu'`` is the tanh approximation of GELU
(as GPT-2); ``'gelu_exact'`` uses erf; any name of ``tinydl.nn.functional.get_activation`` or a
callable works too.

``TransformerLM(vocab_size, block_size, dim=128, num_heads=4, num_layers=4, dropout=0.0)`` is a
decoder-only language model: token embedding + learned positions, ``num_layers`` causal
blocks, a final LayerNorm and a linear head; ``forward(ids (N, T)) -> logits (N, T, vocab)``.

>>> import numpy as np, tinydl
>>> from tinydl.nn.layers.transformer import TransformerLM
>>> _ = tinydl.manual_seed(0)
>>> lm = TransformerLM(vocab_size=11, block_size=8, dim=16, num_heads=2, num_layers=1)
>>> lm(np.zeros((3, 8), np.int64)).shape
(3, 8, 11)
"""
from ...core import functional as T
from ...core.random import get_rng
from ...core.tensor import Tensor, as_tensor
from .. import channels_last as F
from .. import validation as V
from .attention import MultiHeadAttention
from .base import Layer
from .core import Dense
from .embedding import KerasEmbedding, PositionalEmbedding
from .layernorm import LayerNormalization


def _activation(name):
    if name == "gelu":
        return lambda x: T.gelu(x, "tanh")
    if name == "gelu_exact":
        return lambda x: T.gelu(x, "none")
    fn = F.get_activation(name)
    return fn or (lambda x: x)


def _dense_3d(layer, x):
    """Apply a Dense layer to (N, T, D) through a 2-d matmul (one GEMM, a 2-d kernel gradient)."""
    n, t, d = x.shape
    y = layer(T.reshape(x, (n * t, d)))
    return T.reshape(y, (n, t, y.shape[-1]))


class TransformerBlock(Layer):
    """Pre-norm transformer block: attention and MLP sub-layers, each with a residual connection."""

    def __init__(self, dim, num_heads, ff_dim=None, dropout=0.0, attention_dropout=0.0, causal=False,
                 activation="gelu", epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        who = V.owner(self)
        V.positive_int(who, "dim", dim)
        V.positive_int(who, "num_heads", num_heads)
        if ff_dim is not None:
            V.positive_int(who, "ff_dim", ff_dim)
        V.real(who, "dropout", dropout, 0, 1, high_open=True)
        V.real(who, "attention_dropout", attention_dropout, 0, 1, high_open=True)
        V.real(who, "epsilon", epsilon, 0, low_open=True)
        if dim % num_heads:
            raise ValueError(f"{self.name} (TransformerBlock): dim {dim} is not divisible by num_heads {num_heads}")
        self.dim, self.num_heads, self.causal = dim, num_heads, causal
        self.ff_dim = ff_dim or 4 * dim
        self.dropout = dropout
        self.act_name = activation
        self._act = _activation(activation)
        dt = self.dtype
        self.ln1 = LayerNormalization(epsilon=epsilon, dtype=dt, input_shape=(None, dim))
        self.attn = MultiHeadAttention(num_heads, dim // num_heads, dropout=attention_dropout, dtype=dt)
        self.attn.build_from_dims(dim, dim, dim)
        self.attn.built = True
        self.ln2 = LayerNormalization(epsilon=epsilon, dtype=dt, input_shape=(None, dim))
        self.ff1 = Dense(self.ff_dim, in_features=dim, dtype=dt)
        self.ff2 = Dense(dim, in_features=self.ff_dim, dtype=dt)
        self.built = True

    def forward(self, x, attention_mask=None, use_causal_mask=None, training=None):
        x = as_tensor(x)
        if x.ndim != 3 or x.shape[-1] != self.dim:
            raise ValueError(f"{self.name} (TransformerBlock): expected (batch, time, {self.dim}), "
                             f"got shape {tuple(x.shape)}")
        training = self.training if training is None else training
        causal = self.causal if use_causal_mask is None else use_causal_mask
        h = self.ln1(x)
        a = self.attn(h, h, attention_mask=attention_mask, use_causal_mask=causal, training=training)
        x = x + F.dropout(a, self.dropout, training)
        h = _dense_3d(self.ff2, self._act(_dense_3d(self.ff1, self.ln2(x))))
        return x + F.dropout(h, self.dropout, training)


def _normal_002(shape, dtype):
    return (get_rng().standard_normal(shape) * 0.02).astype(dtype)


class TransformerLM(Layer):
    """A GPT-style causal language model over integer tokens (N, T) -> logits (N, T, vocab)."""

    integer_inputs = True  # token ids

    def __init__(self, vocab_size, block_size, dim=128, num_heads=4, num_layers=4, ff_dim=None, dropout=0.0,
                 **kwargs):
        super().__init__(**kwargs)
        who = V.owner(self)
        for arg, v in (("vocab_size", vocab_size), ("block_size", block_size), ("dim", dim),
                       ("num_heads", num_heads), ("num_layers", num_layers)):
            V.positive_int(who, arg, v)
        V.real(who, "dropout", dropout, 0, 1, high_open=True)
        self.vocab_size, self.block_size, self.dim = vocab_size, block_size, dim
        self.num_layers = num_layers
        dt = self.dtype
        self.tok = KerasEmbedding(vocab_size, dim, embeddings_initializer=_normal_002, dtype=dt)
        self.pos = PositionalEmbedding(block_size, dim, dtype=dt)
        for i in range(num_layers):
            setattr(self, f"block{i}", TransformerBlock(dim, num_heads, ff_dim=ff_dim, dropout=dropout, causal=True,
                                                        dtype=dt))
        self.ln_f = LayerNormalization(epsilon=1e-5, dtype=dt, input_shape=(None, dim))
        self.head = Dense(vocab_size, in_features=dim, dtype=dt)
        self.dropout = dropout
        self.built = True

    def forward(self, ids, training=None):
        ids = ids.data if isinstance(ids, Tensor) else self.tok.embeddings.xp.asarray(ids)
        if ids.ndim != 2:
            raise ValueError(f"{self.name} (TransformerLM): expected token ids (batch, time), got shape {ids.shape}")
        if ids.shape[1] > self.block_size:
            raise ValueError(f"{self.name} (TransformerLM): sequence length {ids.shape[1]} exceeds block_size "
                             f"{self.block_size}")
        training = self.training if training is None else training
        x = F.dropout(self.pos(self.tok(ids)), self.dropout, training)
        for i in range(self.num_layers):
            x = getattr(self, f"block{i}")(x, training=training)
        return _dense_3d(self.head, self.ln_f(x))
