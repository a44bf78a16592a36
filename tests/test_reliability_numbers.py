"""No silent wrong numbers: NaN propagation in every Numba kernel, the BCE-from-logits gradient
at 0, overflow-free norms and GELU-tanh at the dtype's extremes, var with ddof >= n."""
import warnings

import numpy as np
import pytest

import tinydl
from tinydl import nn
from tinydl.backends import numba_cpu as fast
from tinydl.backends import reference as ref
from tinydl.core import functional as T
from tinydl.core.autograd import AnomalyError
from tinydl.keras import layers, models
from tinydl.nn import losses


@pytest.fixture
def kernels_even_on_tiny_arrays(monkeypatch):
    monkeypatch.setattr(fast, "SMALL_ELEMENTWISE", 0)


def same_with_nan(actual, expected, rtol=1e-5):
    """NaN exactly where the reference has NaN, the other values equal up to rounding."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol, equal_nan=True)


def with_nans(shape, count, seed, dtype=np.float32):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape).astype(dtype)
    x.reshape(-1)[rng.choice(x.size, count, replace=False)] = np.nan
    return x


# ---------------------------------------------------------------------------- BCE from logits

def test_bce_from_logits_gradient_at_zero_is_sigmoid_minus_label():
    for y in (0.0, 1.0, 0.25):
        z = tinydl.Tensor(np.zeros((4, 1), np.float32), requires_grad=True)
        loss = losses.binary_crossentropy(np.full((4, 1), y, np.float32), z, from_logits=True)
        loss.backward()
        np.testing.assert_allclose(z.grad.detach().numpy(), (0.5 - y) / 4, rtol=1e-6)
        z2 = tinydl.Tensor(np.zeros(3, np.float64), requires_grad=True)
        nn.functional.binary_cross_entropy_with_logits(z2, np.full(3, y), reduction="sum").backward()
        np.testing.assert_allclose(z2.grad.detach().numpy(), 0.5 - y)


def test_zero_initialised_logistic_model_learns_all_zero_labels():
    """The issue's example: Dense(1, 'sigmoid') from zeros with all-zero labels left loss 0.6931."""
    tinydl.manual_seed(0)
    model = models.Sequential([layers.Dense(1, activation="sigmoid", kernel_initializer="zeros",
                                            input_shape=(3,))])
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    x = np.ones((16, 3), np.float32)
    y = np.zeros((16, 1), np.float32)
    first = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert first == pytest.approx(np.log(2), rel=1e-5)
    assert model.evaluate(x, y, verbose=0) < first - 0.01


# ---------------------------------------------------------------------------- NaN in the kernels

@pytest.mark.parametrize("act", ["linear", "relu", "sigmoid", "tanh"])
def test_bias_act_kernel_propagates_nan_as_the_reference(act, kernels_even_on_tiny_arrays):
    x = with_nans((40, 7), 25, 1)
    b = np.random.default_rng(2).normal(size=7).astype(np.float32)
    b[3] = np.nan
    same_with_nan(fast.bias_act_forward(x, b, act), ref.bias_act_forward(x, b, act))
    y = ref.bias_act_forward(x, b, act)
    gy = with_nans(y.shape, 10, 3)
    for a, e in zip(fast.bias_act_backward(y, gy, act), ref.bias_act_backward(y, gy, act)):
        same_with_nan(a, e)


def test_dense_relu_above_the_kernel_threshold_keeps_nan():
    """Dense above ~16k output elements used the fused kernel, which mapped NaN to 0."""
    layer = nn.Dense(64, activation="relu", input_shape=(8,))
    x = np.random.default_rng(0).normal(size=(300, 8)).astype(np.float32)
    x[5, 2] = np.nan
    out = layer(x).detach().numpy()
    assert out.size >= fast.SMALL_ELEMENTWISE
    with tinydl.use_reference():
        expected = layer(x).detach().numpy()
    same_with_nan(out, expected)
    assert np.isnan(out[5]).all() and not np.isnan(np.delete(out, 5, axis=0)).any()


@pytest.mark.parametrize("pool,stride,padding", [((2, 2), (2, 2), ((0, 0), (0, 0))),
                                                 ((3, 3), (2, 2), ((1, 1), (1, 1))),
                                                 ((2, 3), (1, 2), ((0, 1), (1, 0)))])
def test_max_pooling_nan_at_every_window_position(pool, stride, padding):
    """A NaN wins its window wherever it is (numpy.argmax and PyTorch agree); the kernel kept
    it only when it came first."""
    rng = np.random.default_rng(0)
    for pos in range(6 * 6):
        x = rng.normal(size=(2, 6, 6, 3)).astype(np.float32)
        x[1, pos // 6, pos % 6, 1] = np.nan
        y, arg = fast.maxpool2d_forward(x, pool, stride, padding)
        y_ref, arg_ref = ref.maxpool2d_forward(x, pool, stride, padding)
        same_with_nan(y, y_ref, rtol=0)
        np.testing.assert_array_equal(arg, arg_ref)
        gy = rng.normal(size=y.shape).astype(np.float32)
        same_with_nan(fast.maxpool2d_backward(gy, arg, x.shape, pool, stride, padding),
                      ref.maxpool2d_backward(gy, arg_ref, x.shape, pool, stride, padding))
    x = with_nans((2, 6, 6, 3), 9, 4)
    x[0, :2, :2, 0] = np.nan  # a window of several NaNs: the first one is chosen
    for f, r in zip(fast.maxpool2d_forward(x, (2, 2), (2, 2), 0), ref.maxpool2d_forward(x, (2, 2), (2, 2), 0)):
        same_with_nan(f, r, rtol=0)


def test_conv_relu_average_pool_and_softmax_xent_kernels_keep_nan(kernels_even_on_tiny_arrays):
    x = with_nans((2, 7, 7, 3), 4, 5)
    x[1, 3, 3, 0] = np.nan
    w = np.random.default_rng(6).normal(size=(3, 3, 3, 4)).astype(np.float32)
    b = np.zeros(4, np.float32)
    for c_in, xx, ww in ((3, x, w), (1, x[..., :1].copy(), w[:, :, :1].copy())):
        fused = fast.conv2d_bias_act_forward(xx, ww, b, "relu", (1, 1), ((1, 1), (1, 1)), (1, 1))
        plain = ref.bias_act_forward(ref.conv2d_forward(xx, ww, (1, 1), ((1, 1), (1, 1)), (1, 1)), b, "relu")
        same_with_nan(fused, plain, rtol=1e-4)
        assert np.isnan(fused).any()
    same_with_nan(fast.avgpool2d_forward(x, (2, 2), (2, 2), 0), ref.avgpool2d_forward(x, (2, 2), (2, 2), 0))
    logits = with_nans((6, 5), 3, 7)
    labels = np.array([0, 1, 2, 3, 4, 0])
    for f, r in zip(fast.softmax_xent_forward(logits, labels), ref.softmax_xent_forward(logits, labels)):
        same_with_nan(f, r)


def test_layernorm_gelu_and_lstm_kernels_keep_nan():
    x = with_nans((4, 5, 8), 3, 8)
    ln = nn.LayerNorm(8)
    gelu_x = tinydl.Tensor(x)
    out = (ln(x).detach().numpy(), T.gelu(gelu_x, "tanh").detach().numpy())
    lstm = layers.LSTM(6, return_sequences=True)
    seq = lstm(x).detach().numpy()
    with tinydl.use_reference():
        expected = (ln(x).detach().numpy(), T.gelu(gelu_x, "tanh").detach().numpy())
        seq_ref = lstm(x).detach().numpy()
    for a, e in zip(out, expected):
        same_with_nan(a, e)
    same_with_nan(seq, seq_ref, rtol=1e-4)


# ---------------------------------------------------------------------------- overflow

def _bn_forward_backward(x, dtype, g):
    layer = layers.BatchNormalization(dtype=dtype, input_shape=x.shape[1:])
    xt = tinydl.Tensor(x.astype(dtype), requires_grad=True)
    with warnings.catch_warnings():  # the variance (1e60) cannot be a float32 moving variance
        warnings.filterwarnings("ignore", ".*the moving variance", RuntimeWarning)
        y = layer(xt)
    (y * tinydl.Tensor(g.astype(dtype))).sum().backward()
    return y.detach().numpy(), xt.grad.detach().numpy(), layer.gamma.grad.detach().numpy(), layer.moving_mean.copy()


def _extreme(shape, big, dtype, seed):
    rng = np.random.default_rng(seed)
    return (rng.choice([-1, 1], size=shape) * rng.uniform(0.1, 1, size=shape) * big).astype(dtype)


@pytest.mark.parametrize("dtype,big,rtol", [(np.float32, 1e30, 1e-4), (np.float16, 1e4, 2e-2)])
def test_batchnorm_is_finite_and_right_at_the_dtype_extremes(dtype, big, rtol):
    x = _extreme((16, 3), big, dtype, 0)
    g = np.random.default_rng(1).normal(size=x.shape)
    got = _bn_forward_backward(x, dtype, g)
    want = _bn_forward_backward(x.astype(np.float64), np.float64, g)
    for a, e in zip(got[:3], want[:3]):
        assert np.isfinite(a).all()
        np.testing.assert_allclose(a.astype(np.float64), e, rtol=rtol, atol=rtol * np.abs(e).max() + 1e-30)
    np.testing.assert_allclose(got[3].astype(np.float64), want[3], rtol=rtol)


@pytest.mark.parametrize("dtype,big,rtol", [(np.float32, 1e30, 1e-4), (np.float16, 1e4, 2e-2)])
@pytest.mark.parametrize("layout", ["last", "middle", "non_contiguous"])
def test_layernorm_is_finite_and_right_at_the_dtype_extremes(dtype, big, rtol, layout):
    x = _extreme((4, 6, 5), big, dtype, 2)
    axis = 1 if layout == "middle" else -1
    if layout == "non_contiguous":
        x = np.swapaxes(_extreme((4, 5, 6), big, dtype, 3), 1, 2)
        assert not x.flags.c_contiguous
    g = np.random.default_rng(4).normal(size=x.shape)

    def run(arr, dt):
        layer = layers.LayerNormalization(axis=axis, dtype=dt)
        xt = tinydl.Tensor(arr, requires_grad=True)
        y = layer(xt)
        (y * tinydl.Tensor(g.astype(dt))).sum().backward()
        return y.detach().numpy(), xt.grad.detach().numpy(), layer.gamma.grad.detach().numpy()

    for a, e in zip(run(x, dtype), run(x.astype(np.float64), np.float64)):
        assert np.isfinite(a).all()
        np.testing.assert_allclose(a.astype(np.float64), e, rtol=rtol, atol=rtol * np.abs(e).max() + 1e-30)


@pytest.mark.parametrize("dtype,big", [(np.float32, 1e30), (np.float16, 1e4)])
@pytest.mark.parametrize("path", ["kernel", "reference"])
def test_gelu_tanh_gradient_is_finite_at_the_dtype_extremes(dtype, big, path):
    x = np.array([-big, -big / 3, -3, -0.5, 0, 0.5, 3, big / 3, big], dtype)

    def run(arr):
        xt = tinydl.Tensor(arr, requires_grad=True)
        y = T.gelu(xt, "tanh")
        y.sum().backward()
        return y.detach().numpy(), xt.grad.detach().numpy()

    if path == "reference":
        with tinydl.use_reference():
            got = run(x)
    else:
        got = run(x)
    want = run(x.astype(np.float64))
    for a, e in zip(got, want):
        assert np.isfinite(a).all(), a
        np.testing.assert_allclose(a.astype(np.float64), e, rtol=2e-3, atol=1e-3 * max(1, np.abs(e).max()))


# ---------------------------------------------------------------------------- var

@pytest.mark.parametrize("ddof", [3, 4, 7])
def test_var_with_no_degrees_of_freedom_is_inf_or_nan_never_negative(ddof):
    x = np.array([[1.0, 2.0, 4.0], [5.0, 5.0, 5.0]])
    out = T.var(tinydl.Tensor(x), axis=1, ddof=ddof).detach().numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = np.var(x, axis=1, ddof=ddof)  # NumPy: divide by max(n - ddof, 0)
    np.testing.assert_array_equal(out, expected)
    assert not (out < 0).any()
    assert T.var(tinydl.Tensor(x), axis=1, ddof=1).detach().numpy() == pytest.approx(np.var(x, axis=1, ddof=1))


def test_detect_anomaly_sees_a_nan_bias_through_the_fused_relu():
    """A NaN bias in a large Dense+relu: the fused kernel turned it into 0, so anomaly mode was silent."""
    layer = nn.Dense(64, activation="relu", input_shape=(8,))
    kernel, bias = layer.get_weights()
    bias[7] = np.nan
    layer.set_weights([kernel, bias])
    x = np.ones((300, 8), np.float32)
    with pytest.raises(AnomalyError, match="BiasAct produced NaN"):
        with tinydl.detect_anomaly():
            layer(x)
