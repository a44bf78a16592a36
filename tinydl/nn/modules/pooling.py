"""MaxPool1d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d on NCHW input (PyTorch's)."""
import numpy as np

from .. import functional as F
from ..module import Module


def _check_sizes(who, **args):
    for arg, v in args.items():
        vals = (v,) if isinstance(v, (int, np.integer)) else tuple(v)
        if not vals or not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in vals) or \
                any(a < (0 if arg == "padding" else 1) for a in vals):
            raise ValueError(f"{who}: {arg} must be {'non-negative' if arg == 'padding' else 'positive'} "
                             f"integer(s), got {v!r}")


class _Pool(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        _check_sizes(type(self).__name__, kernel_size=kernel_size, padding=padding, dilation=dilation,
                     **({} if stride is None else {"stride": stride}))
        self.kernel_size, self.stride = kernel_size, (kernel_size if stride is None else stride)
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode
        if ceil_mode or return_indices:
            raise NotImplementedError(f"{type(self).__name__}: ceil_mode and return_indices are not implemented in tinydl")
        self.built = True

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_Pool):
    def forward(self, input):
        return F.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation)


class MaxPool2d(_Pool):
    """``MaxPool2d(kernel_size, stride=None, padding=0, dilation=1)``; padding counts as -inf."""

    def forward(self, input):
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation)


class AvgPool2d(Module):
    """``AvgPool2d(kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True)``."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        _check_sizes("AvgPool2d", kernel_size=kernel_size, padding=padding, **({} if stride is None else {"stride": stride}))
        if ceil_mode or divisor_override is not None:
            raise NotImplementedError("AvgPool2d: ceil_mode and divisor_override are not implemented in tinydl")
        self.kernel_size, self.stride = kernel_size, (kernel_size if stride is None else stride)
        self.padding, self.ceil_mode, self.count_include_pad = padding, ceil_mode, count_include_pad
        self.divisor_override = divisor_override
        self.built = True

    def forward(self, input):
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size
        self.built = True

    def forward(self, input):
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"
