"""Pooling layers (channels-last by default, as Keras; the PyTorch names default to NCHW)."""
from ...core import functional as T
from .. import channels_last as F
from .. import validation as V
from .base import Layer


class _Pool2D(Layer):
    fn = None

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format="channels_last", **kwargs):
        super().__init__(**kwargs)
        who = V.owner(self)
        V.int_pair(who, "pool_size", pool_size)
        if strides is not None:
            V.int_pair(who, "strides", strides)
        V.padding(who, padding)
        V.choice(who, "data_format", data_format, ("channels_last", "channels_first"))
        self.pool_size, self.strides, self.padding, self.data_format = pool_size, strides, padding, data_format

    def forward(self, x):
        return type(self).fn(x, self.pool_size, self.strides, self.padding, self.data_format,
                             name=f"{self.name} ({type(self).__name__})")


class MaxPooling2D(_Pool2D):
    """Max pooling; the gradient of each window goes to its first maximal element."""
    fn = staticmethod(F.max_pool2d)


class AveragePooling2D(_Pool2D):
    """Average pooling; with padding='same' the padded positions are not counted."""
    fn = staticmethod(F.avg_pool2d)


class GlobalAveragePooling2D(Layer):
    """Mean over the spatial axes: (N, H, W, C) -> (N, C) (or (N, C, H, W) -> (N, C))."""

    def __init__(self, data_format="channels_last", keepdims=False, **kwargs):
        super().__init__(**kwargs)
        who = V.owner(self)
        V.choice(who, "data_format", data_format, ("channels_last", "channels_first"))
        V.boolean(who, "keepdims", keepdims)
        self.data_format, self.keepdims = data_format, keepdims

    def forward(self, x):
        x = T._t(x)
        if x.ndim != 4:
            raise ValueError(f"{self.name} (GlobalAveragePooling2D): expected a 4-d input, got shape {tuple(x.shape)}")
        axes = (1, 2) if self.data_format == "channels_last" else (2, 3)
        return T.mean(x, axis=axes, keepdims=self.keepdims)
