"""Turning attribution maps and attention weights into pictures (RGB arrays for ``write_png``).

* :func:`colormap` — values in [0, 1] to RGB along a perceptually ordered ramp (dark blue ->
  teal -> yellow, close to viridis) or a diverging one (blue -> white -> red) for signed maps.
* :func:`overlay` — a greyscale image with a heatmap blended over it.
* :func:`heatmap` — a matrix (e.g. attention weights) as a grid of coloured cells, scaled up.
* :func:`panel` — images of equal size side by side with a gap, in rows.
"""
import numpy as np

__all__ = ["colormap", "overlay", "heatmap", "panel", "normalize"]

# anchor colours (0..1) of the sequential ramp, at positions 0, 0.25, 0.5, 0.75, 1
_SEQUENTIAL = np.array([[0.267, 0.005, 0.329], [0.229, 0.322, 0.546], [0.128, 0.567, 0.551],
                        [0.369, 0.789, 0.383], [0.993, 0.906, 0.144]])
_DIVERGING = np.array([[0.02, 0.19, 0.38], [0.57, 0.77, 0.87], [0.97, 0.97, 0.97],
                       [0.96, 0.65, 0.51], [0.40, 0.0, 0.12]])


def normalize(a, signed=False):
    """To [0, 1]: by the maximum (``signed=False``, values >= 0 expected) or ``0.5 + a / 2max|a|``."""
    a = np.asarray(a, np.float64)
    if signed:
        m = np.abs(a).max()
        return 0.5 + a / (2 * m) if m > 0 else np.full_like(a, 0.5)
    lo, hi = a.min(), a.max()
    return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)


def colormap(values, kind="sequential"):
    """RGB floats (..., 3) for ``values`` in [0, 1] (clipped); ``kind`` 'sequential' or 'diverging'."""
    anchors = {"sequential": _SEQUENTIAL, "diverging": _DIVERGING}.get(kind)
    if anchors is None:
        raise ValueError(f"colormap: kind must be 'sequential' or 'diverging', got {kind!r}")
    v = np.clip(np.asarray(values, np.float64), 0, 1) * (len(anchors) - 1)
    i = np.minimum(np.floor(v).astype(int), len(anchors) - 2)
    f = (v - i)[..., None]
    return anchors[i] * (1 - f) + anchors[i + 1] * f


def overlay(image, heat, alpha=0.5, scale=1):
    """Blend ``colormap(heat)`` over the greyscale ``image`` (both (H, W), values in [0, 1]);
    ``scale`` enlarges each pixel to a ``scale`` x ``scale`` block."""
    img = np.clip(np.asarray(image, np.float64), 0, 1)
    if img.ndim == 3:
        img = img[..., 0]
    rgb = img[..., None] * (1 - alpha) + colormap(heat) * alpha
    return _upscale(rgb, scale)


def heatmap(matrix, cell=12, kind="sequential"):
    """A matrix as coloured ``cell`` x ``cell`` squares (values normalised to [0, 1] first)."""
    m = np.asarray(matrix, np.float64)
    if m.ndim != 2:
        raise ValueError(f"heatmap: expected a 2-d matrix, got shape {m.shape}")
    return _upscale(colormap(normalize(m, signed=(kind == "diverging"))), cell)


def _upscale(rgb, scale):
    return np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1) if scale > 1 else rgb


def panel(images, ncol=None, gap=4, background=1.0):
    """Tile RGB (or greyscale) images of the same size into rows of ``ncol`` with ``gap`` pixels."""
    ims = [np.asarray(i, np.float64) for i in images]
    ims = [np.repeat(i[..., None], 3, axis=2) if i.ndim == 2 else i for i in ims]
    h, w = ims[0].shape[:2]
    if any(i.shape[:2] != (h, w) for i in ims):
        raise ValueError(f"panel: images must share one size, got {[i.shape[:2] for i in ims]}")
    ncol = ncol or len(ims)
    nrow = -(-len(ims) // ncol)
    out = np.full((nrow * h + (nrow + 1) * gap, ncol * w + (ncol + 1) * gap, 3), background)
    for k, im in enumerate(ims):
        r, c = divmod(k, ncol)
        y, x = gap + r * (h + gap), gap + c * (w + gap)
        out[y:y + h, x:x + w] = im
    return out
