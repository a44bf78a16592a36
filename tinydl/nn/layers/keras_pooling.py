"""Keras's 1-d pooling and global pooling layers (channels-last by default). The 1-d pools are
the 2-d pooling ops on a height-1 image; global pooling is a mean or max over the steps/space.
With a ``mask`` (batch, steps) GlobalAveragePooling1D averages only the unmasked steps, as Keras.
"""
from ...core import functional as T
from ...core.tensor import Tensor
from .. import channels_last as F
from .. import validation as V
from .base import Layer
from .keras_util import check_rank, int_tuple, layout


class _Pool1D(Layer):
    fn = None

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        who = V.owner(self)
        self.pool_size = int_tuple(who, "pool_size", pool_size, 1)
        self.strides = self.pool_size if strides is None else int_tuple(who, "strides", strides, 1)
        self.padding = V.choice(who, "padding", str(padding).lower(), ("valid", "same"))
        self.data_format = layout(who, data_format)

    def forward(self, x):
        x = T._t(x)
        check_rank(self, x.shape, 3)
        if self.data_format == "channels_first":
            x = T.transpose(x, (0, 2, 1))
        n, steps, c = x.shape
        y = type(self).fn(T.reshape(x, (n, 1, steps, c)), (1, self.pool_size[0]), (1, self.strides[0]),
                          self.padding, name=f"{self.name} ({type(self).__name__})")
        y = T.reshape(y, (n, y.shape[2], c))
        return T.transpose(y, (0, 2, 1)) if self.data_format == "channels_first" else y


class MaxPooling1D(_Pool1D):
    """``MaxPooling1D(pool_size=2, strides=None, padding='valid', data_format=None)``."""
    fn = staticmethod(F.max_pool2d)


class AveragePooling1D(_Pool1D):
    """``AveragePooling1D(pool_size=2, strides=None, padding='valid', data_format=None)``; with
    'same' padding the padded steps are not counted (as Keras)."""
    fn = staticmethod(F.avg_pool2d)


class _GlobalPool(Layer):
    rank = 3
    reduce = None

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        who = V.owner(self)
        self.data_format = layout(who, data_format)
        self.keepdims = V.boolean(who, "keepdims", keepdims)

    def _axes(self):
        return tuple(range(1, self.rank - 1)) if self.data_format == "channels_last" else tuple(range(2, self.rank))

    def forward(self, x, mask=None):
        x = T._t(x)
        check_rank(self, x.shape, self.rank)
        if mask is not None:
            return self._masked(x, mask)
        return type(self).reduce(x, self._axes(), self.keepdims)

    def _masked(self, x, mask):
        raise NotImplementedError(f"{V.owner(self)}: a mask is supported by GlobalAveragePooling1D only")


class GlobalAveragePooling1D(_GlobalPool):
    """Mean over the steps: (N, steps, C) -> (N, C); a (N, steps) ``mask`` excludes steps."""
    reduce = staticmethod(lambda x, axes, keep: T.mean(x, axis=axes, keepdims=keep))

    def _masked(self, x, mask):
        m = mask.data if isinstance(mask, Tensor) else x.xp.asarray(mask)
        if tuple(m.shape) != tuple(x.shape[:2]):
            raise ValueError(f"{V.owner(self)}: mask shape {tuple(m.shape)} does not match the input's "
                             f"(batch, steps) {tuple(x.shape[:2])}")
        w = m.astype(x.dtype)
        if self.data_format == "channels_first":
            w3, axis = w[:, None, :], 2
        else:
            w3, axis = w[:, :, None], 1
        total = T.sum(x * Tensor._wrap(w3), axis=axis, keepdims=self.keepdims)
        count = w.sum(axis=1)
        count = count.reshape((-1,) + (1,) * (total.ndim - 1))
        return total / Tensor._wrap(count)


class GlobalMaxPooling1D(_GlobalPool):
    """Max over the steps: (N, steps, C) -> (N, C)."""
    reduce = staticmethod(lambda x, axes, keep: T.max(x, axis=axes, keepdims=keep))


class GlobalMaxPooling2D(_GlobalPool):
    """Max over the spatial axes: (N, H, W, C) -> (N, C)."""
    rank = 4
    reduce = staticmethod(lambda x, axes, keep: T.max(x, axis=axes, keepdims=keep))
