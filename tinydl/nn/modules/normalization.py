"""LayerNorm and GroupNorm (PyTorch's): ``weight`` ones, ``bias`` zeros."""
import numpy as np

from ...core.tensor import as_tensor
from .. import functional as F
from ..module import Module
from ._common import add_affine_parameters, positive_int, reset_affine_parameters


class LayerNorm(Module):
    """``LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=True, bias=True)``: normalize the
    trailing ``normalized_shape`` axes."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
        if not shape or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1 for n in shape):
            raise ValueError(f"LayerNorm: normalized_shape must be a positive integer or a non-empty tuple of them, "
                             f"got {normalized_shape!r}")
        if not eps > 0:
            raise ValueError(f"LayerNorm: eps must be positive, got {eps!r}")
        self.normalized_shape = tuple(int(n) for n in shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        add_affine_parameters(self, elementwise_affine, bias, self.normalized_shape, dtype, device)
        self.built = True

    def reset_parameters(self):
        reset_affine_parameters(self)

    def forward(self, input):
        x = as_tensor(input)
        n = len(self.normalized_shape)
        if tuple(x.shape[x.ndim - n:]) != self.normalized_shape or x.ndim < n:
            raise RuntimeError(f"Given normalized_shape={list(self.normalized_shape)}, expected input with shape "
                               f"[*, {', '.join(map(str, self.normalized_shape))}], but got input of size "
                               f"{tuple(x.shape)}")
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class GroupNorm(Module):
    """``GroupNorm(num_groups, num_channels, eps=1e-5, affine=True)`` on (N, C, *) input."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        self.num_groups = positive_int("GroupNorm", "num_groups", num_groups)
        self.num_channels = positive_int("GroupNorm", "num_channels", num_channels)
        if num_channels % num_groups:
            raise ValueError("num_channels must be divisible by num_groups")
        self.eps, self.affine = eps, affine
        add_affine_parameters(self, affine, bias, (num_channels,), dtype, device)
        self.built = True

    def reset_parameters(self):
        reset_affine_parameters(self)

    def forward(self, input):
        x = as_tensor(input)
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise RuntimeError(f"GroupNorm: expected input (N, {self.num_channels}, *), got shape {tuple(x.shape)}")
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, bias={self.bias is not None}"
