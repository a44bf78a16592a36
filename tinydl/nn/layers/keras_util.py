"""Small helpers shared by the Keras-semantics layer files: argument checks, weights with
Keras's constraints, channels-first/last handling, output lengths."""
from ...core import functional as T
from .. import constraints, initializers, validation as V


def layout(who, data_format):
    """Keras's ``data_format``: None means 'channels_last' (Keras's image_data_format default)."""
    if data_format is None:
        return "channels_last"
    return V.choice(who, "data_format", data_format, ("channels_last", "channels_first"))


int_tuple = V.int_tuple


def check_rank(layer, shape, rank):
    if shape is None or len(shape) != rank:
        raise ValueError(f"{V.owner(layer)}: expected a {rank}-d input (batch axis included), got shape "
                         f"{None if shape is None else tuple(shape)}")


def conv_output_length(n, k, s, d=1):
    return (n - ((k - 1) * d + 1)) // s + 1


def add_keras_weight(layer, name, shape, initializer, regularizer=None, constraint=None, trainable=True):
    """``layer.add_weight`` by keyword (both signatures of Layer.add_weight take these), then a
    Keras constraint, which the Keras optimizers apply after each update."""
    p = layer.add_weight(name=name, shape=tuple(int(s) for s in shape), initializer=initializers.resolve(initializer),
                         regularizer=regularizer, trainable=trainable)
    p.constraint = constraints.get(constraint)
    return p


def to_channels_last(layer, x, rank):
    x = T._t(x)
    check_rank(layer, x.shape, rank)
    if layer.data_format == "channels_first":
        x = T.transpose(x, (0,) + tuple(range(2, rank)) + (1,))
    return x


def from_channels_last(layer, y):
    if layer.data_format == "channels_first":
        y = T.transpose(y, (0, y.ndim - 1) + tuple(range(1, y.ndim - 1)))
    return y
