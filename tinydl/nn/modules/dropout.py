"""Dropout (PyTorch's ``p``; active in training mode only)."""
from .. import functional as F
from ..module import Module
from ._common import probability


class Dropout(Module):
    """``Dropout(p=0.5)``: in training zero each element with probability p and scale the rest by
    1/(1-p); the identity in eval mode."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        self.p, self.inplace = probability("Dropout", "dropout", p), inplace
        self.built = True

    def forward(self, input):
        return F.dropout(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"
