"""Argument checks shared by the layer constructors and the layers' and losses' input checks.

Every failure names the layer (``Conv2D 'conv2d_1'``), the argument and the value, so that a bad
configuration is refused when the layer is made, not by NumPy (or a ZeroDivisionError) on the
first call.

>>> positive_int("Dense 'dense'", "units", 0)
Traceback (most recent call last):
...
ValueError: Dense 'dense': units must be a positive integer, got 0
"""
import numbers

import numpy as np


def owner(layer):
    """``"Conv2D 'conv2d_1'"``: how messages name a layer."""
    return f"{type(layer).__name__} '{layer.name}'"


def _is_int(v):
    return isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, (bool, np.bool_))


def _is_real(v):
    return isinstance(v, (numbers.Real, np.floating, np.integer)) and not isinstance(v, (bool, np.bool_))


def positive_int(who, arg, value):
    if not _is_int(value) or value < 1:
        raise ValueError(f"{who}: {arg} must be a positive integer, got {value!r}")
    return int(value)


def non_negative_int(who, arg, value):
    if not _is_int(value) or value < 0:
        raise ValueError(f"{who}: {arg} must be a non-negative integer, got {value!r}")
    return int(value)


def int_tuple(who, arg, value, n, minimum=1):
    """An int or a tuple/list of ``n`` ints, each ``>= minimum``: returns the tuple."""
    items = (value,) * n if _is_int(value) else value
    try:
        items = tuple(items)
    except TypeError:
        items = ()
    if len(items) != n or not all(_is_int(v) and v >= minimum for v in items):
        kind = "positive" if minimum == 1 else f">= {minimum}"
        several = "a pair of them" if n == 2 else f"a tuple of {n} of them"
        raise ValueError(f"{who}: {arg} must be a {kind} integer or {several}, got {value!r}")
    return tuple(int(v) for v in items)


def int_pair(who, arg, value, minimum=1):
    """An int or a pair of ints, each ``>= minimum``: returns the pair."""
    return int_tuple(who, arg, value, 2, minimum)


def real(who, arg, value, low=None, high=None, low_open=False, high_open=False):
    """A finite real number in [low, high] (open ends when asked)."""
    ok = _is_real(value) and np.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        lo = "" if low is None else f"{'(' if low_open else '['}{low}"
        hi = "" if high is None else f"{high}{')' if high_open else ']'}"
        where = f" in {lo or '(-inf'}, {hi or 'inf)'}" if (low is not None or high is not None) else ""
        raise ValueError(f"{who}: {arg} must be a finite number{where}, got {value!r}")
    return value


def choice(who, arg, value, options):
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{who}: {arg} must be one of {list(options)}, got {value!r}")
    return value


def padding(who, value, arg="padding"):
    """'valid', 'same' (any case), a non-negative int, a pair, or ((top, bottom), (left, right))."""
    if isinstance(value, str):
        if value.lower() not in ("valid", "same"):
            raise ValueError(f"{who}: {arg} must be 'valid', 'same' or non-negative integers, got {value!r}")
        return value
    if _is_int(value):
        return non_negative_int(who, arg, value)
    try:
        items = tuple(value)
    except TypeError:
        items = ()
    if len(items) == 2 and all(_is_int(v) and v >= 0 for v in items):
        return value
    if len(items) == 2 and all(isinstance(p, (tuple, list)) and len(p) == 2
                               and all(_is_int(v) and v >= 0 for v in p) for p in items):
        return value
    raise ValueError(f"{who}: {arg} must be 'valid', 'same' or non-negative integers, got {value!r}")


def axis(who, value, arg="axis"):
    if not _is_int(value):
        raise ValueError(f"{who}: {arg} must be an integer, got {value!r}")
    return int(value)


def boolean(who, arg, value):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{who}: {arg} must be True or False, got {value!r}")
    return bool(value)


def real_dtype(who, dtype, arg="input"):
    """Refuse dtypes no layer or loss computes with: complex (a cast would silently drop the
    imaginary part), strings, objects, dates."""
    dtype = np.dtype(dtype)
    if dtype.kind not in "biuf":
        raise TypeError(f"{who}: {arg} has dtype {dtype}; expected real numbers "
                        "(bool, integer or floating point)")


def check_input(who, value, arg="input"):
    """``real_dtype`` for an array, a Tensor or Python data given to a layer or loss."""
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        if isinstance(value, (bool, int, float)):
            return
        if isinstance(value, complex):
            real_dtype(who, np.complex128, arg)
        if isinstance(value, (list, tuple)) and any(hasattr(v, "dtype") for v in value):
            for v in value:  # a list of arrays (the merge layers): each one, without copying
                check_input(who, v, arg)
            return
        if isinstance(value, (list, tuple)):
            try:
                dtype = np.asarray(value).dtype
            except ValueError:  # ragged: the conversion will say so
                return
        else:
            return  # not array data (e.g. a symbolic tensor): the layer's own checks apply
    real_dtype(who, dtype, arg)


def shape_hint(who, value, arg="input_shape"):
    """A Keras shape hint without the batch axis: positive ints or None (unknown)."""
    try:
        dims = tuple(value)
    except TypeError:
        dims = None
    if dims is None or not all(d is None or (_is_int(d) and d >= 0) for d in dims):
        raise ValueError(f"{who}: {arg} must be a tuple of non-negative integers (or None), got {value!r}")
    return tuple(None if d is None else int(d) for d in dims)


def float_dtype(who, value, arg="dtype"):
    """A layer's parameter dtype: float16, float32 or float64 (None: float32, Keras's default)."""
    if value is None:
        return np.dtype(np.float32)
    try:
        dt = np.dtype(value)
    except TypeError:
        dt = None
    if dt is None or dt.kind != "f":
        raise ValueError(f"{who}: {arg} must be a floating-point dtype (float16, float32, float64), got {value!r}")
    return dt


def activation(who, value, arg="activation"):
    """A known activation name, a callable or None (the lookup raises for unknown names)."""
    from .channels_last import get_activation
    try:
        get_activation(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{who}: {arg}: {exc}") from None
    return value


def initializer(who, arg, value):
    from . import init
    try:
        init.get(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{who}: {arg}: {exc}") from None
    return value
