"""Keras masks travelling with tensors: ``Embedding(mask_zero=True)`` makes one, the layers that
take ``mask`` receive it (see ``Layer.call_eager``).

A mask is remembered beside the tensor it belongs to, keyed by the tensor's identity and held
with a weak reference, so it is forgotten when the tensor is freed (a Tensor has no free slot
for it, and the mask must survive a subclassed model's ``call``, where Keras keeps it on the
tensor too).
"""
import weakref

_MASKS = {}  # id(tensor) -> (weak reference to the tensor, its Keras mask)


def set_keras_mask(tensor, mask):
    """Remember ``mask`` as the Keras mask of ``tensor`` (forgotten when the tensor is freed)."""
    key = id(tensor)
    if mask is None:
        _MASKS.pop(key, None)
        return
    _MASKS[key] = (weakref.ref(tensor, lambda _ref, key=key: _MASKS.pop(key, None)), mask)


def get_keras_mask(value):
    """The Keras mask of a tensor (a list of masks for a list of tensors), or None."""
    if isinstance(value, (list, tuple)):
        masks = [get_keras_mask(v) for v in value]
        return None if all(m is None for m in masks) else masks
    entry = _MASKS.get(id(value))
    return entry[1] if entry is not None and entry[0]() is value else None
