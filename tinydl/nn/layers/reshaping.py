"""Keras's reshaping layers: UpSampling1D/2D, ZeroPadding2D, Cropping2D, RepeatVector, Permute.
Each is made of core ops (pad, slice, transpose, broadcast), so gradients come for free.
UpSampling2D's 'bilinear' interpolation is ``resize`` from ``image_ops``."""
from ...core import functional as T
from .. import validation as V
from .base import Layer
from .image_ops import resize
from .keras_util import check_rank, from_channels_last, layout, to_channels_last


def _repeat(x, n, axis):
    """Each element of ``axis`` repeated ``n`` times in place: [a, b] -> [a, a, b, b]."""
    if n == 1:
        return x
    shape = tuple(x.shape)
    y = T.unsqueeze(x, axis + 1)
    y = T.broadcast_to(y, shape[:axis + 1] + (n,) + shape[axis + 1:])
    return T.reshape(y, shape[:axis] + (shape[axis] * n,) + shape[axis + 1:])


class UpSampling1D(Layer):
    """``UpSampling1D(size=2)``: (N, steps, C) -> (N, steps * size, C), each step repeated."""

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        self.size = V.positive_int(V.owner(self), "size", size)

    def forward(self, x):
        x = T._t(x)
        check_rank(self, x.shape, 3)
        return _repeat(x, self.size, 1)


class UpSampling2D(Layer):
    """``UpSampling2D(size=(2, 2), data_format=None, interpolation='nearest')`` ('nearest' repeats
    rows and columns; 'bilinear' resizes as ``tf.image.resize``)."""

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        who = V.owner(self)
        self.size = V.int_pair(who, "size", size)
        self.data_format = layout(who, data_format)
        self.interpolation = V.choice(who, "interpolation", interpolation, ("nearest", "bilinear"))

    def forward(self, x):
        x = to_channels_last(self, x, 4)
        if self.interpolation == "nearest":
            y = _repeat(_repeat(x, self.size[0], 1), self.size[1], 2)
        else:
            y = resize(x, (x.shape[1] * self.size[0], x.shape[2] * self.size[1]), "bilinear")
        return from_channels_last(self, y)


def _pairs(who, arg, value):
    """An int, a pair (symmetric per axis), or ((top, bottom), (left, right))."""
    if V._is_int(value):
        value = (value, value)
    try:
        items = tuple(value)
    except TypeError:
        items = ()
    if len(items) == 2 and all(V._is_int(v) for v in items):
        items = ((items[0], items[0]), (items[1], items[1]))
    ok = len(items) == 2 and all(isinstance(p, (tuple, list)) and len(p) == 2 and all(V._is_int(v) and v >= 0 for v in p)
                                 for p in items)
    if not ok:
        raise ValueError(f"{who}: {arg} must be an int, a pair of ints or ((top, bottom), (left, right)) of "
                         f"non-negative ints, got {value!r}")
    return tuple(tuple(int(v) for v in p) for p in items)


class ZeroPadding2D(Layer):
    """``ZeroPadding2D(padding=(1, 1), data_format=None)``."""

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        who = V.owner(self)
        self.padding = _pairs(who, "padding", padding)
        self.data_format = layout(who, data_format)

    def forward(self, x):
        x = to_channels_last(self, x, 4)
        return from_channels_last(self, T.pad(x, ((0, 0),) + self.padding + ((0, 0),)))


class Cropping2D(Layer):
    """``Cropping2D(cropping=((0, 0), (0, 0)), data_format=None)``."""

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        who = V.owner(self)
        self.cropping = _pairs(who, "cropping", cropping)
        self.data_format = layout(who, data_format)

    def forward(self, x):
        x = to_channels_last(self, x, 4)
        (t, b), (l, r) = self.cropping
        h, w = x.shape[1], x.shape[2]
        if t + b >= h or l + r >= w:
            raise ValueError(f"{V.owner(self)}: cropping {self.cropping} leaves nothing of an input of shape "
                             f"{tuple(x.shape)}")
        return from_channels_last(self, T.getitem(x, (slice(None), slice(t, h - b), slice(l, w - r))))


class RepeatVector(Layer):
    """``RepeatVector(n)``: (N, F) -> (N, n, F)."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = V.positive_int(V.owner(self), "n", n)

    def forward(self, x):
        x = T._t(x)
        check_rank(self, x.shape, 2)
        return T.broadcast_to(T.unsqueeze(x, 1), (x.shape[0], self.n, x.shape[1]))


class Permute(Layer):
    """``Permute(dims)``: permutes the non-batch axes; ``dims`` counts from 1 (Keras)."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        who = V.owner(self)
        dims = tuple(dims) if isinstance(dims, (tuple, list)) else None
        if dims is None or sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(f"{who}: dims must be a permutation of 1..n (the non-batch axes), got {dims!r}")
        self.dims = tuple(int(d) for d in dims)

    def forward(self, x):
        x = T._t(x)
        check_rank(self, x.shape, len(self.dims) + 1)
        return T.transpose(x, (0,) + self.dims)
