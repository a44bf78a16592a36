"""Keras's lookup and text preprocessing layers: StringLookup, IntegerLookup, CategoryEncoding,
TextVectorization. They map data to integer indices or count vectors; nothing here is
differentiable (their outputs are integer or constant Tensors).

The vocabulary, as Keras lays it out for ``output_mode='int'``: the mask token (if any) at 0,
then the OOV token, then the vocabulary. In the other modes the mask token is left out and its
occurrences are dropped. ``adapt`` orders tokens by count, most frequent first, ties broken by
the token in reverse order (Keras's ``np.lexsort((tokens, counts))[::-1]``), and keeps at most
``max_tokens`` entries including the special ones. tf-idf weights are
``log(1 + documents / (1 + documents containing the token))``; the OOV token gets their mean.
"""
import re

import numpy as np

from ...core.tensor import Tensor
from ...backends import to_host
from ..module import Module
from .. import validation as V
from .base import Layer

DEFAULT_STRIP_REGEX = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'
_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


def _host(x):
    if isinstance(x, Tensor):
        return to_host(x.data)
    if hasattr(x, "numpy") and callable(x.numpy):
        return x.detach().numpy()
    return np.asarray(x)


def _batches(data, batch_size=None):
    """The batches of ``adapt(data)``: an array/list, or an iterable of batches (a Dataset)."""
    if isinstance(data, (np.ndarray, list, tuple, Tensor)):
        yield _host(data)
        return
    for item in data:
        if isinstance(item, (tuple, list)) and len(item) == 2 and not isinstance(item[0], str):
            item = item[0]   # (x, y) pairs: adapt on x
        yield _host(item)


def _encode(indices, depth, mode, idf=None, dtype=np.float32):
    """(batch, k) integer indices (-1 = drop) -> (batch, depth) one-hot/multi-hot/count/tf-idf."""
    indices = np.asarray(indices)
    if indices.ndim == 0:
        indices = indices.reshape(1, 1)
    elif indices.ndim == 1:
        indices = indices[:, None] if mode == "one_hot" else indices[None, :]
    if mode == "one_hot" and indices.shape[-1] != 1:
        raise ValueError(f"one_hot output expects one index per example, got shape {indices.shape}")
    out = np.zeros(indices.shape[:-1] + (depth,), dtype=np.float64)
    flat_out = out.reshape(-1, depth)
    flat_idx = indices.reshape(-1, indices.shape[-1])
    for row, idx in zip(flat_out, flat_idx):
        idx = idx[idx >= 0]
        np.add.at(row, idx, 1.0)
    if mode in ("multi_hot", "one_hot"):
        out = np.minimum(out, 1.0)
    elif mode == "tf_idf":
        out = out * idf
    return out.astype(dtype)


class CategoryEncoding(Layer):
    """``CategoryEncoding(num_tokens=None, output_mode='multi_hot', sparse=False)``: integer
    inputs in [0, num_tokens) to one-hot, multi-hot or count vectors (float32)."""

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        who = V.owner(self)
        if num_tokens is None:
            raise ValueError(f"{who}: num_tokens must be given")
        self.num_tokens = V.positive_int(who, "num_tokens", num_tokens)
        self.output_mode = V.choice(who, "output_mode", output_mode, ("one_hot", "multi_hot", "count"))
        if sparse:
            raise NotImplementedError(f"{who}: sparse=True is not supported")
        self.sparse = sparse

    def forward(self, x, count_weights=None):
        if count_weights is not None:
            raise NotImplementedError(f"{V.owner(self)}: count_weights is not supported")
        idx = _host(x)
        if idx.dtype.kind == "f" and np.any(idx != np.round(idx)):
            raise ValueError(f"{V.owner(self)}: inputs must be whole numbers")
        idx = idx.astype(np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_tokens):
            raise ValueError(f"{V.owner(self)}: input values must be in the range [0, {self.num_tokens}), got "
                             f"[{idx.min()}, {idx.max()}]")
        return Tensor(_encode(idx, self.num_tokens, self.output_mode, dtype=self.dtype))


class _IndexLookup(Layer):
    """Shared machinery of StringLookup and IntegerLookup (Keras's IndexLookup)."""

    oov_default = None

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=None, vocabulary=None,
                 idf_weights=None, invert=False, output_mode="int", pad_to_max_tokens=False, sparse=False,
                 vocabulary_dtype=None, **kwargs):
        kwargs.pop("dtype", None)     # the data's dtype (string, int64), not a weight dtype
        kwargs.pop("encoding", None)
        super().__init__(**kwargs)
        who = V.owner(self)
        if max_tokens is not None:
            V.positive_int(who, "max_tokens", max_tokens)
        if num_oov_indices != 1:
            raise NotImplementedError(f"{who}: num_oov_indices={num_oov_indices!r}; only 1 OOV index is supported "
                                      "(Keras hashes OOV tokens over several indices)")
        self.output_mode = V.choice(who, "output_mode", output_mode, _MODES)
        if invert and output_mode != "int":
            raise ValueError(f"{who}: invert=True needs output_mode='int', got {output_mode!r}")
        if sparse:
            raise NotImplementedError(f"{who}: sparse=True is not supported")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"{who}: pad_to_max_tokens=True needs max_tokens")
        self.max_tokens, self.num_oov_indices = max_tokens, num_oov_indices
        self.mask_token = mask_token
        self.oov_token = self.oov_default if oov_token is None else oov_token
        self.invert, self.pad_to_max_tokens, self.sparse = invert, pad_to_max_tokens, sparse
        self.vocabulary_dtype = vocabulary_dtype
        self._tokens = []          # the learned/given vocabulary, without special tokens
        self._idf = None
        self.built = True
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        elif idf_weights is not None:
            raise ValueError(f"{who}: idf_weights needs vocabulary")

    def call_eager(self, *args, **kwargs):
        return Module.call_eager(self, *args, **kwargs)   # string inputs are this layer's data

    def get_config(self):
        """The constructor's arguments with the current vocabulary (and idf weights) in
        ``vocabulary`` (Keras keeps them in an asset file)."""
        config = super().get_config()
        if self._tokens:
            config["vocabulary"] = list(self._tokens)
            if self._idf is not None:
                config["idf_weights"] = [float(v) for v in self._idf[self.num_oov_indices:]]
        return config

    # ---- vocabulary
    def _specials(self):
        return ([self.mask_token] if self.mask_token is not None and self.output_mode == "int" else []) \
            + [self.oov_token] * self.num_oov_indices

    def get_vocabulary(self, include_special_tokens=True):
        vocab = list(self._tokens)
        return self._specials() + vocab if include_special_tokens else vocab

    def vocabulary_size(self):
        return len(self.get_vocabulary())

    def _convert(self, token):
        return token

    def set_vocabulary(self, vocabulary, idf_weights=None):
        vocab = [self._convert(t) for t in (_host(vocabulary).tolist() if not isinstance(vocabulary, list)
                                            else vocabulary)]
        specials = self._specials()
        if vocab[:len(specials)] == specials:
            vocab = vocab[len(specials):]
        if len(set(vocab)) != len(vocab):
            raise ValueError(f"{V.owner(self)}: the vocabulary has repeated tokens")
        for s in (self.mask_token, self.oov_token):
            if s is not None and s in vocab:
                raise ValueError(f"{V.owner(self)}: the special token {s!r} appears in the vocabulary")
        if self.max_tokens is not None and len(vocab) + len(specials) > self.max_tokens:
            raise ValueError(f"{V.owner(self)}: a vocabulary of {len(vocab) + len(specials)} tokens exceeds "
                             f"max_tokens={self.max_tokens}")
        self._tokens = vocab
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError(f"{V.owner(self)}: output_mode='tf_idf' needs idf_weights with a vocabulary")
            idf = np.asarray(idf_weights, dtype=np.float64)
            if len(idf) == len(vocab):
                idf = np.concatenate([[idf.mean() if len(idf) else 0.0] * self.num_oov_indices, idf])
            self._idf = idf
        self._index = {t: i for i, t in enumerate(self.get_vocabulary())}

    def _sequences(self, data):
        """Each adapt example as a list of tokens."""
        a = np.asarray(data)
        if a.ndim == 0:
            return [[a.item()]]
        if a.ndim == 1:
            return [[v] for v in a.tolist()]
        return [list(row) for row in a.reshape(a.shape[0], -1).tolist()]

    def adapt(self, data, batch_size=None, steps=None):
        docs = [doc for batch in _batches(data, batch_size) for doc in self._sequences(batch)]
        self.adapt_documents(docs)

    def adapt_documents(self, docs):
        """Learn the vocabulary (and idf weights) from documents given as lists of tokens."""
        counts, doc_counts = {}, {}
        for doc in docs:
            doc = [self._convert(t) for t in doc]
            doc = [t for t in doc if t not in (self.mask_token, self.oov_token)]
            for t in doc:
                counts[t] = counts.get(t, 0) + 1
            for t in set(doc):
                doc_counts[t] = doc_counts.get(t, 0) + 1
        vocab = sorted(counts, key=lambda t: (counts[t], t), reverse=True)
        if self.max_tokens is not None:
            vocab = vocab[:max(self.max_tokens - len(self._specials()), 0)]
        idf = None
        if self.output_mode == "tf_idf":
            idf = np.log(1 + len(docs) / (1 + np.array([doc_counts[t] for t in vocab], dtype=np.float64)))
        self.set_vocabulary(vocab, idf)

    # ---- lookup
    def _depth(self):
        n = self.vocabulary_size()
        return max(n, self.max_tokens) if self.pad_to_max_tokens else n

    def lookup(self, values):
        """Indices (int64) of ``values``; OOV -> the OOV index; the mask token -> 0 (int mode) or
        -1 (dropped, other modes)."""
        oov = self._index[self.oov_token]
        flat = [self._convert(v) for v in np.asarray(values).reshape(-1).tolist()]
        out = []
        for t in flat:
            if self.mask_token is not None and t == self.mask_token:
                out.append(0 if self.output_mode == "int" else -1)
            else:
                out.append(self._index.get(t, oov))
        return np.asarray(out, dtype=np.int64).reshape(np.asarray(values).shape)

    def forward(self, x):
        if not self._tokens and not hasattr(self, "_index"):
            raise ValueError(f"{V.owner(self)}: no vocabulary: call adapt(data) or give vocabulary=")
        values = _host(x)
        if self.invert:
            vocab = np.asarray(self.get_vocabulary(), dtype=object)
            idx = values.astype(np.int64)
            if idx.size and (idx.min() < 0 or idx.max() >= len(vocab)):
                raise ValueError(f"{V.owner(self)}: indices must be in [0, {len(vocab)}), got [{idx.min()}, {idx.max()}]")
            return vocab[idx]
        idx = self.lookup(values)
        if self.output_mode == "int":
            return Tensor(idx)
        return Tensor(_encode(idx, self._depth(), self.output_mode, self._idf_vector()))

    def _idf_vector(self):
        if self._idf is None:
            return None
        depth = self._depth()
        return np.concatenate([self._idf, np.zeros(depth - len(self._idf))])


class StringLookup(_IndexLookup):
    """``StringLookup(max_tokens=None, num_oov_indices=1, mask_token=None, oov_token='[UNK]',
    vocabulary=None, idf_weights=None, invert=False, output_mode='int', pad_to_max_tokens=False,
    sparse=False, encoding='utf-8')``."""

    oov_default = "[UNK]"

    def _convert(self, token):
        return token.decode("utf-8") if isinstance(token, bytes) else str(token) if token is not None else None


class IntegerLookup(_IndexLookup):
    """``IntegerLookup(max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1,
    vocabulary=None, vocabulary_dtype='int64', idf_weights=None, invert=False, output_mode='int',
    sparse=False, pad_to_max_tokens=False)``."""

    oov_default = -1

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1, vocabulary=None,
                 vocabulary_dtype="int64", idf_weights=None, invert=False, output_mode="int", sparse=False,
                 pad_to_max_tokens=False, **kwargs):
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices, mask_token=mask_token,
                         oov_token=oov_token, vocabulary=vocabulary, idf_weights=idf_weights, invert=invert,
                         output_mode=output_mode, pad_to_max_tokens=pad_to_max_tokens, sparse=sparse,
                         vocabulary_dtype=vocabulary_dtype, **kwargs)

    def _convert(self, token):
        return None if token is None else int(token)


def _standardize(text, mode):
    if mode is None:
        return text
    if callable(mode):
        return mode(text)
    if mode in ("lower", "lower_and_strip_punctuation"):
        text = text.lower()
    if mode in ("strip_punctuation", "lower_and_strip_punctuation"):
        text = re.sub(DEFAULT_STRIP_REGEX, "", text)
    return text


def _split(text, mode):
    if mode is None:
        return [text]
    if callable(mode):
        return list(mode(text))
    if mode == "whitespace":
        return text.split()
    return list(text)  # 'character'


class TextVectorization(Layer):
    """``TextVectorization(max_tokens=None, standardize='lower_and_strip_punctuation',
    split='whitespace', ngrams=None, output_mode='int', output_sequence_length=None,
    pad_to_max_tokens=False, vocabulary=None, idf_weights=None, sparse=False, ragged=False,
    encoding='utf-8')``: strings -> token indices ('int': index 0 is padding, 1 is '[UNK]';
    sequences padded/truncated at the end to ``output_sequence_length``, else to the longest in
    the batch) or vectors ('multi_hot', 'count', 'tf_idf')."""

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation", split="whitespace", ngrams=None,
                 output_mode="int", output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
                 idf_weights=None, sparse=False, ragged=False, encoding="utf-8", **kwargs):
        kwargs.pop("dtype", None)
        super().__init__(**kwargs)
        who = V.owner(self)
        if not (standardize is None or callable(standardize) or standardize in
                ("lower_and_strip_punctuation", "lower", "strip_punctuation")):
            raise ValueError(f"{who}: standardize must be None, a callable, 'lower_and_strip_punctuation', "
                             f"'lower' or 'strip_punctuation', got {standardize!r}")
        if not (split is None or callable(split) or split in ("whitespace", "character")):
            raise ValueError(f"{who}: split must be None, a callable, 'whitespace' or 'character', got {split!r}")
        if ngrams is not None:
            raise NotImplementedError(f"{who}: ngrams={ngrams!r} is not supported")
        if output_mode not in ("int", "multi_hot", "count", "tf_idf"):
            raise ValueError(f"{who}: output_mode must be 'int', 'multi_hot', 'count' or 'tf_idf', got {output_mode!r}")
        if output_sequence_length is not None:
            if output_mode != "int":
                raise ValueError(f"{who}: output_sequence_length needs output_mode='int'")
            V.positive_int(who, "output_sequence_length", output_sequence_length)
        if sparse or ragged:
            raise NotImplementedError(f"{who}: sparse/ragged outputs are not supported")
        self.max_tokens, self.standardize, self.split, self.ngrams = max_tokens, standardize, split, ngrams
        self.output_mode, self.output_sequence_length = output_mode, output_sequence_length
        self.pad_to_max_tokens, self.sparse, self.ragged, self.encoding = pad_to_max_tokens, sparse, ragged, encoding
        self._lookup = StringLookup(max_tokens=max_tokens, mask_token="", output_mode=output_mode,
                                    pad_to_max_tokens=pad_to_max_tokens, vocabulary=vocabulary,
                                    idf_weights=idf_weights, name=self.name + "_string_lookup")
        self.built = True

    def call_eager(self, *args, **kwargs):
        return Module.call_eager(self, *args, **kwargs)

    def get_config(self):
        config = super().get_config()
        inner = self._lookup.get_config()
        for key in ("vocabulary", "idf_weights"):
            if key in inner:
                config[key] = inner[key]
        return config

    def get_vocabulary(self, include_special_tokens=True):
        return self._lookup.get_vocabulary(include_special_tokens)

    def vocabulary_size(self):
        return self._lookup.vocabulary_size()

    def set_vocabulary(self, vocabulary, idf_weights=None):
        self._lookup.set_vocabulary(vocabulary, idf_weights)

    def _texts(self, data):
        a = np.asarray(data, dtype=object)
        if a.ndim == 2 and a.shape[1] == 1:
            a = a[:, 0]
        if a.ndim > 1:
            raise ValueError(f"{V.owner(self)}: expected strings of shape (batch,) or (batch, 1), got {a.shape}")
        return [_split(_standardize(t.decode(self.encoding) if isinstance(t, bytes) else str(t), self.standardize),
                       self.split) for t in a.reshape(-1).tolist()], a.ndim == 0

    def adapt(self, data, batch_size=None, steps=None):
        docs = []
        for batch in _batches(data, batch_size):
            docs.extend(self._texts(batch)[0])
        self._lookup.adapt_documents(docs)

    def forward(self, x):
        if not self._lookup._tokens:
            raise ValueError(f"{V.owner(self)}: no vocabulary: call adapt(data) or give vocabulary=")
        docs, scalar = self._texts(_host(x) if not isinstance(x, (list, tuple, str)) else x)
        if self.output_mode == "int":
            length = self.output_sequence_length or max([len(d) for d in docs] + [0])
            out = np.zeros((len(docs), length), dtype=np.int64)
            for row, doc in zip(out, docs):
                ids = self._lookup.lookup(np.asarray(doc[:length], dtype=object)) if doc else []
                row[:len(ids)] = ids
            return Tensor(out[0] if scalar else out)
        depth = self._lookup._depth()
        out = np.stack([_encode(self._lookup.lookup(np.asarray(d, dtype=object))[None, :] if d
                                else np.full((1, 1), -1), depth, self.output_mode, self._lookup._idf_vector())[0]
                        for d in docs]) if docs else np.zeros((0, depth), np.float32)
        return Tensor(out[0] if scalar else out)
