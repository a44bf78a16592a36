"""int8 quantization: kernels against the NumPy integer reference, error bounds, saving, QAT."""
import os

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinydl
from tinydl import nn, optim
from tinydl.backends import numba_cpu, reference
from tinydl.compress import (FakeQuant, error_bound, fake_quant, load_quantized, model_nbytes, prepare_qat,
                             quantize_model,
                             quantize_weight, save_quantized, strip_qat)
from tinydl.core import functional as T
from tinydl.io import save_weights
from tinydl.testing import OpSpec, check_op_spec, strategies as tst

PROVIDERS = [reference, numba_cpu]

# ---- fake quantization and its straight-through gradient ----------------------------------------
SCALE = 0.25
EDGE = 127 * SCALE
# Values away from the rounding midpoints (k + 0.5) * SCALE and from the clip edges, so finite
# differences do not straddle a jump.
_SAFE = tst.floats(-40, 40).filter(
    lambda v: abs((v / SCALE) % 1 - 0.5) > 0.02 and abs(abs(v) - EDGE) > 0.02)


def _ste_surrogate(x):
    """Forward: clip(x) exactly; backward: FakeQuantSTE's. Its derivative is the STE's definition."""
    fq = fake_quant(x, SCALE)
    return fq - fq.detach() + T.clip(x, -EDGE, EDGE).detach()


SPECS = [OpSpec("fake_quant_ste", _ste_surrogate, lambda x: np.clip(x, -EDGE, EDGE),
                tst.arrays_for(tst.shapes(1, 3).map(lambda s: (s,)), _SAFE), ["FakeQuantSTE"])]


@given(data=st.data())
def test_fake_quant_straight_through_gradient(data):
    check_op_spec(SPECS[0], data.draw(SPECS[0].inputs))


@given(x=tst.arrays(tst.shapes(1, 3), tst.floats(-40, 40)), scale=st.sampled_from([0.01, 0.25, 3.0]))
def test_fake_quant_forward_is_round_to_the_int8_grid(x, scale):
    want = np.clip(np.rint(x / scale), -127, 127) * scale
    np.testing.assert_allclose(fake_quant(tinydl.Tensor(x), scale).detach().numpy(), want, rtol=1e-12, atol=0)
    got32 = fake_quant(tinydl.Tensor(x.astype(np.float32)), scale)
    assert got32.dtype == np.float32


def test_fake_quant_gradient_is_blocked_where_clipped():
    x = tinydl.Tensor(np.array([-100.0, -1.0, 0.3, 31.0, 50.0]), requires_grad=True)
    fake_quant(x, SCALE).sum().backward()
    np.testing.assert_array_equal(x.grad.detach().numpy(), [0, 1, 1, 1, 0])
    with pytest.raises(ValueError, match="positive"):
        fake_quant(x, 0.0)


# ---- int8 kernels: exact integer results ---------------------------------------------------------

def _int8(rng, shape):
    return rng.integers(-127, 128, shape).astype(np.int8)


@given(m=st.integers(1, 9), k=st.integers(1, 40), o=st.integers(1, 9), seed=st.integers(0, 999))
def test_int8_matmul_equals_integer_reference(m, k, o, seed):
    rng = np.random.default_rng(seed)
    a, w = _int8(rng, (m, k)), _int8(rng, (o, k))
    want = a.astype(np.int64) @ w.astype(np.int64).T  # the plain integer product, no overflow possible
    for p in PROVIDERS:
        got = p.int8_matmul(a, w)
        assert got.dtype == np.int32 and got.shape == (m, o)
        np.testing.assert_array_equal(got, want, err_msg=p.__name__)


@given(n=st.integers(1, 2), hw=st.integers(3, 7), c=st.integers(1, 4), o=st.integers(1, 5),
       k=st.integers(1, 3), stride=st.integers(1, 2), pad=st.integers(0, 2), dil=st.integers(1, 2),
       seed=st.integers(0, 999))
def test_int8_conv2d_equals_integer_reference(n, hw, c, o, k, stride, pad, dil, seed):
    if hw + 2 * pad < dil * (k - 1) + 1:
        return
    rng = np.random.default_rng(seed)
    x, w = _int8(rng, (n, hw, hw, c)), _int8(rng, (o, k * k * c))
    padding = ((pad, pad), (pad, pad))
    # direct definition: sum over the window of x * w, zero outside the image
    oh = (hw + 2 * pad - dil * (k - 1) - 1) // stride + 1
    xp = np.pad(x.astype(np.int64), ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    wk = w.astype(np.int64).reshape(o, k, k, c)
    want = np.zeros((n, oh, oh, o), np.int64)
    for i in range(oh):
        for j in range(oh):
            win = xp[:, i * stride:i * stride + dil * (k - 1) + 1:dil, j * stride:j * stride + dil * (k - 1) + 1:dil]
            want[:, i, j] = np.einsum("nabc,oabc->no", win, wk)
    for p in PROVIDERS:
        got = p.int8_conv2d(x, w, (k, k), (stride, stride), padding, (dil, dil))
        assert got.dtype == np.int32
        np.testing.assert_array_equal(got, want, err_msg=p.__name__)


def _tile_isas():
    """Every micro-kernel this CPU can run: the plain-IR one always, AVX2/AVX-512BW where present."""
    from tinydl.kernels.cpu.int8_tile import host_isa
    return sorted({"generic", host_isa()} | ({"avx2"} if host_isa() == "avx512bw" else set()))


_GEMMS = {}


@pytest.mark.parametrize("isa", _tile_isas())
@given(rows=st.integers(1, 3), segs=st.integers(1, 3), seg_pairs=st.integers(1, 20), o=st.integers(1, 70),
       a_off=st.integers(0, 5), a_rs=st.integers(1, 50), a_seg=st.integers(0, 60), seed=st.integers(0, 999))
def test_int8_gemm_tiles_equal_integer_reference_on_every_instruction_set(isa, rows, segs, seg_pairs, o, a_off, a_rs,
                                                                         a_seg, seed):
    # row r's K values: segs runs of 2*seg_pairs, from a_off + r*a_rs + s*a_seg (rows and runs may
    # overlap, as a convolution's windows do); the full int8 range, -128 included: pair sums of
    # 128 * 128 still fit pmaddwd exactly
    from tinydl.kernels.cpu import int8_tile, quant
    lanes, tile_rows, _ = int8_tile.ISAS[isa]
    if isa not in _GEMMS:
        _GEMMS[isa] = quant.make_gemm(isa)
    rng = np.random.default_rng(seed)
    m, run = rows * tile_rows, 2 * seg_pairs
    buf = rng.integers(-128, 128, a_off + (m - 1) * a_rs + (segs - 1) * a_seg + run).astype(np.int16)
    a = np.stack([np.concatenate([buf[a_off + r * a_rs + s * a_seg:][:run] for s in range(segs)]) for r in range(m)])
    w = rng.integers(-128, 128, (o, segs * run)).astype(np.int8)
    wp = quant.pack_weights(w, lanes)
    acc = np.full((m, wp.shape[1]), 7, np.int32)
    _GEMMS[isa](buf, a_off, a_rs, a_seg, seg_pairs, wp, m, acc)
    np.testing.assert_array_equal(acc[:, :o], a.astype(np.int64) @ w.astype(np.int64).T)
    np.testing.assert_array_equal(acc[:, o:], 0)  # the padded columns hold zero weights


@given(m=st.integers(1, 40), k=st.integers(1, 40), o=st.integers(1, 20), relu=st.booleans(), seed=st.integers(0, 999))
def test_int8_matmul_bias_act_equals_the_composition(m, k, o, relu, seed):
    rng = np.random.default_rng(seed)
    a, w = _int8(rng, (m, k)), _int8(rng, (o, k))
    s = rng.uniform(1e-4, 1e-2, o).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32)
    act = "relu" if relu else "linear"
    want = reference.dequantize_bias_act(a.astype(np.int64) @ w.astype(np.int64).T, s, b, act)
    for p in PROVIDERS:
        got = p.int8_matmul_bias_act(a, w, s, b, act)
        assert got.dtype == np.float32 and got.shape == (m, o)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6, err_msg=p.__name__)


@given(n=st.integers(1, 2), h=st.integers(1, 9), wd=st.integers(1, 9), c=st.sampled_from([1, 2, 3, 7, 17]),
       o=st.integers(1, 20),
       kh=st.integers(1, 3), kw=st.integers(1, 3), stride=st.tuples(st.integers(1, 2), st.integers(1, 2)),
       pad=st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(0, 2), st.integers(0, 2)),
       dil=st.tuples(st.integers(1, 2), st.integers(1, 2)), relu=st.booleans(), seed=st.integers(0, 999))
def test_int8_conv2d_bias_act_equals_the_composition(n, h, wd, c, o, kh, kw, stride, pad, dil, relu, seed):
    # rectangular kernels, uneven padding, odd K, O not a multiple of the vector width; C = 17 gathers
    # kernel rows as contiguous runs, fewer channels column by column
    if h + pad[0] + pad[1] < dil[0] * (kh - 1) + 1 or wd + pad[2] + pad[3] < dil[1] * (kw - 1) + 1:
        return
    rng = np.random.default_rng(seed)
    x, w = _int8(rng, (n, h, wd, c)), _int8(rng, (o, kh * kw * c))
    s = rng.uniform(1e-4, 1e-2, o).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32)
    act, padding = ("relu" if relu else "linear"), ((pad[0], pad[1]), (pad[2], pad[3]))
    acc = reference.int8_conv2d(x, w, (kh, kw), stride, padding, dil)
    np.testing.assert_array_equal(numba_cpu.int8_conv2d(x, w, (kh, kw), stride, padding, dil), acc)
    want = reference.dequantize_bias_act(acc, s, b, act)
    for p in PROVIDERS:
        got = p.int8_conv2d_bias_act(x, w, (kh, kw), stride, padding, dil, s, b, act)
        assert got.dtype == np.float32 and got.shape == acc.shape
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6, err_msg=p.__name__)


@given(n=st.integers(1, 2), hw=st.integers(3, 9), c=st.integers(1, 5), o=st.integers(1, 20), k=st.integers(1, 3),
       pad=st.integers(0, 1), pool=st.integers(1, 3), pstride=st.integers(1, 3), relu=st.booleans(),
       seed=st.integers(0, 999))
def test_int8_conv2d_requant_pools_the_sums_exactly_as_the_float_outputs(n, hw, c, o, k, pad, pool, pstride, relu,
                                                                         seed):
    # the fused kernel pools int32 sums; the reference pools the float outputs: equal int8
    if hw + 2 * pad - k + 1 < pool:
        return
    rng = np.random.default_rng(seed)
    x, w = _int8(rng, (n, hw, hw, c)), _int8(rng, (o, k * k * c))
    s = rng.uniform(1e-4, 1e-2, o).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32)
    args = ((k, k), (1, 1), ((pad, pad), (pad, pad)), (1, 1), s, b, "relu" if relu else "linear", 0.03,
            (pool, pool), (pstride, pstride))
    want = reference.int8_conv2d_requant(x, w, *args)
    got = numba_cpu.int8_conv2d_requant(x, w, *args)
    assert got.dtype == np.int8 and want.dtype == np.int8
    np.testing.assert_array_equal(got, want)


def test_int8_kernels_do_not_depend_on_the_thread_count():
    import numba
    rng = np.random.default_rng(3)
    x, w = _int8(rng, (3, 12, 11, 5)), _int8(rng, (20, 45))
    s, b = rng.uniform(1e-3, 1e-2, 20).astype(np.float32), rng.standard_normal(20).astype(np.float32)
    runs = []
    for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
        numba.set_num_threads(threads)
        try:
            runs.append((numba_cpu.int8_conv2d(x, w, 3, 1, 1, 1),
                         numba_cpu.int8_conv2d_requant(x, w, 3, 1, 0, 1, s, b, "relu", 0.05, 2, 2),
                         numba_cpu.int8_matmul(x.reshape(99, 20), w[:, :20])))
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    for got in runs[1:]:
        for a, b_ in zip(runs[0], got):
            np.testing.assert_array_equal(a, b_)


def test_int8_kernels_refuse_mismatched_shapes():
    x, w = np.zeros((1, 5, 5, 3), np.int8), np.zeros((4, 2 * 2 * 3), np.int8)
    with pytest.raises(ValueError, match="KH\\*KW\\*C"):
        numba_cpu.int8_conv2d(x, w, (3, 3), 1, 0, 1)  # 12 columns, 27 expected: would read past w
    with pytest.raises(ValueError, match="same K"):
        numba_cpu.int8_matmul(np.zeros((2, 5), np.int8), np.zeros((3, 4), np.int8))
    with pytest.raises(ValueError, match="shape"):
        numba_cpu.int8_matmul_bias_act(np.zeros((2, 4), np.int8), np.zeros((3, 4), np.int8),
                                       np.ones(2, np.float32), np.zeros(3, np.float32), "relu")


@given(shape=tst.shapes(1, 3, max_side=6), scale=st.sampled_from([0.01, 0.3, 2.0]), seed=st.integers(0, 999))
def test_quantize_int8_providers_agree_exactly(shape, scale, seed):
    x = (np.random.default_rng(seed).standard_normal(shape) * 100 * scale).astype(np.float32)
    want = np.clip(np.rint(x * np.float32(1 / scale)), -127, 127).astype(np.int8)
    for p in PROVIDERS:
        np.testing.assert_array_equal(p.quantize_int8(x, scale), want, err_msg=p.__name__)
    acc = np.random.default_rng(seed).integers(-10 ** 6, 10 ** 6, (3, 4)).astype(np.int32)
    s, b = np.float32([1e-3, 2e-3, 5e-4, 1e-4]), np.float32([0.5, -1, 0, 2])
    for act in ("linear", "relu"):
        np.testing.assert_allclose(numba_cpu.dequantize_bias_act(acc, s, b, act),
                                   reference.dequantize_bias_act(acc, s, b, act), rtol=1e-6)


# ---- quantized layers within the quantization error bound --------------------------------------

@given(n=st.integers(1, 4), fin=st.integers(1, 30), fout=st.integers(1, 6), seed=st.integers(0, 99))
def test_quantized_dense_is_within_the_error_bound(n, fin, fout, seed):
    tinydl.manual_seed(seed)
    dense = nn.Dense(fout)
    x = np.random.default_rng(seed).standard_normal((n, fin)).astype(np.float32)
    want = dense(tinydl.Tensor(x)).detach().numpy().astype(np.float64)
    q = quantize_model(nn.Sequential(dense), x)
    got = q(tinydl.Tensor(x)).detach().numpy()
    ql = q[0]
    s_x, s_w = float(ql.input_scale[0]), ql.weight_scale.astype(np.float64)
    bound = error_bound(np.abs(x).sum(axis=1, keepdims=True), np.abs(dense.kernel.detach().numpy()).sum(axis=0), s_x, s_w, fin)
    assert (np.abs(got - want) <= bound * 1.001 + 1e-5).all()


@given(c=st.integers(1, 3), o=st.integers(1, 4), k=st.integers(1, 3), padding=st.sampled_from(["valid", "same"]),
       seed=st.integers(0, 99))
def test_quantized_conv2d_is_within_the_error_bound(c, o, k, padding, seed):
    tinydl.manual_seed(seed)
    conv = nn.Conv2D(o, k, padding=padding)
    x = np.random.default_rng(seed).standard_normal((2, 6, 6, c)).astype(np.float32)
    want = conv(tinydl.Tensor(x)).detach().numpy().astype(np.float64)
    q = quantize_model(nn.Sequential(conv), x)
    got = q(tinydl.Tensor(x)).detach().numpy()
    ql = q[0]
    s_x, s_w = float(ql.input_scale[0]), ql.weight_scale.astype(np.float64)
    ones = np.ones((k, k, c, 1))
    pads = nn.channels_last.padding_pairs(padding, (6, 6), (k, k), (1, 1))
    x_abs_window = reference.conv2d_forward(np.abs(x).astype(np.float64), ones, (1, 1), pads, (1, 1))
    w_abs = np.abs(conv.kernel.detach().numpy()).reshape(-1, o).sum(axis=0)
    bound = error_bound(x_abs_window, w_abs, s_x, s_w, k * k * c)
    assert (np.abs(got - want) <= bound * 1.001 + 1e-5).all()


def test_quantize_weight_is_per_channel_symmetric():
    k = np.array([[1.0, -0.02], [-2.0, 0.005], [0.5, 0.0]], np.float32)
    q, s = quantize_weight(k)
    np.testing.assert_allclose(s, [2 / 127, 0.02 / 127], rtol=1e-6)
    assert q.shape == (2, 3) and q.dtype == np.int8
    np.testing.assert_array_equal(q[0], [64, -127, 32])
    np.testing.assert_array_equal(q[1], [-127, 32, 0])


def _cnn(width=8, hidden=16):
    return nn.Sequential(nn.Conv2D(width, 3, activation="relu"), nn.MaxPooling2D(2),
                         nn.Conv2D(width, 3, activation="relu"), nn.Flatten(), nn.Dropout(0.2),
                         nn.Dense(hidden, activation="relu"), nn.Dense(4, activation="softmax"))


def test_quantized_model_saves_4x_smaller_and_reloads_identically(tmp_path):
    tinydl.manual_seed(0)
    model = _cnn(16, 64)  # 55k weights: big enough that the file's fixed overhead does not matter
    x = np.random.default_rng(0).random((16, 20, 20, 1)).astype(np.float32)
    model.eval()
    want = model(tinydl.Tensor(x)).detach().numpy()
    q = quantize_model(model, x)
    got = q(tinydl.Tensor(x)).detach().numpy()
    assert np.abs(got - want).max() < 0.05 and got.shape == want.shape
    np.testing.assert_allclose(got.sum(axis=1), 1, rtol=1e-5)  # the softmax runs after the int8 Dense
    save_weights(tmp_path / "f.npz", model)
    save_quantized(tmp_path / "q.npz", q)
    ratio = os.path.getsize(tmp_path / "f.npz") / os.path.getsize(tmp_path / "q.npz")
    assert 3.4 < ratio < 4.0, ratio  # int8 weights; float32 scales and biases; the file's fixed overhead
    raw = model_nbytes(model) / model_nbytes(q)
    assert 3.8 < raw < 4.0, raw
    again = load_quantized(tmp_path / "q.npz")
    np.testing.assert_array_equal(again(tinydl.Tensor(x)).detach().numpy(), got)
    with tinydl.backends.use_reference():
        np.testing.assert_allclose(q(tinydl.Tensor(x)).detach().numpy(), got, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("batch", [1, 5])
def test_int8_activations_between_layers_give_the_unfused_outputs(batch):
    from tinydl.compress.quantize import QuantizedConv2D
    tinydl.manual_seed(1)
    model = nn.Sequential(nn.Conv2D(6, 3, activation="relu"), nn.MaxPooling2D(2), nn.Conv2D(5, (2, 3), padding="same"),
                          nn.MaxPooling2D(2, strides=1), nn.Conv2D(7, 3, activation="relu"), nn.Flatten(),
                          nn.Dense(9, activation="relu"), nn.Dense(3))
    x = np.random.default_rng(batch).standard_normal((batch, 15, 13, 2)).astype(np.float32)
    model(tinydl.Tensor(x))
    model.eval()
    fused, plain = quantize_model(model, x, fuse=True), quantize_model(model, x, fuse=False)
    assert [type(l).__name__ for l in fused] == ["QuantizedConv2D"] * 3 + ["Flatten", "QuantizedDense", "QuantizedDense"]
    assert [l.pool for l in fused if isinstance(l, QuantizedConv2D)] == [((2, 2), (2, 2)), ((2, 2), (1, 1)), None]
    with tinydl.no_grad():
        h = fused[0](tinydl.Tensor(x))
        assert h.data.dtype == np.int8  # the int8 activations reach the next conv
        got = fused(tinydl.Tensor(x)).detach().numpy()
        want = plain(tinydl.Tensor(x)).detach().numpy()
    np.testing.assert_array_equal(got, want)


def test_quantize_model_refuses_unsupported_layers():
    m = nn.Sequential(nn.Dense(4), nn.BatchNormalization())
    m(tinydl.zeros(2, 3))
    with pytest.raises(NotImplementedError, match="BatchNormalization"):
        quantize_model(m, np.zeros((2, 3), np.float32))


def test_quantization_aware_training_learns_and_uses_the_observed_ranges():
    tinydl.manual_seed(0)
    model = _cnn()
    rng = np.random.default_rng(0)
    x = rng.random((64, 12, 12, 1)).astype(np.float32)
    y = (x[:, :6].mean(axis=(1, 2, 3)) > x[:, 6:].mean(axis=(1, 2, 3))).astype(np.int64)
    model(tinydl.Tensor(x[:2]))
    qat = prepare_qat(model)
    assert sum(isinstance(l, FakeQuant) for l in qat) == 4
    opt = optim.Adam(qat.parameters(), lr=3e-3)
    losses = []
    for step in range(30):
        opt.zero_grad()
        loss = nn.losses.sparse_categorical_crossentropy(y, qat(tinydl.Tensor(x)))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    fq = [l for l in qat if isinstance(l, FakeQuant)]
    assert all(float(f.range[0]) > 0 for f in fq)
    strip_qat(qat)
    q = quantize_model(qat, x[:8])
    assert float(q[0].input_scale[0]) == pytest.approx(float(fq[0].range[0]) / 127)
    qat.eval()
    np.testing.assert_allclose(q(tinydl.Tensor(x)).detach().numpy(), qat(tinydl.Tensor(x)).detach().numpy(), atol=0.05)
