"""Identity, Linear, Flatten, Unflatten (PyTorch's)."""

import numpy as np

from ...core import functional as T
from ...core.tensor import as_tensor
from .. import functional as F
from ..module import Module
from ._common import add_weight_and_bias, positive_int, reset_linear_parameters


class Identity(Module):
    """Returns its input (extra constructor arguments are ignored, as PyTorch's)."""

    def __init__(self, *args, **kwargs):
        super().__init__()
        self.built = True

    def forward(self, input):
        return input


class Linear(Module):
    """``Linear(in_features, out_features, bias=True, device=None, dtype=None)``: y = x W^T + b,
    ``weight`` (out, in) and ``bias`` (out,) drawn from U(-1/sqrt(in), 1/sqrt(in)) (PyTorch's
    ``kaiming_uniform_(a=sqrt(5))``)."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = positive_int("Linear", "in_features", in_features, allow_zero=True)
        self.out_features = positive_int("Linear", "out_features", out_features, allow_zero=True)
        if in_features == 0 or out_features == 0:
            raise ValueError(f"Linear: in_features and out_features must be positive, got {in_features}, {out_features}")
        add_weight_and_bias(self, (out_features, in_features), out_features, bias, dtype, device)
        self.built = True
        self.reset_parameters()

    def reset_parameters(self):
        reset_linear_parameters(self)

    def forward(self, input):
        x = as_tensor(input)
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            rows = int(np.prod(x.shape[:-1])) if x.ndim > 1 else 1
            raise RuntimeError(f"Linear: mat1 and mat2 shapes cannot be multiplied ({rows}x"
                               f"{x.shape[-1] if x.ndim else 1} and {self.in_features}x{self.out_features}): "
                               f"expected input (*, {self.in_features}), got shape {tuple(x.shape)}")
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Flatten(Module):
    """Flatten axes ``start_dim`` .. ``end_dim`` into one (defaults 1 and -1: keep the batch axis)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim
        self.built = True

    def forward(self, input):
        x = as_tensor(input)
        if x.ndim == 0:
            return T.reshape(x, (1,))
        s, e = self.start_dim % x.ndim, self.end_dim % x.ndim
        if s > e:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        shape = tuple(x.shape[:s]) + (int(np.prod(x.shape[s:e + 1])),) + tuple(x.shape[e + 1:])
        return T.reshape(x, shape)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split axis ``dim`` into ``unflattened_size`` (one entry may be -1)."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)
        self.built = True

    def forward(self, input):
        x = as_tensor(input)
        d = self.dim % x.ndim
        sizes = list(self.unflattened_size)
        known = int(np.prod([s for s in sizes if s != -1]))
        if -1 in sizes:
            sizes[sizes.index(-1)] = x.shape[d] // known if known else 0
        if int(np.prod(sizes)) != x.shape[d]:
            raise RuntimeError(f"unflatten: Provided sizes {self.unflattened_size} don't multiply up to the size of "
                               f"dim {self.dim} ({x.shape[d]}) in the input tensor")
        return T.reshape(x, tuple(x.shape[:d]) + tuple(sizes) + tuple(x.shape[d + 1:]))

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
