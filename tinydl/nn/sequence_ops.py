"""The sequence models' ops: layer normalization, the embedding lookup, masked softmax and the
recurrent scans.  Each is a Function whose forward and backward fit on a screen; the array work
of those with kernels is done by the kernel provider (``tinydl.backends.provider_for``), whose
``reference`` is the readable NumPy version.  The layers that use them live in ``nn/layers/``.
"""
import numpy as np

from ..backends import get_array_module, provider_for
from ..core.autograd import Function, is_tensor
from . import composite


# ---------------------------------------------------------------------------------------------
# Layer normalization
class LayerNormOp(Function):
    """``(x - mean) * rstd * gamma + beta`` over ``axes``; gamma and beta broadcast against x.

    Over the last axis alone (with ``gamma``/``beta`` of that axis's length, or scalars) the
    provider's ``layernorm_forward``/``_backward`` run it (fused Numba kernels on the CPU);
    other axes take the NumPy code here.  Backward:
    ``dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))`` with ``dxhat = g * gamma``.
    """

    def __init__(self, axes, eps):
        self.axes, self.eps = tuple(axes), eps

    def _last_axis_only(self, x, gamma, beta):
        if x.ndim == 0 or self.axes != (x.ndim - 1,):
            return False
        d = x.shape[-1]
        return all(p.size in (1, d) and all(n == 1 for n in p.shape[:-1]) for p in (gamma, beta))

    def forward(self, x, gamma, beta):
        self.provider = None
        self.x, self.gamma = x, gamma
        self.save_for_backward(x, gamma)
        if self._last_axis_only(x, gamma, beta):
            self.provider, d = provider_for(x), x.shape[-1]
            xp = get_array_module(x)
            self.gvec = xp.broadcast_to(gamma.reshape(-1), (d,))
            y, self.mean, self.rstd = self.provider.layernorm_forward(
                x, self.gvec, xp.broadcast_to(beta.reshape(-1), (d,)), self.eps)
            return y
        xp = get_array_module(x)
        # Statistics in float64 whatever the input's float type (as the providers' last-axis
        # path): squares of float32 +-1e30 or float16 +-1e4, and float16 sums, would overflow.
        xw = x.astype(np.float64, copy=False)
        mu = xw.mean(axis=self.axes, keepdims=True)
        xc = xw - mu
        var = (xc * xc).mean(axis=self.axes, keepdims=True)
        self.rstd = 1 / xp.sqrt(var + self.eps)
        self.xhat = xc * self.rstd
        out = self.xhat * gamma + beta
        return out.astype(x.dtype, copy=False) if x.dtype.kind == "f" else out

    def backward(self, g):
        if self.provider is not None:
            dx, dgamma, dbeta = self.provider.layernorm_backward(
                self.x, g, self.gvec, self.mean, self.rstd, want_dx=bool(self.needs_grad[0]))
            pshape = (1,) * (self.x.ndim - 1) + (self.x.shape[-1],)  # the base class sums to gamma's shape
            return dx, dgamma.reshape(pshape), dbeta.reshape(pshape)
        xhat, axes = self.xhat, self.axes
        g = g.astype(xhat.dtype, copy=False)  # float64, as the statistics; the base class casts back
        dx = None
        if self.needs_grad[0]:
            dxhat = g * self.gamma
            dx = self.rstd * (dxhat - dxhat.mean(axis=axes, keepdims=True)
                              - xhat * (dxhat * xhat).mean(axis=axes, keepdims=True))
        return dx, (g * xhat if self.needs_grad[1] else None), g  # the base class sums gamma/beta's

    def composite(self, x, gamma, beta):
        return composite.layer_norm(x, gamma, beta, self.axes, self.eps)


# ---------------------------------------------------------------------------------------------
# Embedding lookup
class EmbeddingLookup(Function):
    """``table[ids]`` for a 2-d table and integer ids of any shape; ids get no gradient.

    Backward: the provider's ``embedding_backward``, a scatter-add of the output gradient rows
    into a zero table (repeated ids accumulate). ``padding_idx`` (PyTorch's) gets no gradient.
    """

    def __init__(self, padding_idx=None):
        self.padding_idx = padding_idx

    def forward(self, table, ids):
        if ids.dtype.kind not in "iu":
            raise TypeError(f"embedding: ids must be integers, got dtype {ids.dtype}")
        n = table.shape[0]
        if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= n):
            raise IndexError(f"embedding: ids must be in [0, {n}) for a table of {n} rows, got values in "
                             f"[{int(ids.min())}, {int(ids.max())}]")
        self.ids, self.rows, self.provider = ids, n, provider_for(table)
        return table[ids]

    def backward(self, g):
        return self.provider.embedding_backward(g, self.ids, self.rows, self.padding_idx), None

    def composite(self, table, ids):
        return composite.embedding(table, ids, self.padding_idx)


# ---------------------------------------------------------------------------------------------
# Masked softmax (attention)
class MaskedSoftmax(Function):
    """Softmax over the last axis restricted to ``keep`` (a boolean array broadcastable to the
    scores; True = included). Excluded entries, and every entry of a row with nothing included
    (or only -inf scores), are exactly 0. ``keep`` gets no gradient. The backward reads the saved
    output, on arrays or (create_graph) on Tensors."""

    once_differentiable = False

    def forward(self, s, keep):
        if keep.dtype != bool:
            keep = keep.astype(bool)
        self.provider = provider_for(s)
        y = self.provider.masked_softmax_forward(s, keep)
        self.save_for_backward(y)
        return y

    def backward(self, g):
        y, = self.saved_tensors
        if is_tensor(g) or is_tensor(y):  # create_graph: differentiable Tensor arithmetic
            return y * (g - (g * y).sum(axis=-1, keepdims=True)), None
        return self.provider.softmax_backward(y, g), None


# ---------------------------------------------------------------------------------------------
# The recurrent scans: whole-sequence recurrences as one op each, time-major arrays.
# Forward and backward (by hand, iterative, linear memory) are the provider's
# ``*_scan_forward``/``*_scan_backward``; see ``backends/reference.py`` for the readable loops.
def _act_name(a):
    return "linear" if a is None else a


class RNNScan(Function):
    """``h_t = act(xp[t] + h_{t-1} @ u)`` for t = 0..T-1.

    Inputs: ``xp`` (T, N, H) (input projections incl. bias), ``u`` (H, H), ``h0`` (N, H).
    Output: every ``h_t``, (T, N, H).
    """

    def __init__(self, activation="tanh"):
        self.act = _act_name(activation)

    def forward(self, xs, u, h0):
        self.provider = provider_for(xs)
        self.hs = self.provider.rnn_scan_forward(xs, u, h0, self.act)
        self.u, self.h0 = u, h0
        return self.hs

    def backward(self, g):
        return self.provider.rnn_scan_backward(g, self.u, self.h0, self.hs, self.act,
                                               need_du=bool(self.needs_grad[1]))


class LSTMScan(Function):
    """The LSTM recurrence, gates ``i, f, g, o`` (Keras's i, f, c, o) in that column order.

    Inputs: ``xp`` (T, N, 4H) = x @ kernel + bias, ``u`` (H, 4H), ``h0`` and ``c0`` (N, H).
    Output (T, N, 2H): ``[h_t, c_t]`` side by side (a Function has one output; the layer slices).
    Per step ONE matmul ``h @ u`` gives all four gate pre-activations.
    """

    def __init__(self, activation="tanh", recurrent_activation="sigmoid"):
        self.act, self.ract = _act_name(activation), _act_name(recurrent_activation)

    def forward(self, xs, u, h0, c0):
        self.provider = provider_for(xs)
        self.out, self.gates, self.tcs = self.provider.lstm_scan_forward(xs, u, h0, c0, self.act, self.ract)
        self.u, self.h0, self.c0 = u, h0, c0
        return self.out

    def backward(self, g):
        return self.provider.lstm_scan_backward(g, self.u, self.h0, self.c0, self.out, self.gates, self.tcs,
                                                self.act, self.ract, need_du=bool(self.needs_grad[1]))


class GRUScan(Function):
    """The GRU recurrence with the reset gate applied after the recurrent matmul (``reset_after``,
    PyTorch's and Keras 2's default), Keras's gate order ``z, r, h``.

    Inputs: ``xp`` (T, N, 3H) = x @ kernel + input bias, ``u`` (H, 3H), ``b`` (3H,) the recurrent
    bias, ``h0`` (N, H). Per step: ``hp = h @ u + b``; ``z, r = sigmoid(xp[:2H] + hp[:2H])``;
    ``n = tanh(xp[2H:] + r * hp[2H:])``; ``h = z*h + (1-z)*n``. Output: every ``h_t``, (T, N, H).
    """

    def __init__(self, activation="tanh", recurrent_activation="sigmoid"):
        self.act, self.ract = _act_name(activation), _act_name(recurrent_activation)

    def forward(self, xs, u, b, h0):
        self.provider = provider_for(xs)
        self.hs, self.zr, self.cand, self.hph = self.provider.gru_scan_forward(xs, u, b, h0, self.act, self.ract)
        self.u, self.h0 = u, h0
        return self.hs

    def backward(self, g):
        return self.provider.gru_scan_backward(g, self.u, self.h0, self.hs, self.zr, self.cand, self.hph,
                                               self.act, self.ract, need_du=bool(self.needs_grad[1]),
                                               need_db=bool(self.needs_grad[2]))
