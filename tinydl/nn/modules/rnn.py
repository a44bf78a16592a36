"""RNN, LSTM, GRU with PyTorch's parameters (``weight_ih_l0`` (gates*H, in), ``weight_hh_l0``,
``bias_ih_l0``, ``bias_hh_l0``, ``..._reverse`` for the backward direction), all drawn from
U(-1/sqrt(H), 1/sqrt(H)). The recurrences run in the fused scans of ``nn.sequence_ops`` (the
Keras-semantics layers' too): each call transposes the weights into the scans' layout (and for
the GRU reorders PyTorch's gates r, z, n into the scan's z, r, n)."""
import math

import numpy as np

from ...core import functional as T
from ...core.tensor import Tensor, as_tensor
from .. import functional as F
from .. import torch_init as init
from ..module import Module
from ..sequence_ops import GRUScan, LSTMScan, RNNScan
from ._common import new_parameter, positive_int


class _RNNBase(Module):
    gates = 1
    mode = "RNN"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None, nonlinearity="tanh"):
        super().__init__()
        who = type(self).__name__
        self.input_size = positive_int(who, "input_size", input_size)
        self.hidden_size = positive_int(who, "hidden_size", hidden_size)
        self.num_layers = positive_int(who, "num_layers", num_layers)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                             "element being zeroed")
        if proj_size:
            raise NotImplementedError(f"{who}: proj_size is not implemented in tinydl")
        if dropout > 0 and num_layers == 1:
            import warnings
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                          UserWarning, stacklevel=2)
        self.bias, self.batch_first = bool(bias), bool(batch_first)
        self.dropout, self.bidirectional = float(dropout), bool(bidirectional)
        self.nonlinearity = nonlinearity
        self.proj_size = 0
        dirs = 2 if bidirectional else 1
        g = self.gates * hidden_size
        for layer in range(num_layers):
            for d in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                in_size = input_size if layer == 0 else hidden_size * dirs
                setattr(self, "weight_ih" + sfx, new_parameter((g, in_size), dtype, device))
                setattr(self, "weight_hh" + sfx, new_parameter((g, hidden_size), dtype, device))
                if bias:
                    setattr(self, "bias_ih" + sfx, new_parameter((g,), dtype, device))
                    setattr(self, "bias_hh" + sfx, new_parameter((g,), dtype, device))
        self.built = True
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -stdv, stdv)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.mode == "RNN" and self.nonlinearity != "tanh":
            s += f", nonlinearity={self.nonlinearity!r}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s

    # ---- running
    def _weights(self, layer, d):
        sfx = f"_l{layer}" + ("_reverse" if d else "")
        get = lambda n: getattr(self, n + sfx, None)
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")

    def _initial(self, hx, n, dtype, xp):
        dirs = 2 if self.bidirectional else 1
        want = (self.num_layers * dirs, n, self.hidden_size)
        if hx is None:
            zero = Tensor._wrap(xp.zeros(want, dtype=dtype))
            return [zero] * self.n_states
        states = list(hx) if self.n_states == 2 else [hx]
        if self.n_states == 2 and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise ValueError(f"{type(self).__name__}: the initial state of an LSTM is a pair (h_0, c_0)")
        out = []
        for s in states:
            s = as_tensor(s)
            if tuple(s.shape) != want:
                raise RuntimeError(f"Expected hidden size {want}, got {tuple(s.shape)}")
            out.append(s)
        return out

    def forward(self, input, hx=None):
        x = as_tensor(input)
        who = type(self).__name__
        if x.ndim not in (2, 3):
            raise ValueError(f"{who}: Expected input to be 2D or 3D, got {x.ndim}D instead")
        unbatched = x.ndim == 2
        if unbatched:
            x = T.unsqueeze(x, 1)
            if hx is not None:
                hx = tuple(T.unsqueeze(as_tensor(h), 1) for h in hx) if self.n_states == 2 else T.unsqueeze(as_tensor(hx), 1)
        elif self.batch_first:
            x = T.transpose(x, (1, 0, 2))
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"{who}: input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                               f"got {x.shape[-1]}")
        steps, n = x.shape[0], x.shape[1]
        states = self._initial(hx, n, x.dtype, x.xp)
        dirs = 2 if self.bidirectional else 1
        finals = [[] for _ in range(self.n_states)]
        for layer in range(self.num_layers):
            if layer and self.dropout and self.training:
                x = F.dropout(x, self.dropout, True)
            outs = []
            for d in range(dirs):
                idx = layer * dirs + d
                seq_in = x[::-1] if d else x
                seq, last = self._scan(seq_in, self._weights(layer, d), [s[idx] for s in states])
                outs.append(seq[::-1] if d else seq)
                for k in range(self.n_states):
                    finals[k].append(last[k])
            x = outs[0] if dirs == 1 else T.concatenate(outs, axis=2)
        out = x
        stacked = [T.stack(f, axis=0) for f in finals]
        if unbatched:
            out = T.squeeze(out, 1)
            stacked = [T.squeeze(s, 1) for s in stacked]
        elif self.batch_first:
            out = T.transpose(out, (1, 0, 2))
        return out, (stacked[0] if self.n_states == 1 else tuple(stacked))

    @staticmethod
    def _project(x, w_ih, bias):
        steps, n, f = x.shape
        xp = T.matmul(T.reshape(x, (steps * n, f)), T.transpose(w_ih, (1, 0)))
        if bias is not None:
            xp = xp + bias
        return T.reshape(xp, (steps, n, w_ih.shape[0]))


class RNN(_RNNBase):
    """``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0, bidirectional=False)``; ``forward(input, h_0=None)`` ->
    ``(output, h_n)``."""
    n_states = 1

    def __init__(self, *args, **kwargs):
        nonlinearity = kwargs.get("nonlinearity", args[3] if len(args) > 3 and isinstance(args[3], str) else "tanh")
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        if len(args) > 3 and isinstance(args[3], str):
            args = args[:3] + args[4:]
        kwargs["nonlinearity"] = nonlinearity
        super().__init__(*args, **kwargs)

    def _scan(self, x, weights, states):
        w_ih, w_hh, b_ih, b_hh = weights
        xp = self._project(x, w_ih, None if b_ih is None else b_ih + b_hh)
        seq = RNNScan.apply(xp, T.transpose(w_hh, (1, 0)), states[0], activation=self.nonlinearity)
        return seq, [seq[-1]]


class LSTM(_RNNBase):
    """``LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False)``; ``forward(input, (h_0, c_0)=None)`` -> ``(output, (h_n, c_n))``;
    gates i, f, g, o."""
    gates, mode, n_states = 4, "LSTM", 2

    def _scan(self, x, weights, states):
        w_ih, w_hh, b_ih, b_hh = weights
        xp = self._project(x, w_ih, None if b_ih is None else b_ih + b_hh)
        out = LSTMScan.apply(xp, T.transpose(w_hh, (1, 0)), states[0], states[1])
        hd = self.hidden_size
        return out[:, :, :hd], [out[-1, :, :hd], out[-1, :, hd:]]


def _rz_swap(w):
    """PyTorch's gate blocks r, z, n -> the scan's z, r, n (along axis 0)."""
    h = w.shape[0] // 3
    return T.concatenate([w[h:2 * h], w[:h], w[2 * h:]], axis=0)


class GRU(_RNNBase):
    """``GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False)``; ``forward(input, h_0=None)`` -> ``(output, h_n)``; gates r, z, n with
    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``."""
    gates, mode, n_states = 3, "GRU", 1

    def _scan(self, x, weights, states):
        w_ih, w_hh, b_ih, b_hh = weights
        xp = self._project(x, _rz_swap(w_ih), None if b_ih is None else _rz_swap(b_ih))
        u = T.transpose(_rz_swap(w_hh), (1, 0))
        b = _rz_swap(b_hh) if b_hh is not None else Tensor._wrap(x.xp.zeros(3 * self.hidden_size, dtype=x.dtype))
        seq = GRUScan.apply(xp, u, b, states[0])
        return seq, [seq[-1]]
