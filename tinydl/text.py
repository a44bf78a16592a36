"""Text helpers for the sequence models: a character tokenizer and sampling.

``CharTokenizer`` builds its vocabulary from a text (the sorted set of its characters),
encodes strings to int64 arrays and decodes back; ``to_json()``/``from_json()`` save it as
plain JSON next to the model's weights (no pickle).

``sample_next(logits, temperature=1.0, top_k=None, rng=None)`` draws the next token from the
logits of the last position; ``generate(model, tokenizer, prompt, n)`` extends a prompt by
``n`` tokens with any model mapping ids (1, T) to logits (1, T, vocab).

>>> from tinydl.text import CharTokenizer, sample_next
>>> tok = CharTokenizer("hello world")
>>> tok.vocab_size, tok.encode("hole").tolist()
(8, [3, 5, 4, 2])
>>> tok.decode(tok.encode("world"))
'world'
>>> CharTokenizer.from_json(tok.to_json()).chars == tok.chars
True
>>> sample_next([0.1, 3.0, -1.0], temperature=0)   # temperature 0: the argmax
1
"""
import json

import numpy as np

from .core.autograd import no_grad
from .core.tensor import Tensor


class CharTokenizer:
    """Characters <-> integer ids. ``CharTokenizer(text)`` or ``CharTokenizer(chars=[...])``.

    ``unknown``: what ``encode`` does with a character outside the vocabulary: ``'error'``
    (raise, naming it) or ``'skip'``.
    """

    def __init__(self, text=None, chars=None, unknown="error"):
        if chars is None:
            if text is None:
                raise ValueError("CharTokenizer: give a text to build the vocabulary from, or chars=")
            chars = sorted(set(text))
        self.chars = list(chars)
        if len(set(self.chars)) != len(self.chars):
            raise ValueError("CharTokenizer: the vocabulary has repeated characters")
        if unknown not in ("error", "skip"):
            raise ValueError(f"CharTokenizer: unknown must be 'error' or 'skip', got {unknown!r}")
        self.unknown = unknown
        self.index = {c: i for i, c in enumerate(self.chars)}

    @property
    def vocab_size(self):
        return len(self.chars)

    def __len__(self):
        return len(self.chars)

    def encode(self, text):
        """A string -> int64 ids (1-d array)."""
        if self.unknown == "skip":
            return np.fromiter((self.index[c] for c in text if c in self.index), dtype=np.int64)
        try:
            return np.fromiter((self.index[c] for c in text), dtype=np.int64, count=len(text))
        except KeyError as e:
            raise KeyError(f"CharTokenizer.encode: character {e.args[0]!r} is not in the vocabulary "
                           f"({self.vocab_size} characters)") from None

    def decode(self, ids):
        """ids (any iterable of ints, array or Tensor) -> a string."""
        if isinstance(ids, Tensor):
            ids = ids.detach().numpy()
        return "".join(self.chars[int(i)] for i in np.asarray(ids).reshape(-1))

    def to_json(self):
        return json.dumps({"type": "CharTokenizer", "chars": self.chars, "unknown": self.unknown},
                          ensure_ascii=False)

    @classmethod
    def from_json(cls, s):
        d = json.loads(s)
        if d.get("type") != "CharTokenizer":
            raise ValueError(f"CharTokenizer.from_json: not a CharTokenizer document (type {d.get('type')!r})")
        return cls(chars=d["chars"], unknown=d.get("unknown", "error"))

    def save(self, path):
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_json())

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as f:
            return cls.from_json(f.read())

    def __repr__(self):
        return f"CharTokenizer(vocab_size={self.vocab_size})"


def sample_next(logits, temperature=1.0, top_k=None, rng=None):
    """Draw a token id from ``logits`` (V,) (or one per row of (B, V)).

    ``temperature`` divides the logits (0 picks the argmax); ``top_k`` keeps the k largest
    logits only. ``rng`` is a ``numpy.random.Generator`` (default: a fresh unseeded one).
    Returns an int for 1-d logits, an int64 array (B,) for 2-d.
    """
    z = logits.detach().numpy() if isinstance(logits, Tensor) else np.asarray(logits)
    z = z.astype(np.float64)
    single = z.ndim == 1
    z = np.atleast_2d(z)
    if temperature < 0:
        raise ValueError(f"sample_next: temperature must be >= 0, got {temperature}")
    if temperature == 0:
        out = z.argmax(axis=-1)
    else:
        z = z / temperature
        if top_k is not None:
            k = max(1, min(int(top_k), z.shape[-1]))
            kth = np.partition(z, -k, axis=-1)[:, -k][:, None]
            z = np.where(z < kth, -np.inf, z)
        z = z - z.max(axis=-1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=-1, keepdims=True)
        rng = rng if rng is not None else np.random.default_rng()
        u = rng.random((z.shape[0], 1))
        out = np.minimum((np.cumsum(p, axis=-1) < u).sum(axis=-1), z.shape[-1] - 1)
    out = out.astype(np.int64)
    return int(out[0]) if single else out


def generate(model, tokenizer, prompt, n, temperature=1.0, top_k=None, rng=None, block_size=None,
             stateful=False):
    """Extend ``prompt`` by ``n`` tokens and return the whole text.

    ``model`` maps int ids (1, T) to logits (1, T, vocab); the context is cropped to the last
    ``block_size`` tokens (default: ``model.block_size`` if it has one). With ``stateful=True``
    the model carries its own recurrent state (it has ``reset_states()``): it is reset, fed the
    prompt once, then one token per step. Runs in eval mode without building a graph.
    """
    ids = list(tokenizer.encode(prompt)) if prompt else [0]
    block_size = block_size or getattr(model, "block_size", None)
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    if stateful:
        model.reset_states()
    try:
        with no_grad():
            for k in range(n):
                if stateful:
                    ctx = ids if k == 0 else ids[-1:]
                else:
                    ctx = ids[-block_size:] if block_size else ids
                logits = model(np.asarray([ctx], dtype=np.int64))
                last = (logits.detach().numpy() if isinstance(logits, Tensor) else np.asarray(logits))[0, -1]
                ids.append(sample_next(last, temperature, top_k, rng))
    finally:
        if stateful:
            model.reset_states()
        if was_training and hasattr(model, "train"):
            model.train()
    out = ids if prompt else ids[1:]
    return tokenizer.decode(out)


# ---- corpora and batches for the language-model examples ------------------------------------
def load_tinyshakespeare(path=None, limit=None):
    """The tinyshakespeare text: ``path`` (a file or a folder holding ``input.txt``), else
    ``$TINYDL_DATA/tinyshakespeare/input.txt``. ``limit`` keeps the first ``limit`` characters."""
    import os
    if path is None:
        root = os.environ.get("TINYDL_DATA")
        if not root:
            raise FileNotFoundError("tinyshakespeare: set TINYDL_DATA to a folder holding tinyshakespeare/input.txt "
                                    "(or pass the file's path)")
        path = os.path.join(root, "tinyshakespeare", "input.txt")
    elif os.path.isdir(path):
        path = os.path.join(path, "input.txt")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"tinyshakespeare: {path} does not exist")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return text[:limit] if limit else text


def split_ids(ids, val_fraction=0.1):
    """The first (1 - val_fraction) of a token array for training, the rest for validation."""
    cut = int(len(ids) * (1 - val_fraction))
    return ids[:cut], ids[cut:]


def random_windows(ids, batch, length, rng):
    """``batch`` random windows of ``length + 1`` tokens: (inputs (B, length), targets (B, length))."""
    if len(ids) < length + 2:
        raise ValueError(f"random_windows: a text of {len(ids)} tokens is too short for windows of {length + 1}")
    starts = rng.integers(0, len(ids) - length - 1, size=batch)
    w = np.stack([ids[s:s + length + 1] for s in starts])
    return w[:, :-1], w[:, 1:]


def stream_batches(ids, batch, length):
    """Truncated-BPTT batches: the text cut into ``batch`` parallel streams read ``length`` tokens
    at a time, so row b of batch k+1 continues row b of batch k (for stateful recurrent layers).
    Yields (inputs (B, length), targets (B, length))."""
    per = (len(ids) - 1) // batch
    if per < length:
        raise ValueError(f"stream_batches: {len(ids)} tokens are too few for {batch} streams of {length}")
    x = ids[:per * batch].reshape(batch, per)
    y = ids[1:per * batch + 1].reshape(batch, per)
    for s in range(0, per - length + 1, length):
        yield x[:, s:s + length], y[:, s:s + length]
