"""LoRA adapters, freezing with BatchNorm, and param groups for fine-tuning."""
import contextlib

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinydl
from tinydl import nn, optim
from tinydl.finetune import (apply_lora, load_lora, lora_adapters, merge_lora, remove_lora, save_lora,
                             unmerge_lora)
from tinydl.io import CheckpointError, load_state
from tinydl.testing import gradcheck


@contextlib.contextmanager
def bound(adapter, A, B):
    """Let gradcheck's float64 leaves stand in for the adapter's A and B."""
    old = adapter.A, adapter.B
    object.__setattr__(adapter, "A", A)
    object.__setattr__(adapter, "B", B)
    try:
        yield
    finally:
        object.__setattr__(adapter, "A", old[0])
        object.__setattr__(adapter, "B", old[1])


def _adapted(layer, x_shape, rank, seed):
    tinydl.manual_seed(seed)
    layer(tinydl.Tensor(np.zeros(x_shape)))
    (adapter,) = apply_lora(layer, rank=rank, alpha=2.0 * rank).values()
    rng = np.random.default_rng(seed)
    return adapter, rng.standard_normal(x_shape), rng.standard_normal(adapter.A.shape), \
        rng.standard_normal(adapter.B.shape)


@given(n=st.integers(1, 3), fin=st.integers(1, 4), fout=st.integers(1, 4), rank=st.integers(1, 3),
       seed=st.integers(0, 99))
def test_gradients_through_lora_dense(n, fin, fout, rank, seed):
    layer = nn.Dense(fout, activation="tanh", dtype="float64")
    adapter, x, a, b = _adapted(layer, (n, fin), rank, seed)

    def fn(x, A, B):
        with bound(adapter, A, B):
            return layer(x)
    gradcheck(fn, x, a, b)
    # the forward is the dense layer with W + (alpha/r) (B A)^T
    w = layer.kernel.detach().numpy() + 2.0 * (b @ a).T
    with bound(adapter, tinydl.Tensor(a), tinydl.Tensor(b)):
        np.testing.assert_allclose(layer(tinydl.Tensor(x)).detach().numpy(), np.tanh(x @ w + layer.bias.detach().numpy()), rtol=1e-12)


@given(c=st.integers(1, 3), f=st.integers(1, 3), k=st.sampled_from([1, 2, 3]), rank=st.integers(1, 2),
       padding=st.sampled_from(["valid", "same"]), seed=st.integers(0, 99))
def test_gradients_through_lora_conv2d(c, f, k, rank, padding, seed):
    layer = nn.Conv2D(f, k, padding=padding, activation="relu", dtype="float64")
    adapter, x, a, b = _adapted(layer, (2, 4, 4, c), rank, seed)
    layer.bias.data[...] = 0.5  # keep relu away from its kink for the finite differences

    def fn(x, A, B):
        with bound(adapter, A, B):
            return layer(x)
    gradcheck(fn, x, a, b)


@given(heads=st.integers(1, 2), kd=st.integers(1, 3), rank=st.integers(1, 2), seed=st.integers(0, 99))
def test_gradients_through_lora_attention_projections(heads, kd, rank, seed):
    tinydl.manual_seed(seed)
    mha = nn.MultiHeadAttention(heads, kd, dtype="float64")
    x = np.random.default_rng(seed).standard_normal((1, 3, 4))
    mha(tinydl.Tensor(x), tinydl.Tensor(x))
    adapters = apply_lora(mha, rank=rank)
    assert sorted(k.split(".")[-1] for k in adapters) == ["key_kernel", "output_kernel", "query_kernel",
                                                           "value_kernel"]
    rng = np.random.default_rng(seed + 1)
    for name in ("query_kernel", "output_kernel"):
        adapter = adapters[name]
        a, b = rng.standard_normal(adapter.A.shape), rng.standard_normal(adapter.B.shape)

        def fn(x, A, B, adapter=adapter):
            with bound(adapter, A, B):
                return mha(x, x)
        gradcheck(fn, x, a, b)


def _toy_cnn():
    return nn.Sequential(nn.Conv2D(4, 3, activation="relu"), nn.MaxPooling2D(2), nn.Flatten(),
                         nn.Dense(8, activation="relu"), nn.Dense(3))


def test_adapted_model_starts_equal_trains_only_adapters_and_merges():
    tinydl.manual_seed(0)
    model = _toy_cnn()
    x = tinydl.Tensor(np.random.default_rng(0).random((5, 8, 8, 1)).astype(np.float32))
    base_out = model(x).detach().numpy()
    base = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    adapters = apply_lora(model, rank=2)
    assert set(adapters) == {"0.kernel", "3.kernel", "4.kernel"}
    np.testing.assert_array_equal(model(x).detach().numpy(), base_out)  # B = 0: the pretrained function
    opt = optim.Adam(model.trainable_parameters(), lr=1e-2)
    y = np.array([0, 1, 2, 0, 1])
    for _ in range(3):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    state = model.state_dict()
    for k, v in base.items():
        np.testing.assert_array_equal(state[k], v)  # frozen: unchanged
    assert all(np.abs(a.B.detach().numpy()).max() > 0 for a in adapters.values())
    unmerged = model(x).detach().numpy()
    assert not np.allclose(unmerged, base_out)
    merge_lora(model)
    np.testing.assert_allclose(model(x).detach().numpy(), unmerged, rtol=1e-5, atol=1e-6)
    unmerge_lora(model)
    np.testing.assert_allclose(model(x).detach().numpy(), unmerged, rtol=1e-5, atol=1e-6)
    for k, v in base.items():
        np.testing.assert_allclose(model.state_dict()[k], v, atol=1e-6)
    remove_lora(model)
    assert not lora_adapters(model) and "0.kernel_lora.A" not in model.state_dict()
    np.testing.assert_allclose(model(x).detach().numpy(), unmerged, rtol=1e-5, atol=1e-6)


def test_save_and_load_adapters_alone(tmp_path):
    tinydl.manual_seed(1)
    model = _toy_cnn()
    x = tinydl.Tensor(np.random.default_rng(1).random((2, 8, 8, 1)).astype(np.float32))
    model(x)
    base = model.state_dict()
    apply_lora(model, rank=3, alpha=6)
    for a in lora_adapters(model).values():
        a.B.data[...] = np.random.default_rng(2).standard_normal(a.B.shape)
    want = model(x).detach().numpy()
    path = tmp_path / "adapters.npz"
    save_lora(path, model)
    arrays, meta = load_state(path)
    assert sorted(arrays) == sorted(f"{k}.{m}" for k in ("0.kernel", "3.kernel", "4.kernel") for m in "AB")
    assert meta["adapters"][0]["rank"] == 3 and meta["adapters"][0]["alpha"] == 6
    fresh = _toy_cnn()
    fresh(x)
    fresh.load_state_dict(base)
    load_lora(path, fresh)
    np.testing.assert_array_equal(fresh(x).detach().numpy(), want)
    assert {n for n, p in fresh.named_parameters() if p.requires_grad} == {
        f"{k}_lora.{m}" for k in ("0.kernel", "3.kernel", "4.kernel") for m in "AB"}
    other = nn.Sequential(nn.Dense(3))
    other(tinydl.zeros(1, 4))
    with pytest.raises(CheckpointError, match="no such layer|does not fit"):
        load_lora(path, other)


def test_keep_trainable_head_and_layer_selection():
    tinydl.manual_seed(0)
    model = _toy_cnn()
    model(tinydl.zeros(1, 8, 8, 1))
    head = model[4]
    apply_lora(model, rank=1, layers=[nn.Conv2D], keep_trainable=[head.name])
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"0.kernel_lora.A", "0.kernel_lora.B", "4.kernel", "4.bias"}
    with pytest.raises(ValueError, match="no weights yet"):
        apply_lora(_toy_cnn(), rank=1)
    built = _toy_cnn()
    built(tinydl.zeros(1, 8, 8, 1))
    with pytest.raises(ValueError, match="rank"):
        apply_lora(built, rank=0)


def test_frozen_batchnorm_runs_in_inference_mode_like_keras():
    tinydl.manual_seed(0)
    x = np.random.default_rng(0).standard_normal((16, 3)).astype(np.float32) * 3 + 1
    bn = nn.BatchNormalization().train()
    bn(tinydl.Tensor(x))  # training mode: the moving statistics move
    mean, var = bn.moving_mean.copy(), bn.moving_variance.copy()
    bn.trainable = False
    assert bn.training
    y = bn(tinydl.Tensor(x)).detach().numpy()
    np.testing.assert_array_equal(bn.moving_mean, mean)
    np.testing.assert_array_equal(bn.moving_variance, var)
    expected = (x - mean) / np.sqrt(var + bn.epsilon) * bn.gamma.detach().numpy() + bn.beta.detach().numpy()
    np.testing.assert_allclose(y, expected, rtol=1e-5)
    # freezing the containing Keras model does the same, through fit()
    from tinydl.keras import layers, models
    model = models.Sequential([layers.Dense(4, input_shape=(3,)), layers.BatchNormalization(), layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, np.zeros((16, 2), np.float32), epochs=1, verbose=0)
    bnl = model.layers[1]
    before = bnl.moving_mean.copy()
    model.layers[0].trainable = model.layers[1].trainable = False
    model.fit(x, np.zeros((16, 2), np.float32), epochs=1, verbose=0)
    np.testing.assert_array_equal(bnl.moving_mean, before)
    bnl.trainable = True
    model.fit(x, np.zeros((16, 2), np.float32), epochs=1, verbose=0)
    assert not np.array_equal(bnl.moving_mean, before)


def test_pytorch_batchnorm_ignores_requires_grad_as_pytorch_does():
    bn = nn.BatchNorm1d(3)
    for p in bn.parameters():
        p.requires_grad = False
    bn(tinydl.Tensor(np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32) + 5))
    assert not np.allclose(bn.running_mean.detach().numpy(), 0)  # train mode still updates the running mean


def test_param_groups_give_the_body_and_head_their_own_learning_rates():
    tinydl.manual_seed(0)
    body, head = nn.Dense(4), nn.Dense(2)
    x = tinydl.Tensor(np.ones((3, 5), np.float32))
    head(body(x))
    opt = optim.SGD([{"params": body.parameters(), "lr": 0.0}, {"params": head.parameters()}], lr=0.1)
    b0, h0 = body.kernel.detach().numpy().copy(), head.kernel.detach().numpy().copy()
    (head(body(x)) ** 2).sum().backward()
    opt.step()
    np.testing.assert_array_equal(body.kernel.detach().numpy(), b0)
    np.testing.assert_allclose(head.kernel.detach().numpy(), h0 - 0.1 * head.kernel.grad.detach().numpy(), rtol=1e-6)


def test_pytorch_layers_get_adapters_in_their_own_layout():
    """Linear (out, in) and Conv2d (out, in, kh, kw) weights: ΔW = B·A without the transpose."""
    tinydl.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 2))
    x = tinydl.Tensor(np.random.default_rng(0).random((2, 1, 6, 6)).astype(np.float32))
    base = model(x).detach().numpy()
    adapters = apply_lora(model, rank=2, alpha=4)
    assert set(adapters) == {"0.weight", "3.weight"}
    assert adapters["3.weight"].A.shape == (2, 48) and adapters["3.weight"].B.shape == (2, 2)
    assert adapters["0.weight"].A.shape == (2, 9) and adapters["0.weight"].B.shape == (3, 2)
    np.testing.assert_array_equal(model(x).detach().numpy(), base)
    a = adapters["3.weight"]
    a.B.data[...] = np.random.default_rng(1).standard_normal(a.B.shape)
    w = model[3].weight.detach().numpy() + 2.0 * (a.B.detach().numpy() @ a.A.detach().numpy())
    h = tinydl.relu(model[0](x)).detach().numpy().reshape(2, -1)
    np.testing.assert_allclose(model(x).detach().numpy(), h @ w.T + model[3].bias.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert {n for n, p in model.named_parameters() if p.requires_grad} == {
        f"{k}_lora.{m}" for k in ("0.weight", "3.weight") for m in "AB"}
