"""Layer: a Module with Keras's semantics (input_shape hints, trainable, get/set_weights, and for
subclassed layers ``call(inputs, training=None, mask=None)``, ``add_weight``, ``add_loss``, the
weight lists and mask propagation).

Masks. A layer's output may carry a Keras mask (a boolean array (batch, time)): ``compute_mask``
makes it (``Embedding(mask_zero=True)``, or passing the input's mask on where
``supports_masking``), and the next layer whose ``call``/``forward`` takes ``mask`` receives it.
The mask is remembered beside the output tensor (a weak reference, so it dies with the tensor),
which is how it also travels through a subclassed model's ``call``.
"""
import functools
import inspect

import numpy as np

from ...backends import get_array_module, to_host

from ...core.tensor import Tensor
from ..module import Module, Parameter
from .. import channels_last as F
from .. import init, regularizers, validation
from .masking import get_keras_mask, set_keras_mask  # noqa: F401  (re-exported)
from ..logits import remember_logits


def _accepts(fn, name):
    """Whether ``fn`` takes the keyword ``name`` (cached per function: it runs on every layer call)."""
    return _accepts_plain(getattr(fn, "__func__", fn), name)


@functools.lru_cache(maxsize=4096)
def _accepts_plain(fn, name):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


class Layer(Module):
    """Base of tinydl's layers. Accepts Keras's ``name``, ``input_shape``/``input_dim``,
    ``dtype`` and ``trainable`` keyword arguments.

    A subclass may implement Keras's ``call(inputs, training=None, mask=None)`` instead of
    ``forward`` and create its weights in ``build(input_shape)`` (run on the first call) with
    ``add_weight``. ``layer(x, training=True)`` runs that call (and every sublayer) in training
    mode; a ``call`` that takes ``training`` receives the resolved flag. Every layer here starts
    in inference mode, as a standalone Keras layer called without ``training`` does; ``fit`` (or
    ``.train()`` for a PyTorch-style loop) switches to training mode.
    """

    # True for layers whose inputs are integer indices (Embedding): a Keras model keeps integer
    # data fed to such a layer as it is, instead of casting it to the model's float dtype.
    integer_inputs = False
    # Keras's flag: the layer passes its input's mask on unchanged (compute_mask's default).
    supports_masking = False

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
                 batch_input_shape=None, activity_regularizer=None):
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
        object.__setattr__(self, "_call_losses", [])
        object.__setattr__(self, "_inbound_nodes", [])
        # Keras: a penalty on the layer's output, added to the loss at each call (divided by the batch size)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.training = False  # Keras: a layer called on its own, without training=, runs in inference mode

    def __setattr__(self, key, value):
        # `self.w = self.add_weight(...)`: the weight is registered once, under its weight name.
        if isinstance(value, Parameter) and "_parameters" in self.__dict__ and any(
                p is value for k, p in self._parameters.items() if k != key):
            for store in (self._parameters, self._modules, self._buffers):
                store.pop(key, None)
            object.__setattr__(self, key, value)
            return
        super().__setattr__(key, value)
        # Keras tracks lists of layers / weights assigned as attributes: register each item.
        if isinstance(value, (list, tuple)) and value and "_modules" in self.__dict__ and all(
                isinstance(v, (Module, Parameter)) for v in value):
            for i, v in enumerate(value):
                store = self._modules if isinstance(v, Module) else self._parameters
                if not any(v is w for w in store.values()):
                    store[f"{key}.{i}"] = v

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
        training = kwargs.pop("training", None)
        keras_style = _defines_call(type(self))
        target = self.call if keras_style else self.forward
        if keras_style and args:  # Keras converts the input to tensors (float data to the layer's dtype)
            args = (self._as_input(args[0]),) + tuple(args[1:])
        first = args[0] if args else None
        if not self.built and first is not None:  # build(input_shape): one shape, or one per input
            self.build(_shapes_of(first))
            self.built = True
        input_mask = kwargs.get("mask", None)
        if input_mask is None and first is not None:
            input_mask = get_keras_mask(first)
            if input_mask is not None and _accepts(target, "mask"):
                kwargs["mask"] = input_mask
        if _accepts(target, "training") and (training is not None or keras_style):
            kwargs["training"] = self.training if training is None else bool(training)
        self._call_losses.clear()
        if training is None or bool(training) == self.training:
            out = super().call_eager(*args, **kwargs)
        else:
            modes = [(m, m.training) for m in self.modules()]
            try:
                for m, _ in modes:
                    m.training = bool(training)
                out = super().call_eager(*args, **kwargs)
            finally:
                for m, flag in modes:
                    m.training = flag
        if first is not None and isinstance(out, Tensor):
            set_keras_mask(out, self.compute_mask(first, input_mask))
        if self.__dict__.get("activity_regularizer") is not None:
            self._add_activity_loss(out)
        return out

    def _add_activity_loss(self, out):
        for t in (out if isinstance(out, (list, tuple)) else [out]):
            if isinstance(t, Tensor):
                loss = self.activity_regularizer(t)
                self.add_loss(loss / t.shape[0] if t.ndim > 0 and t.shape[0] else loss)

    def _as_input(self, x):
        if isinstance(x, (list, tuple)):
            return type(x)(self._as_input(v) for v in x)
        if isinstance(x, dict):
            return {k: self._as_input(v) for k, v in x.items()}
        if isinstance(x, Tensor) or not isinstance(x, (np.ndarray, np.generic, float, int)):
            return x
        a = np.asarray(x)
        return Tensor(a.astype(self.dtype) if a.dtype.kind == "f" else a)

    def __init_subclass__(cls, **kwargs):
        # A subclass of a built-in layer that overrides Keras's `call` computes with it.
        super().__init_subclass__(**kwargs)
        if "call" in vars(cls) and "forward" not in vars(cls) and not getattr(cls.forward, "_dispatches_to_call",
                                                                              False):
            cls.forward = _forward_via_call

    def forward(self, *args, **kwargs):
        if type(self).call is not Layer.call:
            return self.call(*args, **kwargs)
        raise NotImplementedError(f"{type(self).__name__} must implement call() (Keras) or forward() (PyTorch)")

    forward._dispatches_to_call = True

    def call(self, *args, **kwargs):
        """Keras's name for the computation: for a built-in layer, its ``forward`` (so a subclass
        that overrides ``call`` can use ``super().call(inputs)``)."""
        for klass in type(self).__mro__:
            f = vars(klass).get("forward")
            if f is not None and not getattr(f, "_dispatches_to_call", False) and klass is not Module:
                return f(self, *args, **kwargs)
        raise NotImplementedError(f"{type(self).__name__} must implement call() (Keras) or forward() (PyTorch)")

    def compute_mask(self, inputs, mask=None):
        """The mask of this layer's output: the input's mask where ``supports_masking``, else None."""
        return mask if self.supports_masking else None

    # ---- weights (Keras's names) ----------------------------------------------------------------------
    def add_weight(self, *args, shape=None, initializer=None, dtype=None, trainable=True, regularizer=None,
                   constraint=None, name=None, **kwargs):
        """Keras's ``add_weight(shape=None, initializer=None, dtype=None, trainable=True,
        regularizer=None, constraint=None, name=None)``: ``shape`` first, ``name`` optional (the
        default initializer is glorot_uniform for floats, zeros otherwise). The older
        ``add_weight(name, shape, initializer, regularizer)`` order is accepted too."""
        args = list(args)
        if args and isinstance(args[0], str):  # (name, shape, initializer, regularizer)
            name = args.pop(0)
        for key, value in zip(("shape", "initializer", "regularizer"), args):
            if key == "shape":
                shape = value
            elif key == "initializer":
                initializer = value
            else:
                regularizer = value
        if len(args) > 3:
            raise TypeError(f"{validation.owner(self)}.add_weight: too many positional arguments")
        kwargs.pop("autocast", None), kwargs.pop("aggregation", None), kwargs.pop("synchronization", None)
        kwargs.pop("overwrite_with_gradient", None), kwargs.pop("use_resource", None)
        if kwargs:
            raise TypeError(f"{validation.owner(self)}.add_weight: unexpected argument(s) {sorted(kwargs)}")
        shape = () if shape is None else ((int(shape),) if isinstance(shape, (int, np.integer)) else shape)
        if name is None:
            taken = set(self._parameters) | set(self.__dict__)
            name, k = "variable", 0
            while name in taken:
                k += 1
                name = f"variable_{k}"
        wdtype = np.dtype(dtype) if dtype is not None else self.dtype
        if initializer is None:
            initializer = "glorot_uniform" if wdtype.kind == "f" else "zeros"
        if wdtype.kind != "f":
            trainable = False
        p = self._make_weight(name, shape, initializer, regularizer, trainable, wdtype)
        if constraint is not None:  # applied by the Keras optimizers after each update
            from .. import constraints
            p.constraint = constraints.get(constraint)
        return p

    def _make_weight(self, name, shape, initializer, regularizer, trainable, wdtype):
        shape = tuple(int(n) for n in shape)
        from .config import charge
        charge(self, name, shape, wdtype)  # bounded memory while loading a model file
        made = init.get(initializer)(shape, wdtype if wdtype.kind == "f" else np.dtype("float32"))
        # A copy: an array the initializer returns (a user's, perhaps shared by two layers) never
        # becomes the parameter itself, so training never writes into it.
        array = np.array(made.get() if hasattr(made, "get") else made, dtype=wdtype, copy=True)
        if array.shape != shape:
            raise ValueError(f"{validation.owner(self)}: the initializer for '{name}' returned shape "
                             f"{array.shape}, expected {shape}")
        if wdtype.kind != "f":  # integer/bool state: a non-trainable tensor, never differentiated
            p = Parameter(array, requires_grad=False)
            p.regularizer, p.name = None, f"{self.name}/{name}"
            setattr(self, name, p)
        else:
            p = self.add_parameter(name, array, trainable=trainable and self._trainable,
                                   regularizer=regularizers.get(regularizer))
        p.trainable = trainable
        return p

    def _own_weights(self):
        """(trainable, non-trainable) weights of this layer alone; buffers (moving statistics) as
        tensors sharing their memory."""
        params = list(self._parameters.values())
        trainable = [p for p in params if p.trainable]
        frozen = [p for p in params if not p.trainable]
        for b in self._buffers:
            t = Tensor._wrap(getattr(self, b))
            t.name = f"{self.name}/{b}"
            frozen.append(t)
        return trainable, frozen

    def _weight_lists(self):
        """(trainable, non-trainable) weights of this layer and its sublayers: a frozen layer's
        trainable weights count as non-trainable, as in Keras."""
        trainable, frozen = [], []
        for w, layer in self._walk_weights():
            on = isinstance(w, Parameter) and w.trainable and getattr(layer, "_trainable", True) and self._trainable
            (trainable if on else frozen).append(w)
        return trainable, frozen

    def _walk_weights(self):
        """Each weight once, with its layer, in Keras's order: per layer its trainable, then its
        non-trainable weights, then the sublayers'."""
        seen = set()
        stack = [self]
        while stack:
            layer = stack.pop(0)
            if isinstance(layer, Layer):
                t, f = layer._own_weights()
            else:
                t, f = list(layer._parameters.values()), []
            for w in t + f:
                key = id(w if isinstance(w, Parameter) else w.data)
                if key not in seen:
                    seen.add(key)
                    yield w, layer
            stack[0:0] = list(layer._modules.values())

    @property
    def trainable_weights(self):
        return self._weight_lists()[0]

    @property
    def non_trainable_weights(self):
        """Frozen weights and the non-trainable state (BatchNormalization's moving statistics)."""
        return self._weight_lists()[1]

    @property
    def weights(self):
        return [w for w, _ in self._walk_weights()]

    @property
    def trainable_variables(self):
        return self.trainable_weights

    @property
    def non_trainable_variables(self):
        return self.non_trainable_weights

    @property
    def variables(self):
        return self.weights

    def count_params(self):
        """Every weight's size, trainable or not."""
        if not self.built and not self._parameters:
            raise ValueError(f"You tried to call `count_params` on layer '{self.name}', but the layer isn't "
                             "built. You can build it manually via: `layer.build(input_shape)`.")
        return int(sum(int(np.prod(w.shape)) for w in self.weights))

    # ---- losses ---------------------------------------------------------------------------------------
    def add_loss(self, loss):
        """Keras's ``add_loss``: a scalar tensor (e.g. an activity penalty) computed in ``call``,
        added to the training loss; cleared at the layer's next call."""
        self._call_losses.append(loss if isinstance(loss, Tensor) else Tensor(np.asarray(loss, np.float32)))

    @property
    def losses(self):
        """The ``add_loss`` losses of the last call of this layer and its sublayers, then the weight
        regularization penalties."""
        out = []
        for m in self.modules():
            out.extend(getattr(m, "_call_losses", []))
        return out + self.regularization_losses()

    # ---- the functional graph ---------------------------------------------------------------------------
    def _first_node(self, what):
        nodes = self.__dict__.get("_inbound_nodes")
        if not nodes:
            raise AttributeError(f"Layer {self.name} has never been called and thus has no defined {what}.")
        return nodes[0]

    @property
    def input(self):
        node = self._first_node("input")
        return node.arg

    @property
    def output(self):
        node = self._first_node("output")
        return node.outputs[0] if node.single_output else list(node.outputs)

    @property
    def output_shape(self):
        if "_output_shape" in self.__dict__:  # a layer's own setting (Lambda's output_shape argument)
            return self.__dict__["_output_shape"]
        out = self.output
        return [o.shape for o in out] if isinstance(out, list) else out.shape

    @output_shape.setter
    def output_shape(self, value):
        object.__setattr__(self, "_output_shape", value)

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


def _shapes_of(x):
    """A value's shape (with the batch axis), or a list/dict of them for several inputs."""
    if isinstance(x, (list, tuple)):
        return [_shapes_of(v) for v in x]
    if isinstance(x, dict):
        return {k: _shapes_of(v) for k, v in x.items()}
    return tuple(x.shape) if hasattr(x, "shape") else None


def _defines_call(cls):
    """Whether a Layer subclass computes with Keras's ``call`` (its ``forward`` hands over to it)."""
    return cls.call is not Layer.call and getattr(cls.forward, "_dispatches_to_call", False)


def _forward_via_call(self, *args, **kwargs):
    return self.call(*args, **kwargs)


_forward_via_call._dispatches_to_call = True


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
