"""Random image augmentations in plain NumPy.

Every augmentation takes NHWC images: a batch (N, H, W, C) or a single (H, W, C) image, of any
integer or float dtype, and returns the same shape and dtype. Each image of a batch gets its own
random parameters. Integer images are computed in float, then rounded and clipped back into their
dtype's range; float images are returned unclipped unless a `clip` range is given.

Call as ``aug(images, rng=None)``: `rng` is a numpy Generator or an int seed; None uses tinydl's
shared generator (``tinydl.manual_seed``).

>>> import numpy as np
>>> x = np.zeros((8, 28, 28, 1), dtype=np.uint8)
>>> aug = Compose([RandomShift(2), RandomRotation(10), RandomZoom(0.1), RandomBrightness(20)])
>>> y = aug(x, rng=0)
>>> y.shape, y.dtype
((8, 28, 28, 1), dtype('uint8'))
"""
import numpy as np

from .loader import _takes_rng, as_rng

__all__ = [
    "RandomShift", "RandomCrop", "RandomRotation", "RandomZoom", "RandomFlip",
    "RandomBrightness", "RandomContrast", "Compose",
]


# ---------------------------------------------------------------- helpers

def _as_batch(images):
    """(N, H, W, C) array and whether the input was a single (H, W, C) image."""
    x = np.asarray(images)
    if x.ndim == 4:
        return x, False
    if x.ndim == 3:
        return x[None], True
    hint = " (add a channel axis: images[..., None])" if x.ndim == 2 else ""
    raise ValueError(f"expected NHWC images (4-D) or one HWC image (3-D), got shape {x.shape}{hint}")


def _float(x):
    """Work in float32, or float64 when the input already is (keeps precision, saves memory)."""
    return x.astype(np.result_type(x.dtype, np.float32), copy=False)


def _restore(out, dtype, single, clip=None):
    """Back to the caller's dtype and rank; integers are rounded, never wrapped around."""
    if clip is not None:
        out = np.clip(out, *clip)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        out = np.clip(np.rint(out), info.min, info.max)
    out = out.astype(dtype, copy=False)
    return out[0] if single else out


def _symmetric(value, name, center=0.0):
    """A number v means the range (center - v, center + v); a pair is taken as (low, high)."""
    if np.ndim(value) == 0:
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
        return center - float(value), center + float(value)
    low, high = (float(v) for v in value)
    if low > high:
        raise ValueError(f"{name} range must be (low, high) with low <= high, got {value}")
    return low, high


def _pair(value, name):
    """An int or an (int, int) pair, each >= 0 (for pixel counts along H and W)."""
    a, b = (value, value) if np.ndim(value) == 0 else value
    if int(a) != a or int(b) != b or a < 0 or b < 0:
        raise ValueError(f"{name} must be a non-negative int or pair of ints, got {value}")
    return int(a), int(b)


def _bilinear(x, rows, cols, fill):
    """Sample float images `x` (N, H, W, C) at fractional (rows, cols), each (N, H, W).

    A one-pixel frame of `fill` surrounds each image, so samples just off the edge blend into
    the fill (as if the image continued with `fill`) and samples further out are pure fill.
    """
    n, h, w, _ = x.shape
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), constant_values=fill)
    r = np.clip(rows + 1, 0, h + 1)
    c = np.clip(cols + 1, 0, w + 1)
    # Capping the low corner at h (w) keeps its +1 neighbour inside the padded image.
    r0 = np.minimum(np.floor(r).astype(np.intp), h)
    c0 = np.minimum(np.floor(c).astype(np.intp), w)
    fr = (r - r0).astype(x.dtype)[..., None]
    fc = (c - c0).astype(x.dtype)[..., None]
    b = np.arange(n)[:, None, None]
    top = padded[b, r0, c0] * (1 - fc) + padded[b, r0, c0 + 1] * fc
    bottom = padded[b, r0 + 1, c0] * (1 - fc) + padded[b, r0 + 1, c0 + 1] * fc
    return top * (1 - fr) + bottom * fr


def _affine(x, mats, fill):
    """Inverse-mapped warp about the image centre: output offset p samples the input at mats @ p.

    Inverse mapping (output pixel -> source point) leaves no holes, unlike pushing pixels forward.
    `mats` is (N, 2, 2) acting on (row, col) offsets from the centre.
    """
    _, h, w, _ = x.shape
    cy, cx = (h - 1) / 2, (w - 1) / 2
    dr, dc = np.meshgrid(np.arange(h) - cy, np.arange(w) - cx, indexing="ij")
    m = mats[:, :, :, None, None]
    rows = m[:, 0, 0] * dr + m[:, 0, 1] * dc + cy
    cols = m[:, 1, 0] * dr + m[:, 1, 1] * dc + cx
    return _bilinear(x, rows, cols, fill)


class _Augmentation:
    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


# ---------------------------------------------------------------- geometric

class RandomCrop(_Augmentation):
    """Pad each image by `padding` pixels of `fill`, then cut a random `size` window out of it.

    size: int or (h, w); None keeps the input size (then this is a random shift by up to
    `padding` pixels).

    >>> x = np.arange(16, dtype=np.uint8).reshape(4, 4, 1)
    >>> RandomCrop(size=2)(x, rng=0).shape
    (2, 2, 1)
    """

    def __init__(self, size=None, padding=0, fill=0):
        self.size = None if size is None else _pair(size, "size")
        self.padding = _pair(padding, "padding")
        self.fill = fill

    def __call__(self, images, rng=None):
        rng = as_rng(rng)
        x, single = _as_batch(images)
        py, px = self.padding
        if py or px:
            x = np.pad(x, ((0, 0), (py, py), (px, px), (0, 0)), constant_values=self.fill)
        n, h, w, _ = x.shape
        ch, cw = self.size or (h - 2 * py, w - 2 * px)
        if ch > h or cw > w or ch < 1 or cw < 1:
            raise ValueError(f"crop size {(ch, cw)} does not fit padded image size {(h, w)}")
        top = rng.integers(0, h - ch + 1, size=n)
        left = rng.integers(0, w - cw + 1, size=n)
        rows = (top[:, None] + np.arange(ch))[:, :, None]
        cols = (left[:, None] + np.arange(cw))[:, None, :]
        out = x[np.arange(n)[:, None, None], rows, cols]
        return out[0] if single else out


class RandomShift(RandomCrop):
    """Shift each image by a random whole number of pixels in [-max_shift, max_shift], filling with `fill`.

    max_shift: int, or (rows, cols) for separate vertical and horizontal limits.

    >>> x = np.ones((2, 5, 5, 1), dtype=np.float32)
    >>> bool(RandomShift(0)(x, rng=1).sum() == x.sum())
    True
    """

    def __init__(self, max_shift, fill=0):
        # A shift by up to m is exactly a same-size crop from the image padded by m.
        super().__init__(size=None, padding=max_shift, fill=fill)


class RandomRotation(_Augmentation):
    """Rotate each image counter-clockwise (as displayed, row 0 at the top) by a random angle.

    degrees: d for angles in [-d, d], or a (low, high) pair. Bilinear; corners that come from
    outside the image are `fill`.

    >>> x = np.arange(9, dtype=np.uint8).reshape(3, 3, 1)
    >>> np.array_equal(RandomRotation((90, 90))(x, rng=0), np.rot90(x))
    True
    """

    def __init__(self, degrees, fill=0):
        self.degrees = _symmetric(degrees, "degrees")
        self.fill = fill

    def __call__(self, images, rng=None):
        rng = as_rng(rng)
        x, single = _as_batch(images)
        theta = np.deg2rad(rng.uniform(*self.degrees, size=len(x)))
        cos, sin = np.cos(theta), np.sin(theta)
        # Inverse map (output -> source) of a counter-clockwise turn, on (row, col) offsets.
        mats = np.stack([np.stack([cos, sin], -1), np.stack([-sin, cos], -1)], -2)
        return _restore(_affine(_float(x), mats, self.fill), x.dtype, single)


class RandomZoom(_Augmentation):
    """Scale each image about its centre by a random factor (> 1 zooms in, < 1 zooms out).

    factor: z for factors in [1 - z, 1 + z], or a (low, high) pair of factors.

    >>> x = np.random.default_rng(0).random((2, 6, 6, 3))
    >>> np.array_equal(RandomZoom(0)(x, rng=0), x)
    True
    """

    def __init__(self, factor, fill=0):
        self.factor = _symmetric(factor, "factor", center=1.0)
        if self.factor[0] <= 0:
            raise ValueError(f"zoom factors must be > 0, got range {self.factor}")
        self.fill = fill

    def __call__(self, images, rng=None):
        rng = as_rng(rng)
        x, single = _as_batch(images)
        scale = rng.uniform(*self.factor, size=len(x))
        mats = np.eye(2) / scale[:, None, None]  # output offset p comes from p / scale
        return _restore(_affine(_float(x), mats, self.fill), x.dtype, single)


class RandomFlip(_Augmentation):
    """Mirror each image with probability `p`: mode 'horizontal' (left-right), 'vertical', or 'both'.

    >>> x = np.arange(4).reshape(1, 2, 2, 1)
    >>> np.array_equal(RandomFlip("horizontal", p=1.0)(x), np.flip(x, axis=2))
    True
    """

    _AXES = {"horizontal": (2,), "vertical": (1,), "both": (1, 2)}

    def __init__(self, mode="horizontal", p=0.5):
        if mode not in self._AXES:
            raise ValueError(f"mode must be one of {sorted(self._AXES)}, got {mode!r}")
        if not 0 <= p <= 1:
            raise ValueError(f"p must be in [0, 1], got {p}")
        self.mode, self.p = mode, float(p)

    def __call__(self, images, rng=None):
        rng = as_rng(rng)
        x, single = _as_batch(images)
        out = x.copy()
        for axis in self._AXES[self.mode]:  # 'both' flips each axis independently
            chosen = rng.random(len(x)) < self.p
            out[chosen] = np.flip(out[chosen], axis=axis)
        return out[0] if single else out


# ---------------------------------------------------------------- photometric

class RandomBrightness(_Augmentation):
    """Add a random offset, in pixel units, to each image.

    max_delta: d for offsets in [-d, d] (e.g. 25 for uint8, 0.1 for floats in [0, 1]), or a pair.
    clip: optional (low, high) to clip float results into; integer results always saturate.

    >>> RandomBrightness((10, 10))(np.full((2, 2, 1), 250, np.uint8), rng=0)[..., 0]
    array([[255, 255],
           [255, 255]], dtype=uint8)
    """

    def __init__(self, max_delta, clip=None):
        self.max_delta = _symmetric(max_delta, "max_delta")
        self.clip = clip

    def __call__(self, images, rng=None):
        rng = as_rng(rng)
        x, single = _as_batch(images)
        xf = _float(x)
        delta = rng.uniform(*self.max_delta, size=len(x)).astype(xf.dtype)
        return _restore(xf + delta[:, None, None, None], x.dtype, single, self.clip)


class RandomContrast(_Augmentation):
    """Scale each image's deviation from its per-channel mean by a random factor.

    factor: f for contrast factors in [1 - f, 1 + f], or a (low, high) pair (each >= 0).
    clip: optional (low, high) for float results; integer results always saturate.

    >>> x = np.array([[[0.], [1.]]])
    >>> RandomContrast((0.5, 0.5))(x, rng=0)[..., 0]
    array([[0.25, 0.75]])
    """

    def __init__(self, factor, clip=None):
        self.factor = _symmetric(factor, "factor", center=1.0)
        if self.factor[0] < 0:
            raise ValueError(f"contrast factors must be >= 0, got range {self.factor}")
        self.clip = clip

    def __call__(self, images, rng=None):
        rng = as_rng(rng)
        x, single = _as_batch(images)
        xf = _float(x)
        f = rng.uniform(*self.factor, size=len(x)).astype(xf.dtype)[:, None, None, None]
        mean = xf.mean(axis=(1, 2), keepdims=True)
        # x*f + mean*(1-f) rather than (x-mean)*f + mean: f == 1 then gives x back exactly.
        return _restore(xf * f + mean * (1 - f), x.dtype, single, self.clip)


# ---------------------------------------------------------------- composition

class Compose(_Augmentation):
    """Apply augmentations in order, all drawing from the same generator.

    >>> aug = Compose([RandomFlip(p=1.0), RandomFlip(p=1.0)])
    >>> x = np.arange(6).reshape(1, 2, 3, 1)
    >>> np.array_equal(aug(x, rng=0), x)
    True
    """

    def __init__(self, transforms):
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise TypeError(f"Compose needs callables, got {type(t).__name__}")

    def __call__(self, images, rng=None):
        rng = as_rng(rng)
        for t in self.transforms:
            images = t(images, rng=rng) if _takes_rng(t) else t(images)
        return images
