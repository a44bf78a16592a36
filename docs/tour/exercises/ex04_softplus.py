"""Chapter 4's exercise: softplus as a tinydl Function, stable for large inputs."""
import numpy as np

from tinydl.core.autograd import OPS, Function


class Softplus(Function):
    def forward(self, x):
        self.x = x
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))

    def backward(self, grad):
        # sigmoid(x), computed without overflow for either sign
        e = np.exp(-np.abs(self.x))
        sig = np.where(self.x >= 0, 1 / (1 + e), e / (1 + e))
        return grad * sig


OPS.pop("Softplus", None)  # the reader's op, not part of the library's op inventory


def softplus(x):
    return Softplus.apply(x)
