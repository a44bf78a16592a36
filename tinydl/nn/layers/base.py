"""Layer: a Module with Keras's conveniences (input_shape hints, trainable, get/set_weights)."""
import numpy as np

from ...backends import get_array_module, to_host

from ..module import Module
from .. import functional as F
from .. import init, regularizers, validation
from ..logits import remember_logits


class Layer(Module):
    """Base of tinydl's layers. Accepts Keras's ``name``, ``input_shape``/``input_dim``,
    ``dtype`` and ``trainable`` keyword arguments."""

    # True for layers whose inputs are integer indices (Embedding): a Keras model keeps integer
    # data fed to such a layer as it is, instead of casting it to the model's float dtype.
    integer_inputs = False

    def __new__(cls, *args, **kwargs):
        # The constructor's arguments, for get_config (see config.py).
        obj = super().__new__(cls)
        object.__setattr__(obj, "_init_call", (args, dict(kwargs)))
        return obj

    def get_config(self):
        """Keras's layer configuration: the constructor's arguments (defaults filled in), ``name``,
        ``trainable`` and ``dtype``; ``type(layer).from_config(config)`` makes an equal layer."""
        from .config import layer_config
        return layer_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from .config import layer_from_config
        return layer_from_config(cls, config, custom_objects)

    def __init__(self, name=None, input_shape=None, input_dim=None, dtype="float32", trainable=True,
                 batch_input_shape=None):
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"{type(self).__name__}: name must be a non-empty string, got {name!r}")
        super().__init__(name=name)
        who = validation.owner(self)
        if input_dim is not None:
            validation.positive_int(who, "input_dim", input_dim)
            input_shape = (input_dim,)
        if batch_input_shape is not None:
            input_shape = tuple(batch_input_shape)[1:]
        if input_shape is not None:
            input_shape = validation.shape_hint(who, input_shape)
        self.input_shape_hint = input_shape
        self.dtype = validation.float_dtype(who, dtype)
        validation.boolean(who, "trainable", trainable)
        self._trainable = trainable

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, flag):
        """Freeze (False) or unfreeze this layer's parameters, as Keras's layer.trainable."""
        self._trainable = bool(flag)
        for m in self.modules():
            if isinstance(m, Layer):
                m._trainable = bool(flag)
            for p in m._parameters.values():
                p.requires_grad = bool(flag) and p.trainable

    def call_eager(self, *args, **kwargs):
        for i, a in enumerate(args):  # complex or string data is refused, naming this layer
            validation.check_input(validation.owner(self), a, "input" if i == 0 else f"input {i}")
        return super().call_eager(*args, **kwargs)

    def add_weight(self, name, shape, initializer, regularizer=None, trainable=True):
        shape = tuple(int(n) for n in shape)
        from .config import charge
        charge(self, name, shape, self.dtype)  # bounded memory while loading a model file
        made = init.get(initializer)(shape, self.dtype)
        # A copy: an array the initializer returns (a user's, perhaps shared by two layers) never
        # becomes the parameter itself, so training never writes into it.
        array = np.array(made.get() if hasattr(made, "get") else made, dtype=self.dtype, copy=True)
        if array.shape != shape:
            raise ValueError(f"{validation.owner(self)}: the initializer for '{name}' returned shape "
                             f"{array.shape}, expected {shape}")
        p = self.add_parameter(name, array, trainable=trainable and self._trainable,
                               regularizer=regularizers.get(regularizer))
        p.trainable = trainable
        return p

    def weights_list(self):
        """Keras's weight order: parameters, then buffers (e.g. moving statistics)."""
        return ([p.detach().numpy() for p in self._parameters.values()]
                + [to_host(getattr(self, b)) for b in self._buffers])

    def get_weights(self):
        return [np.array(w, copy=True) for w in self.weights_list()]

    def set_weights(self, weights):
        names = list(self._parameters) + list(self._buffers)
        if len(weights) != len(names):
            raise ValueError(f"{self.name}.set_weights: expected {len(names)} arrays ({names}), got {len(weights)}")
        state = {}
        for n, cur, new in zip(names, self.weights_list(), weights):
            new = np.asarray(new)
            if new.shape != cur.shape:
                raise ValueError(f"{self.name}.set_weights: '{n}' expects shape {cur.shape}, got {new.shape}")
            state[n] = new
        for n, new in state.items():
            target = self._parameters[n].data if n in self._parameters else getattr(self, n)
            target[...] = get_array_module(target).asarray(new, dtype=target.dtype)

    def compute_output_shape(self, input_shape):
        """Output shape (without the batch axis) for a given input shape: by a dry run."""
        import tinydl
        with tinydl.no_grad():
            x = tinydl.zeros((1,) + tuple(input_shape), dtype=self.dtype)
            training = self.training
            self.training = False
            try:
                return tuple(self(x).shape[1:])
            finally:
                self.training = training


def activate(z, activation, bias=None):
    """activation(z + bias): fused for relu/tanh/linear; softmax and sigmoid outputs keep their
    logits so a following cross-entropy can use them (stable, as Keras)."""
    if activation in F.FUSABLE_ACTIVATIONS and bias is not None:
        return F.bias_act(z, bias, activation or "linear")
    if bias is not None:
        z = z + bias
    fn = F.get_activation(activation)
    if fn is None:
        return z
    out = fn(z)
    if activation in ("softmax", "sigmoid"):
        remember_logits(out, activation, z)
    return out


def keras_named(name):
    """Give a class Keras's name for what users see (messages, ``summary()``, automatic layer
    names such as ``lstm_1``): in ``tinydl.nn`` the name ``LSTM`` belongs to PyTorch's layer, so
    the Keras-semantics class is ``KerasLSTM`` there and ``LSTM`` in ``tinydl.keras.layers``."""
    def rename(cls):
        cls.__name__ = cls.__qualname__ = name
        return cls
    return rename
