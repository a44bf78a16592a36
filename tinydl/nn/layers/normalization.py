"""Batch normalization: batch statistics in training, running averages in evaluation."""
import warnings

import numpy as np

from ...core import functional as T
from ...core.tensor import Tensor
from .. import initializers, validation as V
from .base import Layer
from .layernorm import normalize


def blend_running_statistics(x, axes, running_mean, running_var, old_weight, new_weight, unbiased):
    """running = old_weight * running + new_weight * batch statistic, in place, for both faces
    (PyTorch weighs the batch by ``momentum`` and its variance unbiased; Keras weighs the old value
    by ``momentum``, variance biased). Statistics in float64, so float32 inputs of +-1e30 and
    float16 of +-1e4 do not overflow them. The buffers are arrays or Tensors (whose version is
    bumped); either may be None. Returns the blended variance in float64."""
    xw = x.data.astype(np.float64)
    n = int(np.prod([xw.shape[a] for a in axes]))
    mean, var = xw.mean(axis=axes), xw.var(axis=axes)
    if unbiased:
        var = var * (n / max(n - 1, 1))
    blended_var = None
    with np.errstate(over="ignore"):
        for buf, stat in ((running_mean, mean), (running_var, var)):
            if buf is None:
                continue
            arr = buf.data if isinstance(buf, Tensor) else buf
            new = old_weight * arr.astype(np.float64) + new_weight * stat
            arr[...] = x.xp.asarray(new, dtype=arr.dtype)
            if isinstance(buf, Tensor):
                buf._bump_version()
            if buf is running_var:
                blended_var = new
    return blended_var


class BatchNormalization(Layer):
    """Keras's ``BatchNormalization(axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True)``.

    A frozen layer (``trainable = False``) always runs in inference mode and leaves its moving
    statistics alone, as Keras does (fine-tuning on top of a frozen base must not disturb them);
    PyTorch's classes follow ``module.train()``/``eval()`` only (``requires_grad`` does not change
    the mode), as PyTorch does.

    Training: y = gamma * (x - mean_B) / sqrt(var_B + eps) + beta over every axis except ``axis``,
    and moving = momentum * moving + (1 - momentum) * batch_statistic. Evaluation uses the moving
    statistics. Works for dense (N, C) and image (N, H, W, C) inputs.
    """

    supports_masking = True  # Keras passes an input mask through

    unbiased_running_var = False  # Keras updates with the biased batch variance

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", moving_mean_initializer="zeros",
                 moving_variance_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, synchronized=False, num_features=None, **kwargs):
        for arg in ("renorm", "renorm_clipping", "renorm_momentum"):
            if kwargs.pop(arg, None) not in (None, False, 0.99):
                raise NotImplementedError(f"BatchNormalization: {arg} (batch renormalization) is not implemented "
                                          "in tinydl")
        super().__init__(**kwargs)
        who = V.owner(self)
        if synchronized:
            raise NotImplementedError(f"{who}: synchronized=True (statistics across replicas) is not implemented "
                                      "in tinydl")
        self.synchronized = synchronized
        for arg, init in (("beta_initializer", beta_initializer), ("gamma_initializer", gamma_initializer),
                          ("moving_mean_initializer", moving_mean_initializer),
                          ("moving_variance_initializer", moving_variance_initializer)):
            V.initializer(who, arg, init)
        self.beta_initializer, self.gamma_initializer = beta_initializer, gamma_initializer
        self.moving_mean_initializer = moving_mean_initializer
        self.moving_variance_initializer = moving_variance_initializer
        self.beta_regularizer, self.gamma_regularizer = beta_regularizer, gamma_regularizer
        self.beta_constraint, self.gamma_constraint = beta_constraint, gamma_constraint
        V.axis(who, axis)
        V.real(who, "momentum", momentum, 0, 1)
        V.real(who, "epsilon", epsilon, 0, low_open=True)
        V.boolean(who, "center", center)
        V.boolean(who, "scale", scale)
        if num_features is not None:
            V.positive_int(who, "num_features", num_features)
        self.axis, self.momentum, self.epsilon = axis, momentum, epsilon
        self.center, self.scale = center, scale
        if num_features is not None:
            self._make(num_features)
            self.built = True

    def build(self, input_shape):
        self._make(input_shape[self.axis])

    def _make(self, c):
        self.num_features = int(c)
        self.gamma = self.add_weight("gamma", (c,), self.gamma_initializer, self.gamma_regularizer,
                                     constraint=self.gamma_constraint) if self.scale else None
        self.beta = self.add_weight("beta", (c,), self.beta_initializer, self.beta_regularizer,
                                    constraint=self.beta_constraint) if self.center else None
        for name, init in (("moving_mean", self.moving_mean_initializer),
                           ("moving_variance", self.moving_variance_initializer)):
            values = initializers.resolve(init)((c,), self.dtype)
            self.register_buffer(name, np.asarray(values, self.dtype).reshape(c))

    def forward(self, x):
        x = T._t(x)
        ax = self.axis % x.ndim if x.ndim else 0
        if x.ndim < 2 or x.shape[ax] != self.num_features:
            raise ValueError(f"{self.name} (BatchNormalization): expected {self.num_features} features on axis "
                             f"{self.axis}, got input shape {tuple(x.shape)}")
        reduce_axes = tuple(i for i in range(x.ndim) if i != ax)
        shape = [1] * x.ndim
        shape[ax] = self.num_features
        if self.training and self._trainable and x.numel():
            # One op, statistics in float64 (see layernorm.LayerNormOp): no overflow for float32
            # inputs of +-1e30 or float16 of +-1e4, and the backward is the exact closed form.
            y = normalize(x, reduce_axes, self.gamma, self.beta, self.epsilon, param_shape=shape)
            m = self.momentum
            new_var = blend_running_statistics(x, reduce_axes, self.moving_mean, self.moving_variance,
                                               m, 1 - m, self.unbiased_running_var)
            xp = x.xp
            if xp is np and not np.isfinite(self.moving_variance).all() and np.isfinite(new_var).all():
                # (checked on the CPU only: on the GPU it would stall the stream every step)
                warnings.warn(f"{V.owner(self)}: the moving variance (up to {float(new_var.max()):.3g}) does not "
                              f"fit its dtype {self.moving_variance.dtype} and is now inf; evaluation-mode "
                              "outputs will be 0. Scale the inputs, or use a wider dtype for this layer.",
                              RuntimeWarning, stacklevel=2)
            return y
        # evaluation (and an empty batch in training, which leaves the moving statistics alone)
        mean = Tensor._wrap(self.moving_mean.reshape(shape))
        var = Tensor._wrap(self.moving_variance.reshape(shape))
        y = (x - mean) / T.sqrt(var + self.epsilon)
        if self.gamma is not None:
            y = y * T.reshape(self.gamma, shape)
        if self.beta is not None:
            y = y + T.reshape(self.beta, shape)
        return y
