"""The logits behind a softmax or sigmoid layer's output, for the cross-entropies.

As in Keras, a cross-entropy on the probabilities a softmax/sigmoid layer produced is computed
from the layer's logits instead (finite losses and gradients for logits of +-1e4, where the
probabilities would round to 0 and 1). The layers record the pair here with ``remember_logits``;
the losses look it up with ``logits_of``.

Why a registry in nn and not a field on the Tensor: only nn's layers and losses use it. The
registry is keyed by the probability tensor's identity and holds that tensor weakly, so an entry
disappears with its tensor (a ``weakref.WeakKeyDictionary`` cannot be used: it compares keys with
``==``, which is element-wise for Tensors). It holds the logits strongly, for as long as the
probabilities live, as the old field did; the logits are an input of the op that made the
probabilities and never refer to them, so no reference cycle is created. Each access is a single
dict operation, atomic across threads, so there is no lock (a lock could deadlock: the removal
callback runs when a tensor is freed, which may happen while the same thread holds it).
"""
import weakref

_entries = {}  # id(probabilities) -> (weak reference to them, "softmax" or "sigmoid", logits)


def _forget(key):
    return lambda _ref: _entries.pop(key, None)


def remember_logits(probabilities, kind, logits):
    """Record that ``probabilities`` is ``kind``("softmax"/"sigmoid") of ``logits``; returns it."""
    key = id(probabilities)
    # An id is reused only after its object is freed, and the callback runs before that.
    _entries[key] = (weakref.ref(probabilities, _forget(key)), kind, logits)
    return probabilities


def logits_of(probabilities, kind):
    """The logits ``probabilities`` was computed from by ``kind``, or None."""
    entry = _entries.get(id(probabilities))
    if entry is None or entry[0]() is not probabilities or entry[1] != kind:
        return None
    return entry[2]
