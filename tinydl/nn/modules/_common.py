"""Helpers shared by the PyTorch-named modules: parameter creation and argument checks."""
import math

import numpy as np

from ...core.tensor import Tensor
from ..module import Parameter, _device_name, _float_dtype


def factory_dtype(dtype):
    if dtype is None:
        try:
            from ...core import dtypes
            default = getattr(dtypes, "get_default_dtype", None)
            dt = _float_dtype(default()) if default else None
        except Exception:  # noqa: BLE001 - no default-dtype support yet: PyTorch's float32
            dt = None
        return dt or np.dtype(np.float32)
    dt = _float_dtype(dtype)
    if dt is None or dt.kind != "f":
        raise TypeError(f"expected a floating point dtype, got {dtype!r}")
    return dt


def new_parameter(shape, dtype=None, device=None, fill=0.0):
    """A Parameter of ``shape`` (filled with ``fill``; ``reset_parameters`` draws the real values)."""
    p = Parameter(np.full(tuple(int(s) for s in shape), fill, dtype=factory_dtype(dtype)))
    if device is not None and _device_name(device) == "gpu":
        p.data = Tensor(p.data, device="gpu").data
    return p


def add_weight_and_bias(module, weight_shape, out_features, bias, dtype=None, device=None):
    """``weight`` of ``weight_shape`` and a ``bias`` of ``out_features`` (None when ``bias`` is
    off); ``reset_linear_parameters`` draws their values."""
    module.weight = new_parameter(weight_shape, dtype, device)
    module.register_parameter("bias", new_parameter((out_features,), dtype, device) if bias else None)


def reset_linear_parameters(module):
    """PyTorch's default for Linear and the convolutions: kaiming_uniform_(a=sqrt(5)) on the
    weight, which is U(+-1/sqrt(fan_in)), and the bias from the same range."""
    from .. import torch_init
    torch_init.kaiming_uniform_(module.weight, a=math.sqrt(5))
    if module.bias is not None:
        fan_in, _ = torch_init._calculate_fan_in_and_fan_out(module.weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        torch_init.uniform_(module.bias, -bound, bound)


def add_affine_parameters(module, affine, bias, shape, dtype=None, device=None):
    """The norms' ``weight`` (ones) and ``bias`` (zeros) of ``shape``; registered as None when
    ``affine`` (or ``bias``) is off, as PyTorch's state_dict expects."""
    module.register_parameter("weight", new_parameter(shape, dtype, device, 1.0) if affine else None)
    module.register_parameter("bias", new_parameter(shape, dtype, device, 0.0) if affine and bias else None)


def reset_affine_parameters(module):
    from .. import torch_init
    if module.weight is not None:
        torch_init.ones_(module.weight)
    if module.bias is not None:
        torch_init.zeros_(module.bias)


def new_buffer(array, device=None):
    t = Tensor(array)
    if device is not None and _device_name(device) == "gpu":
        t = Tensor(t.data, device="gpu")
    return t


def positive_int(who, arg, value, allow_zero=False):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < (0 if allow_zero else 1):
        raise ValueError(f"{who}: {arg} must be a {'non-negative' if allow_zero else 'positive'} integer, "
                         f"got {value!r}")
    return int(value)


def probability(who, arg, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not 0 <= value <= 1:
        raise ValueError(f"{who}: {arg} probability has to be between 0 and 1, but got {value!r}")
    return float(value)


def ntuple(value, n):
    return (int(value),) * n if isinstance(value, (int, np.integer)) else tuple(int(v) for v in value)
