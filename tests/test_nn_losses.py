"""Losses: values against NumPy formulas, gradients by gradcheck, stability, input validation."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinydl as td
from tinydl import nn
from tinydl.nn import losses as L
from tinydl.testing import OpSpec, check_op_spec, gradcheck
from tinydl.testing import strategies as tst


@st.composite
def _pair(draw, lo=-3.0, hi=3.0, tlo=-3.0, thi=3.0):
    shape = draw(tst.shapes(1, 3))
    return draw(tst.arrays(shape, tst.floats(tlo, thi))), draw(tst.arrays(shape, tst.floats(lo, hi)))


@st.composite
def _onehot_logits(draw, probs=False):
    n, k = draw(st.integers(1, 4)), draw(st.integers(2, 5))
    labels = np.asarray(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    z = draw(tst.arrays((n, k), tst.floats(-4, 4)))
    if probs:
        z = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    return np.eye(k)[labels], z, labels


def _keras_mean(e):
    return e.mean(-1).mean() if e.ndim > 1 else e.mean()


EPS = 1e-7
SPECS = [
    OpSpec("mse", lambda t, p: L.mean_squared_error(t, p), lambda t, p: _keras_mean((p - t) ** 2), _pair(),
           ["Sub", "Mul", "Mean"], wrt=[1]),
    OpSpec("mae", lambda t, p: L.mean_absolute_error(t, p), lambda t, p: _keras_mean(np.abs(p - t)),
           _pair().filter(lambda tp: np.abs(tp[1] - tp[0]).min() > 0.05), ["Abs"], wrt=[1]),
    OpSpec("bce_probs", lambda t, p: L.binary_crossentropy(t, p),
           lambda t, p: _keras_mean(-(t * np.log(p) + (1 - t) * np.log(1 - p))),
           _pair(0.05, 0.95, 0.0, 1.0), ["Clip", "Log"], wrt=[1]),
    OpSpec("bce_logits", lambda t, z: L.binary_crossentropy(t, z, from_logits=True),
           lambda t, z: _keras_mean(-(t * np.log(1 / (1 + np.exp(-z))) + (1 - t) * np.log(1 - 1 / (1 + np.exp(-z))))),
           _pair(-4, 4, 0.0, 1.0).filter(lambda tp: np.abs(tp[1]).min() > 0.05), ["ReLU", "Exp", "Abs"], wrt=[1]),
    OpSpec("cce_logits", lambda t, z, y: L.categorical_crossentropy(t, z, from_logits=True),
           lambda t, z, y: (np.log(np.exp(z).sum(1)) - (t * z).sum(1)).mean(), _onehot_logits(),
           ["LogSoftmax"], wrt=[1]),
    OpSpec("cce_probs", lambda t, p, y: L.categorical_crossentropy(t, p),
           lambda t, p, y: (-(t * np.log(p)).sum(1)).mean(), _onehot_logits(probs=True), ["Div", "Clip"], wrt=[1]),
    OpSpec("sparse_cce_probs", lambda t, p, y: L.sparse_categorical_crossentropy(y, p),
           lambda t, p, y: (-np.log(p[np.arange(len(y)), y])).mean(), _onehot_logits(probs=True), ["GetItem"], wrt=[1]),
    OpSpec("sparse_cce_logits", lambda t, z, y: L.sparse_categorical_crossentropy(y, z, from_logits=True),
           lambda t, z, y: (np.log(np.exp(z).sum(1)) - z[np.arange(len(y)), y]).mean(), _onehot_logits(),
           ["SoftmaxCrossEntropy"], wrt=[1]),
    OpSpec("nll", lambda t, z, y: nn.functional.nll_loss(td.log_softmax(z), y, reduction="sum"),
           lambda t, z, y: (np.log(np.exp(z).sum(1)) - z[np.arange(len(y)), y]).sum(), _onehot_logits(),
           ["LogSoftmax", "GetItem"], wrt=[1]),
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@given(data=st.data())
def test_loss_value_and_gradient(spec, data):
    check_op_spec(spec, data.draw(spec.inputs))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_reductions(reduction):
    t, p = np.zeros((3, 2)), np.arange(6.0).reshape(3, 2)
    per = (p ** 2).mean(1)
    want = {"mean": per.mean(), "sum": per.sum(), "none": per}[reduction]
    np.testing.assert_allclose(L.mean_squared_error(t, td.Tensor(p), reduction=reduction).detach().numpy(), want)


@pytest.mark.parametrize("v", [1e4, -1e4])
def test_cross_entropies_finite_for_huge_logits(v):
    z = td.Tensor([[v, -v, 0.0], [0.0, v, -v]], requires_grad=True)
    y = np.array([1, 0])
    for loss in (L.sparse_categorical_crossentropy(y, z, from_logits=True), nn.functional.cross_entropy(z, y),
                 L.categorical_crossentropy(np.eye(3)[y], z, from_logits=True),
                 L.binary_crossentropy(np.ones((2, 3)), z, from_logits=True),
                 L.sparse_categorical_crossentropy(y, nn.layers.Softmax()(z)),        # through the kept logits
                 L.binary_crossentropy(np.zeros((2, 3)), nn.layers.Sigmoid()(z))):
        assert np.isfinite(loss.item())
        z.grad = None
        loss.backward()
        assert np.isfinite(z.grad.detach().numpy()).all()


def test_probabilities_of_exactly_zero_and_one_are_clipped():
    p = td.Tensor(np.array([[0.0, 1.0]]), requires_grad=True)  # float64: 1 - 1e-7 is exact enough
    loss = L.binary_crossentropy(np.array([[1.0, 0.0]]), p)
    assert loss.item() == pytest.approx(-np.log(1e-7), rel=1e-3)
    loss.backward()
    assert np.isfinite(p.grad.detach().numpy()).all()
    q = td.Tensor([[0.0, 1.0]], requires_grad=True)
    assert np.isfinite(L.sparse_categorical_crossentropy([0], q).item())


def test_softmax_output_loss_uses_logits_exactly():
    z = np.array([[2.0, -1.0, 0.5]])
    probs = nn.layers.Softmax()(td.Tensor(z))
    direct = L.sparse_categorical_crossentropy([2], td.Tensor(z), from_logits=True).item()
    assert L.sparse_categorical_crossentropy([2], probs).item() == pytest.approx(direct, rel=1e-12)


def test_logits_registry_frees_with_the_probabilities_and_makes_no_cycle():
    import gc
    import weakref
    from tinydl.nn import logits as registry
    layer = nn.Dense(3, activation="softmax")
    x = td.Tensor(np.array([[1e4, -1e4, 0.0]], np.float32))
    gc.disable()
    try:
        probs = layer(x)
        z = registry.logits_of(probs, "softmax")
        assert z is not None and registry.logits_of(probs, "sigmoid") is None
        assert registry.logits_of(td.Tensor(probs.detach().numpy()), "softmax") is None  # a copy has no logits
        entries, z_ref = len(registry._entries), weakref.ref(z)
        del z, probs  # reference counting alone frees both: nothing refers back to the probabilities
        assert z_ref() is None and len(registry._entries) == entries - 1
    finally:
        gc.enable()


def test_logits_registry_across_threads():
    import threading
    from tinydl.nn import logits as registry
    layers = [nn.Dense(4, activation=a, input_dim=3) for a in ("softmax", "sigmoid")]
    for layer in layers:
        layer(td.zeros(1, 3))  # built before the threads share them
    errors = []

    def work(layer):
        try:
            for i in range(40):
                out = layer(td.Tensor(np.full((2, 3), float(i), np.float32)))
                z = registry.logits_of(out, layer.activation).detach().numpy()
                if layer.activation == "sigmoid":
                    expected = 1 / (1 + np.exp(-z))
                else:
                    expected = np.exp(z - z.max(-1, keepdims=True))
                    expected /= expected.sum(-1, keepdims=True)
                np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-5, atol=1e-7)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(layer,)) for layer in layers * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_label_validation_messages():
    p = td.Tensor(np.full((4, 3), 1 / 3))
    # Keras casts float class ids: whole numbers are accepted, anything else is refused
    np.testing.assert_allclose(np.asarray(L.sparse_categorical_crossentropy(np.array([0.0, 1.0, 2.0, 1.0]), p)),
                               np.asarray(L.sparse_categorical_crossentropy(np.array([0, 1, 2, 1]), p)))
    with pytest.raises(TypeError, match="labels must be integers .* got dtype float64 with non-integer values"):
        L.sparse_categorical_crossentropy(np.array([0.0, 1.5, 2.0, 1.0]), p)
    if td.active_backend() == "cpu":  # on the GPU the range check is skipped by design (no stream stall)
        with pytest.raises(ValueError, match=r"labels must be in \[0, 3\).*\[0, 3\]"):
            L.sparse_categorical_crossentropy(np.array([0, 1, 2, 3]), p)
    with pytest.raises(ValueError, match=r"labels have shape \(5,\) but predictions have batch size 4"):
        L.sparse_categorical_crossentropy(np.zeros(5, int), p)
    with pytest.raises(TypeError, match="categorical_crossentropy: y_true has integer dtype"):
        L.categorical_crossentropy(np.array([0, 1, 2, 1]), p)
    with pytest.raises(ValueError, match=r"y_true has shape \(4, 2\) but y_pred has shape \(4, 3\)"):
        L.mean_squared_error(np.zeros((4, 2)), p)


def test_loss_objects_pytorch_order():
    z = td.Tensor(np.array([[1.0, 2.0]]), requires_grad=True)
    crit = nn.CrossEntropyLoss()
    crit(z, np.array([1])).backward()
    s = np.exp([1.0, 2.0]) / np.exp([1.0, 2.0]).sum()
    np.testing.assert_allclose(z.grad.detach().numpy(), [s - [0, 1]])
    assert nn.MSELoss(reduction="sum")(td.Tensor([1.0, 3.0]), td.Tensor([0.0, 0.0])).item() == 10.0
    gradcheck(lambda a: nn.BCEWithLogitsLoss()(a, np.array([1.0, 0.0])), np.array([0.3, -2.0]))


def test_keras_bce_from_logits_second_derivative_is_exact_at_zero():
    """d/dz = sigmoid(z) - y and d2/dz2 = sigmoid'(z), z = 0 included (an abs/relu form is wrong there)."""
    import tinydl
    from tinydl.nn import losses as keras_losses
    z0 = np.array([[0.0, 1e-3, -2.0, 5.0, 0.0]])
    y = tinydl.tensor(np.array([[0.0, 1.0, 1.0, 0.0, 1.0]]), dtype=tinydl.float64)
    z = tinydl.tensor(z0, dtype=tinydl.float64, requires_grad=True)
    loss = keras_losses.binary_crossentropy(y, z, from_logits=True)
    g, = tinydl.autograd.grad(loss, z, create_graph=True)
    h, = tinydl.autograd.grad(g.sum(), z)
    s = 1 / (1 + np.exp(-z0))
    np.testing.assert_allclose(g.numpy(), (s - y.numpy()) / 5, rtol=1e-12)
    np.testing.assert_allclose(h.numpy(), s * (1 - s) / 5, rtol=1e-12)
