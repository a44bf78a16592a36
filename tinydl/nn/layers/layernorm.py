"""Layer normalization: Keras's ``LayerNormalization`` and the functional forms that PyTorch's
``nn.LayerNorm`` (``tinydl.nn.modules.normalization``) uses.

Each example is normalized over the feature axes (the last axis by default):
``y = (x - mean) / sqrt(var + epsilon) * gamma + beta``, with the biased variance as both
frameworks use. One op, ``nn.sequence_ops.LayerNormOp``, with a hand-written backward; over the
last axis the kernel provider runs it (fused Numba kernels on the CPU).

Keras: ``LayerNormalization(axis=-1, epsilon=1e-3, center=True, scale=True)``.
``layer_norm(input, normalized_shape, weight, bias, eps)`` is PyTorch's ``F.layer_norm``.

>>> import numpy as np, tinydl
>>> from tinydl.nn.layers.layernorm import LayerNormalization
>>> y = LayerNormalization(epsilon=1e-5)(np.array([[1.0, 2.0, 3.0, 4.0]], np.float32))
>>> [round(float(v), 3) for v in y.detach().numpy()[0]]
[-1.342, -0.447, 0.447, 1.342]
"""
import numpy as np

from ...core import functional as T
from ...core.tensor import Tensor, as_tensor
from ..sequence_ops import LayerNormOp
from .. import validation as V
from .base import Layer


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """PyTorch's ``F.layer_norm``: normalize over the trailing ``normalized_shape`` axes."""
    x = as_tensor(input)
    shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
    if tuple(x.shape[x.ndim - len(shape):]) != shape:
        raise ValueError(f"layer_norm: normalized_shape {shape} does not match the trailing dimensions of "
                         f"the input shape {tuple(x.shape)}")
    return normalize(x, tuple(range(x.ndim - len(shape), x.ndim)), weight, bias, eps)


def normalize(x, axes=(-1,), gamma=None, beta=None, epsilon=1e-5, param_shape=None):
    """Normalization over any ``axes``; ``gamma``/``beta`` shaped like those axes, or reshaped to
    ``param_shape`` when given (batch normalization: the axes not reduced)."""
    x = as_tensor(x)
    axes = tuple(sorted(a % x.ndim for a in ((axes,) if isinstance(axes, int) else axes)))
    bshape = [x.shape[i] if i in axes else 1 for i in range(x.ndim)] if param_shape is None else list(param_shape)
    one = Tensor._wrap(x.xp.ones((), dtype=x.dtype))
    zero = Tensor._wrap(x.xp.zeros((), dtype=x.dtype))
    g = one if gamma is None else T.reshape(gamma, bshape)
    b = zero if beta is None else T.reshape(beta, bshape)
    return LayerNormOp.apply(x, g, b, axes=axes, eps=epsilon)


class LayerNormalization(Layer):
    """Keras's ``LayerNormalization(axis=-1, epsilon=1e-3, center=True, scale=True,
    beta_initializer='zeros', gamma_initializer='ones')``; ``axis`` may be a list."""

    supports_masking = True  # Keras passes an input mask through

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, rms_scaling=False, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        who = V.owner(self)
        if rms_scaling:
            raise NotImplementedError(f"{who}: rms_scaling=True is not implemented in tinydl")
        self.rms_scaling = rms_scaling
        self.beta_constraint, self.gamma_constraint = beta_constraint, gamma_constraint
        axes = [axis] if not isinstance(axis, (list, tuple)) else list(axis)
        if not axes:
            raise ValueError(f"{who}: axis must be an integer or a non-empty list of them, got {axis!r}")
        for a in axes:
            V.axis(who, a)
        V.real(who, "epsilon", epsilon, 0, low_open=True)
        V.boolean(who, "center", center)
        V.boolean(who, "scale", scale)
        self.axis = [int(a) for a in axes]
        self.epsilon, self.center, self.scale = epsilon, center, scale
        self.beta_initializer, self.gamma_initializer = beta_initializer, gamma_initializer
        self.beta_regularizer, self.gamma_regularizer = beta_regularizer, gamma_regularizer
        if self.input_shape_hint:
            self.build((None,) + self.input_shape_hint)
            self.built = True

    def build(self, input_shape):
        if input_shape is None:
            raise ValueError(f"{self.name} (LayerNormalization): cannot build without an input shape")
        ndim = len(input_shape)
        for a in self.axis:
            if not -ndim <= a < ndim:
                raise ValueError(f"{V.owner(self)}: axis {a} is out of range for a {ndim}-d input "
                                 f"(shape {tuple(input_shape)})")
        self.axes = tuple(sorted(a % ndim for a in self.axis))
        if 0 in self.axes and ndim > 1:
            raise ValueError(f"{self.name}: cannot normalize over the batch axis (axis={self.axis})")
        shape = tuple(input_shape[a] for a in self.axes)
        if any(s is None for s in shape):
            raise ValueError(f"{self.name}: the normalized axes need known sizes, got input shape {input_shape}")
        self.param_shape = shape
        if self.scale:
            self.add_weight("gamma", shape, self.gamma_initializer, self.gamma_regularizer,
                            constraint=self.gamma_constraint)
        else:
            self.gamma = None
        if self.center:
            self.add_weight("beta", shape, self.beta_initializer, self.beta_regularizer,
                            constraint=self.beta_constraint)
        else:
            self.beta = None
        self.ndim = ndim

    def forward(self, x):
        x = as_tensor(x)
        if x.ndim != self.ndim or tuple(x.shape[a] for a in self.axes) != self.param_shape:
            raise ValueError(f"{self.name} (LayerNormalization): built for inputs whose axes {self.axes} "
                             f"have sizes {self.param_shape}, got shape {tuple(x.shape)}")
        return normalize(x, self.axes, self.gamma, self.beta, self.epsilon)
