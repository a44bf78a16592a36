"""PyTorch's ``F.interpolate`` (resizing NC... tensors): 'nearest', 'nearest-exact', 'linear',
'bilinear', 'trilinear' and 'area'.

Each spatial axis is resized on its own, as a gather of input rows (``getitem`` with an index
array) and, for the linear modes, a weighted sum of the two neighbours; 2-d and 3-d modes are
these 1-d steps one axis after another, which is exactly PyTorch's formula
``h0 * (w0 * x00 + w1 * x01) + h1 * (...)``. Everything is built from differentiable core ops, so
the gradient (and the gradient of the gradient) needs no code of its own.

The source coordinates follow PyTorch's rules, its float32 arithmetic included for 'nearest' (so
a boundary case rounds the way PyTorch's does): with ``scale`` = 1 / scale_factor when a scale
factor is given (and not recomputed), else in / out,
- nearest: ``min(floor(dst * scale), in - 1)``; nearest-exact: ``min(floor((dst + 0.5) * scale), in - 1)``;
- linear, align_corners=False: ``max(scale * (dst + 0.5) - 0.5, 0)``;
  align_corners=True: ``dst * (in - 1) / (out - 1)``.
"""
import math

import numpy as np

from ..core import functional as T
from ..core.tensor import Tensor, as_tensor

_LINEAR_MODES = {"linear": 3, "bilinear": 4, "trilinear": 5}
_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")


def _mismatch(in_sizes, what, value):
    letter = "o" if what == "output size" else "s"
    return (f"Input and {what.split()[0]} must have the same number of spatial dimensions, but got input with "
            f"spatial dimensions of {list(in_sizes)} and {what} {'of shape ' if letter == 's' else 'of '}"
            f"{list(value)}. Please provide input tensor in (N, C, d1, d2, ...,dK) format and {what} in "
            f"({letter}1, {letter}2, ...,{letter}K) format.")


def _spatial(value, n):
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            return None
        return tuple(value)
    return (value,) * n


def output_sizes(in_sizes, size, scale_factor):
    """The output's spatial sizes and the scale factors the kernels use (None: in / out)."""
    n = len(in_sizes)
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    if size is not None:
        sizes = _spatial(size, n)
        if sizes is None:
            raise ValueError(_mismatch(in_sizes, "output size", size))
        return tuple(int(s) for s in sizes), (None,) * n
    scales = _spatial(scale_factor, n)
    if scales is None:
        raise ValueError(_mismatch(in_sizes, "scale_factor", scale_factor))
    return tuple(int(math.floor(float(i) * float(s))) for i, s in zip(in_sizes, scales)), tuple(map(float, scales))


def nearest_indices(n_in, n_out, scale_factor, exact=False):
    """The input index each output index copies (PyTorch's float32 arithmetic)."""
    dst = np.arange(n_out)
    if not exact and n_out == n_in:
        return dst
    if not exact and n_out == 2 * n_in:
        return dst >> 1
    scale = np.float32(1.0 / scale_factor) if scale_factor else np.float32(n_in) / np.float32(n_out)
    pos = (dst.astype(np.float32) + np.float32(0.5 if exact else 0.0)) * scale
    return np.minimum(np.floor(pos).astype(np.int64), n_in - 1)


def linear_weights(n_in, n_out, scale_factor, align_corners, dtype):
    """(i0, i1, w0, w1): output j = w0[j] * x[i0[j]] + w1[j] * x[i1[j]] (arithmetic in ``dtype``)."""
    dt = np.dtype(dtype).type
    dst = np.arange(n_out).astype(dtype)
    if align_corners:
        scale = dt((n_in - 1) / (n_out - 1)) if n_out > 1 else dt(0)
        src = scale * dst
    else:
        scale = dt(1.0 / scale_factor) if scale_factor else dt(n_in) / dt(n_out)
        src = np.maximum(scale * (dst + dt(0.5)) - dt(0.5), dt(0))
    i0 = src.astype(np.int64)
    i1 = np.where(i0 < n_in - 1, i0 + 1, i0)
    w1 = np.clip(src - i0.astype(dtype), 0, 1).astype(dtype)
    return i0, i1, (dt(1) - w1).astype(dtype), w1


def _take(x, axis, index):
    return T.getitem(x, (slice(None),) * axis + (x.xp.asarray(index),))


def _weights_along(x, w, axis):
    shape = [1] * x.ndim
    shape[axis] = w.size
    return Tensor._wrap(x.xp.asarray(w.reshape(shape)))


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize ``input`` (N, C, *spatial) to ``size`` or by ``scale_factor`` (PyTorch's
    ``torch.nn.functional.interpolate``)."""
    x = as_tensor(input)
    if mode not in _MODES:
        raise ValueError(f"interpolate: mode must be one of {', '.join(_MODES)}, got {mode!r}")
    if x.ndim not in (3, 4, 5):
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {x.ndim}D) for "
                                  f"the modes: nearest | linear | bilinear | bicubic | trilinear | area | "
                                  f"nearest-exact (got {mode})")
    if mode in ("nearest", "area", "nearest-exact") and align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    if mode in _LINEAR_MODES and _LINEAR_MODES[mode] != x.ndim:
        raise NotImplementedError(f"Got {x.ndim}D input, but {mode} mode needs {_LINEAR_MODES[mode]}D input")
    if mode in _LINEAR_MODES and x.data.dtype.kind != "f":
        raise RuntimeError(f"interpolate: mode={mode!r} needs a floating-point input, got {x.data.dtype}")
    if mode == "bicubic":
        raise NotImplementedError("interpolate: mode='bicubic' is not implemented in tinydl")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not implemented in tinydl")
    in_sizes = tuple(x.shape[2:])
    out_sizes, scales = output_sizes(in_sizes, size, scale_factor)
    if any(s <= 0 for s in out_sizes):
        raise ValueError(f"interpolate: the output's spatial sizes must be positive, got {list(out_sizes)} "
                         f"from an input of spatial size {list(in_sizes)}")
    if recompute_scale_factor:
        scales = (None,) * len(scales)
    if mode == "area":
        if x.ndim != 4:
            raise NotImplementedError("interpolate: mode='area' is implemented for 4D input only in tinydl")
        from .functional import adaptive_avg_pool2d
        return adaptive_avg_pool2d(x, out_sizes)
    for k, (n_in, n_out, s) in enumerate(zip(in_sizes, out_sizes, scales)):
        axis = 2 + k
        if mode in ("nearest", "nearest-exact"):
            x = _take(x, axis, nearest_indices(n_in, n_out, s, exact=mode == "nearest-exact"))
            continue
        i0, i1, w0, w1 = linear_weights(n_in, n_out, s, bool(align_corners), x.data.dtype)
        x = _take(x, axis, i0) * _weights_along(x, w0, axis) + _take(x, axis, i1) * _weights_along(x, w1, axis)
    return x


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """PyTorch's deprecated alias of ``interpolate``."""
    return interpolate(input, size, scale_factor, mode, align_corners)
