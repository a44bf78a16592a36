"""The activation modules (PyTorch's defaults: ``LeakyReLU(0.01)``, ``Softmax(dim=None)`` ...)."""
from ...core.tensor import as_tensor
from .. import functional as F
from ..module import Module


class _Activation(Module):
    def __init__(self):
        super().__init__()
        self.built = True


class ReLU(_Activation):
    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.relu(input)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class ReLU6(ReLU):
    def forward(self, input):
        return F.relu6(input)


class LeakyReLU(_Activation):
    """``LeakyReLU(negative_slope=0.01)`` (Keras's default, 0.3, is ``tinydl.keras.layers.LeakyReLU``)."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(_Activation):
    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input):
        return F.elu(input, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class GELU(_Activation):
    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class SiLU(ReLU):
    def forward(self, input):
        return F.silu(input)


class Mish(ReLU):
    def forward(self, input):
        return F.mish(input)


class Softplus(_Activation):
    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardtanh(_Activation):
    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__()
        if min_val > max_val:
            raise ValueError("min_val cannot be greater than max_val")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, input):
        return F.hardtanh(input, self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}" + (", inplace=True" if self.inplace else "")


class Tanh(_Activation):
    def forward(self, input):
        return F.tanh(input)


class Sigmoid(_Activation):
    def forward(self, input):
        return F.sigmoid(input)


class LogSigmoid(_Activation):
    def forward(self, input):
        return F.logsigmoid(input)


class Softmax(_Activation):
    """``Softmax(dim=None)``: without ``dim`` PyTorch's implicit choice (0 for 0-, 1- and 3-d input,
    else 1) with its deprecation warning."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.softmax(as_tensor(input), self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    def forward(self, input):
        return F.log_softmax(as_tensor(input), self.dim)
