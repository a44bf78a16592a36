"""Sequence models: embedding, recurrent layers, layer norm, attention, transformer, text helpers.

* every new op is an OpSpec (``SPECS``): forward against a NumPy loop, gradients against
  finite differences, in float64;
* every layer is gradchecked with its parameters (hypothesis-drawn sizes, masks included);
* LSTM and GRU forward against plain step-by-step NumPy references in Keras's and PyTorch's
  conventions (weights converted with the documented helpers);
* BPTT through 1,000 steps; stateful layers detach their carried state;
* causal attention: changing a future token never changes an earlier position's output.
"""
import doctest
import importlib
import time

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinydl as td
from tinydl.backends import to_host
from tinydl.testing import OpSpec, check_op_spec, gradcheck
from tinydl.testing import strategies as tst
from tinydl.nn.layers import attention as A
from tinydl.nn.layers import embedding as E
from tinydl.nn.layers import layernorm as LN
from tinydl.nn.layers import recurrent as R
from tinydl import nn as TS  # PyTorch's RNN/LSTM/GRU/Embedding/LayerNorm/MultiheadAttention (nn/modules)
from tinydl.nn import sequence_ops as SO
from tinydl.nn.layers import transformer as TR
from tinydl import text


def sig(a):
    return 1 / (1 + np.exp(-a))


# ============================================================ NumPy references (plain loops)
def ref_rnn_scan(xp, u, h0, act=np.tanh):
    h, out = h0, []
    for t in range(xp.shape[0]):
        h = act(xp[t] + h @ u)
        out.append(h)
    return np.stack(out)


def ref_lstm_scan(xp, u, h0, c0):
    hd = u.shape[0]
    h, c, out = h0, c0, []
    for t in range(xp.shape[0]):
        z = xp[t] + h @ u
        i, f, g, o = sig(z[:, :hd]), sig(z[:, hd:2 * hd]), np.tanh(z[:, 2 * hd:3 * hd]), sig(z[:, 3 * hd:])
        c = f * c + i * g
        h = o * np.tanh(c)
        out.append(np.concatenate([h, c], axis=1))
    return np.stack(out)


def ref_gru_scan(xp, u, b, h0):
    hd = u.shape[0]
    h, out = h0, []
    for t in range(xp.shape[0]):
        hp = h @ u + b
        z = sig(xp[t][:, :hd] + hp[:, :hd])
        r = sig(xp[t][:, hd:2 * hd] + hp[:, hd:2 * hd])
        n = np.tanh(xp[t][:, 2 * hd:] + r * hp[:, 2 * hd:])
        h = z * h + (1 - z) * n
        out.append(h)
    return np.stack(out)


def ref_keras_lstm(x, kernel, rkernel, bias, h0=None, c0=None):
    """Keras's LSTM on (N, T, F), gates i, f, c, o; returns (sequence, h, c)."""
    n, steps, _ = x.shape
    hd = rkernel.shape[0]
    h = np.zeros((n, hd)) if h0 is None else h0
    c = np.zeros((n, hd)) if c0 is None else c0
    seq = []
    for t in range(steps):
        z = x[:, t] @ kernel + h @ rkernel + bias
        i = sig(z[:, :hd])
        f = sig(z[:, hd:2 * hd])
        cc = np.tanh(z[:, 2 * hd:3 * hd])
        o = sig(z[:, 3 * hd:])
        c = f * c + i * cc
        h = o * np.tanh(c)
        seq.append(h)
    return np.stack(seq, axis=1), h, c


def ref_torch_lstm(x, w_ih, w_hh, b_ih, b_hh, h0, c0):
    """PyTorch's LSTM on (T, N, F) with weights (4H, F), gates i, f, g, o; returns (out, h, c)."""
    hd = w_hh.shape[1]
    h, c, out = h0, c0, []
    for t in range(x.shape[0]):
        gates = x[t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh
        i, f = sig(gates[:, :hd]), sig(gates[:, hd:2 * hd])
        g, o = np.tanh(gates[:, 2 * hd:3 * hd]), sig(gates[:, 3 * hd:])
        c = f * c + i * g
        h = o * np.tanh(c)
        out.append(h)
    return np.stack(out), h, c


def ref_keras_gru(x, kernel, rkernel, bias, reset_after=True):
    """Keras's GRU on (N, T, F), gates z, r, h."""
    n, steps, _ = x.shape
    hd = rkernel.shape[0]
    h = np.zeros((n, hd))
    seq = []
    for t in range(steps):
        if reset_after:
            xz = x[:, t] @ kernel + bias[0]
            hz = h @ rkernel + bias[1]
            z = sig(xz[:, :hd] + hz[:, :hd])
            r = sig(xz[:, hd:2 * hd] + hz[:, hd:2 * hd])
            hh = np.tanh(xz[:, 2 * hd:] + r * hz[:, 2 * hd:])
        else:
            xz = x[:, t] @ kernel + bias
            z = sig(xz[:, :hd] + h @ rkernel[:, :hd])
            r = sig(xz[:, hd:2 * hd] + h @ rkernel[:, hd:2 * hd])
            hh = np.tanh(xz[:, 2 * hd:] + (r * h) @ rkernel[:, 2 * hd:])
        h = z * h + (1 - z) * hh
        seq.append(h)
    return np.stack(seq, axis=1), h


def ref_torch_gru(x, w_ih, w_hh, b_ih, b_hh, h0):
    """PyTorch's GRU on (T, N, F), gates r, z, n."""
    hd = w_hh.shape[1]
    h, out = h0, []
    for t in range(x.shape[0]):
        gi = x[t] @ w_ih.T + b_ih
        gh = h @ w_hh.T + b_hh
        r = sig(gi[:, :hd] + gh[:, :hd])
        z = sig(gi[:, hd:2 * hd] + gh[:, hd:2 * hd])
        n = np.tanh(gi[:, 2 * hd:] + r * gh[:, 2 * hd:])
        h = (1 - z) * n + z * h
        out.append(h)
    return np.stack(out), h


def ref_masked_softmax(s, keep):
    keep = np.broadcast_to(keep, s.shape)
    m = np.where(keep, s, -np.inf).max(-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.where(keep, np.exp(np.where(keep, s, m) - m), 0.0)
    tot = e.sum(-1, keepdims=True)
    return np.where(tot > 0, e / np.where(tot > 0, tot, 1), 0.0)


def ref_attention(q, k, v, keep):
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    return ref_masked_softmax(s, keep) @ v


# ============================================================ OpSpecs for the new Functions
SMALL = tst.floats(-1.5, 1.5)


@st.composite
def _scan_inputs(draw, gates, extra_bias=False, states=1):
    steps, n, hd = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    arrays = [draw(tst.arrays((steps, n, gates * hd), SMALL)),
              draw(tst.arrays((hd, gates * hd), tst.floats(-1, 1)))]
    if extra_bias:
        arrays.append(draw(tst.arrays((gates * hd,), SMALL)))
    arrays += [draw(tst.arrays((n, hd), SMALL)) for _ in range(states)]
    return tuple(arrays)


@st.composite
def _embedding_inputs(draw):
    v, d = draw(st.integers(1, 5)), draw(st.integers(1, 3))
    ids_shape = draw(tst.shapes(1, 2, 1, 4))
    table = draw(tst.arrays((v, d)))
    ids = np.asarray(draw(st.lists(st.integers(0, v - 1), min_size=int(np.prod(ids_shape)),
                                   max_size=int(np.prod(ids_shape))))).reshape(ids_shape)
    return table, ids.astype(np.int64)


@st.composite
def _layernorm_inputs(draw):
    shape = draw(tst.shapes(1, 3, 2, 4))
    return draw(tst.arrays(shape)), draw(tst.arrays(shape[-1:])), draw(tst.arrays(shape[-1:]))


@st.composite
def _softmax_inputs(draw):
    shape = draw(tst.shapes(2, 3, 1, 4))
    s = draw(tst.arrays(shape))
    keep = np.asarray(draw(st.lists(st.booleans(), min_size=s.size, max_size=s.size))).reshape(shape)
    return s, keep


def _ln_ref(x, g, b, eps=1e-3):
    mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


SPECS = [
    OpSpec("embedding_lookup", lambda t, i: E.embedding(i, t), lambda t, i: t[i], _embedding_inputs(),
           ["EmbeddingLookup"], wrt=[0]),
    OpSpec("rnn_scan", lambda xp, u, h0: SO.RNNScan.apply(xp, u, h0), ref_rnn_scan, _scan_inputs(1),
           ["RNNScan"]),
    OpSpec("rnn_scan_relu", lambda xp, u, h0: SO.RNNScan.apply(xp, u, h0, activation="relu"),
           lambda xp, u, h0: ref_rnn_scan(xp, u, h0, lambda a: np.maximum(a, 0)),
           _scan_inputs(1).filter(lambda a: np.abs(ref_rnn_scan_pre(a)).min() > 1e-3), ["RNNScan"]),
    OpSpec("lstm_scan", lambda xp, u, h0, c0: SO.LSTMScan.apply(xp, u, h0, c0), ref_lstm_scan,
           _scan_inputs(4, states=2), ["LSTMScan"]),
    OpSpec("gru_scan", lambda xp, u, b, h0: SO.GRUScan.apply(xp, u, b, h0), ref_gru_scan,
           _scan_inputs(3, extra_bias=True), ["GRUScan"]),
    OpSpec("layer_norm", lambda x, g, b: LN.layer_norm(x, x.shape[-1], g, b, 1e-3), _ln_ref, _layernorm_inputs(),
           ["LayerNormOp"]),
    OpSpec("masked_softmax", lambda s, keep: A.masked_softmax(s, keep), ref_masked_softmax, _softmax_inputs(),
           ["MaskedSoftmax"], wrt=[0]),
]


def ref_rnn_scan_pre(arrays):
    """The ReLU scan's pre-activations (kept away from the kink at 0 for finite differences)."""
    xp, u, h0 = arrays
    h, pre = h0, []
    for t in range(xp.shape[0]):
        a = xp[t] + h @ u
        pre.append(a)
        h = np.maximum(a, 0)
    return np.stack(pre)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@given(data=st.data())
def test_sequence_op(spec, data):
    check_op_spec(spec, data.draw(spec.inputs))


# ============================================================ layer gradchecks (with parameters)
def gradcheck_layer(layer, call, *inputs, **kw):
    """Gradcheck ``call(*inputs)`` with respect to the inputs AND every parameter of ``layer``:
    the parameters are passed as extra gradcheck inputs and swapped into the layer for the call."""
    slots = [(m, name) for m in layer.modules() for name in m._parameters]
    originals = [getattr(m, name) for m, name in slots]
    arrays = [p.detach().numpy() for p in originals]

    def fn(*args):
        xs, ps = args[:len(inputs)], args[len(inputs):]
        for (m, name), p in zip(slots, ps):
            object.__setattr__(m, name, p)
        try:
            return call(*xs)
        finally:
            for (m, name), p in zip(slots, originals):
                object.__setattr__(m, name, p)

    return gradcheck(fn, *inputs, *arrays, **kw)


def _concat_outputs(res):
    res = res if isinstance(res, (list, tuple)) else [res]
    flat = []
    for r in res:
        if isinstance(r, (list, tuple)):
            flat += list(r)
        else:
            flat.append(r)
    return td.concatenate([r.reshape(-1) for r in flat], axis=0)


RNN_CASES = [(R.SimpleRNN, {}), (R.SimpleRNN, {"activation": "relu"}), (R.KerasLSTM, {}), (R.KerasGRU, {}),
             (R.KerasGRU, {"reset_after": False})]


@pytest.mark.parametrize("cls,kw", RNN_CASES, ids=lambda v: getattr(v, "__name__", str(v)))
@given(n=st.integers(1, 2), steps=st.integers(1, 4), feat=st.integers(1, 3), units=st.integers(1, 3),
       seqs=st.booleans(), backwards=st.booleans(), with_state=st.booleans(), seed=st.integers(0, 99))
def test_keras_recurrent_gradients(cls, kw, n, steps, feat, units, seqs, backwards, with_state, seed):
    rng = np.random.default_rng(seed)
    layer = cls(units, return_sequences=seqs, return_state=True, go_backwards=backwards, dtype="float64", **kw)
    x = rng.uniform(-1, 1, (n, steps, feat))
    layer(x)
    with td.no_grad():
        for p in layer.parameters():  # non-trivial biases
            p.copy_(rng.uniform(-0.8, 0.8, p.shape))
    states = [rng.uniform(-1, 1, (n, units)) for _ in range(layer.n_states)] if with_state else []
    # (continuous random values: a ReLU pre-activation within eps of 0 has probability ~1e-6)
    call = (lambda xx, *ss: _concat_outputs(layer(xx, initial_state=list(ss) if ss else None)))
    gradcheck_layer(layer, call, x, *states, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("cls,kw", RNN_CASES + [(R.KerasLSTM, {"activation": "relu"})],
                         ids=lambda v: getattr(v, "__name__", str(v)))
def test_fused_scan_matches_composed_ops(cls, kw):
    """The hand-written scans and the per-step composition of tinydl ops agree (values and grads)."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 6, 4))
    a = cls(5, return_sequences=True, return_state=True, dtype="float64", **kw)
    b = cls(5, return_sequences=True, return_state=True, dtype="float64", fused=False, **kw)
    a(x), b(x)
    b.set_weights(a.get_weights())
    proj = None
    for layer in (a, b):
        xt = td.Tensor(x, requires_grad=True)
        out = _concat_outputs(layer(xt))
        proj = rng.standard_normal(out.shape) if proj is None else proj
        (out * td.Tensor(proj)).sum().backward()
        layer._x = xt
    np.testing.assert_allclose(_concat_outputs(a(x)).detach().numpy(), _concat_outputs(b(x)).detach().numpy(), atol=1e-12)
    for pa, pb in zip(a.parameters(), b.parameters()):
        np.testing.assert_allclose(pa.grad.detach().numpy(), pb.grad.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(a._x.grad.detach().numpy(), b._x.grad.detach().numpy(), atol=1e-10)


@pytest.mark.parametrize("cls", [TS.RNN, TS.LSTM, TS.GRU], ids=lambda c: c.__name__)
@given(layers=st.integers(1, 2), batch_first=st.booleans(), with_state=st.booleans(), seed=st.integers(0, 99))
def test_torch_recurrent_gradients(cls, layers, batch_first, with_state, seed):
    rng = np.random.default_rng(seed)
    m = cls(2, 2, num_layers=layers, batch_first=batch_first, dtype="float64")
    x = rng.uniform(-1, 1, (2, 3, 2))
    n = x.shape[0] if batch_first else x.shape[1]
    states = [rng.uniform(-1, 1, (layers, n, 2)) for _ in range(m.n_states)] if with_state else []

    def call(xx, *ss):
        hx = None if not ss else (ss[0] if len(ss) == 1 else tuple(ss))
        out, hn = m(xx, hx)
        return _concat_outputs([out, hn])
    gradcheck_layer(m, call, x, *states, atol=1e-5, rtol=1e-4)


# ============================================================ conventions against NumPy loops
def test_lstm_keras_convention_matches_numpy_reference():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 7, 4))
    layer = R.KerasLSTM(5, return_sequences=True, return_state=True, dtype="float64")
    seq, h, c = layer(x)
    k, rk, b = layer.get_weights()
    assert k.shape == (4, 20) and rk.shape == (5, 20) and b.shape == (20,)
    np.testing.assert_array_equal(b[5:10], 1.0)  # unit_forget_bias
    want_seq, want_h, want_c = ref_keras_lstm(x, k, rk, b)
    np.testing.assert_allclose(seq.detach().numpy(), want_seq, atol=1e-12)
    np.testing.assert_allclose(h.detach().numpy(), want_h, atol=1e-12)
    np.testing.assert_allclose(c.detach().numpy(), want_c, atol=1e-12)
    # initial state, last output only
    h0, c0 = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    last = R.KerasLSTM(5, dtype="float64")
    last(x)
    last.set_weights([k, rk, b])
    np.testing.assert_allclose(last(x, initial_state=[h0, c0]).detach().numpy(), ref_keras_lstm(x, k, rk, b, h0, c0)[1],
                               atol=1e-12)


def test_lstm_torch_convention_matches_numpy_reference():
    rng = np.random.default_rng(1)
    hd, f, layers = 4, 3, 2
    m = TS.LSTM(f, hd, num_layers=layers, dtype="float64")
    sd = {}
    for l in range(layers):
        fin = f if l == 0 else hd
        sd.update({f"weight_ih_l{l}": rng.standard_normal((4 * hd, fin)) * 0.5,
                   f"weight_hh_l{l}": rng.standard_normal((4 * hd, hd)) * 0.5,
                   f"bias_ih_l{l}": rng.standard_normal(4 * hd) * 0.5,
                   f"bias_hh_l{l}": rng.standard_normal(4 * hd) * 0.5})
    m.load_state_dict(sd)
    x = rng.standard_normal((6, 2, f))  # (T, N, F): batch_first=False
    h0, c0 = rng.standard_normal((layers, 2, hd)), rng.standard_normal((layers, 2, hd))
    out, (h_n, c_n) = m(x, (h0, c0))
    inp, hs, cs = x, [], []
    for l in range(layers):
        inp, h, c = ref_torch_lstm(inp, sd[f"weight_ih_l{l}"], sd[f"weight_hh_l{l}"], sd[f"bias_ih_l{l}"],
                                   sd[f"bias_hh_l{l}"], h0[l], c0[l])
        hs.append(h)
        cs.append(c)
    assert out.shape == (6, 2, hd) and h_n.shape == c_n.shape == (layers, 2, hd)
    np.testing.assert_allclose(out.detach().numpy(), inp, atol=1e-12)
    np.testing.assert_allclose(h_n.detach().numpy(), np.stack(hs), atol=1e-12)
    np.testing.assert_allclose(c_n.detach().numpy(), np.stack(cs), atol=1e-12)
    # batch_first and the round trip of the PyTorch names
    mb = TS.LSTM(f, hd, num_layers=layers, batch_first=True, dtype="float64")
    mb.load_state_dict(m.state_dict())
    out_b, _ = mb(np.swapaxes(x, 0, 1), (h0, c0))
    np.testing.assert_allclose(out_b.detach().numpy(), np.swapaxes(inp, 0, 1), atol=1e-12)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_keras_convention_matches_numpy_reference(reset_after):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 5, 3))
    layer = R.KerasGRU(4, return_sequences=True, return_state=True, reset_after=reset_after, dtype="float64")
    layer(x)
    k, rk, b = layer.get_weights()
    b = rng.standard_normal(b.shape)
    layer.set_weights([k, rk, b])
    assert b.shape == ((2, 12) if reset_after else (12,))
    seq, h = layer(x)
    want_seq, want_h = ref_keras_gru(x, k, rk, b, reset_after)
    np.testing.assert_allclose(seq.detach().numpy(), want_seq, atol=1e-12)
    np.testing.assert_allclose(h.detach().numpy(), want_h, atol=1e-12)


def test_gru_torch_convention_matches_numpy_reference():
    rng = np.random.default_rng(3)
    hd, f = 4, 3
    sd = {"weight_ih_l0": rng.standard_normal((3 * hd, f)), "weight_hh_l0": rng.standard_normal((3 * hd, hd)),
          "bias_ih_l0": rng.standard_normal(3 * hd), "bias_hh_l0": rng.standard_normal(3 * hd)}
    m = TS.GRU(f, hd, dtype="float64")
    m.load_state_dict(sd)
    x, h0 = rng.standard_normal((5, 2, f)), rng.standard_normal((1, 2, hd))
    out, h_n = m(x, h0)
    want, want_h = ref_torch_gru(x, sd["weight_ih_l0"], sd["weight_hh_l0"], sd["bias_ih_l0"], sd["bias_hh_l0"], h0[0])
    np.testing.assert_allclose(out.detach().numpy(), want, atol=1e-12)
    np.testing.assert_allclose(h_n.detach().numpy()[0], want_h, atol=1e-12)
    back = m.state_dict()
    for name in sd:
        np.testing.assert_allclose(back[name], sd[name], atol=1e-15)


def test_rnn_torch_convention_and_unbatched_input():
    rng = np.random.default_rng(4)
    sd = {"weight_ih_l0": rng.standard_normal((3, 2)), "weight_hh_l0": rng.standard_normal((3, 3)),
          "bias_ih_l0": rng.standard_normal(3), "bias_hh_l0": rng.standard_normal(3)}
    for nl, act in (("tanh", np.tanh), ("relu", lambda a: np.maximum(a, 0))):
        m = TS.RNN(2, 3, nonlinearity=nl, dtype="float64")
        m.load_state_dict(sd)
        x = rng.standard_normal((4, 2))  # unbatched (T, F)
        out, h_n = m(x)
        h, want = np.zeros(3), []
        for t in range(4):
            h = act(x[t] @ sd["weight_ih_l0"].T + sd["bias_ih_l0"] + h @ sd["weight_hh_l0"].T + sd["bias_hh_l0"])
            want.append(h)
        assert out.shape == (4, 3) and h_n.shape == (1, 3)
        np.testing.assert_allclose(out.detach().numpy(), np.stack(want), atol=1e-12)


# ============================================================ long sequences, stateful layers
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cls,kw", [(R.KerasLSTM, {}), (R.KerasLSTM, {"recurrent_activation": "tanh"}),
                                    (R.KerasLSTM, {"activation": "relu"}),
                                    (R.KerasLSTM, {"activation": "sigmoid"}), (R.KerasGRU, {}),
                                    (R.KerasGRU, {"recurrent_activation": "tanh"})],
                         ids=lambda v: getattr(v, "__name__", str(v)))
def test_scan_kernels_match_numpy_path(cls, kw, dtype):
    """The Numba gate kernels of the CPU scans and the NumPy path (use_reference) agree."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((4, 7, 5)).astype(dtype)
    s0 = [rng.uniform(-1, 1, (4, 6)).astype(dtype) for _ in range(2 if cls is R.KerasLSTM else 1)]
    td.manual_seed(3)
    layer = cls(6, return_sequences=True, return_state=True, dtype=dtype, **kw)
    results = []
    for ref in (False, True):
        for p in layer.parameters():
            p.grad = None
        with td.backends.use_reference(ref):
            xt = td.Tensor(x, requires_grad=True)
            sts = [td.Tensor(s, requires_grad=True) for s in s0]
            out = _concat_outputs(layer(xt, initial_state=sts))
            proj = np.random.default_rng(12).standard_normal(out.shape).astype(dtype)
            (out * td.Tensor(proj)).sum().backward()
        results.append([out.detach().numpy(), xt.grad.detach().numpy()] + [s.grad.detach().numpy() for s in sts]
                       + [p.grad.detach().numpy() for p in layer.parameters()])
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == "float32" else dict(rtol=1e-10, atol=1e-11)
    for a, b in zip(*results):
        assert a.dtype == np.dtype(dtype)
        np.testing.assert_allclose(a, b, **tol)


def test_float32_tanh_kernel_is_within_float32_rounding():
    """The LSTM forward kernel's own (vectorisable) tanh: within 0.53 ulp of the exact value."""
    from tinydl.kernels.cpu import recurrent as K
    x = np.concatenate([np.linspace(-12, 12, 400001), [0.0, -0.0, 1e-30, -1e-40, 4.5, -8.99, 9.5]])
    x = x.astype(np.float32)
    y = np.empty_like(x)
    K.tanh32(x, y)
    exact = np.tanh(x.astype(np.float64))
    ulp = np.abs(y - exact) / np.spacing(np.abs(exact).astype(np.float32))
    assert ulp.max() <= 0.53
    assert (np.diff(y[:400001]) >= 0).all() and np.abs(y).max() <= 1
    special = np.array([np.nan, np.inf, -np.inf], np.float32)
    out = np.empty_like(special)
    K.tanh32(special, out)
    assert np.isnan(out[0]) and out[1] == 1 and out[2] == -1


def test_bptt_through_1000_steps():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 1000, 3)).astype(np.float32)
    for cls in (R.KerasLSTM, R.KerasGRU, R.SimpleRNN):
        layer = cls(8, return_sequences=True)
        xt = td.Tensor(x, requires_grad=True)
        t0 = time.perf_counter()
        out = layer(xt)
        (out[:, -1] * out[:, -1]).sum().backward()
        assert time.perf_counter() - t0 < 20
        assert np.isfinite(xt.grad.detach().numpy()).all()
        assert all(np.isfinite(p.grad.detach().numpy()).all() for p in layer.parameters())
        assert np.abs(xt.grad.detach().numpy()[:, -1]).sum() > 0


def test_bptt_1000_steps_composed_path_agrees_with_fused():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((1, 1000, 2))
    grads = []
    for fused in (True, False):
        td.manual_seed(0)
        layer = R.KerasLSTM(4, dtype="float64", fused=fused)
        xt = td.Tensor(x, requires_grad=True)
        layer(xt).sum().backward()
        grads.append((xt.grad.detach().numpy(), layer.recurrent_kernel.grad.detach().numpy()))
    np.testing.assert_allclose(grads[0][0], grads[1][0], atol=1e-10)
    np.testing.assert_allclose(grads[0][1], grads[1][1], atol=1e-9)


def test_stateful_layer_carries_detached_states_and_resets():
    rng = np.random.default_rng(8)
    x1, x2 = rng.standard_normal((2, 3, 2)), rng.standard_normal((2, 3, 2))
    layer = R.KerasLSTM(3, stateful=True, return_state=True, dtype="float64")
    ref = R.KerasLSTM(3, return_state=True, dtype="float64")
    x1t = td.Tensor(x1, requires_grad=True)
    _, h1, c1 = layer(x1t)
    ref(x1)
    ref.set_weights(layer.get_weights())
    np.testing.assert_allclose(to_host(layer.states[0]), h1.detach().numpy())
    out2, _, _ = layer(x2)
    np.testing.assert_allclose(out2.detach().numpy(), ref(x2, initial_state=[h1.detach().numpy(), c1.detach().numpy()])[0].detach().numpy())
    out2.sum().backward()  # truncated BPTT: nothing reaches the first batch
    assert x1t.grad is None
    layer.reset_states()
    np.testing.assert_allclose(layer(x2)[0].detach().numpy(), ref(x2)[0].detach().numpy())
    with pytest.raises(ValueError, match="batch size"):
        layer(rng.standard_normal((5, 3, 2)))


def test_recurrent_errors_name_the_layer_and_shapes():
    layer = R.KerasLSTM(3, name="enc")
    with pytest.raises(ValueError, match=r"enc .*\(batch, time, features\)"):
        layer(np.zeros((2, 3), np.float32))
    layer(np.zeros((2, 3, 4), np.float32))
    with pytest.raises(ValueError, match="4 input features"):
        layer(np.zeros((2, 3, 5), np.float32))
    with pytest.raises(ValueError, match=r"initial state has shape"):
        layer(np.zeros((2, 3, 4), np.float32), initial_state=[np.zeros((2, 2)), np.zeros((2, 2))])


# ============================================================ embedding
def test_embedding_repeated_ids_accumulate_and_padding_idx():
    rng = np.random.default_rng(9)
    ids = np.array([[1, 1, 3], [3, 3, 0]])
    emb = E.KerasEmbedding(5, 2, dtype="float64")
    g = rng.standard_normal((2, 3, 2))
    emb(ids).backward(g)
    want = np.zeros((5, 2))
    np.add.at(want, ids, g)
    np.testing.assert_allclose(emb.embeddings.grad.detach().numpy(), want)
    assert np.all(emb.embeddings.grad.detach().numpy()[[2, 4]] == 0)
    temb = TS.Embedding(5, 2, padding_idx=0)
    assert np.all(temb.weight.detach().numpy()[0] == 0)
    temb(ids).sum().backward()
    assert np.all(temb.weight.grad.detach().numpy()[0] == 0) and np.all(temb.weight.grad.detach().numpy()[3] == 3)
    with pytest.raises(IndexError, match=r"\[0, 5\)"):
        emb(np.array([5]))
    np.testing.assert_array_equal(emb(np.array([1.0, 3.0])).detach().numpy(), emb(np.array([1, 3])).detach().numpy())  # as Keras
    with pytest.raises(TypeError, match="whole numbers"):
        emb(np.array([1.5]))
    with pytest.raises(TypeError, match="integers"):
        E.embedding(np.array([1.0]), emb.embeddings)
    assert E.KerasEmbedding(num_embeddings=4, embedding_dim=3).embeddings.shape == (4, 3)


@given(n=st.integers(1, 3), t=st.integers(1, 5), start=st.integers(0, 3))
def test_positional_embedding_gradients(n, t, start):
    pe = E.PositionalEmbedding(8, 3, dtype="float64")
    x = np.random.default_rng(t).standard_normal((n, t, 3))
    gradcheck_layer(pe, lambda xx: pe(xx, start=start), x)
    with pytest.raises(ValueError, match="max_len"):
        pe(np.zeros((1, 9, 3)))


# ============================================================ layer norm
@given(shape=tst.shapes(2, 3, 2, 4), torch_flavour=st.booleans(), seed=st.integers(0, 99))
def test_layer_normalization_gradients_and_reference(shape, torch_flavour, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    layer = TS.LayerNorm(shape[-1], dtype="float64") if torch_flavour else \
        LN.LayerNormalization(axis=-1, dtype="float64")
    eps = 1e-5 if torch_flavour else 1e-3
    layer(x)
    gamma, beta = (layer.weight, layer.bias) if torch_flavour else (layer.gamma, layer.beta)
    with td.no_grad():
        gamma.copy_(rng.standard_normal(shape[-1]))
        beta.copy_(rng.standard_normal(shape[-1]))
    np.testing.assert_allclose(layer(x).detach().numpy(), _ln_ref(x, gamma.detach().numpy(), beta.detach().numpy(), eps), atol=1e-12)
    gradcheck_layer(layer, layer, x)


def test_layer_normalization_over_several_axes():
    rng = np.random.default_rng(10)
    x = rng.standard_normal((2, 3, 4))
    layer = LN.LayerNormalization(axis=[1, 2], dtype="float64")
    y = layer(x).detach().numpy()
    np.testing.assert_allclose(y.mean(axis=(1, 2)), 0, atol=1e-12)
    assert layer.gamma.shape == (3, 4)
    gradcheck_layer(layer, layer, x)
    t = TS.LayerNorm((3, 4), dtype="float64")
    np.testing.assert_allclose(t(x).detach().numpy(), (x - x.mean((1, 2), keepdims=True)) /
                               np.sqrt(x.var((1, 2), keepdims=True) + 1e-5), atol=1e-12)


# ============================================================ attention
@st.composite
def _attention_case(draw):
    b, h = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    lq, ls, d, dv = (draw(st.integers(1, 4)) for _ in range(4))
    rng = np.random.default_rng(draw(st.integers(0, 999)))
    q, k, v = (rng.standard_normal(s) for s in ((b, h, lq, d), (b, h, ls, d), (b, h, ls, dv)))
    kind = draw(st.sampled_from(["none", "bool", "float", "causal"]))
    mask = None
    if kind == "bool":
        mask = rng.random((b, 1, lq, ls)) > 0.4  # some rows fully masked
    elif kind == "float":
        mask = np.where(rng.random((lq, ls)) > 0.3, rng.standard_normal((lq, ls)), -np.inf)
    return q, k, v, kind, mask


@given(_attention_case())
def test_scaled_dot_product_attention_forward_and_gradients(case):
    q, k, v, kind, mask = case
    causal = kind == "causal"
    fn = lambda a, b, c: A.scaled_dot_product_attention(a, b, c, mask=mask, causal=causal)
    out = fn(td.Tensor(q), td.Tensor(k), td.Tensor(v)).detach().numpy()
    assert np.isfinite(out).all()
    if kind == "float":
        s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1]) + mask
        want = ref_masked_softmax(s, np.isfinite(s)) @ v
    else:
        keep = np.ones((q.shape[-2], k.shape[-2]), bool)
        if kind == "bool":
            keep = mask
        if causal:
            keep = keep & np.tril(np.ones((q.shape[-2], k.shape[-2]), bool))
        want = ref_attention(q, k, v, keep)
    np.testing.assert_allclose(out, want, atol=1e-12)
    gradcheck(fn, q, k, v)


def test_fully_masked_rows_output_zero_without_nan():
    q = td.Tensor(np.ones((1, 2, 3)), requires_grad=True)
    k = td.Tensor(np.ones((1, 4, 3)), requires_grad=True)
    v = td.Tensor(np.arange(12.0).reshape(1, 4, 3), requires_grad=True)
    mask = np.array([[[True, False, True, False], [False, False, False, False]]])
    out, w = A.scaled_dot_product_attention(q, k, v, mask=mask, return_weights=True)
    np.testing.assert_array_equal(out.detach().numpy()[0, 1], 0)
    np.testing.assert_array_equal(w.detach().numpy()[0, 1], 0)
    np.testing.assert_allclose(w.detach().numpy()[0, 0], [0.5, 0, 0.5, 0])
    out.sum().backward()
    assert all(np.isfinite(t.grad.detach().numpy()).all() for t in (q, k, v))
    # an all -inf additive mask row as well
    out2 = A.scaled_dot_product_attention(q, k, v, mask=np.full((2, 4), -np.inf))
    np.testing.assert_array_equal(out2.detach().numpy(), 0)


@given(b=st.integers(1, 2), t=st.integers(1, 3), s=st.integers(1, 3), heads=st.integers(1, 2),
       use_mask=st.booleans(), causal=st.booleans(), seed=st.integers(0, 99))
def test_keras_multi_head_attention_gradients(b, t, s, heads, use_mask, causal, seed):
    rng = np.random.default_rng(seed)
    mha = A.MultiHeadAttention(heads, 2, value_dim=3, dtype="float64")
    q, v = rng.standard_normal((b, t, 3)), rng.standard_normal((b, s, 2))
    mask = rng.random((b, t, s)) > 0.3 if use_mask else None
    mha(q, v)
    with td.no_grad():
        for p in mha.parameters():
            p.copy_(rng.uniform(-1, 1, p.shape))
    assert mha.query_kernel.shape == (3, heads, 2) and mha.value_kernel.shape == (2, heads, 3)
    assert mha.output_kernel.shape == (heads, 3, 3)
    call = lambda qq, vv: mha(qq, vv, attention_mask=mask, use_causal_mask=causal)
    gradcheck_layer(mha, call, q, v)
    out, w = mha(q, v, attention_mask=mask, return_attention_scores=True)
    assert out.shape == (b, t, 3) and w.shape == (b, heads, t, s)


def _torch_mha_reference(q, k, v, sd, heads, keep):
    """PyTorch's multi-head attention from its state dict, batch-major (N, L, E)."""
    e = q.shape[-1]
    wq, wk, wv = np.split(sd["in_proj_weight"], 3)
    bq, bk, bv = np.split(sd["in_proj_bias"], 3)
    split = lambda a: a.reshape(a.shape[0], a.shape[1], heads, -1).transpose(0, 2, 1, 3)
    qh, kh, vh = split(q @ wq.T + bq), split(k @ wk.T + bk), split(v @ wv.T + bv)
    s = qh @ kh.transpose(0, 1, 3, 2) / np.sqrt(e // heads)
    w = ref_masked_softmax(s, keep)
    o = (w @ vh).transpose(0, 2, 1, 3).reshape(q.shape[0], q.shape[1], e)
    return o @ sd["out_proj.weight"].T + sd["out_proj.bias"], w.mean(axis=1)


def test_torch_multihead_attention_masks_and_shapes():
    rng = np.random.default_rng(11)
    e, heads, n, l, s = 6, 2, 2, 3, 4
    m = TS.MultiheadAttention(e, heads, dtype="float64")
    sd = {"in_proj_weight": rng.standard_normal((3 * e, e)) * 0.5, "in_proj_bias": rng.standard_normal(3 * e),
          "out_proj.weight": rng.standard_normal((e, e)) * 0.5, "out_proj.bias": rng.standard_normal(e)}
    m.load_state_dict(sd)
    q, k, v = rng.standard_normal((l, n, e)), rng.standard_normal((s, n, e)), rng.standard_normal((s, n, e))
    kpm = np.array([[False, False, True, True], [False, False, False, False]])  # True = ignore
    am = np.zeros((l, s), bool)
    am[0, 0] = True
    out, w = m(q, k, v, key_padding_mask=kpm, attn_mask=am)
    assert out.shape == (l, n, e) and w.shape == (n, l, s)
    keep = ~kpm[:, None, None, :] & ~am
    bm = lambda a: np.swapaxes(a, 0, 1)
    want_out, want_w = _torch_mha_reference(bm(q), bm(k), bm(v), sd, heads, keep)
    np.testing.assert_allclose(out.detach().numpy(), bm(want_out), atol=1e-12)
    np.testing.assert_allclose(w.detach().numpy(), want_w, atol=1e-12)
    # float attn_mask = the same as the boolean one written as -inf
    out_f, _ = m(q, k, v, key_padding_mask=kpm, attn_mask=np.where(am, -np.inf, 0.0))
    np.testing.assert_allclose(out_f.detach().numpy(), out.detach().numpy(), atol=1e-12)
    # batch_first, need_weights=False, per-head weights, unbatched
    mb = TS.MultiheadAttention(e, heads, batch_first=True, dtype="float64")
    mb.load_state_dict(m.state_dict())
    ob, wb = mb(bm(q), bm(k), bm(v), key_padding_mask=kpm, attn_mask=am, need_weights=False)
    assert wb is None
    np.testing.assert_allclose(ob.detach().numpy(), bm(out.detach().numpy()), atol=1e-12)
    _, wh = mb(bm(q), bm(k), bm(v), average_attn_weights=False)
    assert wh.shape == (n, heads, l, s)
    ou, wu = m(q[:, 0], k[:, 0], v[:, 0])
    assert ou.shape == (l, e) and wu.shape == (l, s)


def test_torch_multihead_attention_gradients():
    rng = np.random.default_rng(12)
    m = TS.MultiheadAttention(4, 2, batch_first=True, dtype="float64")
    x = rng.standard_normal((2, 3, 4))
    gradcheck_layer(m, lambda xx: m(xx, xx, xx, is_causal=True)[0], x)


# ============================================================ causality
@given(t=st.integers(2, 6), pos=st.integers(1, 5), seed=st.integers(0, 999))
def test_causal_attention_never_looks_ahead(t, pos, seed):
    pos = min(pos, t - 1)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, t, 4))
    x2 = x.copy()
    x2[:, pos:] = rng.standard_normal(x2[:, pos:].shape)  # change the future only
    td.manual_seed(seed)
    mha = A.MultiHeadAttention(2, 2, dtype="float64")
    block = TR.TransformerBlock(4, 2, ff_dim=8, causal=True, dtype="float64")
    for f in (lambda a: mha(a, a, use_causal_mask=True), block):
        y1, y2 = f(x).detach().numpy(), f(x2).detach().numpy()
        np.testing.assert_allclose(y1[:, :pos], y2[:, :pos], atol=1e-12)
        assert not np.allclose(y1[:, pos:], y2[:, pos:])
    lm = TR.TransformerLM(7, 8, dim=8, num_heads=2, num_layers=2, dtype="float64")
    ids = rng.integers(0, 7, (2, t))
    ids2 = ids.copy()
    ids2[:, pos:] = (ids2[:, pos:] + 1) % 7
    np.testing.assert_allclose(lm(ids).detach().numpy()[:, :pos], lm(ids2).detach().numpy()[:, :pos], atol=1e-12)


@given(n=st.integers(1, 2), t=st.integers(1, 3), causal=st.booleans(), masked=st.booleans(), seed=st.integers(0, 99))
def test_transformer_block_gradients(n, t, causal, masked, seed):
    rng = np.random.default_rng(seed)
    block = TR.TransformerBlock(4, 2, ff_dim=6, causal=causal, dtype="float64")
    for p in block.parameters():
        p.data[...] += rng.uniform(-0.3, 0.3, p.shape)
    x = rng.standard_normal((n, t, 4))
    mask = rng.random((n, t, t)) > 0.3 if masked else None
    gradcheck_layer(block, lambda xx: block(xx, attention_mask=mask), x, atol=1e-5, rtol=1e-4)


def test_transformer_lm_dropout_only_in_training():
    lm = TR.TransformerLM(5, 4, dim=8, num_heads=2, num_layers=1, dropout=0.5)
    ids = np.array([[1, 2, 3, 4]])
    lm.eval()
    np.testing.assert_array_equal(lm(ids).detach().numpy(), lm(ids).detach().numpy())
    lm.train()
    assert not np.array_equal(lm(ids).detach().numpy(), lm(ids).detach().numpy())
    with pytest.raises(ValueError, match="block_size"):
        lm(np.zeros((1, 5), np.int64))


# ============================================================ text helpers
def test_char_tokenizer_round_trip_and_json():
    tok = text.CharTokenizer("to be, or not to be\n")
    ids = tok.encode("not to be")
    assert ids.dtype == np.int64 and tok.decode(ids) == "not to be"
    again = text.CharTokenizer.from_json(tok.to_json())
    assert again.chars == tok.chars and again.decode(ids) == "not to be"
    with pytest.raises(KeyError, match="'z'"):
        tok.encode("zebra")
    assert text.CharTokenizer(chars=tok.chars, unknown="skip").decode(
        text.CharTokenizer(chars=tok.chars, unknown="skip").encode("zebra")) == "ebr"


@given(v=st.integers(2, 12), k=st.integers(1, 5), seed=st.integers(0, 999))
def test_sample_next_respects_top_k_and_temperature(v, k, seed):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((3, v))
    top = np.argsort(-logits, axis=1)[:, :min(k, v)]
    for _ in range(5):
        got = text.sample_next(logits, temperature=1.3, top_k=k, rng=rng)
        assert got.shape == (3,) and all(g in t for g, t in zip(got, top))
    np.testing.assert_array_equal(text.sample_next(logits, temperature=0), logits.argmax(1))
    assert isinstance(text.sample_next(logits[0], rng=rng), int)


def test_generate_with_a_window_model_and_a_stateful_model():
    tok = text.CharTokenizer("abc")

    class Cycle:  # always predicts the character after the last one
        block_size = 4

        def __call__(self, ids):
            assert ids.shape[1] <= 4
            out = np.full((1, ids.shape[1], 3), -10.0)
            out[0, -1, (ids[0, -1] + 1) % 3] = 10.0
            return td.Tensor(out)
    assert text.generate(Cycle(), tok, "a", 5, temperature=0) == "abcabc"

    class Stateful(Cycle):
        resets = 0

        def reset_states(self):
            self.resets += 1
    s = Stateful()
    assert text.generate(s, tok, "ab", 3, temperature=0, stateful=True) == "abcab" and s.resets == 2


# ============================================================ docstring examples
@pytest.mark.parametrize("name", ["tinydl.nn.layers.embedding", "tinydl.nn.layers.recurrent",
                                  "tinydl.nn.layers.layernorm", "tinydl.nn.layers.attention",
                                  "tinydl.nn.layers.transformer",
                                  "tinydl.text"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
