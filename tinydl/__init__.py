"""tinydl: a from-scratch deep-learning engine on NumPy.

>>> import tinydl
>>> x = tinydl.Tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> y = (x ** 2).sum()
>>> y.backward()
>>> x.grad
Tensor([2., 4., 6.], dtype=float32)

Subpackages: ``core`` (tensor, autograd, ops), ``nn`` (layers, losses, init), ``optim``,
``keras`` (the tf.keras-flavoured facade), ``data``, ``backends``, ``testing``. The heavy ones
(numba kernels, keras) load on first use, so ``import tinydl`` stays fast.
"""
import importlib

from . import _source_checkout

_source_checkout.register()  # a checkout on PYTHONPATH: kernels/ becomes tinydl.kernels

from .core import (Tensor, Function, no_grad, enable_grad, set_grad_enabled, is_grad_enabled,
                   detect_anomaly, set_detect_anomaly, is_anomaly_enabled, AnomalyError)
# NumPy-free helpers that have no PyTorch counterpart with another meaning
from .core.functional import (leaky_relu, gelu, erf, softmax, log_softmax, broadcast_to, getitem, pad, clone)
# PyTorch's tensor API (tinydl/core/torch_api): at the top level the PyTorch meaning wins
from .core.torch_api.dtypes_devices import (
    float32, float, float64, double, float16, half, int64, long, int32, int, int16, short, int8, uint8, bool,
    get_default_dtype, set_default_dtype, is_floating_point, device, Size)
from .core.torch_api.creation import (
    tensor, as_tensor, from_numpy, zeros, ones, empty, full, zeros_like, ones_like, empty_like, full_like,
    arange, linspace, eye, rand, randn, randint, randperm, rand_like, randn_like, Generator, default_generator,
    manual_seed, seed, initial_seed, is_tensor, numel)
from .core.torch_api.shape import (
    reshape, transpose, swapaxes, swapdims, permute, t, flatten, unflatten, squeeze, unsqueeze, cat, concat, concatenate, stack, split, chunk, tensor_split, unbind, narrow, flip, roll,
    movedim)
from .core.torch_api.reductions import (
    sum, mean, prod, max, min, amax, amin, argmax, argmin, var, std, var_mean, std_mean, norm, logsumexp,
    cumsum, all, any, sort, argsort, topk, kthvalue, median, mode, count_nonzero)
from .core.torch_api.indexing import (gather, scatter, scatter_add, index_select, masked_fill, masked_select,
                                      take_along_dim)
from .core.torch_api.pointwise import (
    add, sub, subtract, mul, multiply, div, divide, true_divide, pow, sqrt, rsqrt, exp, log, log1p, expm1, log2,
    log10, sin, cos, tan, asin, acos, atan, arcsin, arccos, arctan, atan2, arctan2, sinh, cosh, tanh, sigmoid,
    relu, abs, absolute, neg, negative, square, reciprocal, sign, floor, ceil, trunc, round, clamp, clip,
    clamp_min, clamp_max, maximum, minimum, where, nonzero, triu, tril, matmul, mm, bmm, mv, dot, outer,
    einsum, eq, ne, lt, le, gt, ge, greater, greater_equal, less, less_equal, not_equal, isclose, allclose,
    equal, isnan, isinf, isfinite, logical_not, logical_and, logical_or, is_nonzero)
from . import cuda
from .backends import set_backend, active_backend, use_reference
from .model_summary import summary
from .serialization import save, load  # torch.save / torch.load, without pickle

__version__ = "0.1.0"

_LAZY = {"nn", "optim", "keras", "data", "testing", "kernels", "datasets", "backends", "distributed",
         "utils", "autograd", "viz", "profiler"}


def __getattr__(name):
    # Subpackages load on first touch: `import tinydl as tf; tf.keras.Sequential` works,
    # and `import tinydl` does not pay for numba or the layer library.
    if name == "distribute":  # tf.distribute's spelling: `import tinydl as tf; tf.distribute...`
        module = importlib.import_module(".keras.distribute", __name__)
        globals()[name] = module
        return module
    if name in _LAZY:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'tinydl' has no attribute {name!r}")
