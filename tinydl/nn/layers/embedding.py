"""Embedding: a trainable lookup table from integer ids to vectors.

``Embedding(input_dim, output_dim)`` (Keras's arguments) maps integer ids of any shape
``(...)`` to ``(..., output_dim)``; ``TorchEmbedding(num_embeddings, embedding_dim)`` (exported as
``tinydl.nn.Embedding``) is the same layer with PyTorch's argument names, ``padding_idx`` and
initialisation (N(0, 1)). The table is ``embeddings``,
shaped (input_dim, output_dim) in both flavours, as Keras and PyTorch store it.

The lookup is one op, :class:`EmbeddingLookup`: forward gathers rows, backward scatter-adds the
incoming gradient into the rows that were used, so an id that appears several times
accumulates every one of its gradients. Only the used rows are non-zero in the gradient.

>>> import numpy as np, tinydl
>>> from tinydl.nn.layers.embedding import Embedding
>>> emb = Embedding(5, 2)
>>> out = emb(np.array([[1, 1, 4]]))
>>> out.shape
(1, 3, 2)
>>> out.sum().backward()
>>> emb.embeddings.grad.numpy()[:, 0].tolist()   # id 1 was used twice
[0.0, 2.0, 0.0, 0.0, 1.0]
"""
import numpy as np

from ...backends import get_array_module
from ...core.autograd import Function
from ...core.random import get_rng
from ...core.tensor import Tensor
from .base import Layer


class EmbeddingLookup(Function):
    """``table[ids]`` for a 2-d table and integer ids of any shape; ids get no gradient.

    Backward: a scatter-add of the output gradient rows into a zero table (repeated ids
    accumulate). ``padding_idx`` (PyTorch's) receives no gradient.
    """

    def __init__(self, padding_idx=None):
        self.padding_idx = padding_idx

    def forward(self, table, ids):
        if ids.dtype.kind not in "iu":
            raise TypeError(f"embedding: ids must be integers, got dtype {ids.dtype}")
        n = table.shape[0]
        if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= n):
            raise IndexError(f"embedding: ids must be in [0, {n}) for a table of {n} rows, got values in "
                             f"[{int(ids.min())}, {int(ids.max())}]")
        self.ids, self.shape = ids, table.shape
        return table[ids]

    def backward(self, g):
        xp = get_array_module(g)
        ids = self.ids.reshape(-1)
        rows = g.reshape(-1, self.shape[1])
        out = xp.zeros(self.shape, dtype=g.dtype)
        if ids.size and xp is not np:
            xp.add.at(out, ids, rows)  # CuPy: an atomic scatter-add
        elif ids.size:
            # Sort the ids once, sum each run of equal ids with reduceat: a scatter-add without
            # np.add.at's per-element overhead.
            order = xp.argsort(ids, kind="stable")
            sorted_ids = ids[order]
            starts = xp.flatnonzero(xp.concatenate([xp.ones(1, bool), sorted_ids[1:] != sorted_ids[:-1]]))
            sums = xp.add.reduceat(rows[order], starts, axis=0)
            out[sorted_ids[starts]] = sums
        if self.padding_idx is not None:
            out[self.padding_idx] = 0
        return out, None


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


class Embedding(Layer):
    """Keras's ``Embedding(input_dim, output_dim, embeddings_initializer='uniform',
    embeddings_regularizer=None, mask_zero=False)``; ids of any shape -> (..., output_dim).

    PyTorch's keyword names ``num_embeddings``/``embedding_dim`` are accepted too.
    With ``mask_zero=True`` id 0 is padding: ``compute_mask(ids)`` returns ``ids != 0`` (a
    boolean array, for the attention layers' masks); the lookup itself is unchanged.
    """

    integer_inputs = True

    def __init__(self, input_dim=None, output_dim=None, embeddings_initializer="uniform", embeddings_regularizer=None,
                 mask_zero=False, padding_idx=None, num_embeddings=None, embedding_dim=None, **kwargs):
        kwargs.pop("input_length", None)  # Keras 2's argument; not needed
        super().__init__(**kwargs)
        input_dim = num_embeddings if input_dim is None else input_dim  # PyTorch's keyword names
        output_dim = embedding_dim if output_dim is None else output_dim
        for what, v in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{self.name} (Embedding): {what} must be a positive integer, got {v!r}")
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.mask_zero, self.padding_idx = mask_zero, padding_idx
        init = {"uniform": _uniform_005, "normal": _standard_normal}.get(embeddings_initializer, embeddings_initializer)
        self.add_weight("embeddings", (self.input_dim, self.output_dim), init, embeddings_regularizer)
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

    def compute_mask(self, ids):
        if not self.mask_zero:
            return None
        ids = ids.data if isinstance(ids, Tensor) else np.asarray(ids)
        return ids != 0

    @property
    def weight(self):
        """PyTorch's name for the table (the same Parameter)."""
        return self.embeddings


class TorchEmbedding(Embedding):
    """PyTorch's ``nn.Embedding(num_embeddings, embedding_dim, padding_idx=None)``: N(0, 1)
    initialisation; the ``padding_idx`` row starts at zero and never receives a gradient."""

    def __init__(self, num_embeddings=None, embedding_dim=None, padding_idx=None, **kwargs):
        num_embeddings = kwargs.pop("input_dim", num_embeddings)
        embedding_dim = kwargs.pop("output_dim", embedding_dim)
        if padding_idx is not None and padding_idx < 0:
            padding_idx += num_embeddings
        kwargs.setdefault("embeddings_initializer", "normal")
        super().__init__(num_embeddings, embedding_dim, padding_idx=padding_idx, **kwargs)


class PositionalEmbedding(Layer):
    """A learned position table (max_len, dim) added to a sequence of vectors.

    ``PositionalEmbedding(max_len, dim)``; ``forward(x, start=0)`` with x (N, T, dim) returns
    ``x + table[start:start + T]`` (``start`` offsets the positions, e.g. while generating).
    The table is ``embeddings``; the initializer defaults to N(0, 0.02) as GPT-2.
    """

    def __init__(self, max_len, dim, embeddings_initializer=None, **kwargs):
        super().__init__(**kwargs)
        if max_len < 1 or dim < 1:
            raise ValueError(f"{self.name} (PositionalEmbedding): max_len and dim must be positive, got {max_len}, {dim}")
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
