"""Keras's layer wrappers: Bidirectional (a recurrent layer and its backward twin) and
TimeDistributed (a layer applied to every time step)."""
from ...core import functional as T
from .. import validation as V
from .base import Layer


class _Wrapper(Layer):
    """Weights of a wrapper are its sublayers' (Keras's order: the wrapped layers, in turn)."""

    def _sublayers(self):
        return [m for m in self._modules.values() if isinstance(m, Layer)]

    def get_weights(self):
        return [w for sub in self._sublayers() for w in sub.get_weights()]

    def set_weights(self, weights):
        weights = list(weights)
        counts = [len(sub.get_weights()) for sub in self._sublayers()]
        if len(weights) != sum(counts):
            raise ValueError(f"{V.owner(self)}.set_weights: expected {sum(counts)} arrays, got {len(weights)}")
        for sub, n in zip(self._sublayers(), counts):
            sub.set_weights(weights[:n])
            weights = weights[n:]


class Bidirectional(_Wrapper):
    """``Bidirectional(layer, merge_mode='concat', weights=None, backward_layer=None)``.

    The backward layer is a copy of ``layer``'s configuration with ``go_backwards`` flipped (or
    ``backward_layer``); its sequence output is reversed back in time before merging, as Keras.
    ``merge_mode`` is 'concat', 'sum', 'mul', 'ave' or None (a list of both outputs). With
    ``return_state`` the result is ``[output, *forward_states, *backward_states]``.
    Weights: the forward layer's, then the backward layer's.
    """

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        super().__init__(**kwargs)
        who = V.owner(self)
        if not isinstance(layer, Layer) or not hasattr(layer, "go_backwards"):
            raise ValueError(f"{who}: layer must be a recurrent layer (LSTM, GRU, SimpleRNN), got {layer!r}")
        if merge_mode not in ("concat", "sum", "mul", "ave", None):
            raise ValueError(f"{who}: merge_mode must be 'concat', 'sum', 'mul', 'ave' or None, got {merge_mode!r}")
        if weights is not None:
            raise NotImplementedError(f"{who}: weights= is not supported; call set_weights after building")
        self.merge_mode = merge_mode
        self.weights_arg = None
        if backward_layer is None:
            config = layer.get_config()
            config["go_backwards"] = not layer.go_backwards
            config["name"] = "backward_" + layer.name
            backward_layer = type(layer).from_config(config)
        elif backward_layer.go_backwards == layer.go_backwards:
            raise ValueError(f"{who}: backward_layer must have go_backwards={not layer.go_backwards}")
        self.forward_layer = layer
        self.backward_layer = backward_layer
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        if self.input_shape_hint:
            self.build((None,) + tuple(self.input_shape_hint))
            self.built = True

    @property
    def layer(self):
        return self.forward_layer

    def build(self, input_shape):
        for sub in (self.forward_layer, self.backward_layer):
            if not sub.built:
                sub.build(tuple(input_shape))
                sub.built = True

    def forward(self, x, initial_state=None, training=None):
        fw_state = bw_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            fw_state, bw_state = initial_state[:half], initial_state[half:]
        y_f = self.forward_layer(x, initial_state=fw_state, training=training)
        y_b = self.backward_layer(x, initial_state=bw_state, training=training)
        states = []
        if self.return_state:
            y_f, states_f = y_f[0], list(y_f[1:])
            y_b, states_b = y_b[0], list(y_b[1:])
            states = states_f + states_b
        if self.return_sequences:
            y_b = T.getitem(y_b, (slice(None), slice(None, None, -1)))
        if self.merge_mode == "concat":
            out = T.concatenate([y_f, y_b], axis=-1)
        elif self.merge_mode == "sum":
            out = y_f + y_b
        elif self.merge_mode == "mul":
            out = y_f * y_b
        elif self.merge_mode == "ave":
            out = (y_f + y_b) * 0.5
        else:
            out = [y_f, y_b]
        if self.return_state:
            return (out if isinstance(out, list) else [out]) + states
        return out


class TimeDistributed(_Wrapper):
    """``TimeDistributed(layer)``: (N, T, ...) -> (N, T, ...'), ``layer`` applied to each of the T
    slices (one call on the (N*T, ...) batch)."""

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise ValueError(f"{V.owner(self)}: layer must be a Layer, got {layer!r}")
        self.layer = layer
        if self.input_shape_hint:
            self.build((None,) + tuple(self.input_shape_hint))
            self.built = True

    def build(self, input_shape):
        if input_shape is None or len(input_shape) < 3:
            raise ValueError(f"{V.owner(self)}: expected an input of at least 3 dimensions (batch, time, ...), "
                             f"got shape {input_shape}")
        if not self.layer.built:
            self.layer.build((None,) + tuple(input_shape[2:]))
            self.layer.built = True

    def forward(self, x, training=None):
        x = T._t(x)
        if x.ndim < 3:
            raise ValueError(f"{V.owner(self)}: expected an input of at least 3 dimensions (batch, time, ...), "
                             f"got shape {tuple(x.shape)}")
        n, steps = x.shape[0], x.shape[1]
        y = self.layer(T.reshape(x, (n * steps,) + tuple(x.shape[2:])))
        return T.reshape(y, (n, steps) + tuple(y.shape[1:]))
