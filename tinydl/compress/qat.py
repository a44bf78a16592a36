"""Quantization-aware training: fake quantization with the straight-through estimator (STE).

``fake_quant(x, scale)`` rounds to the int8 grid and back, ``clip(rint(x / s), -127, 127) * s``,
so training sees the rounding error the int8 model will have. Rounding has a zero derivative
almost everywhere; the STE (Bengio et al. 2013) passes the gradient through unchanged where x
is inside the representable range ``[-127 s, 127 s]`` and blocks it where x was clipped — the
gradient of ``clip(x, -127 s, 127 s)``. The scale gets no gradient (it is observed, not learned).

``prepare_qat(model)`` puts a :class:`FakeQuant` layer (which observes its input's range with a
moving average of max|x|, as TensorFlow's QAT does) before every Dense/Conv2D of a chain and
fake-quantizes their kernels per output channel (a reparametrization, see ``tinydl.nn.reparam``).
Train it as usual, then ``quantize_model(qat_model, x)`` uses the learned input ranges.
"""
import numpy as np

from ..backends import get_array_module
from ..core.autograd import Function
from ..core.tensor import Tensor, as_tensor
from ..nn import reparam
from ..nn.layers.base import Layer
from ..nn.module import Module
from ..nn.modules.container import Sequential
from .quantize import QMAX, _chain, _quantizable

__all__ = ["FakeQuantSTE", "fake_quant", "FakeQuant", "WeightFakeQuant", "prepare_qat", "strip_qat"]


class FakeQuantSTE(Function):
    """``clip(rint(x / s), -127, 127) * s``; backward: the straight-through estimator
    ``g * (|x| <= 127 s)``. ``s`` (broadcastable to x, positive) gets no gradient."""

    def forward(self, x, scale):
        xp = get_array_module(x)
        s = scale.astype(x.dtype)
        self.inside = xp.abs(x) <= QMAX * s
        return xp.clip(xp.rint(x / s), -QMAX, QMAX) * s

    def backward(self, g):
        return g * self.inside, None


def fake_quant(x, scale):
    """Fake-quantize ``x`` to the symmetric int8 grid of step ``scale`` (see the module doc)."""
    x = as_tensor(x)
    s = scale.data if isinstance(scale, Tensor) else x.xp.asarray(scale)
    if (s <= 0).any():
        raise ValueError("fake_quant: scale must be positive")
    return FakeQuantSTE.apply(x, Tensor._wrap(s))


class FakeQuant(Layer):
    """Fake-quantizes its input per tensor. Training: the range is the moving average
    ``r = m r + (1 - m) max|x|`` (the first batch sets it); evaluation uses ``r``."""

    def __init__(self, momentum=0.99, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum
        self.register_buffer("range", np.zeros(1, np.float32))
        self.register_buffer("seen", np.zeros(1, np.float32))
        self.built = True

    def forward(self, x):
        x = as_tensor(x)
        if self.training:
            cur = float(abs(x.data).max()) if x.numel() else 0.0
            r = cur if self.seen[0] == 0 else self.momentum * float(self.range[0]) + (1 - self.momentum) * cur
            self.range[0], self.seen[0] = r, 1
        r = float(self.range[0])
        if r <= 0:
            return x
        return fake_quant(x, np.asarray(r / QMAX, x.dtype))


class WeightFakeQuant(Module):
    """Reparametrization: ``effective(W)`` fake-quantizes W with per-output-channel scales
    max|W[..., o]| / 127, recomputed from the current W at every call."""

    def effective(self, weight):
        w = weight.data
        m = abs(w.reshape(-1, w.shape[-1])).max(axis=0)
        s = weight.xp.where(m > 0, m / QMAX, 1.0).astype(w.dtype)
        return fake_quant(weight, s)


def prepare_qat(model):
    """A chain with FakeQuant before every Dense/Conv2D and fake-quantized kernels; it shares
    the layers (and so the weights) with ``model``. Keras Sequential in, Keras Sequential out
    (in inference mode until ``fit``, as Keras); otherwise an ``nn.Sequential`` in training mode,
    ready for a PyTorch-style loop, as a freshly built PyTorch module is."""
    layers = []
    for layer in _chain(model):
        if _quantizable(layer):
            layers.append(FakeQuant(name=f"{layer.name}_input_fq"))
            if not any(t == "fq" for t, _ in reparam.reparams(layer, "kernel")):
                reparam.attach(layer, "kernel", WeightFakeQuant(name=f"{layer.name}_kernel_fq"), "fq")
        layers.append(layer)
    if type(model).__module__.startswith("tinydl.keras"):
        from ..keras import Sequential as KerasSequential
        return KerasSequential(layers)
    return Sequential(*layers).train()


def strip_qat(model):
    """Remove the kernels' fake quantization (the FakeQuant layers stay in the chain: they hold
    the learned input ranges that ``quantize_model`` reads)."""
    for layer in _chain(model):
        if any(t == "fq" for t, _ in reparam.reparams(layer, "kernel")):
            reparam.detach(layer, "kernel", "fq")
    return model
