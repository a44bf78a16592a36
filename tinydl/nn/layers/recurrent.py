"""The recurrent layers with Keras's arguments and semantics: ``SimpleRNN``, ``KerasLSTM``,
``KerasGRU`` (``tinydl.keras.layers`` exports them as ``SimpleRNN``, ``LSTM``, ``GRU``; the
PyTorch-named ``tinydl.nn.LSTM``/``GRU``/``RNN`` in ``nn/modules/rnn.py`` run the same scans).

They take batch-major input (N, T, F) (or (T, N, F) with ``time_major=True``).

How a sequence is computed
--------------------------
1. The input projection of every time step is ONE matmul up front:
   ``xp = x @ kernel + bias``, shape (T, N, G*units) with G = 1, 4 or 3 gates.
2. The recurrence runs over time in ONE op (``nn.sequence_ops.RNNScan``, ``LSTMScan``,
   ``GRUScan``): per step a single ``h @ recurrent_kernel`` (all gates at once), the gate
   nonlinearities and the state update; its backward is the hand-written backpropagation through
   time (a reverse loop of one ``dz @ recurrent_kernel.T`` per step; the recurrent-kernel
   gradient is one big matmul at the end). The kernel provider runs both (the gate math in Numba
   kernels on the CPU; ``backends/reference.py`` has the readable loops). Memory is linear in T
   (the gate activations are saved), and the autograd graph has a handful of nodes whatever T
   is: 1,000 steps are no problem.
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
  ``unit_forget_bias=True`` (Keras's default) starts the forget-gate bias at 1.
* GRU: tinydl stores Keras's order ``z, r, h`` (update, reset, candidate); PyTorch's order is
  ``r, z, n``. With ``reset_after=True`` (the default of Keras 2+ and PyTorch's only variant) both
  compute ``n = tanh(x W_n + b_in + r * (h U_n + b_hn))``, ``h_t = z*h_{t-1} + (1-z)*n``, and the
  bias is (2, 3*units): row 0 the input bias, row 1 the recurrent bias. ``reset_after=False``
  (Keras's old variant, reset applied before the recurrent matmul; bias (3*units,)) runs on the
  composed path.
* SimpleRNN: ``h_t = act(x W + b + h_{t-1} U)``.

PyTorch's ``nn.LSTM``/``GRU``/``RNN`` (``nn/modules/rnn.py``) keep their own weights and transpose them into these scans' layout per call.

Stateful layers and truncated BPTT
----------------------------------
``stateful=True`` carries the final states of one call into the next as the initial states; they
are stored as plain arrays, i.e. detached: gradients never flow into a previous batch (truncated
backpropagation through time). ``reset_states()`` zeros them.

>>> import numpy as np, tinydl
>>> from tinydl.nn.layers.recurrent import KerasLSTM
>>> _ = tinydl.manual_seed(0)
>>> lstm = KerasLSTM(8, return_sequences=True, return_state=True)
>>> seq, h, c = lstm(np.zeros((2, 5, 3), np.float32))
>>> seq.shape, h.shape, c.shape
((2, 5, 8), (2, 8), (2, 8))
"""
import numpy as np

from ...backends.activations import KERNEL_ACTIVATIONS
from ...core import functional as T
from ...core.random import get_rng
from ...core.tensor import Tensor, as_tensor
from .. import channels_last as F
from .. import init as initializers
from ..sequence_ops import RNNScan, LSTMScan, GRUScan
from .. import validation as V
from .base import Layer, keras_named


def _fusable(*acts):
    """Whether the scans (and so the kernels) know these activations (None is linear)."""
    return all(a is None or (isinstance(a, str) and a in KERNEL_ACTIVATIONS) for a in acts)


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
                 fused=True, kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 zero_output_for_mask=False, **kwargs):
        super().__init__(**kwargs)
        who = V.owner(self)
        if zero_output_for_mask:
            raise NotImplementedError(f"{who}: zero_output_for_mask=True is not implemented in tinydl (masked "
                                      "steps repeat the previous output, Keras's default)")
        self.zero_output_for_mask = zero_output_for_mask
        self.kernel_constraint, self.recurrent_constraint = kernel_constraint, recurrent_constraint
        self.bias_constraint = bias_constraint
        V.positive_int(who, "units", units)
        V.real(who, "dropout", dropout, 0, 1, high_open=True)
        V.real(who, "recurrent_dropout", recurrent_dropout, 0, 1, high_open=True)
        V.activation(who, activation)
        V.activation(who, recurrent_activation, "recurrent_activation")
        for arg, v in (("use_bias", use_bias), ("return_sequences", return_sequences),
                       ("return_state", return_state), ("go_backwards", go_backwards),
                       ("stateful", stateful), ("time_major", time_major)):
            V.boolean(who, arg, v)
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
        self.add_weight("kernel", (self.input_features, g), self.kernel_initializer, self.kernel_regularizer,
                        constraint=self.kernel_constraint)
        self.add_weight("recurrent_kernel", (self.units, g), self.recurrent_initializer, self.recurrent_regularizer,
                        constraint=self.recurrent_constraint)
        if self.use_bias:
            self.add_weight("bias", self._bias_shape(), self._bias_init(), self.bias_regularizer,
                            constraint=self.bias_constraint)
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
    def forward(self, inputs, initial_state=None, mask=None, training=None):
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
        keep = self._step_mask(mask, x, steps, n)
        seq, finals = self._scan(xp, states0, keep)  # seq (T, N, units); finals: one (N, units) per state
        if self.stateful:
            self.states = [s.data.copy() for s in finals]
        out = seq if self.time_major else T.transpose(seq, (1, 0, 2))
        if not self.return_sequences:
            out = finals[0]
        return [out] + list(finals) if self.return_state else out

    def _input_bias(self):
        return self.bias

    def _step_mask(self, mask, x, steps, n):
        """Keras's mask (batch, time) as a (T, N, 1) float tensor, or None: at a masked step the
        states carry over unchanged and the output repeats the previous one."""
        if mask is None:
            return None
        m = mask.data if isinstance(mask, Tensor) else x.xp.asarray(mask)
        if m.ndim == 3 and m.shape[-1] == 1:
            m = m[..., 0]
        m = m if self.time_major else m.T
        if tuple(m.shape) != (steps, n):
            raise ValueError(f"{self.name}: the mask has shape {tuple(mask.shape)}, expected (batch, time) = "
                             f"{(n, steps) if not self.time_major else (steps, n)}")
        if self.go_backwards:
            m = m[::-1]
        return Tensor._wrap(x.xp.ascontiguousarray(m[..., None]).astype(x.dtype))

    @staticmethod
    def _blend(keep, t, new, old):
        """The new state where the step is kept, the old one where it is masked."""
        if keep is None:
            return new
        k = keep[t]
        return new * k + old * (1 - k)

    def _scan(self, xp, states0, keep=None):
        raise NotImplementedError

    def compute_mask(self, inputs, mask=None):
        """Keras's: the input's mask for the output sequence (``return_sequences``), else None."""
        if mask is None or not self.return_sequences:
            return None
        return mask

    def compute_output_shape(self, input_shape):
        """Shape without the batch axis (a list with the states' shapes when ``return_state``)."""
        steps = input_shape[1] if self.time_major else input_shape[0]
        out = ((steps, self.units) if self.return_sequences else (self.units,))
        return [out] + [(self.units,)] * self.n_states if self.return_state else out


class SimpleRNN(_Recurrent):
    """Keras's ``SimpleRNN(units, activation='tanh', ...)``: ``h_t = act(x_t W + b + h_{t-1} U)``."""

    def _scan(self, xp, states0, keep=None):
        if self.bias is not None:
            xp = xp + self.bias
        if self._can_fuse() and keep is None:
            seq = RNNScan.apply(xp, self.recurrent_kernel, states0[0], activation=self.activation)
            return seq, [seq[-1]]
        act = F.get_activation(self.activation) or (lambda a: a)
        h, hs = states0[0], []
        for t in range(xp.shape[0]):
            h = self._blend(keep, t, act(xp[t] + T.matmul(h, self.recurrent_kernel)), h)
            hs.append(h)
        return T.stack(hs, axis=0), [h]


@keras_named("LSTM")
class KerasLSTM(_Recurrent):
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

    def _scan(self, xp, states0, keep=None):
        if self.bias is not None:
            xp = xp + self.bias
        hd = self.units
        if self._can_fuse() and keep is None:
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
            c_new = ract(f) * c + ract(i) * act(g)
            h = self._blend(keep, t, ract(o) * act(c_new), h)
            c = self._blend(keep, t, c_new, c)
            hs.append(h)
        return T.stack(hs, axis=0), [h, c]


@keras_named("GRU")
class KerasGRU(_Recurrent):
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

    def _scan(self, xp, states0, keep=None):
        hd = self.units
        if self.reset_after:
            if self.bias is not None:
                xp = xp + self.bias[0]
                brec = self.bias[1]
            else:
                brec = Tensor._wrap(xp.xp.zeros(3 * hd, dtype=xp.dtype))
        elif self.bias is not None:
            xp = xp + self.bias
        if self._can_fuse() and keep is None:
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
            h = self._blend(keep, t, z * h + (1 - z) * cand, h)
            hs.append(h)
        return T.stack(hs, axis=0), [h]
