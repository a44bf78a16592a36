"""Embedding: a trainable lookup table from integer ids to vectors.

``KerasEmbedding(input_dim, output_dim)`` (Keras's arguments; ``tinydl.keras.layers.Embedding``)
maps integer ids of any shape ``(...)`` to ``(..., output_dim)``; ``tinydl.nn.Embedding``
(``nn/modules/sparse.py``) is PyTorch's, on the same lookup op. The table is ``embeddings``,
shaped (input_dim, output_dim), as Keras stores it.

The lookup is one op, ``nn.sequence_ops.EmbeddingLookup``: forward gathers rows, backward
scatter-adds the incoming gradient into the rows that were used, so an id that appears several
times accumulates every one of its gradients. Only the used rows are non-zero in the gradient.

>>> import numpy as np, tinydl
>>> from tinydl.nn.layers.embedding import KerasEmbedding
>>> emb = KerasEmbedding(5, 2)
>>> out = emb(np.array([[1, 1, 4]]))
>>> out.shape
(1, 3, 2)
>>> out.sum().backward()
>>> emb.embeddings.grad.detach().numpy()[:, 0].tolist()   # id 1 was used twice
[0.0, 2.0, 0.0, 0.0, 1.0]
"""
import numpy as np

from ...core.random import get_rng
from ...core.tensor import Tensor
from ..sequence_ops import EmbeddingLookup
from .. import validation as V
from .base import Layer, keras_named


def embedding(ids, table, padding_idx=None):
    """Functional lookup: rows of ``table`` (V, D) at integer ``ids`` -> (..., D)."""
    ids = ids.data if isinstance(ids, Tensor) else table.xp.asarray(ids)
    return EmbeddingLookup.apply(table, Tensor._wrap(ids), padding_idx=padding_idx)


def _uniform_005(shape, dtype):
    """Keras's Embedding default: RandomUniform(-0.05, 0.05)."""
    return get_rng().uniform(-0.05, 0.05, shape).astype(dtype)


def _standard_normal(shape, dtype):
    """PyTorch's nn.Embedding default: N(0, 1)."""
    return get_rng().standard_normal(shape).astype(dtype)


@keras_named("Embedding")
class KerasEmbedding(Layer):
    """Keras's ``Embedding(input_dim, output_dim, embeddings_initializer='uniform',
    embeddings_regularizer=None, mask_zero=False)``; ids of any shape -> (..., output_dim).

    PyTorch's keyword names ``num_embeddings``/``embedding_dim`` are accepted too.
    With ``mask_zero=True`` id 0 is padding: ``compute_mask(ids)`` returns ``ids != 0`` (a
    boolean array): it travels with the output to the layers that take a mask (the recurrent
    layers skip the padded steps, as Keras's); the lookup itself is unchanged.
    """

    integer_inputs = True

    def __init__(self, input_dim=None, output_dim=None, embeddings_initializer="uniform", embeddings_regularizer=None,
                 mask_zero=False, padding_idx=None, num_embeddings=None, embedding_dim=None,
                 embeddings_constraint=None, **kwargs):
        kwargs.pop("input_length", None)  # Keras 2's argument; not needed
        for arg in ("sparse", "lora_rank"):
            if kwargs.pop(arg, None):
                raise NotImplementedError(f"Embedding: {arg} is not implemented in tinydl")
        super().__init__(**kwargs)
        self.embeddings_constraint = embeddings_constraint
        input_dim = num_embeddings if input_dim is None else input_dim  # PyTorch's keyword names
        output_dim = embedding_dim if output_dim is None else output_dim
        V.positive_int(V.owner(self), "input_dim" if num_embeddings is None else "num_embeddings", input_dim)
        V.positive_int(V.owner(self), "output_dim" if embedding_dim is None else "embedding_dim", output_dim)
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        who = V.owner(self)
        if padding_idx is not None and (not V._is_int(padding_idx) or not 0 <= padding_idx < self.input_dim):
            raise ValueError(f"{who}: padding_idx must be an integer in [0, {self.input_dim}), got {padding_idx!r}")
        V.boolean(who, "mask_zero", mask_zero)
        self.mask_zero, self.padding_idx = mask_zero, padding_idx
        init = {"uniform": _uniform_005, "normal": _standard_normal}.get(embeddings_initializer, embeddings_initializer)
        self.add_weight("embeddings", (self.input_dim, self.output_dim), init, embeddings_regularizer,
                        constraint=embeddings_constraint)
        if padding_idx is not None:
            self.embeddings.data[padding_idx] = 0
        self.built = True

    def forward(self, ids):
        arr = ids.data if isinstance(ids, Tensor) else self.embeddings.xp.asarray(ids)
        if arr.dtype.kind == "f":  # Keras casts float ids (e.g. from a float input pipeline) to ints
            as_int = arr.astype(np.int64)
            if not bool((as_int == arr).all()):
                raise TypeError(f"{self.name} (Embedding): ids must be whole numbers, got non-integral "
                                f"values of dtype {arr.dtype}")
            arr = as_int
        return embedding(Tensor._wrap(arr), self.embeddings, self.padding_idx)

    def compute_mask(self, ids, mask=None):
        """With ``mask_zero``: ``ids != 0`` (a boolean array), which the next layers receive."""
        if not self.mask_zero:
            return None
        ids = ids.data if isinstance(ids, Tensor) else np.asarray(ids)
        return ids != 0

    @property
    def weight(self):
        """PyTorch's name for the table (the same Parameter)."""
        return self.embeddings


class PositionalEmbedding(Layer):
    """A learned position table (max_len, dim) added to a sequence of vectors.

    ``PositionalEmbedding(max_len, dim)``; ``forward(x, start=0)`` with x (N, T, dim) returns
    ``x + table[start:start + T]`` (``start`` offsets the positions, e.g. while generating).
    The table is ``embeddings``; the initializer defaults to N(0, 0.02) as GPT-2.
    """

    def __init__(self, max_len, dim, embeddings_initializer=None, **kwargs):
        super().__init__(**kwargs)
        V.positive_int(V.owner(self), "max_len", max_len)
        V.positive_int(V.owner(self), "dim", dim)
        self.max_len, self.dim = int(max_len), int(dim)
        init = embeddings_initializer or (lambda shape, dtype: (get_rng().standard_normal(shape) * 0.02).astype(dtype))
        self.add_weight("embeddings", (self.max_len, self.dim), init)
        self.built = True

    def forward(self, x, start=0):
        from ...core import functional as T
        x = x if isinstance(x, Tensor) else Tensor(x)
        if x.ndim < 2 or x.shape[-1] != self.dim:
            raise ValueError(f"{self.name} (PositionalEmbedding): expected input (batch, time, {self.dim}), "
                             f"got shape {tuple(x.shape)}")
        t = x.shape[-2]
        if start < 0 or start + t > self.max_len:
            raise ValueError(f"{self.name} (PositionalEmbedding): positions {start}..{start + t - 1} exceed "
                             f"max_len {self.max_len}")
        return x + T.getitem(self.embeddings, slice(start, start + t))
