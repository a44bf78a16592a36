"""Magnitude pruning: masks, schedules, structured pruning, and masks through training and files."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinydl
from tinydl import nn, optim
from tinydl.compress import (GradualPruner, PolynomialSparsity, count_parameters, load_pruned, prepare_masks,
                             prune_filters, prune_magnitude, sparsity_report, strip_pruning)
from tinydl.io import load_checkpoint, save_checkpoint, save_weights
from tinydl.nn import reparam


def _cnn(bn=False):
    layers = [nn.Conv2D(6, 3, activation="relu"), nn.MaxPooling2D(2)]
    if bn:
        layers.append(nn.BatchNormalization())
    layers += [nn.Conv2D(5, 3, activation="relu"), nn.Flatten(), nn.Dense(7, activation="relu"), nn.Dense(3)]
    return nn.Sequential(*layers)


def _built(seed=0, bn=False):
    tinydl.manual_seed(seed)
    m = _cnn(bn)
    m(tinydl.zeros(1, 10, 10, 1))
    return m


def _x(n=6, seed=0):
    return tinydl.Tensor(np.random.default_rng(seed).random((n, 10, 10, 1)).astype(np.float32))


def _kernels(model):
    return {k: reparam.effective_weight(l, "kernel").detach().numpy() for k, l in
            ((p, m) for p, m in model.named_modules() if "kernel" in m._parameters)}


@given(s=st.sampled_from([0.0, 0.3, 0.5, 0.9]), seed=st.integers(0, 20))
def test_per_layer_magnitude_pruning_removes_the_smallest_fraction_of_each_layer(s, seed):
    m = _built(seed)
    raw = {k: v.copy() for k, v in _kernels(m).items()}
    report = prune_magnitude(m, s, scope="layer")
    for key, w in _kernels(m).items():
        k = int(round(s * w.size))
        assert np.count_nonzero(w == 0) == k
        kept, dropped = np.abs(raw[key][w != 0]), np.abs(raw[key][w == 0])
        if k and kept.size:
            assert dropped.max() <= kept.min()
        np.testing.assert_array_equal(w[w != 0], raw[key][w != 0])
        assert report[f"{key}.kernel"] == pytest.approx(k / w.size)


def test_global_pruning_uses_one_threshold():
    m = _built(1)
    raw = np.concatenate([np.abs(v).ravel() for v in _kernels(m).values()])
    report = prune_magnitude(m, 0.7, scope="global")
    pruned = np.concatenate([v.ravel() for v in _kernels(m).values()])
    assert report["total"] == pytest.approx(0.7, abs=1 / raw.size)
    assert raw[pruned == 0].max() <= raw[pruned != 0].min()
    per_layer = [v for k, v in report.items() if k != "total"]
    assert max(per_layer) - min(per_layer) > 0.05  # layers lose different fractions


def test_polynomial_schedule_is_zhu_and_gupta():
    s = PolynomialSparsity(0.1, 0.9, begin_step=10, end_step=110, frequency=20)
    assert s(0) is None and s(10) == pytest.approx(0.1) and s(110) == pytest.approx(0.9) and s(111) is None
    assert s(30) == pytest.approx(0.9 + (0.1 - 0.9) * (1 - 20 / 100) ** 3)
    assert s(31) is None
    values = [s.sparsity(t) for t in range(10, 111)]
    assert all(b >= a for a, b in zip(values, values[1:]))
    with pytest.raises(ValueError):
        PolynomialSparsity(0.5, 0.2, 0, 10)


def _train(model, opt, steps, pruner=None, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        x = tinydl.Tensor(rng.random((4, 10, 10, 1)).astype(np.float32))
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), rng.integers(0, 3, 4)).backward()
        opt.step()
        if pruner is not None:
            pruner.step()


def test_masks_hold_through_optimizer_steps_checkpoints_and_reloading(tmp_path):
    m = _built(2)
    opt = optim.Adam(m.parameters(), lr=1e-2, weight_decay=1e-3)
    _train(m, opt, 3)  # the moments are non-zero before pruning
    prune_magnitude(m, 0.6)
    masks = {k: (v == 0) for k, v in _kernels(m).items()}
    _train(m, opt, 5)
    for k, v in _kernels(m).items():
        assert (v[masks[k]] == 0).all(), k       # what the layer computes with
        assert np.count_nonzero(v) > 0
    pruner = GradualPruner(m, PolynomialSparsity(0.6, 0.6, 0, 1000, frequency=1000))
    _train(m, opt, 2, pruner)
    for (path, layer) in ((p, l) for p, l in m.named_modules() if "kernel" in l._parameters):
        assert (layer._parameters["kernel"].detach().numpy()[masks[path]] == 0).all()  # the stored weights too
    x = _x()
    want = m(x).detach().numpy()
    ckpt = tmp_path / "ckpt.npz"
    save_checkpoint(ckpt, m, opt)
    fresh = _built(99)
    prepare_masks(fresh, ckpt)
    fresh_opt = optim.Adam(fresh.parameters(), lr=1e-2, weight_decay=1e-3)
    load_checkpoint(ckpt, fresh, fresh_opt)
    np.testing.assert_array_equal(fresh(x).detach().numpy(), want)
    _train(fresh, fresh_opt, 3, seed=5)
    for k, v in _kernels(fresh).items():
        assert (v[masks[k]] == 0).all()
    weights = tmp_path / "w.npz"
    save_weights(weights, fresh)
    again = load_pruned(weights, _built(7))
    np.testing.assert_array_equal(again(x).detach().numpy(), fresh(x).detach().numpy())
    strip_pruning(again)
    assert not any("mask" in k for k in again.state_dict())
    np.testing.assert_array_equal(again(x).detach().numpy(), fresh(x).detach().numpy())


def test_keras_fit_with_gradual_pruning_callback(tmp_path):
    from tinydl.compress.keras_callbacks import GradualPruning
    from tinydl.keras import layers, models
    tinydl.manual_seed(0)
    model = models.Sequential([layers.Dense(16, activation="relu", input_shape=(8,)), layers.Dense(3)])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).random((64, 8)).astype(np.float32)
    y = np.random.default_rng(1).integers(0, 3, 64)
    cb = GradualPruning(PolynomialSparsity(0.0, 0.8, begin_step=0, end_step=6, frequency=2))
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[cb])
    assert sparsity_report(model)["total"] == pytest.approx(0.8, abs=0.01)
    model.save_weights(tmp_path / "k.npz")
    fresh = models.Sequential([layers.Dense(16, activation="relu", input_shape=(8,)), layers.Dense(3)])
    fresh.build((None, 8))
    prepare_masks(fresh, tmp_path / "k.npz")
    fresh.load_weights(tmp_path / "k.npz")
    np.testing.assert_array_equal(fresh.predict(x), model.predict(x))


def test_removing_dead_filters_gives_smaller_layers_and_the_same_outputs():
    m = _built(3)
    conv1, conv2, dense1 = m[0], m[2], m[4]
    # make filters 1 and 4 of conv1, filter 0 of conv2 and units 2, 5 of dense1 the weakest and dead
    for layer, dead in ((conv1, [1, 4]), (conv2, [0]), (dense1, [2, 5])):
        layer.kernel.data[..., dead] = 0
        layer.bias.data[dead] = 0
    x = _x()
    want = m(x).detach().numpy()
    before = count_parameters(m)
    done = prune_filters(m, 0.3)
    assert done == {conv1.name: (6, 5), conv2.name: (5, 4), dense1.name: (7, 5)}
    assert conv1.kernel.shape == (3, 3, 1, 5) and conv2.kernel.shape == (3, 3, 5, 4)
    assert dense1.kernel.shape == (2 * 2 * 4, 5) and m[5].kernel.shape == (5, 3)
    assert count_parameters(m) < before
    np.testing.assert_allclose(m(x).detach().numpy(), want, rtol=1e-5, atol=1e-6)


def test_structured_pruning_slices_batchnorm_and_keras_sequential_trains_after():
    from tinydl.keras import layers, models
    tinydl.manual_seed(4)
    model = models.Sequential([layers.Conv2D(8, 3, activation="relu", input_shape=(10, 10, 1)),
                               layers.BatchNormalization(), layers.MaxPooling2D(2), layers.Flatten(),
                               layers.Dense(6, activation="relu"), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).random((32, 10, 10, 1)).astype(np.float32)
    y = np.random.default_rng(1).integers(0, 3, 32)
    model.fit(x, y, epochs=1, verbose=0)
    prune_filters(model, 0.5)
    bn = model.layers[1]
    assert bn.gamma.shape == (4,) and bn.moving_mean.shape == (4,) and model.layers[4].kernel.shape == (64, 3)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    assert model.predict(x).shape == (32, 3)
