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

from .core import (Tensor, as_tensor, Function, no_grad, enable_grad, set_grad_enabled, is_grad_enabled,
                   detect_anomaly, set_detect_anomaly, is_anomaly_enabled, AnomalyError, manual_seed)
from .core.functional import (
    add, sub, mul, div, neg, pow, matmul, exp, log, sqrt, abs, clip, maximum, minimum, where,
    relu, leaky_relu, sigmoid, tanh, gelu, erf, clone, sum, mean, max, min, var, std, logsumexp, softmax,
    log_softmax, reshape, transpose, permute, swapaxes, broadcast_to, expand, squeeze, unsqueeze,
    flatten, getitem, concatenate, stack, split, pad, argmax, argmin, eq, ne, lt, le, gt, ge)
from .core.creation import (tensor, zeros, ones, full, zeros_like, ones_like, arange, randn, rand,
                            float32, float64, int32, int64)
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
