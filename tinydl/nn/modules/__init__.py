"""The PyTorch-named modules of ``tinydl.nn`` (PyTorch's own package name): created eagerly in
``__init__`` with PyTorch's parameter names, layouts and initialisation, so a PyTorch state_dict
loads into them. One file a family; the computations are the shared ops underneath (the
Keras-semantics layers of ``tinydl.nn.layers`` use the same ones)."""
from .container import Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict
from .linear import Identity, Linear, Flatten, Unflatten
from .activation import (ReLU, ReLU6, LeakyReLU, ELU, GELU, SiLU, Mish, Softplus, Hardtanh, Tanh, Sigmoid,
                         LogSigmoid, Softmax, LogSoftmax)
from .conv import Conv1d, Conv2d, ConvTranspose2d
from .pooling import MaxPool1d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d
from .batchnorm import BatchNorm1d, BatchNorm2d
from .normalization import LayerNorm, GroupNorm
from .dropout import Dropout
from .upsampling import Upsample, UpsamplingNearest2d, UpsamplingBilinear2d
from .sparse import Embedding
from .rnn import RNN, LSTM, GRU
from .attention import MultiheadAttention
from .transformer import TransformerEncoderLayer
from .loss import (MSELoss, L1Loss, SmoothL1Loss, HuberLoss, CrossEntropyLoss, NLLLoss, BCELoss, BCEWithLogitsLoss,
                   KLDivLoss)

__all__ = ["Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict", "Identity", "Linear",
           "Flatten", "Unflatten", "ReLU", "ReLU6", "LeakyReLU", "ELU", "GELU", "SiLU", "Mish", "Softplus",
           "Hardtanh", "Tanh", "Sigmoid", "LogSigmoid", "Softmax", "LogSoftmax", "Conv1d", "Conv2d",
           "ConvTranspose2d", "MaxPool1d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "BatchNorm1d",
           "BatchNorm2d", "LayerNorm", "GroupNorm", "Dropout", "Upsample", "UpsamplingNearest2d",
           "UpsamplingBilinear2d", "Embedding", "RNN", "LSTM", "GRU",
           "MultiheadAttention", "TransformerEncoderLayer", "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss",
           "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "KLDivLoss"]
