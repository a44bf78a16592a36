"""The layer library. Each layer exists once; PyTorch-named classes are thin constructors."""
from .base import Layer, activate
from .core import (Dense, Linear, Flatten, Reshape, Dropout, Activation, ReLU, LeakyReLU, Sigmoid,
                   Tanh, Softmax, Identity)
from .conv import Conv2D, Conv2d, Conv2DTranspose, ConvTranspose2d
from .pooling import MaxPooling2D, AveragePooling2D, MaxPool2d, AvgPool2d, GlobalAveragePooling2D
from .normalization import BatchNormalization, BatchNorm1d, BatchNorm2d
from .embedding import Embedding, TorchEmbedding, PositionalEmbedding
from .recurrent import SimpleRNN, LSTM, GRU, RNN, TorchLSTM, TorchGRU
from .layernorm import LayerNormalization, LayerNorm
from .attention import MultiHeadAttention, MultiheadAttention
from .transformer import TransformerBlock, TransformerLM
