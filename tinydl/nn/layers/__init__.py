"""The Keras-semantics layer library (Keras's argument names, channels-last, deferred building).

``tinydl.keras.layers`` exports these under Keras's names; where Keras and PyTorch share a name
for different layers (``LSTM``, ``GRU``, ``Embedding``) the classes here are ``KerasLSTM``,
``KerasGRU``, ``KerasEmbedding``. PyTorch's layers are ``tinydl.nn.modules`` (what ``tinydl.nn``
exports under PyTorch's names)."""
from .base import Layer, activate
from .core import Dense, Flatten, Reshape, Dropout, Activation, ReLU, LeakyReLU, Sigmoid, Tanh, Softmax, Identity
from .conv import Conv2D, Conv2DTranspose
from .pooling import MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D
from .normalization import BatchNormalization
from .embedding import KerasEmbedding, PositionalEmbedding
from .recurrent import SimpleRNN, KerasLSTM, KerasGRU
from .layernorm import LayerNormalization
from .attention import MultiHeadAttention
from .transformer import TransformerBlock, TransformerLM
# The Keras-semantics families; tinydl.keras.layers exports their classes under Keras's names.
from . import (activation_layers, config, keras_attention, keras_conv, keras_core, keras_pooling,  # noqa: E402,F401
               merging, preprocessing_image, preprocessing_numeric, preprocessing_text, reshaping, wrappers)
