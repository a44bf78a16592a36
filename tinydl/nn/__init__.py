"""tinydl.nn: modules, layers, losses, initializers (PyTorch-flavoured; tinydl.keras wraps it).

>>> import tinydl
>>> from tinydl import nn
>>> layer = nn.Dense(3, activation="relu")
>>> layer(tinydl.ones(2, 5)).shape
(2, 3)
"""
from .module import Module, Parameter, Sequential
from .layers import *  # noqa: F401,F403

from . import functional, init, losses, regularizers
from .losses import (MSELoss, L1Loss, BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, NLLLoss)

# PyTorch's names for the sequence layers (argument conventions: input_size/hidden_size,
# num_embeddings/embedding_dim); the Keras-named classes stay in tinydl.nn.layers.
from .layers.recurrent import TorchLSTM as LSTM, TorchGRU as GRU  # noqa: E402,F811
from .layers.embedding import TorchEmbedding as Embedding  # noqa: E402,F811
from .layers.attention import scaled_dot_product_attention  # noqa: E402
from .layers.layernorm import layer_norm  # noqa: E402
from .layers.embedding import embedding  # noqa: E402
