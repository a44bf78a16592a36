"""Conv1d, Conv2d, ConvTranspose2d: NCHW input, ``weight`` (out, in/groups, k...) as PyTorch."""

from .. import functional as F
from ..module import Module
from ._common import add_weight_and_bias, ntuple, positive_int, reset_linear_parameters


class _ConvNd(Module):
    n = 2
    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None, output_padding=0):
        super().__init__()
        who = type(self).__name__
        self.in_channels = positive_int(who, "in_channels", in_channels)
        self.out_channels = positive_int(who, "out_channels", out_channels)
        self.groups = positive_int(who, "groups", groups)
        if in_channels % groups:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode != "zeros":
            raise NotImplementedError(f"{who}: padding_mode={padding_mode!r} is not implemented in tinydl (only 'zeros')")
        self.kernel_size = ntuple(kernel_size, self.n)
        self.stride, self.dilation = ntuple(stride, self.n), ntuple(dilation, self.n)
        if any(k < 1 for k in self.kernel_size) or any(s < 1 for s in self.stride) or any(d < 1 for d in self.dilation):
            raise ValueError(f"{who}: kernel_size, stride and dilation must be positive, got {self.kernel_size}, "
                             f"{self.stride}, {self.dilation}")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = ntuple(padding, self.n)
        self.output_padding = ntuple(output_padding, self.n)
        self.padding_mode = padding_mode
        if self.transposed:
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        add_weight_and_bias(self, shape, out_channels, bias, dtype, device)
        self.built = True
        self.reset_parameters()

    def reset_parameters(self):
        reset_linear_parameters(self)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self.n:
            s += f", padding={self.padding!r}"
        if self.dilation != (1,) * self.n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self.n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Conv1d(_ConvNd):
    """``Conv1d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
    bias=True)`` on (N, C, L) input."""
    n = 1

    def forward(self, input):
        return F.conv1d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv2d(_ConvNd):
    """``Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
    bias=True)`` on (N, C, H, W) input; ``weight`` (out, in/groups, kh, kw)."""

    def forward(self, input):
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class ConvTranspose2d(_ConvNd):
    """``ConvTranspose2d(in_channels, out_channels, kernel_size, stride=1, padding=0,
    output_padding=0, groups=1, bias=True, dilation=1)``; ``weight`` (in, out/groups, kh, kw);
    groups > 1 raises NotImplementedError."""
    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        if groups != 1:
            raise NotImplementedError("ConvTranspose2d: groups > 1 is not implemented in tinydl")
        if isinstance(padding, str):
            raise ValueError(f"ConvTranspose2d: padding must be ints, got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype, output_padding=output_padding)

    def forward(self, input, output_size=None):
        if output_size is not None:
            raise NotImplementedError("ConvTranspose2d: output_size is not implemented in tinydl (use output_padding)")
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding, self.output_padding,
                                  self.groups, self.dilation)
