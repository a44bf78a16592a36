"""tinydl.nn: PyTorch's ``torch.nn`` (``tinydl.nn.modules``: ``Linear``, ``Conv2d``, ``LSTM``, the
losses, the containers), ``functional``, ``init`` and ``utils``; beside them the Keras-semantics
layers (``Dense``, ``Conv2D``, ...; ``tinydl.nn.layers``) that ``tinydl.keras`` wraps.

>>> import tinydl
>>> from tinydl import nn
>>> layer = nn.Linear(5, 3)
>>> layer(tinydl.ones(2, 5)).shape, tuple(layer.weight.shape)
((2, 3), (3, 5))
"""
from .module import Module, Parameter
from .layers import *  # noqa: F401,F403 - the Keras-semantics layers (Dense, Conv2D, ...)
from .modules import *  # noqa: F401,F403 - PyTorch's names win where both exist (Flatten, ReLU, ...)
from .modules import Sequential  # noqa: F401

from . import functional, init, losses, regularizers, initializers, constraints, utils  # noqa: E402
from .layers.attention import scaled_dot_product_attention  # noqa: E402
from .layers.layernorm import layer_norm  # noqa: E402
from .layers.embedding import embedding  # noqa: E402
from . import parallel  # noqa: E402
