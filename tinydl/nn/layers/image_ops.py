"""Image operations behind the resizing and augmentation layers.

``resize`` is ``tf.image.resize`` without antialiasing (half-pixel centers): along each spatial
axis the output is a fixed linear map of the input (an interpolation matrix), so the op is two
matmuls and its gradient is exact. ``affine_sample`` warps images by per-image affine maps with
Keras's fill modes ('reflect', 'wrap', 'constant', 'nearest') in NumPy; the random augmentation
layers use it in training mode only.
"""
import numpy as np

from ...core import functional as T
from ...core.tensor import Tensor


def interpolation_matrix(n_in, n_out, method):
    """(n_out, n_in): row i holds the weights of output position i on the input positions."""
    scale = n_in / n_out
    m = np.zeros((n_out, n_in))
    for i in range(n_out):
        if method == "nearest":
            m[i, min(int(np.floor((i + 0.5) * scale)), n_in - 1)] = 1.0
        else:
            c = (i + 0.5) * scale - 0.5
            lo = int(np.floor(c))
            frac = c - lo
            m[i, min(max(lo, 0), n_in - 1)] += 1 - frac
            m[i, min(max(lo + 1, 0), n_in - 1)] += frac
    return m


def resize(x, size, method="bilinear"):
    """(N, H, W, C) -> (N, size[0], size[1], C) by 'bilinear' or 'nearest' interpolation."""
    if method not in ("bilinear", "nearest"):
        raise NotImplementedError(f"resize: interpolation {method!r} is not supported (only 'bilinear', 'nearest')")
    x = T._t(x)
    n, h, w, c = x.shape
    oh, ow = int(size[0]), int(size[1])
    if (oh, ow) == (h, w):
        return x
    mh = Tensor._wrap(x.xp.asarray(interpolation_matrix(h, oh, method), dtype=x.dtype))
    mw = Tensor._wrap(x.xp.asarray(interpolation_matrix(w, ow, method).T, dtype=x.dtype))
    xc = T.transpose(x, (0, 3, 1, 2))            # (N, C, H, W)
    y = T.matmul(T.matmul(mh, xc), mw)           # (N, C, oh, ow)
    return T.transpose(y, (0, 2, 3, 1))


def _fill_index(idx, n, mode):
    """Map coordinates outside [0, n-1] back inside (or flag them, for 'constant')."""
    if mode == "nearest":
        return np.clip(idx, 0, n - 1), np.ones_like(idx, dtype=bool)
    if mode == "wrap":
        return np.mod(idx, n), np.ones_like(idx, dtype=bool)
    if mode == "reflect":   # (d c b a | a b c d | d c b a)
        period = 2 * n
        r = np.mod(idx, period)
        return np.where(r >= n, period - 1 - r, r), np.ones_like(idx, dtype=bool)
    inside = (idx >= 0) & (idx <= n - 1)
    return np.clip(idx, 0, n - 1), inside


def affine_sample(images, matrices, fill_mode="reflect", interpolation="bilinear", fill_value=0.0):
    """Warp (N, H, W, C) NumPy images: output pixel (r, c) of image i reads input point
    ``matrices[i] @ (c, r, 1)`` (x first, as TensorFlow's projective transforms)."""
    n, h, w, ch = images.shape
    rr, cc = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
    out = np.empty_like(images)
    for i in range(n):
        a = matrices[i]
        xs = a[0, 0] * cc + a[0, 1] * rr + a[0, 2]
        ys = a[1, 0] * cc + a[1, 1] * rr + a[1, 2]
        if interpolation == "nearest":
            taps = [(np.round(ys), np.round(xs), 1.0)]
        else:
            y0, x0 = np.floor(ys), np.floor(xs)
            fy, fx = ys - y0, xs - x0
            taps = [(y0, x0, (1 - fy) * (1 - fx)), (y0, x0 + 1, (1 - fy) * fx),
                    (y0 + 1, x0, fy * (1 - fx)), (y0 + 1, x0 + 1, fy * fx)]
        acc = np.zeros((h, w, ch))
        for ty, tx, wt in taps:
            iy, oky = _fill_index(ty.astype(np.int64), h, fill_mode)
            ix, okx = _fill_index(tx.astype(np.int64), w, fill_mode)
            vals = images[i][iy, ix].astype(np.float64)
            ok = (oky & okx)[..., None]
            acc += np.asarray(wt)[..., None] * np.where(ok, vals, fill_value)
        out[i] = acc.astype(images.dtype)
    return out
