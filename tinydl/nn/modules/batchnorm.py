"""BatchNorm1d and BatchNorm2d with PyTorch's parameters and buffers: ``weight``, ``bias``,
``running_mean``, ``running_var`` (updated with the unbiased batch variance) and
``num_batches_tracked``; ``momentum=None`` is the cumulative moving average."""
import numpy as np

from ...core.tensor import as_tensor
from .. import functional as F
from ..module import Module
from ._common import add_affine_parameters, factory_dtype, new_buffer, positive_int, reset_affine_parameters


class _BatchNorm(Module):
    dims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True):
        super().__init__()
        who = type(self).__name__
        self.num_features = positive_int(who, "num_features", num_features)
        if not eps > 0:
            raise ValueError(f"{who}: eps must be positive, got {eps!r}")
        if momentum is not None and not 0 <= momentum <= 1:
            raise ValueError(f"{who}: momentum must be in [0, 1] or None, got {momentum!r}")
        self.eps, self.momentum, self.affine = eps, momentum, affine
        self.track_running_stats = track_running_stats
        add_affine_parameters(self, affine, bias, (num_features,), dtype, device)
        if track_running_stats:
            dt = factory_dtype(dtype)
            self.register_buffer("running_mean", new_buffer(np.zeros(num_features, dt), device))
            self.register_buffer("running_var", new_buffer(np.ones(num_features, dt), device))
            self.register_buffer("num_batches_tracked", new_buffer(np.array(0, np.int64), device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.built = True

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def reset_parameters(self):
        self.reset_running_stats()
        reset_affine_parameters(self)

    def forward(self, input):
        x = as_tensor(input)
        if x.ndim not in self.dims:
            want = " or ".join(f"{d}D" for d in self.dims)
            raise ValueError(f"expected {want} input (got {x.ndim}D input)")
        if x.shape[1] != self.num_features:
            raise RuntimeError(f"{type(self).__name__}: running_mean should contain {x.shape[1]} elements not "
                               f"{self.num_features} (expected input (N, {self.num_features}, ...), got shape "
                               f"{tuple(x.shape)})")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data[...] += 1
            self.num_batches_tracked._bump_version()
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.data)
        use_batch = self.training or not self.track_running_stats
        track = self.training and self.track_running_stats
        return F.batch_norm(x, self.running_mean if track or not use_batch else None,
                            self.running_var if track or not use_batch else None,
                            self.weight, self.bias, use_batch, factor, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """On (N, C) or (N, C, L) input."""
    dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """On (N, C, H, W) input."""
    dims = (4,)
