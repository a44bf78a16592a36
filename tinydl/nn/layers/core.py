"""Dense, Flatten, Reshape, Dropout and the activation layers."""
import numpy as np

from ...core import functional as T
from .. import channels_last as F
from .. import validation as V
from ..logits import remember_logits
from .base import Layer, activate


class Dense(Layer):
    """out = activation(x @ kernel + bias), kernel (in, units) as Keras.

    ``Dense(units, activation=None, use_bias=True, kernel_initializer='glorot_uniform',
    bias_initializer='zeros', kernel_regularizer=None, bias_regularizer=None)``; the input size
    is taken from the first call (or ``input_dim``/``input_shape``/``in_features``).
    """

    supports_masking = True  # Keras passes an input mask through

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 in_features=None, kernel_constraint=None, bias_constraint=None, lora_rank=None, **kwargs):
        super().__init__(**kwargs)
        who = V.owner(self)
        if lora_rank is not None:
            raise NotImplementedError(f"{who}: lora_rank (Keras's built-in LoRA) is not implemented in tinydl; "
                                      "tinydl.finetune.lora wraps a built layer")
        self.kernel_constraint, self.bias_constraint = kernel_constraint, bias_constraint
        V.positive_int(who, "units", units)
        V.activation(who, activation)
        V.boolean(who, "use_bias", use_bias)
        V.initializer(who, "kernel_initializer", kernel_initializer)
        V.initializer(who, "bias_initializer", bias_initializer)
        if in_features is not None:
            V.positive_int(who, "in_features", in_features)
        self.units, self.activation, self.use_bias = int(units), activation, use_bias
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self.in_features = in_features
        if in_features is None and self.input_shape_hint:
            self.in_features = self.input_shape_hint[-1]
        if self.in_features is not None:
            self.build((None, self.in_features))
            self.built = True

    def build(self, input_shape):
        if input_shape is None or len(input_shape) < 1:
            raise ValueError(f"{self.name} (Dense): cannot build from input shape {input_shape}")
        fan_in = input_shape[-1]
        self.in_features = fan_in
        init_k = self.kernel_initializer
        init_b = self.bias_initializer
        if init_k == "torch_default":  # PyTorch's nn.Linear: both from U(+-1/sqrt(fan_in))
            from .. import init
            init_k = init_b = lambda shape, dtype: init.torch_default(shape, dtype, fan_in=fan_in)
        self.add_weight("kernel", (fan_in, self.units), init_k, self.kernel_regularizer,
                        constraint=self.kernel_constraint)
        if self.use_bias:
            self.add_weight("bias", (self.units,), init_b, self.bias_regularizer, constraint=self.bias_constraint)
        else:
            self.bias = None

    def forward(self, x):
        x = T._t(x)
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            raise ValueError(f"{self.name} (Dense): expected input with last dimension {self.in_features} "
                             f"(shape (batch, {self.in_features})), got shape {tuple(x.shape)}")
        return activate(T.matmul(x, self.kernel), self.activation, self.bias)


class Flatten(Layer):
    """(N, ...) -> (N, prod(...)). Channels-last data flattens in H, W, C order as Keras;
    ``data_format='channels_first'`` moves axis 1 last first, so both layouts give the same vector."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = V.choice(V.owner(self), "data_format", data_format or "channels_last",
                                    ("channels_last", "channels_first"))

    def forward(self, x):
        x = T._t(x)
        if x.ndim < 1:
            raise ValueError(f"{self.name} (Flatten): expected an input with a batch axis, got a scalar")
        if self.data_format == "channels_first" and x.ndim > 2:
            x = T.transpose(x, (0,) + tuple(range(2, x.ndim)) + (1,))
        # the size is spelled out (not -1): an empty batch (0, ...) flattens too
        return T.reshape(x, (x.shape[0], int(np.prod(x.shape[1:])))) if x.ndim != 2 else x


class Reshape(Layer):
    """Reshape each example to ``target_shape`` (the batch axis is kept); -1 allowed once."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        who = V.owner(self)
        try:
            dims = tuple(target_shape)
        except TypeError:
            dims = None
        if (dims is None or not all(V._is_int(d) and (d >= 0 or d == -1) for d in dims)
                or sum(d == -1 for d in dims) > 1):
            raise ValueError(f"{who}: target_shape must be a tuple of non-negative integers with at most "
                             f"one -1, got {target_shape!r}")
        self.target_shape = tuple(int(d) for d in dims)

    def forward(self, x):
        x = T._t(x)
        n = int(np.prod(x.shape[1:]))
        want = [d for d in self.target_shape if d != -1]
        if (-1 not in self.target_shape and int(np.prod(want)) != n) or (want and n % int(np.prod(want))):
            raise ValueError(f"{self.name} (Reshape): cannot reshape input of shape {tuple(x.shape)} "
                             f"to (batch,) + {self.target_shape}")
        return T.reshape(x, (x.shape[0],) + self.target_shape)


class Dropout(Layer):
    """Inverted dropout, active in training mode only."""

    supports_masking = True  # Keras passes an input mask through

    def __init__(self, rate=0.5, noise_shape=None, seed=None, **kwargs):
        if "p" in kwargs:  # PyTorch's name
            rate = kwargs.pop("p")
        super().__init__(**kwargs)
        who = V.owner(self)
        self.rate = V.real(who, "rate", rate, 0, 1, high_open=True)
        if noise_shape is not None:
            noise_shape = tuple(noise_shape)
            if not all(n is None or (V._is_int(n) and n >= 1) for n in noise_shape):
                raise ValueError(f"{who}: noise_shape must hold positive integers or None, got {noise_shape!r}")
        self.noise_shape, self.seed = noise_shape, seed
        # Keras: a seeded layer draws its own reproducible masks (not the global stream's)
        self._rng = None if seed is None else np.random.default_rng(V.non_negative_int(who, "seed", seed))

    def forward(self, x):
        return F.dropout(x, self.rate, self.training, self.noise_shape, self._rng)


class Activation(Layer):
    """Applies a named activation ('relu', 'sigmoid', 'tanh', 'softmax', 'leaky_relu', 'linear')."""

    supports_masking = True  # Keras passes an input mask through

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = V.activation(V.owner(self), activation)

    def forward(self, x):
        return activate(T._t(x), self.activation)


class ReLU(Layer):
    def forward(self, x): return T.relu(x)


class LeakyReLU(Layer):
    """Keras's ``LeakyReLU(negative_slope=0.3)`` (``alpha`` accepted); PyTorch's default is 0.01."""

    def __init__(self, negative_slope=0.3, alpha=None, **kwargs):
        super().__init__(**kwargs)
        slope = alpha if alpha is not None else negative_slope
        self.negative_slope = V.real(V.owner(self), "alpha" if alpha is not None else "negative_slope", slope)

    def forward(self, x): return T.leaky_relu(x, self.negative_slope)


class Sigmoid(Layer):
    def forward(self, x): return activate(T._t(x), "sigmoid")


class Tanh(Layer):
    def forward(self, x): return T.tanh(x)


class Softmax(Layer):
    def __init__(self, axis=-1, **kwargs):
        if "dim" in kwargs:
            axis = kwargs.pop("dim")
        super().__init__(**kwargs)
        self.axis = V.axis(V.owner(self), axis)

    def forward(self, x):
        x = T._t(x)
        out = T.softmax(x, self.axis)
        if self.axis in (-1, x.ndim - 1):
            remember_logits(out, "softmax", x)
        return out


class Identity(Layer):
    def forward(self, x): return x
