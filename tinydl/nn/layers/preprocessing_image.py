"""Keras's image preprocessing layers: Rescaling, Resizing, CenterCrop, and the random
augmentations RandomFlip, RandomRotation, RandomZoom, RandomTranslation, RandomContrast.

The random layers act in training mode only (``model.fit``, or ``layer(x, training=True)``);
otherwise they return their input unchanged, as Keras. RandomFlip and RandomContrast are made of
core ops (gradients flow); the geometric ones (rotation, zoom, translation) warp the images in
NumPy (``image_ops.affine_sample``), so in training mode they refuse inputs that require a
gradient rather than silently cutting it.
"""
import math

import numpy as np

from ...core import functional as T
from ...core.random import get_rng
from ...core.tensor import Tensor
from ...backends import to_host
from .. import validation as V
from .base import Layer
from .image_ops import affine_sample, resize
from .keras_util import from_channels_last, layout, to_channels_last


class Rescaling(Layer):
    """``Rescaling(scale, offset=0.0)``: ``x * scale + offset``."""

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        who = V.owner(self)
        self.scale = float(V.real(who, "scale", scale))
        self.offset = float(V.real(who, "offset", offset))

    def forward(self, x):
        x = T._t(x)
        if x.dtype.kind != "f":
            x = Tensor(x.data.astype(self.dtype))
        return x * self.scale + self.offset


class Resizing(Layer):
    """``Resizing(height, width, interpolation='bilinear', crop_to_aspect_ratio=False,
    pad_to_aspect_ratio=False, fill_mode='constant', fill_value=0.0, antialias=False,
    data_format=None)``; as
    ``tf.image.resize`` without antialiasing. 'bilinear' and 'nearest' only."""

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, antialias=False, data_format=None,
                 **kwargs):
        super().__init__(**kwargs)
        who = V.owner(self)
        self.height, self.width = V.positive_int(who, "height", height), V.positive_int(who, "width", width)
        if antialias:
            raise NotImplementedError(f"{who}: antialias=True is not supported")
        self.antialias = antialias
        if interpolation not in ("bilinear", "nearest"):
            raise NotImplementedError(f"{who}: interpolation={interpolation!r} is not supported "
                                      "(only 'bilinear' and 'nearest')")
        if crop_to_aspect_ratio or pad_to_aspect_ratio:
            raise NotImplementedError(f"{who}: crop_to_aspect_ratio / pad_to_aspect_ratio are not supported")
        self.interpolation = interpolation
        self.crop_to_aspect_ratio, self.pad_to_aspect_ratio = crop_to_aspect_ratio, pad_to_aspect_ratio
        self.fill_mode, self.fill_value = fill_mode, fill_value
        self.data_format = layout(who, data_format)

    def forward(self, x):
        x = to_channels_last(self, _float(x, self.dtype), 4)
        return from_channels_last(self, resize(x, (self.height, self.width), self.interpolation))


def _float(x, dtype):
    x = T._t(x)
    return x if x.dtype.kind == "f" else Tensor(x.data.astype(dtype))


class CenterCrop(Layer):
    """``CenterCrop(height, width, data_format=None)``: the central height x width window
    (offsets ``(H - height) // 2``). Images smaller than the target raise NotImplementedError
    (Keras resizes them up)."""

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(**kwargs)
        who = V.owner(self)
        self.height, self.width = V.positive_int(who, "height", height), V.positive_int(who, "width", width)
        self.data_format = layout(who, data_format)

    def forward(self, x):
        x = to_channels_last(self, _float(x, self.dtype), 4)
        h, w = x.shape[1], x.shape[2]
        if h < self.height or w < self.width:
            raise NotImplementedError(f"{V.owner(self)}: an input of {h}x{w} smaller than the target "
                                      f"{self.height}x{self.width} (Keras resizes it up) is not supported")
        top, left = (h - self.height) // 2, (w - self.width) // 2
        y = T.getitem(x, (slice(None), slice(top, top + self.height), slice(left, left + self.width)))
        return from_channels_last(self, y)


class _Random(Layer):
    """Base of the random layers: identity unless training."""

    def __init__(self, seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.data_format = layout(V.owner(self), data_format)
        self._rng = None if seed is None else np.random.default_rng(seed)
        # Keras: a layer called on its own is in inference mode; fit (model.train()) or
        # layer(x, training=True) turns the augmentation on.
        self.training = False

    def rng(self):
        return self._rng or get_rng()

    def forward(self, x, training=None):
        x = _float(x, self.dtype)
        training = self.training if training is None else training
        if not training:
            return x
        return self._augment(x)


def _factor_range(who, arg, factor, symmetric_negative=True):
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2:
            raise ValueError(f"{who}: {arg} must be a number or a pair (lower, upper), got {factor!r}")
        lo, hi = float(factor[0]), float(factor[1])
    else:
        f = float(V.real(who, arg, factor))
        lo, hi = (-abs(f), abs(f)) if symmetric_negative else (f, f)
    if lo > hi:
        raise ValueError(f"{who}: {arg} lower bound {lo} exceeds upper bound {hi}")
    return lo, hi


class RandomFlip(_Random):
    """``RandomFlip(mode='horizontal_and_vertical', seed=None)``: each image flipped left-right
    and/or up-down with probability 1/2 (training only)."""

    def __init__(self, mode="horizontal_and_vertical", seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.mode = V.choice(V.owner(self), "mode", mode, ("horizontal", "vertical", "horizontal_and_vertical"))

    def _augment(self, x):
        x = to_channels_last(self, x, 4) if x.ndim == 4 else x
        n = x.shape[0]
        if self.mode in ("horizontal", "horizontal_and_vertical"):
            flip = self.rng().random(n) < 0.5
            flipped = T.getitem(x, (slice(None), slice(None), slice(None, None, -1)))
            x = T.where(flip.reshape((n,) + (1,) * (x.ndim - 1)), flipped, x)
        if self.mode in ("vertical", "horizontal_and_vertical"):
            flip = self.rng().random(n) < 0.5
            flipped = T.getitem(x, (slice(None), slice(None, None, -1)))
            x = T.where(flip.reshape((n,) + (1,) * (x.ndim - 1)), flipped, x)
        return from_channels_last(self, x) if x.ndim == 4 else x


class _Geometric(_Random):
    """A random affine warp per image (NumPy; no gradient)."""

    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0, **kwargs):
        super().__init__(seed=seed, **kwargs)
        who = V.owner(self)
        self.fill_mode = V.choice(who, "fill_mode", fill_mode, ("reflect", "wrap", "constant", "nearest"))
        self.interpolation = V.choice(who, "interpolation", interpolation, ("bilinear", "nearest"))
        self.fill_value = float(fill_value)

    def _augment(self, x):
        if x.requires_grad:
            raise NotImplementedError(f"{V.owner(self)}: gradients through a training-mode random warp are "
                                      "not supported (apply the augmentation to the data, before the model)")
        x = to_channels_last(self, x, 4)
        images = to_host(x.data)
        n, h, w, _ = images.shape
        mats = [self._matrix(h, w) for _ in range(n)]
        out = affine_sample(images, mats, self.fill_mode, self.interpolation, self.fill_value)
        return from_channels_last(self, Tensor(x.xp.asarray(out)))


def _about_center(a, h, w):
    """The affine map ``a`` (2x2, acting on offsets from the image center) as a 2x3 matrix."""
    cx, cy = (w - 1) / 2, (h - 1) / 2
    t = np.array([cx, cy]) - a @ np.array([cx, cy])
    return np.hstack([a, t[:, None]])


class RandomRotation(_Geometric):
    """``RandomRotation(factor, fill_mode='reflect', interpolation='bilinear', seed=None,
    fill_value=0.0)``: rotate by a random angle in ``factor * 2 pi`` (a number f means [-f, f])."""

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0, **kwargs):
        super().__init__(fill_mode=fill_mode, interpolation=interpolation, seed=seed, fill_value=fill_value,
                         **kwargs)
        self.factor = factor
        self._range = _factor_range(V.owner(self), "factor", factor)

    def _matrix(self, h, w):
        angle = self.rng().uniform(*self._range) * 2 * math.pi
        c, s = math.cos(angle), math.sin(angle)
        return _about_center(np.array([[c, -s], [s, c]]), h, w)


class RandomZoom(_Geometric):
    """``RandomZoom(height_factor, width_factor=None, fill_mode='reflect', interpolation='bilinear',
    seed=None, fill_value=0.0)``: a factor f > 0 zooms out by up to (1 + f), f < 0 in; width
    follows height when ``width_factor`` is None."""

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, **kwargs):
        super().__init__(fill_mode=fill_mode, interpolation=interpolation, seed=seed, fill_value=fill_value,
                         **kwargs)
        who = V.owner(self)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._h = _factor_range(who, "height_factor", height_factor)
        self._w = None if width_factor is None else _factor_range(who, "width_factor", width_factor)

    def _matrix(self, h, w):
        zy = 1 + self.rng().uniform(*self._h)
        zx = zy if self._w is None else 1 + self.rng().uniform(*self._w)
        return _about_center(np.diag([zx, zy]), h, w)


class RandomTranslation(_Geometric):
    """``RandomTranslation(height_factor, width_factor, fill_mode='reflect', interpolation='bilinear',
    seed=None, fill_value=0.0)``: shift by a random fraction of the height and width."""

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, **kwargs):
        super().__init__(fill_mode=fill_mode, interpolation=interpolation, seed=seed, fill_value=fill_value,
                         **kwargs)
        who = V.owner(self)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._h = _factor_range(who, "height_factor", height_factor)
        self._w = _factor_range(who, "width_factor", width_factor)

    def _matrix(self, h, w):
        dy = self.rng().uniform(*self._h) * h
        dx = self.rng().uniform(*self._w) * w
        return np.array([[1.0, 0.0, -dx], [0.0, 1.0, -dy]])


class RandomContrast(_Random):
    """``RandomContrast(factor, value_range=(0, 255), seed=None)``: per image and channel,
    ``(x - mean) * c + mean`` with c drawn from [1 - lower, 1 + upper], clipped to ``value_range``."""

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        who = V.owner(self)
        self.factor = factor
        lo, hi = _factor_range(who, "factor", factor)
        if isinstance(factor, (tuple, list)):
            lo = -lo
        if not (0 <= -lo and 0 <= hi) and not isinstance(factor, (tuple, list)):
            raise ValueError(f"{who}: factor must be non-negative, got {factor!r}")
        self._low, self._high = 1 - abs(lo), 1 + hi
        self.value_range = tuple(float(v) for v in value_range)

    def _augment(self, x):
        x = to_channels_last(self, x, 4)
        n = x.shape[0]
        c = self.rng().uniform(self._low, self._high, size=(n, 1, 1, 1))
        mean = T.mean(x, axis=(1, 2), keepdims=True)
        y = (x - mean) * Tensor._wrap(x.xp.asarray(c, dtype=x.dtype)) + mean
        return from_channels_last(self, T.clip(y, self.value_range[0], self.value_range[1]))
