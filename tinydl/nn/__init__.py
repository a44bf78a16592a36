"""tinydl.nn: modules, layers, losses, initializers (PyTorch-flavoured; tinydl.keras wraps it).

>>> import tinydl
>>> from tinydl import nn
>>> layer = nn.Dense(3, activation="relu")
>>> layer(tinydl.ones(2, 5)).shape
(2, 3)
"""
from .module import Module, Parameter, Sequential
from .layers import *  # noqa: F401,F403

from . import functional, init, losses, regularizers, initializers, constraints
from .losses import (MSELoss, L1Loss, BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, NLLLoss)

from .layers.attention import scaled_dot_product_attention  # noqa: E402
from .layers.layernorm import layer_norm  # noqa: E402
from .layers.embedding import embedding  # noqa: E402
from . import parallel  # noqa: E402
