"""The layer library. Each layer exists once, and each name means one class in ``tinydl.nn``:
``LSTM``, ``GRU``, ``RNN`` and ``Embedding`` are PyTorch's (``torch_sequence.py``, thin
constructors); their Keras-semantics cores are ``KerasLSTM``, ``KerasGRU``, ``SimpleRNN`` and
``KerasEmbedding``, which ``tinydl.keras.layers`` exports under Keras's names."""
from .base import Layer, activate
from .core import (Dense, Linear, Flatten, Reshape, Dropout, Activation, ReLU, LeakyReLU, Sigmoid,
                   Tanh, Softmax, Identity)
from .conv import Conv2D, Conv2d, Conv2DTranspose, ConvTranspose2d
from .pooling import MaxPooling2D, AveragePooling2D, MaxPool2d, AvgPool2d, GlobalAveragePooling2D
from .normalization import BatchNormalization, BatchNorm1d, BatchNorm2d
from .embedding import KerasEmbedding, PositionalEmbedding
from .recurrent import SimpleRNN, KerasLSTM, KerasGRU
from .torch_sequence import RNN, LSTM, GRU, Embedding
from .layernorm import LayerNormalization, LayerNorm
from .attention import MultiHeadAttention, MultiheadAttention
from .transformer import TransformerBlock, TransformerLM
# The Keras-semantics families; tinydl.keras.layers exports their classes under Keras's names.
from . import (activation_layers, config, keras_attention, keras_conv, keras_core, keras_pooling,  # noqa: E402,F401
               merging, preprocessing_image, preprocessing_numeric, preprocessing_text, reshaping, wrappers)
