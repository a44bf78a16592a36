"""The PyTorch-named sequence layers: ``RNN``, ``LSTM``, ``GRU`` and ``Embedding``.

``tinydl.nn.LSTM is tinydl.nn.layers.LSTM is`` this module's ``LSTM``: PyTorch's arguments,
shapes and initialisation.  The recurrent ones are thin constructors: a stack of ``num_layers``
time-major Keras-semantics layers (``recurrent.py``) holding the weights in Keras's layout;
``torch_state_dict()``/``load_torch_state_dict()`` convert (``torch_weights.py``).  ``Embedding``
is ``embedding.KerasEmbedding`` with PyTorch's argument names, ``padding_idx`` and N(0, 1)
initialisation.

>>> import numpy as np, tinydl
>>> from tinydl.nn.layers.torch_sequence import LSTM
>>> out, (h_n, c_n) = LSTM(3, 8, num_layers=2)(np.zeros((5, 2, 3), np.float32))
>>> out.shape, h_n.shape, c_n.shape
((5, 2, 8), (2, 2, 8), (2, 2, 8))
"""
import math

import numpy as np

from ...core import functional as T
from ...core.random import get_rng
from ...core.tensor import Tensor, as_tensor
from ..module import unique_name
from .. import functional as F
from .. import validation as V
from .base import Layer
from .embedding import KerasEmbedding
from .recurrent import SimpleRNN, KerasLSTM, KerasGRU
from .torch_weights import (rnn_weights_from_torch, rnn_weights_to_torch, lstm_weights_from_torch,
                            lstm_weights_to_torch, gru_weights_from_torch, gru_weights_to_torch)


def _torch_uniform(units):
    """PyTorch's recurrent initialisation: U(-1/sqrt(hidden), 1/sqrt(hidden)) for everything."""
    k = 1 / math.sqrt(units)
    return lambda shape, dtype: get_rng().uniform(-k, k, shape).astype(dtype)


class _TorchRecurrent(Layer):
    keras_cls = None
    auto_name = None  # the base of the automatic layer name
    torch_names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, **kwargs):
        cell_kwargs = {k: kwargs.pop(k) for k in ("fused",) if k in kwargs}
        if kwargs.get("name") is None:
            kwargs["name"] = unique_name(self.auto_name)
        super().__init__(**kwargs)
        who = V.owner(self)
        V.positive_int(who, "input_size", input_size)
        V.positive_int(who, "hidden_size", hidden_size)
        V.positive_int(who, "num_layers", num_layers)
        V.real(who, "dropout", dropout, 0, 1, high_open=True)
        V.boolean(who, "bias", bias)
        V.boolean(who, "batch_first", batch_first)
        if bidirectional:
            raise NotImplementedError(f"{self.name}: bidirectional recurrent layers are not implemented")
        if proj_size:
            raise NotImplementedError(f"{self.name}: proj_size is not implemented")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.batch_first, self.dropout, self.use_bias = batch_first, dropout, bias
        init = _torch_uniform(hidden_size)
        for layer in range(num_layers):
            sub = self.keras_cls(hidden_size, use_bias=bias, return_sequences=True, return_state=True,
                                 time_major=True, kernel_initializer=init, recurrent_initializer=init,
                                 bias_initializer=init, dtype=self.dtype,
                                 input_shape=(None, input_size if layer == 0 else hidden_size),
                                 name=f"{self.name}_l{layer}", **self._extra_cell_kwargs(), **cell_kwargs)
            setattr(self, f"l{layer}", sub)
        self.built = True

    def _extra_cell_kwargs(self):
        return {}

    def cells(self):
        return [getattr(self, f"l{i}") for i in range(self.num_layers)]

    def _split_hx(self, hx):
        raise NotImplementedError

    def forward(self, input, hx=None):
        x = as_tensor(input)
        unbatched = x.ndim == 2
        if unbatched:
            x = T.unsqueeze(x, 1)
        elif self.batch_first:
            x = T.transpose(x, (1, 0, 2))
        if x.ndim != 3 or x.shape[-1] != self.input_size:
            raise ValueError(f"{self.name} ({type(self).__name__}): expected input (seq, batch, {self.input_size})"
                             f"{' (batch first)' if self.batch_first else ''}, got shape {tuple(as_tensor(input).shape)}")
        states = self._split_hx(hx, x, unbatched)  # per layer: list of (N, H) initial states
        finals = [[] for _ in range(self.n_states)]
        for i, cell in enumerate(self.cells()):
            if i and self.dropout and self.training:
                x = F.dropout(x, self.dropout, True)
            res = cell(x, initial_state=None if states is None else [s[i] for s in states])
            x = res[0]
            for k in range(self.n_states):
                finals[k].append(res[1 + k])
        out = x
        if unbatched:
            out = T.squeeze(out, 1)
        elif self.batch_first:
            out = T.transpose(out, (1, 0, 2))
        stacked = [T.stack(f, axis=0) for f in finals]
        if unbatched:
            stacked = [T.squeeze(s, 1) for s in stacked]
        return out, (stacked[0] if self.n_states == 1 else tuple(stacked))

    def _hx_list(self, hx, x, unbatched):
        """hx given as tensors (num_layers, N, H) (or (num_layers, H) unbatched) -> per-layer slices."""
        out = []
        for h in hx:
            h = as_tensor(h) if isinstance(h, Tensor) else Tensor(np.asarray(h, dtype=x.dtype))
            if unbatched:
                h = T.unsqueeze(h, 1)
            want = (self.num_layers, x.shape[1], self.hidden_size)
            if tuple(h.shape) != want:
                raise ValueError(f"{self.name}: initial state has shape {tuple(h.shape)}, expected {want}")
            out.append([h[i] for i in range(self.num_layers)])
        return out

    # ---- PyTorch's parameter names
    def torch_state_dict(self):
        """The weights as PyTorch names them (``weight_ih_l0``, ...), numpy arrays."""
        out = {}
        for i, cell in enumerate(self.cells()):
            arrays = self.to_torch(cell.kernel.detach().numpy(), cell.recurrent_kernel.detach().numpy(),
                                   None if cell.bias is None else cell.bias.detach().numpy())
            for name, a in zip(self.torch_names, arrays):
                if a is not None:
                    out[f"{name}_l{i}"] = a
        return out

    def load_torch_state_dict(self, state):
        """Load PyTorch-named weights (``weight_ih_l0``, ... as arrays or torch tensors)."""
        for i, cell in enumerate(self.cells()):
            get = lambda n: state.get(f"{n}_l{i}")
            k, rk, b = self.from_torch(get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh"))
            cell.set_weights([k, rk] + ([] if b is None else [b]))
        return self


class RNN(_TorchRecurrent):
    """PyTorch's ``nn.RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0)``; ``forward(input, h0=None)`` -> ``(output, h_n)``,
    h_n (num_layers, N, H)."""

    keras_cls = SimpleRNN
    auto_name = "rnn"
    n_states = 1
    from_torch, to_torch = staticmethod(rnn_weights_from_torch), staticmethod(rnn_weights_to_torch)

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", **kwargs):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        object.__setattr__(self, "nonlinearity", nonlinearity)
        super().__init__(input_size, hidden_size, num_layers, **kwargs)

    def _extra_cell_kwargs(self):
        return {"activation": self.nonlinearity}

    def _split_hx(self, hx, x, unbatched):
        return None if hx is None else self._hx_list([hx], x, unbatched)


class LSTM(_TorchRecurrent):
    """PyTorch's ``nn.LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
    dropout=0.0)``; ``forward(input, (h0, c0)=None)`` -> ``(output, (h_n, c_n))``."""

    keras_cls = KerasLSTM
    auto_name = "torch_lstm"
    n_states = 2
    from_torch, to_torch = staticmethod(lstm_weights_from_torch), staticmethod(lstm_weights_to_torch)

    def _extra_cell_kwargs(self):
        return {"unit_forget_bias": False}

    def _split_hx(self, hx, x, unbatched):
        if hx is None:
            return None
        if not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise ValueError(f"{self.name}: the initial state of an LSTM is a pair (h0, c0)")
        return self._hx_list(hx, x, unbatched)


class GRU(_TorchRecurrent):
    """PyTorch's ``nn.GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
    dropout=0.0)``; ``forward(input, h0=None)`` -> ``(output, h_n)``. Weights are stored in
    Keras's gate order (z, r, h); ``torch_state_dict()`` converts."""

    keras_cls = KerasGRU
    auto_name = "torch_gru"
    n_states = 1
    from_torch, to_torch = staticmethod(gru_weights_from_torch), staticmethod(gru_weights_to_torch)

    def _split_hx(self, hx, x, unbatched):
        return None if hx is None else self._hx_list([hx], x, unbatched)


class Embedding(KerasEmbedding):
    """PyTorch's ``nn.Embedding(num_embeddings, embedding_dim, padding_idx=None)``: N(0, 1)
    initialisation; the ``padding_idx`` row starts at zero and never receives a gradient."""

    def __init__(self, num_embeddings=None, embedding_dim=None, padding_idx=None, **kwargs):
        num_embeddings = kwargs.pop("input_dim", num_embeddings)
        embedding_dim = kwargs.pop("output_dim", embedding_dim)
        if (padding_idx is not None and V._is_int(padding_idx) and V._is_int(num_embeddings)
                and -num_embeddings <= padding_idx < 0):  # PyTorch counts a negative index from the end
            padding_idx += num_embeddings
        kwargs.setdefault("embeddings_initializer", "normal")
        if kwargs.get("name") is None:
            kwargs["name"] = unique_name("torch_embedding")
        super().__init__(num_embeddings, embedding_dim, padding_idx=padding_idx, **kwargs)
