"""Recurrent layers: SimpleRNN, LSTM, GRU (Keras's arguments) and RNN/LSTM/GRU (PyTorch's).

One implementation per cell. The Keras-style classes (``SimpleRNN``, ``LSTM``, ``GRU``) take
batch-major input (N, T, F) (or (T, N, F) with ``time_major=True``); the PyTorch-style classes
(``RNN``, ``TorchLSTM``, ``TorchGRU``, exported by ``tinydl.nn`` as ``nn.RNN``, ``nn.LSTM``,
``nn.GRU``) stack ``num_layers`` of them and speak PyTorch's shapes.

How a sequence is computed
--------------------------
1. The input projection of every time step is ONE matmul up front:
   ``xp = x @ kernel + bias``, shape (T, N, G*units) with G = 1, 4 or 3 gates.
2. The recurrence runs over time in ONE op (``RNNScan``, ``LSTMScan``, ``GRUScan``): per step a
   single ``h @ recurrent_kernel`` (all gates at once), the gate nonlinearities and the state
   update (on CPU arrays the LSTM/GRU gate math runs in Numba kernels,
   ``tinydl.kernels.cpu.recurrent``, around the matmuls; CuPy arrays and
   ``tinydl.backends.use_reference()`` run the NumPy code); its backward is the hand-written
   backpropagation through time (a reverse loop of one ``dz @ recurrent_kernel.T`` per step; the
   recurrent-kernel gradient is one big matmul at the end). Memory is linear in T (the gate
   activations are saved), and the autograd graph has a
   handful of nodes whatever T is: 1,000 steps are no problem.
   ``fused=False`` (or an activation the scans don't know) composes tinydl ops per time step
   instead: the readable reference, used by the tests to cross-check the scans. Its backward is
   quadratic in T (every step's slice of ``xp`` scatters into a full-size zero gradient), so keep it
   for short sequences.

Gate orders and weight layouts (what tinydl stores)
---------------------------------------------------
``kernel`` is (input_features, G*units), ``recurrent_kernel`` (units, G*units): Keras's layout,
columns grouped by gate.

* LSTM: gates ``i, f, c, o`` (Keras) = ``i, f, g, o`` (PyTorch): the same order.
  ``c_t = f*c_{t-1} + i*g``, ``h_t = o*tanh(c_t)``. One bias (4*units,).
  From PyTorch: ``kernel = weight_ih.T``, ``recurrent_kernel = weight_hh.T``,
  ``bias = bias_ih + bias_hh`` (see :func:`lstm_weights_from_torch`). ``unit_forget_bias=True``
  (Keras's default) starts the forget-gate bias at 1.
* GRU: tinydl stores Keras's order ``z, r, h`` (update, reset, candidate); PyTorch's order is
  ``r, z, n``. With ``reset_after=True`` (the default of Keras 2+ and PyTorch's only variant) both
  compute ``n = tanh(x W_n + b_in + r * (h U_n + b_hn))``, ``h_t = z*h_{t-1} + (1-z)*n``, and the
  bias is (2, 3*units): row 0 the input bias, row 1 the recurrent bias. From PyTorch: swap the first
  two gate blocks of ``weight_ih``/``weight_hh``/``bias_ih``/``bias_hh`` and transpose the weights
  (:func:`gru_weights_from_torch`). ``reset_after=False`` (Keras's old variant, reset applied
  before the recurrent matmul; bias (3*units,)) runs on the composed path.
* SimpleRNN / RNN: ``h_t = act(x W + b + h_{t-1} U)``; from PyTorch ``bias = bias_ih + bias_hh``.

Stateful layers and truncated BPTT
----------------------------------
``stateful=True`` carries the final states of one call into the next as the initial states; they
are stored as plain arrays, i.e. detached: gradients never flow into a previous batch (truncated
backpropagation through time). ``reset_states()`` zeros them.

>>> import numpy as np, tinydl
>>> from tinydl.nn.layers.recurrent import LSTM, TorchLSTM
>>> tinydl.manual_seed(0)
>>> lstm = LSTM(8, return_sequences=True, return_state=True)
>>> seq, h, c = lstm(np.zeros((2, 5, 3), np.float32))
>>> seq.shape, h.shape, c.shape
((2, 5, 8), (2, 8), (2, 8))
>>> out, (h_n, c_n) = TorchLSTM(3, 8, num_layers=2)(np.zeros((5, 2, 3), np.float32))
>>> out.shape, h_n.shape, c_n.shape
((5, 2, 8), (2, 2, 8), (2, 2, 8))
"""
import math

import numpy as np

from ...backends import get_array_module
from ...core import functional as T
from ...core.autograd import Function
from ...core.random import get_rng
from ...core.tensor import Tensor, as_tensor
from .. import functional as F
from .. import init as initializers
from .base import Layer


# ---------------------------------------------------------------------------------------------
# Activations the scans know: forward on arrays, and the derivative from the OUTPUT y = act(a).
def _sigmoid(xp, a):
    return 0.5 * (1 + xp.tanh(0.5 * a))  # = 1 / (1 + exp(-a)), without overflow


_ACT = {
    "tanh": (lambda xp, a: xp.tanh(a), lambda y: 1 - y * y),
    "sigmoid": (_sigmoid, lambda y: y * (1 - y)),
    "relu": (lambda xp, a: xp.maximum(a, 0), lambda y: (y > 0).astype(y.dtype)),
    "linear": (lambda xp, a: a, lambda y: 1),
}


def _act_name(a):
    return "linear" if a is None else a


def _fusable(*acts):
    return all(isinstance(_act_name(a), str) and _act_name(a) in _ACT for a in acts)


def _contig(a):
    return get_array_module(a).ascontiguousarray(a)


# The CPU path of the LSTM and GRU scans runs each step's gate math in one Numba kernel
# (tinydl.kernels.cpu.recurrent) around the BLAS matmul; CuPy arrays and
# ``tinydl.backends.use_reference()`` keep the NumPy code below.
_ACT_CODES = {"linear": 0, "relu": 1, "sigmoid": 2, "tanh": 3}


def _kernels_for(*arrays):
    """The recurrent Numba kernels module if these arrays take the kernel path, else None."""
    from ... import backends
    if backends.reference_forced():
        return None
    dt = arrays[0].dtype
    for a in arrays:
        if backends.is_gpu_array(a) or not isinstance(a, np.ndarray) or a.dtype != dt:
            return None
    if dt not in (np.float32, np.float64):
        return None
    from ...kernels.cpu import recurrent  # lazily: loading Numba costs ~0.5 s
    return recurrent


# ---------------------------------------------------------------------------------------------
# The scans: whole-sequence recurrences, forward and backward by hand. Time-major arrays.
class RNNScan(Function):
    """``h_t = act(xp[t] + h_{t-1} @ u)`` for t = 0..T-1.

    Inputs: ``xp`` (T, N, H) (input projections incl. bias), ``u`` (H, H), ``h0`` (N, H).
    Output: every ``h_t``, (T, N, H).
    """

    def __init__(self, activation="tanh"):
        self.act = _act_name(activation)

    def forward(self, xp_, u, h0):
        xp = get_array_module(xp_)
        act, _ = _ACT[self.act]
        xs = _contig(xp_)
        hs = xp.empty(xs.shape, dtype=xs.dtype)
        h = h0
        for t in range(xs.shape[0]):
            h = act(xp, xs[t] + h @ u)
            hs[t] = h
        self.u, self.h0, self.hs = u, h0, hs
        return hs

    def backward(self, g):
        xp = get_array_module(g)
        _, dact = _ACT[self.act]
        hs, u = self.hs, self.u
        da = xp.empty(hs.shape, dtype=hs.dtype)
        dh_next = xp.zeros(hs.shape[1:], dtype=hs.dtype)
        ut = u.T
        for t in range(hs.shape[0] - 1, -1, -1):
            da[t] = (g[t] + dh_next) * dact(hs[t])
            dh_next = da[t] @ ut
        du = _hprev_t(self.h0, hs) @ da.reshape(-1, da.shape[-1]) if self.needs_grad[1] else None
        return da, du, dh_next


def _hprev_t(h0, hs):
    """(H, T*N): the previous hidden state of every step, transposed, for the kernel gradient."""
    xp = get_array_module(hs)
    prev = xp.concatenate([h0[None], hs[:-1]], axis=0)
    return prev.reshape(-1, prev.shape[-1]).T


class LSTMScan(Function):
    """The LSTM recurrence, gates ``i, f, g, o`` (Keras's i, f, c, o) in that column order.

    Inputs: ``xp`` (T, N, 4H) = x @ kernel + bias, ``u`` (H, 4H), ``h0`` and ``c0`` (N, H).
    Output (T, N, 2H): ``[h_t, c_t]`` side by side (a Function has one output; the layer slices).
    Per step ONE matmul ``h @ u`` gives all four gate pre-activations.
    """

    def __init__(self, activation="tanh", recurrent_activation="sigmoid"):
        self.act, self.ract = _act_name(activation), _act_name(recurrent_activation)

    def forward(self, xp_, u, h0, c0):
        kern = _kernels_for(xp_, u, h0, c0) if {self.act, self.ract} <= {"sigmoid", "tanh"} else None
        if kern is not None:
            return self._forward_kernel(kern, xp_, u, h0, c0)
        xp = get_array_module(xp_)
        act, ract = _ACT[self.act][0], _ACT[self.ract][0]
        xs = _contig(xp_)
        steps, n, g4 = xs.shape
        hd = g4 // 4
        gates = xp.empty(xs.shape, dtype=xs.dtype)
        out = xp.empty((steps, n, 2 * hd), dtype=xs.dtype)  # [h | c]
        tcs = xp.empty((steps, n, hd), dtype=xs.dtype)
        h, c = h0, c0
        for t in range(steps):
            z = xs[t] + h @ u
            gt = gates[t]
            gt[:, :2 * hd] = ract(xp, z[:, :2 * hd])
            gt[:, 2 * hd:3 * hd] = act(xp, z[:, 2 * hd:3 * hd])
            gt[:, 3 * hd:] = ract(xp, z[:, 3 * hd:])
            c = gt[:, hd:2 * hd] * c + gt[:, :hd] * gt[:, 2 * hd:3 * hd]
            tcs[t] = act(xp, c)
            h = gt[:, 3 * hd:] * tcs[t]
            out[t, :, :hd] = h
            out[t, :, hd:] = c
        self.u, self.h0, self.c0, self.gates, self.tcs, self.out = u, h0, c0, gates, tcs, out
        return out

    def _forward_kernel(self, kern, xs, u, h0, c0):
        a, ra = _ACT_CODES[self.act], _ACT_CODES[self.ract]
        xs, u, h0, c0 = (np.ascontiguousarray(v) for v in (xs, u, h0, c0))
        steps, n, g4 = xs.shape
        hd = g4 // 4
        gates = np.empty(xs.shape, dtype=xs.dtype)
        out = np.empty((steps, n, 2 * hd), dtype=xs.dtype)  # [h | c]
        tcs = np.empty((steps, n, hd), dtype=xs.dtype)
        hu = np.empty((n, g4), dtype=xs.dtype)
        # the kernels read the previous state as one C-contiguous (N, 2H) [h | c] block
        prev = np.concatenate([h0, c0], axis=1)
        for t in range(steps):
            np.matmul(prev[:, :hd], u, out=hu)
            if xs.dtype == np.float32:  # the whole step in one kernel (its own vectorised tanh)
                kern.lstm_fwd_step32(xs[t], hu, prev, a, ra, gates[t], out[t], tcs[t])
            else:
                kern.lstm_fwd_pre(xs[t], hu, a, ra)
                np.tanh(hu, out=hu)
                kern.lstm_fwd_post(hu, prev, a, ra, gates[t], out[t])
                np.tanh(out[t, :, hd:], out=tcs[t])
                np.multiply(gates[t, :, 3 * hd:], tcs[t], out=out[t, :, :hd])
            prev = out[t]
        self.prev0 = np.concatenate([h0, c0], axis=1)
        self.kern = kern
        self.u, self.h0, self.c0, self.gates, self.tcs, self.out = u, h0, c0, gates, tcs, out
        return out

    def _backward_kernel(self, kern, g):
        a, ra = _ACT_CODES[self.act], _ACT_CODES[self.ract]
        gates, tcs, out = self.gates, self.tcs, self.out
        g = np.ascontiguousarray(g, dtype=gates.dtype)
        steps, n, g4 = gates.shape
        hd = g4 // 4
        dz = np.empty(gates.shape, dtype=gates.dtype)
        dh_next = np.zeros((n, hd), dtype=gates.dtype)
        dc_next = np.zeros((n, hd), dtype=gates.dtype)
        ut = np.ascontiguousarray(self.u.T)
        for t in range(steps - 1, -1, -1):
            prev = out[t - 1] if t > 0 else self.prev0
            kern.lstm_bwd_step(g[t], dh_next, dc_next, gates[t], tcs[t], prev, a, ra, dz[t])
            np.matmul(dz[t], ut, out=dh_next)
        du = None
        if self.needs_grad[1]:
            du = _hprev_t(self.h0, out[:, :, :hd]) @ dz.reshape(-1, g4)
        return dz, du, dh_next, dc_next

    def backward(self, g):
        kern = getattr(self, "kern", None)
        if kern is not None:
            return self._backward_kernel(kern, g)
        xp = get_array_module(g)
        dact, dract = _ACT[self.act][1], _ACT[self.ract][1]
        gates, tcs, out, u = self.gates, self.tcs, self.out, self.u
        steps, n, g4 = gates.shape
        hd = g4 // 4
        dz = xp.empty(gates.shape, dtype=gates.dtype)
        dh_next = xp.zeros((n, hd), dtype=gates.dtype)
        dc_next = xp.zeros((n, hd), dtype=gates.dtype)
        ut = u.T
        for t in range(steps - 1, -1, -1):
            gt = gates[t]
            i, f, gg, o = gt[:, :hd], gt[:, hd:2 * hd], gt[:, 2 * hd:3 * hd], gt[:, 3 * hd:]
            c_prev = out[t - 1, :, hd:] if t > 0 else self.c0
            dh = g[t, :, :hd] + dh_next
            dc = g[t, :, hd:] + dc_next + dh * o * dact(tcs[t])
            d = dz[t]
            d[:, :hd] = dc * gg * dract(i)
            d[:, hd:2 * hd] = dc * c_prev * dract(f)
            d[:, 2 * hd:3 * hd] = dc * i * dact(gg)
            d[:, 3 * hd:] = dh * tcs[t] * dract(o)
            dh_next = d @ ut
            dc_next = dc * f
        du = None
        if self.needs_grad[1]:
            du = _hprev_t(self.h0, out[:, :, :hd]) @ dz.reshape(-1, g4)
        return dz, du, dh_next, dc_next


class GRUScan(Function):
    """The GRU recurrence with the reset gate applied after the recurrent matmul (``reset_after``,
    PyTorch's and Keras 2's default), Keras's gate order ``z, r, h``.

    Inputs: ``xp`` (T, N, 3H) = x @ kernel + input bias, ``u`` (H, 3H), ``b`` (3H,) the recurrent
    bias, ``h0`` (N, H). Per step: ``hp = h @ u + b``; ``z, r = sigmoid(xp[:2H] + hp[:2H])``;
    ``n = tanh(xp[2H:] + r * hp[2H:])``; ``h = z*h + (1-z)*n``. Output: every ``h_t``, (T, N, H).
    """

    def __init__(self, activation="tanh", recurrent_activation="sigmoid"):
        self.act, self.ract = _act_name(activation), _act_name(recurrent_activation)

    def forward(self, xp_, u, b, h0):
        # CPU: float32 with sigmoid/tanh runs a whole-step kernel; otherwise the forward is NumPy
        # (its tanh is SIMD) and only the backward runs the gate math in a kernel
        self.kern = _kernels_for(xp_, u, b, h0)
        if (self.kern is not None and xp_.dtype == np.float32
                and {self.act, self.ract} <= {"sigmoid", "tanh"}):
            return self._forward_kernel32(self.kern, xp_, u, b, h0)
        xp = get_array_module(xp_)
        act, ract = _ACT[self.act][0], _ACT[self.ract][0]
        xs = _contig(xp_)
        steps, n, g3 = xs.shape
        hd = g3 // 3
        zr = xp.empty((steps, n, 2 * hd), dtype=xs.dtype)
        cand = xp.empty((steps, n, hd), dtype=xs.dtype)
        hph = xp.empty((steps, n, hd), dtype=xs.dtype)
        hs = xp.empty((steps, n, hd), dtype=xs.dtype)
        h = h0
        for t in range(steps):
            hp = h @ u + b
            zr[t] = ract(xp, xs[t, :, :2 * hd] + hp[:, :2 * hd])
            hph[t] = hp[:, 2 * hd:]
            cand[t] = act(xp, xs[t, :, 2 * hd:] + zr[t, :, hd:] * hph[t])
            z = zr[t, :, :hd]
            h = z * h + (1 - z) * cand[t]
            hs[t] = h
        self.u, self.h0, self.zr, self.cand, self.hph, self.hs = u, h0, zr, cand, hph, hs
        return hs

    def _forward_kernel32(self, kern, xs, u, b, h0):
        a, ra = _ACT_CODES[self.act], _ACT_CODES[self.ract]
        xs, u, b, h0 = (np.ascontiguousarray(v) for v in (xs, u, b, h0))
        steps, n, g3 = xs.shape
        hd = g3 // 3
        zr = np.empty((steps, n, 2 * hd), dtype=xs.dtype)
        cand = np.empty((steps, n, hd), dtype=xs.dtype)
        hph = np.empty((steps, n, hd), dtype=xs.dtype)
        hs = np.empty((steps, n, hd), dtype=xs.dtype)
        hp = np.empty((n, g3), dtype=xs.dtype)
        h = h0
        for t in range(steps):
            np.matmul(h, u, out=hp)
            kern.gru_fwd_step32(xs[t], hp, b, h, a, ra, zr[t], cand[t], hph[t], hs[t])
            h = hs[t]
        self.u, self.h0, self.zr, self.cand, self.hph, self.hs = u, h0, zr, cand, hph, hs
        return hs

    def _backward_kernel(self, kern, g):
        a, ra = _ACT_CODES[self.act], _ACT_CODES[self.ract]
        zr, cand, hph, hs = self.zr, self.cand, self.hph, self.hs
        g = np.ascontiguousarray(g, dtype=hs.dtype)
        steps, n, hd = hs.shape
        dxp = np.empty((steps, n, 3 * hd), dtype=hs.dtype)
        dhp = np.empty((steps, n, 3 * hd), dtype=hs.dtype)
        dh_next = np.zeros((n, hd), dtype=hs.dtype)
        tmp = np.empty((n, hd), dtype=hs.dtype)
        ut = np.ascontiguousarray(self.u.T)
        for t in range(steps - 1, -1, -1):
            h_prev = hs[t - 1] if t > 0 else self.h0
            kern.gru_bwd_step(g[t], dh_next, zr[t], cand[t], hph[t], h_prev, a, ra, dxp[t], dhp[t])
            np.matmul(dhp[t], ut, out=tmp)
            dh_next += tmp
        du = _hprev_t(self.h0, hs) @ dhp.reshape(-1, 3 * hd) if self.needs_grad[1] else None
        db = dhp.sum(axis=(0, 1)) if self.needs_grad[2] else None
        return dxp, du, db, dh_next

    def backward(self, g):
        kern = getattr(self, "kern", None)
        if kern is not None:
            return self._backward_kernel(kern, g)
        xp = get_array_module(g)
        dact, dract = _ACT[self.act][1], _ACT[self.ract][1]
        zr, cand, hph, hs, u = self.zr, self.cand, self.hph, self.hs, self.u
        steps, n, hd = hs.shape
        dxp = xp.empty((steps, n, 3 * hd), dtype=hs.dtype)
        dhp = xp.empty((steps, n, 3 * hd), dtype=hs.dtype)
        dh_next = xp.zeros((n, hd), dtype=hs.dtype)
        ut = u.T
        for t in range(steps - 1, -1, -1):
            z, r, nn_ = zr[t, :, :hd], zr[t, :, hd:], cand[t]
            h_prev = hs[t - 1] if t > 0 else self.h0
            dh = g[t] + dh_next
            da_n = dh * (1 - z) * dact(nn_)
            dx, dr = dxp[t], dhp[t]
            dx[:, :hd] = dh * (h_prev - nn_) * dract(z)
            dx[:, hd:2 * hd] = da_n * hph[t] * dract(r)
            dx[:, 2 * hd:] = da_n
            dr[:, :2 * hd] = dx[:, :2 * hd]
            dr[:, 2 * hd:] = da_n * r
            dh_next = dh * z + dr @ ut
        du = _hprev_t(self.h0, hs) @ dhp.reshape(-1, 3 * hd) if self.needs_grad[1] else None
        db = dhp.sum(axis=(0, 1)) if self.needs_grad[2] else None
        return dxp, du, db, dh_next


# ---------------------------------------------------------------------------------------------
# The Keras-style layers
def _torch_uniform(units):
    """PyTorch's recurrent initialisation: U(-1/sqrt(hidden), 1/sqrt(hidden)) for everything."""
    k = 1 / math.sqrt(units)
    return lambda shape, dtype: get_rng().uniform(-k, k, shape).astype(dtype)


class _Recurrent(Layer):
    """Shared machinery of SimpleRNN, LSTM and GRU: building, states, the output conventions."""

    gates = 1
    n_states = 1
    kind = "rnn"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, dropout=0.0, recurrent_dropout=0.0, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, time_major=False, unroll=False,
                 fused=True, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"{self.name}: units must be a positive integer, got {units!r}")
        if recurrent_dropout:
            raise NotImplementedError(f"{self.name}: recurrent_dropout is not supported (use dropout, "
                                      "which masks the inputs, or Dropout layers between recurrent layers)")
        if not 0 <= dropout < 1:
            raise ValueError(f"{self.name}: dropout must be in [0, 1), got {dropout}")
        for a in (activation, recurrent_activation):
            F.get_activation(a)  # fail early on unknown names
        self.units = int(units)
        self.activation, self.recurrent_activation = activation, recurrent_activation
        self.use_bias = use_bias
        self.kernel_initializer, self.recurrent_initializer = kernel_initializer, recurrent_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer, self.recurrent_regularizer = kernel_regularizer, recurrent_regularizer
        self.bias_regularizer = bias_regularizer
        self.dropout = dropout
        self.return_sequences, self.return_state = return_sequences, return_state
        self.go_backwards, self.stateful, self.time_major = go_backwards, stateful, time_major
        self.fused = fused
        self.states = None  # the carried (detached) states of a stateful layer
        if self.input_shape_hint:
            self.build((None,) + self.input_shape_hint)
            self.built = True

    # ---- parameters
    def build(self, input_shape):
        if input_shape is None or len(input_shape) != 3:
            layout = "(time, batch, features)" if self.time_major else "(batch, time, features)"
            raise ValueError(f"{self.name} ({type(self).__name__}): expected a 3-d input {layout}, "
                             f"got shape {input_shape}")
        self.input_features = input_shape[-1]
        g = self.gates * self.units
        self.add_weight("kernel", (self.input_features, g), self.kernel_initializer, self.kernel_regularizer)
        self.add_weight("recurrent_kernel", (self.units, g), self.recurrent_initializer, self.recurrent_regularizer)
        if self.use_bias:
            self.add_weight("bias", self._bias_shape(), self._bias_init(), self.bias_regularizer)
        else:
            self.bias = None

    def _bias_shape(self):
        return (self.gates * self.units,)

    def _bias_init(self):
        return self.bias_initializer

    def _can_fuse(self):
        return self.fused and _fusable(self.activation, self.recurrent_activation)

    # ---- states
    def reset_states(self, states=None):
        """Zero the carried states (or set them to ``states``: arrays (N, units), one per state)."""
        self.states = None if states is None else [np.asarray(s, dtype=self.dtype) if not hasattr(s, "get")
                                                   else s for s in states]

    def _initial_states(self, x, n, initial_state):
        xp = x.xp
        if initial_state is not None:
            sts = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
            if len(sts) != self.n_states:
                raise ValueError(f"{self.name}: initial_state needs {self.n_states} tensor(s) of shape "
                                 f"(batch, {self.units}), got {len(sts)}")
            out = []
            for s in sts:
                s = as_tensor(s) if isinstance(s, Tensor) else Tensor(xp.asarray(s, dtype=x.dtype))
                if tuple(s.shape) != (n, self.units):
                    raise ValueError(f"{self.name}: initial state has shape {tuple(s.shape)}, "
                                     f"expected {(n, self.units)}")
                out.append(s)
            return out
        if self.stateful and self.states is not None:
            if self.states[0].shape[0] != n:
                raise ValueError(f"{self.name}: a stateful layer was called with batch size {n} but carries "
                                 f"states for batch size {self.states[0].shape[0]} (call reset_states())")
            return [Tensor._wrap(xp.asarray(s)) for s in self.states]
        return [Tensor._wrap(xp.zeros((n, self.units), dtype=x.dtype)) for _ in range(self.n_states)]

    # ---- calling
    def forward(self, inputs, initial_state=None, training=None):
        x = as_tensor(inputs)
        if x.ndim != 3:
            layout = "(time, batch, features)" if self.time_major else "(batch, time, features)"
            raise ValueError(f"{self.name} ({type(self).__name__}): expected a 3-d input {layout}, "
                             f"got shape {tuple(x.shape)}")
        if x.shape[-1] != self.input_features:
            raise ValueError(f"{self.name} ({type(self).__name__}): expected {self.input_features} input "
                             f"features, got shape {tuple(x.shape)}")
        xt = x if self.time_major else T.transpose(x, (1, 0, 2))  # (T, N, F)
        steps, n = xt.shape[0], xt.shape[1]
        if steps == 0:
            raise ValueError(f"{self.name}: the input has no time steps (shape {tuple(x.shape)})")
        if self.go_backwards:
            xt = xt[::-1]
        training = self.training if training is None else training
        if self.dropout and training:  # one input mask per sequence, shared by all time steps (Keras)
            keep = get_rng().random((1, n, self.input_features)) >= self.dropout
            xt = xt * Tensor._wrap(xt.xp.asarray(keep, dtype=xt.dtype) / xt.dtype.type(1 - self.dropout))
        xp = T.reshape(T.matmul(T.reshape(xt, (steps * n, self.input_features)), self.kernel),
                       (steps, n, self.gates * self.units))
        states0 = self._initial_states(x, n, initial_state)
        seq, finals = self._scan(xp, states0)  # seq (T, N, units); finals: one (N, units) per state
        if self.stateful:
            self.states = [s.data.copy() for s in finals]
        out = seq if self.time_major else T.transpose(seq, (1, 0, 2))
        if not self.return_sequences:
            out = finals[0]
        return [out] + list(finals) if self.return_state else out

    def _input_bias(self):
        return self.bias

    def _scan(self, xp, states0):
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        """Shape without the batch axis (a list with the states' shapes when ``return_state``)."""
        steps = input_shape[1] if self.time_major else input_shape[0]
        out = ((steps, self.units) if self.return_sequences else (self.units,))
        return [out] + [(self.units,)] * self.n_states if self.return_state else out


class SimpleRNN(_Recurrent):
    """Keras's ``SimpleRNN(units, activation='tanh', ...)``: ``h_t = act(x_t W + b + h_{t-1} U)``."""

    def _scan(self, xp, states0):
        if self.bias is not None:
            xp = xp + self.bias
        if self._can_fuse():
            seq = RNNScan.apply(xp, self.recurrent_kernel, states0[0], activation=self.activation)
            return seq, [seq[-1]]
        act = F.get_activation(self.activation) or (lambda a: a)
        h, hs = states0[0], []
        for t in range(xp.shape[0]):
            h = act(xp[t] + T.matmul(h, self.recurrent_kernel))
            hs.append(h)
        return T.stack(hs, axis=0), [h]


class LSTM(_Recurrent):
    """Keras's ``LSTM(units, activation='tanh', recurrent_activation='sigmoid', use_bias=True,
    kernel_initializer='glorot_uniform', recurrent_initializer='orthogonal',
    bias_initializer='zeros', unit_forget_bias=True, dropout=0.0, return_sequences=False,
    return_state=False, go_backwards=False, stateful=False, time_major=False)``.

    Gates ``i, f, c, o`` in the kernel's columns (= PyTorch's i, f, g, o). ``call(inputs,
    initial_state=[h0, c0])``; with ``return_state`` it returns ``[output, h_T, c_T]``.
    """

    gates = 4
    n_states = 2

    def __init__(self, units, unit_forget_bias=True, **kwargs):
        object.__setattr__(self, "unit_forget_bias", unit_forget_bias)  # build() may run in __init__
        super().__init__(units, **kwargs)

    def _bias_init(self):
        base = initializers.get(self.bias_initializer)
        if not self.unit_forget_bias:
            return base
        u = self.units

        def init(shape, dtype):
            b = base(shape, dtype)
            b[u:2 * u] = 1
            return b
        return init

    def _scan(self, xp, states0):
        if self.bias is not None:
            xp = xp + self.bias
        hd = self.units
        if self._can_fuse():
            out = LSTMScan.apply(xp, self.recurrent_kernel, states0[0], states0[1],
                                 activation=self.activation, recurrent_activation=self.recurrent_activation)
            seq = out[:, :, :hd]
            return seq, [out[-1, :, :hd], out[-1, :, hd:]]
        act = F.get_activation(self.activation) or (lambda a: a)
        ract = F.get_activation(self.recurrent_activation) or (lambda a: a)
        h, c = states0
        hs = []
        for t in range(xp.shape[0]):
            z = xp[t] + T.matmul(h, self.recurrent_kernel)  # one matmul for the four gates
            i, f, g, o = T.split(z, 4, axis=1)
            c = ract(f) * c + ract(i) * act(g)
            h = ract(o) * act(c)
            hs.append(h)
        return T.stack(hs, axis=0), [h, c]


class GRU(_Recurrent):
    """Keras's ``GRU(units, activation='tanh', recurrent_activation='sigmoid', use_bias=True,
    ..., reset_after=True)``; gates ``z, r, h`` in the kernel's columns (PyTorch: r, z, n).

    With ``reset_after=True`` the bias is (2, 3*units): input bias and recurrent bias.
    """

    gates = 3

    def __init__(self, units, reset_after=True, **kwargs):
        object.__setattr__(self, "reset_after", reset_after)  # build() may run in __init__
        super().__init__(units, **kwargs)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _can_fuse(self):
        return self.reset_after and super()._can_fuse()

    def _scan(self, xp, states0):
        hd = self.units
        if self.reset_after:
            if self.bias is not None:
                xp = xp + self.bias[0]
                brec = self.bias[1]
            else:
                brec = Tensor._wrap(xp.xp.zeros(3 * hd, dtype=xp.dtype))
        elif self.bias is not None:
            xp = xp + self.bias
        if self._can_fuse():
            seq = GRUScan.apply(xp, self.recurrent_kernel, brec, states0[0],
                                activation=self.activation, recurrent_activation=self.recurrent_activation)
            return seq, [seq[-1]]
        act = F.get_activation(self.activation) or (lambda a: a)
        ract = F.get_activation(self.recurrent_activation) or (lambda a: a)
        u = self.recurrent_kernel
        h, hs = states0[0], []
        for t in range(xp.shape[0]):
            xz, xr, xh = T.split(xp[t], 3, axis=1)
            if self.reset_after:
                hz, hr, hh = T.split(T.matmul(h, u) + brec, 3, axis=1)
                z, r = ract(xz + hz), ract(xr + hr)
                cand = act(xh + r * hh)
            else:
                hz, hr = T.split(T.matmul(h, u[:, :2 * hd]), 2, axis=1)
                z, r = ract(xz + hz), ract(xr + hr)
                cand = act(xh + T.matmul(r * h, u[:, 2 * hd:]))
            h = z * h + (1 - z) * cand
            hs.append(h)
        return T.stack(hs, axis=0), [h]


# ---------------------------------------------------------------------------------------------
# Weight conversion to and from PyTorch's layout (arrays in, arrays out)
def _np(a):
    return np.asarray(a.detach().cpu().numpy() if hasattr(a, "detach") else a)


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


# ---------------------------------------------------------------------------------------------
# The PyTorch-style layers: a stack of num_layers time-major Keras layers
class _TorchRecurrent(Layer):
    keras_cls = None
    torch_names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, **kwargs):
        cell_kwargs = {k: kwargs.pop(k) for k in ("fused",) if k in kwargs}
        super().__init__(**kwargs)
        if bidirectional:
            raise NotImplementedError(f"{self.name}: bidirectional recurrent layers are not implemented")
        if proj_size:
            raise NotImplementedError(f"{self.name}: proj_size is not implemented")
        if num_layers < 1:
            raise ValueError(f"{self.name}: num_layers must be >= 1, got {num_layers}")
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
            arrays = self.to_torch(cell.kernel.numpy(), cell.recurrent_kernel.numpy(),
                                   None if cell.bias is None else cell.bias.numpy())
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


class TorchLSTM(_TorchRecurrent):
    """PyTorch's ``nn.LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
    dropout=0.0)``; ``forward(input, (h0, c0)=None)`` -> ``(output, (h_n, c_n))``."""

    keras_cls = LSTM
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


class TorchGRU(_TorchRecurrent):
    """PyTorch's ``nn.GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
    dropout=0.0)``; ``forward(input, h0=None)`` -> ``(output, h_n)``. Weights are stored in
    Keras's gate order (z, r, h); ``torch_state_dict()`` converts."""

    keras_cls = GRU
    n_states = 1
    from_torch, to_torch = staticmethod(gru_weights_from_torch), staticmethod(gru_weights_to_torch)

    def _split_hx(self, hx, x, unbatched):
        return None if hx is None else self._hx_list([hx], x, unbatched)
