"""Keras's activation layers with arguments: ReLU(max_value, negative_slope, threshold), ELU,
PReLU (a learned slope per position, shared along ``shared_axes``)."""
from ...core import functional as T
from .. import activations as A
from .. import validation as V
from .base import Layer
from .keras_util import add_keras_weight


class ReLU(Layer):
    """Keras's ``ReLU(max_value=None, negative_slope=0.0, threshold=0.0)``:
    ``x`` for threshold <= x < max_value, ``max_value`` above, ``negative_slope * (x - threshold)`` below."""

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        who = V.owner(self)
        if max_value is not None:
            V.real(who, "max_value", max_value, 0)
        self.max_value = None if max_value is None else float(max_value)
        self.negative_slope = float(V.real(who, "negative_slope", negative_slope, 0))
        self.threshold = float(V.real(who, "threshold", threshold))

    def forward(self, x):
        x = T._t(x)
        if self.negative_slope == 0 and self.threshold == 0:
            y = T.relu(x)
        else:
            below = (x - self.threshold) * self.negative_slope
            y = T.where(x.data >= self.threshold, x, below)
        if self.max_value is not None:
            y = T.minimum(y, self.max_value)
        return y


class ELU(Layer):
    """``ELU(alpha=1.0)``."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = float(V.real(V.owner(self), "alpha", alpha))

    def forward(self, x):
        return A.elu(x, self.alpha)


class PReLU(Layer):
    """``PReLU(alpha_initializer='zeros', alpha_regularizer=None, alpha_constraint=None,
    shared_axes=None)``: ``relu(x) - alpha * relu(-x)``, alpha shaped like one example with the
    ``shared_axes`` (counted from 1) set to 1."""

    def __init__(self, alpha_initializer="zeros", alpha_regularizer=None, alpha_constraint=None, shared_axes=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer, self.alpha_regularizer = alpha_initializer, alpha_regularizer
        self.alpha_constraint = alpha_constraint
        if shared_axes is not None and not isinstance(shared_axes, (list, tuple)):
            shared_axes = [shared_axes]
        self.shared_axes = None if shared_axes is None else list(int(a) for a in shared_axes)
        if self.input_shape_hint:
            self.build((None,) + tuple(self.input_shape_hint))
            self.built = True

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for a in self.shared_axes or []:
            if not 1 <= a <= len(shape):
                raise ValueError(f"{V.owner(self)}: shared_axes {self.shared_axes} out of range for input shape "
                                 f"{tuple(input_shape)}")
            shape[a - 1] = 1
        add_keras_weight(self, "alpha", tuple(shape), self.alpha_initializer, self.alpha_regularizer,
                         self.alpha_constraint)

    def forward(self, x):
        x = T._t(x)
        return T.relu(x) - self.alpha * T.relu(-x)

