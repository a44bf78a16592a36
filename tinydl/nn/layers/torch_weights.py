"""Weight conversion between tinydl's recurrent layers (Keras's layout) and PyTorch's.

Arrays in (NumPy arrays or torch tensors), NumPy arrays out.

* LSTM: the gate order is the same (Keras i, f, c, o = PyTorch i, f, g, o):
  ``kernel = weight_ih.T``, ``recurrent_kernel = weight_hh.T``, ``bias = bias_ih + bias_hh``.
* GRU: PyTorch's gates ``r, z, n`` become Keras's ``z, r, h`` (the first two blocks swap), the
  weights are transposed, and the bias is (2, 3H): ``[bias_ih, bias_hh]`` (``reset_after``).
* RNN: as the LSTM, with one gate.
"""
import numpy as np


def _np(a):
    return np.asarray(a.detach().cpu().detach().numpy() if hasattr(a, "detach") else a)


def _swap_rz(w, hd):
    """Swap the first two gate blocks along axis 0 (PyTorch r, z, n <-> Keras z, r, h)."""
    w = _np(w)
    return np.concatenate([w[hd:2 * hd], w[:hd], w[2 * hd:]], axis=0)


def lstm_weights_from_torch(weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """PyTorch LSTM arrays -> tinydl's (kernel, recurrent_kernel, bias); the gate order is the same."""
    bias = None if bias_ih is None else _np(bias_ih) + _np(bias_hh)
    return _np(weight_ih).T.copy(), _np(weight_hh).T.copy(), bias


def gru_weights_from_torch(weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """PyTorch GRU arrays (gates r, z, n) -> tinydl's (kernel, recurrent_kernel, bias (2, 3H))
    (gates z, r, h)."""
    hd = _np(weight_hh).shape[1]
    bias = None if bias_ih is None else np.stack([_swap_rz(bias_ih, hd), _swap_rz(bias_hh, hd)])
    return _swap_rz(weight_ih, hd).T.copy(), _swap_rz(weight_hh, hd).T.copy(), bias


def rnn_weights_from_torch(weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    bias = None if bias_ih is None else _np(bias_ih) + _np(bias_hh)
    return _np(weight_ih).T.copy(), _np(weight_hh).T.copy(), bias


def lstm_weights_to_torch(kernel, recurrent_kernel, bias=None):
    """tinydl LSTM arrays -> PyTorch's (weight_ih, weight_hh, bias_ih, bias_hh); bias_hh is zero."""
    b = None if bias is None else _np(bias)
    return (_np(kernel).T.copy(), _np(recurrent_kernel).T.copy(), b, None if b is None else np.zeros_like(b))


rnn_weights_to_torch = lstm_weights_to_torch


def gru_weights_to_torch(kernel, recurrent_kernel, bias=None):
    """tinydl GRU arrays (reset_after; gates z, r, h) -> PyTorch's (weight_ih, weight_hh, bias_ih, bias_hh)."""
    hd = _np(recurrent_kernel).shape[0]
    w_ih, w_hh = _swap_rz(_np(kernel).T, hd), _swap_rz(_np(recurrent_kernel).T, hd)
    if bias is None:
        return w_ih, w_hh, None, None
    b = _np(bias)
    return w_ih, w_hh, _swap_rz(b[0], hd), _swap_rz(b[1], hd)
