"""A dependency-free PNG writer (zlib + struct + CRC-32), an image grid, and a tiny line plot.

Enough to save generated samples and loss curves without Pillow or matplotlib:

* :func:`write_png` writes an 8-bit greyscale (H, W) / (H, W, 1), RGB (H, W, 3) or RGBA
  (H, W, 4) image. Every scanline uses filter type 0 ("None"); the compressed stream is one
  IDAT chunk. Float arrays are taken to be in [0, 1] and are scaled to 0..255 (clipped).
* :func:`image_grid` tiles a batch of images (N, H, W) or (N, H, W, C) into one image with
  ``nrow`` images per row and ``padding`` pixels of ``pad_value`` between them. Values are
  mapped to [0, 1] from ``value_range`` (by default [-1, 1] when the batch has negative values,
  as a tanh generator produces, else [0, 1]).
* :func:`plot_lines` draws one or more series as a line chart (axes, ticks at the ends of the
  range, one colour per series) into an RGB uint8 array, for :func:`write_png`.

>>> import numpy as np, os, tempfile
>>> grid = image_grid(np.zeros((10, 28, 28)), nrow=5, padding=2)
>>> grid.shape           # 2 rows x 5 columns of 28x28 images with 2-pixel gaps and border
(62, 152)
>>> path = os.path.join(tempfile.mkdtemp(), "g.png")
>>> write_png(path, grid)
>>> open(path, "rb").read(8) == b"\\x89PNG\\r\\n\\x1a\\n"
True
"""
import struct
import zlib

import numpy as np

__all__ = ["write_png", "encode_png", "image_grid", "plot_lines", "to_uint8"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOR_TYPES = {1: 0, 3: 2, 4: 6}  # channels -> PNG colour type (grey, truecolour, truecolour+alpha)


def to_uint8(array):
    """uint8 as is; bool to 0/255; other types taken as [0, 1] floats, clipped and rounded."""
    a = np.asarray(array)
    if hasattr(array, "numpy") and not isinstance(array, np.ndarray):  # a tinydl Tensor
        a = np.asarray(array.detach().numpy())
    if a.dtype == np.uint8:
        return a
    if a.dtype == np.bool_:
        return a.astype(np.uint8) * 255
    return np.clip(np.rint(a.astype(np.float64) * 255.0), 0, 255).astype(np.uint8)


def _chunk(kind, payload):
    """length, type, data, CRC-32 of type + data (the PNG chunk layout)."""
    crc = zlib.crc32(payload, zlib.crc32(kind)) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def encode_png(array, level=6):
    """The bytes of a PNG file holding ``array`` (see :func:`write_png` for accepted shapes)."""
    a = to_uint8(array)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in _COLOR_TYPES:
        raise ValueError(f"write_png: expected an image (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), "
                         f"got shape {np.shape(array)}")
    h, w, c = a.shape
    if h < 1 or w < 1:
        raise ValueError(f"write_png: the image is empty (shape {np.shape(array)})")
    # Each scanline: a filter-type byte (0 = None) followed by the row's raw bytes.
    raw = np.empty((h, 1 + w * c), np.uint8)
    raw[:, 0] = 0
    raw[:, 1:] = np.ascontiguousarray(a).reshape(h, w * c)
    header = struct.pack(">IIBBBBB", w, h, 8, _COLOR_TYPES[c], 0, 0, 0)  # 8-bit, deflate, no interlace
    return (_SIGNATURE + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(raw.tobytes(), level)) + _chunk(b"IEND", b""))


def write_png(path, array):
    """Write ``array`` to ``path`` as an 8-bit PNG.

    ``array``: (H, W) or (H, W, 1) greyscale, (H, W, 3) RGB or (H, W, 4) RGBA. uint8 values are
    written as they are; float values are read as [0, 1] (clipped), bool as black/white.
    """
    data = encode_png(array)
    with open(path, "wb") as f:
        f.write(data)


def image_grid(images, nrow=8, padding=2, pad_value=1.0, value_range=None):
    """Tile images into a grid: a float array in [0, 1], (H', W') for grey or (H', W', C).

    ``images``: (N, H, W) or (N, H, W, C) channels-last (C in 1, 3, 4); a tinydl Tensor is fine.
    ``nrow``: images per row (as torchvision's ``make_grid``); rows = ceil(N / nrow).
    ``padding``: pixels between images and around the border, filled with ``pad_value``
    (in the output's [0, 1] scale; 1.0 is white).
    ``value_range``: (low, high) of the input, mapped to [0, 1]. Default: (-1, 1) if any value is
    negative (tanh outputs), else (0, 1); uint8 input is always (0, 255).
    Empty slots of a last, partly filled row are left at ``pad_value``.
    """
    x = np.asarray(images.detach().numpy() if hasattr(images, "numpy") and not isinstance(images, np.ndarray)
                   else images)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[0] < 1 or x.shape[-1] not in (1, 3, 4):
        raise ValueError(f"image_grid: expected (N, H, W) or (N, H, W, C) with C in 1, 3, 4 and N >= 1, "
                         f"got shape {np.shape(images)}")
    if value_range is None:
        value_range = (0, 255) if x.dtype == np.uint8 else ((-1.0, 1.0) if (x < 0).any() else (0.0, 1.0))
    lo, hi = (float(v) for v in value_range)
    if hi <= lo:
        raise ValueError(f"image_grid: value_range must have low < high, got {value_range}")
    x = np.clip((x.astype(np.float32) - lo) / (hi - lo), 0.0, 1.0)
    n, h, w, c = x.shape
    nrow = max(1, min(int(nrow), n))
    ncol_rows = -(-n // nrow)
    p = int(padding)
    grid = np.full((ncol_rows * (h + p) + p, nrow * (w + p) + p, c), pad_value, np.float32)
    for i in range(n):
        r, col = divmod(i, nrow)
        top, left = p + r * (h + p), p + col * (w + p)
        grid[top:top + h, left:left + w] = x[i]
    return grid[..., 0] if c == 1 else grid


# ---- a small line plot -------------------------------------------------------------------------
# A 3x5 pixel font for labels: each row is 3 bits, most significant on the left. Letters are
# drawn upper-case; characters without a glyph are left blank.
_GLYPHS = {
    "0": (7, 5, 5, 5, 7), "1": (2, 6, 2, 2, 7), "2": (7, 1, 7, 4, 7), "3": (7, 1, 7, 1, 7),
    "4": (5, 5, 7, 1, 1), "5": (7, 4, 7, 1, 7), "6": (7, 4, 7, 5, 7), "7": (7, 1, 1, 1, 1),
    "8": (7, 5, 7, 5, 7), "9": (7, 5, 7, 1, 7), ".": (0, 0, 0, 0, 2), "-": (0, 0, 7, 0, 0),
    "A": (2, 5, 7, 5, 5), "B": (6, 5, 6, 5, 6), "C": (3, 4, 4, 4, 3), "D": (6, 5, 5, 5, 6),
    "E": (7, 4, 6, 4, 7), "F": (7, 4, 6, 4, 4), "G": (3, 4, 5, 5, 3), "H": (5, 5, 7, 5, 5),
    "I": (7, 2, 2, 2, 7), "J": (1, 1, 1, 5, 2), "K": (5, 5, 6, 5, 5), "L": (4, 4, 4, 4, 7),
    "M": (5, 7, 7, 5, 5), "N": (6, 5, 5, 5, 5), "O": (2, 5, 5, 5, 2), "P": (6, 5, 6, 4, 4),
    "Q": (2, 5, 5, 6, 3), "R": (6, 5, 6, 5, 5), "S": (3, 4, 2, 1, 6), "T": (7, 2, 2, 2, 2),
    "U": (5, 5, 5, 5, 7), "V": (5, 5, 5, 5, 2), "W": (5, 5, 7, 7, 5), "X": (5, 5, 2, 5, 5),
    "Y": (5, 5, 2, 2, 2), "Z": (7, 1, 2, 4, 7), "(": (2, 4, 4, 4, 2), ")": (2, 1, 1, 1, 2),
    ":": (0, 2, 0, 2, 0), "/": (1, 1, 2, 4, 4), "=": (0, 7, 0, 7, 0), "+": (0, 2, 7, 2, 0),
    "_": (0, 0, 0, 0, 7), ",": (0, 0, 0, 2, 4),
}
_COLOURS = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189))


def _text(img, x, y, s, colour=(0, 0, 0), scale=2):
    """Draw ``s`` with its top-left corner at (x, y); unknown characters are skipped."""
    for ch in s.upper():
        rows = _GLYPHS.get(ch)
        if rows is not None:
            for dy, bits in enumerate(rows):
                for dx in range(3):
                    if bits >> (2 - dx) & 1:
                        y0, x0 = y + dy * scale, x + dx * scale
                        img[max(y0, 0):max(y0 + scale, 0), max(x0, 0):max(x0 + scale, 0)] = colour
        x += 4 * scale


def _line(img, x0, y0, x1, y1, colour):
    """A 1-pixel line by sampling enough points along it (no anti-aliasing)."""
    n = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
    xs = np.rint(np.linspace(x0, x1, n)).astype(int)
    ys = np.rint(np.linspace(y0, y1, n)).astype(int)
    ok = (xs >= 0) & (xs < img.shape[1]) & (ys >= 0) & (ys < img.shape[0])
    img[ys[ok], xs[ok]] = colour


def _fmt(v):
    if abs(v) >= 1000:
        return f"{v / 1000:.3g}K"
    return f"{v:.3g}"


def plot_lines(series, width=640, height=360, xs=None, ylim=None, smooth=1, title=None):
    """Draw ``series`` (a dict name -> 1-d values, or a list of 1-d arrays) as an RGB uint8 image.

    ``xs``: shared x values (default 0..len-1). ``ylim``: (low, high), default the data's range.
    ``smooth``: a moving-average window applied to each series (1 = raw); a smoothed series starts
    ``smooth - 1`` points in. Colours: blue, orange, green, red, purple, in order; a legend (swatch
    and the dict's names, drawn in a 3x5 upper-case pixel font) sits at the top left, ``title``
    at the top centre, and the ends and middle of the y range and the ends of x are labelled.
    """
    names = list(series.keys()) if isinstance(series, dict) else [None] * len(series)
    items = list(series.values()) if isinstance(series, dict) else list(series)
    ys = [np.asarray(s, np.float64).ravel() for s in items]
    if not ys or any(len(y) == 0 for y in ys):
        raise ValueError("plot_lines: every series needs at least one value")
    if smooth > 1:
        k = np.ones(int(smooth)) / int(smooth)
        ys = [np.convolve(y, k, mode="valid") if len(y) >= smooth else y for y in ys]
    n = max(len(y) for y in ys)
    xv = np.arange(n, dtype=np.float64) if xs is None else np.asarray(xs, np.float64)[-n:]
    finite = np.concatenate([y[np.isfinite(y)] for y in ys])
    lo, hi = ylim if ylim is not None else ((finite.min(), finite.max()) if finite.size else (0.0, 1.0))
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    img = np.full((height, width, 3), 255, np.uint8)
    left, right, top, bottom = 60, width - 15, 24 if title else 15, height - 30
    grey = (200, 200, 200)
    for frac in (0.25, 0.5, 0.75):  # light horizontal grid lines
        yy = bottom - frac * (bottom - top)
        _line(img, left, yy, right, yy, grey)
    _line(img, left, top, left, bottom, (0, 0, 0))
    _line(img, left, bottom, right, bottom, (0, 0, 0))
    _text(img, 4, top, _fmt(hi))
    _text(img, 4, bottom - 10, _fmt(lo))
    _text(img, 4, (top + bottom) // 2 - 5, _fmt((lo + hi) / 2))
    _text(img, left, bottom + 8, _fmt(xv[0]))
    label = _fmt(xv[-1])
    _text(img, right - 8 * len(label), bottom + 8, label)
    x_lo, x_hi = xv[0], xv[-1] if xv[-1] > xv[0] else xv[0] + 1
    for i, y in enumerate(ys):
        colour = _COLOURS[i % len(_COLOURS)]
        px = left + (xv[-len(y):] - x_lo) / (x_hi - x_lo) * (right - left)
        py = bottom - (np.clip(y, lo, hi) - lo) / (hi - lo) * (bottom - top)
        good = np.isfinite(py)
        px, py = px[good], py[good]
        for j in range(len(px) - 1):
            _line(img, px[j], py[j], px[j + 1], py[j + 1], colour)
    if any(names):  # legend on a white box, over the curves, top left
        wide = max(len(str(n or "")) for n in names)
        img[top + 1: top + 4 + 14 * len(ys), left + 2: left + 40 + 8 * wide] = 255
    for i in range(len(ys)):
        colour = _COLOURS[i % len(_COLOURS)]
        img[top + 4 + 14 * i: top + 12 + 14 * i, left + 8: left + 28] = colour  # legend swatch
        if names[i]:
            _text(img, left + 34, top + 3 + 14 * i, str(names[i]))
    if title:
        _text(img, max(0, (width - 8 * len(title)) // 2), 6, title)
    return img
