"""Keras layer arguments against Keras 3 / TF 2.21 (tests/golden/record_keras_layer_args.py), and
the arguments tinydl refuses with NotImplementedError naming them."""
import os

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinydl
from tinydl.tf import keras
from tinydl.keras import layers

from golden.keras_layer_args_cases import CASES
from tinydl.testing import gradcheck, gradgradcheck

G = np.load(os.path.join(os.path.dirname(__file__), "golden", "keras_layer_args.npz"), allow_pickle=False)


def test_recorded_with_the_pinned_tensorflow():
    assert str(G["__version__"]).startswith("tensorflow 2.21.0, keras 3.")


@pytest.mark.parametrize("name", sorted(CASES))
def test_case_matches_keras(name):
    tinydl.manual_seed(0)
    got = CASES[name](keras, layers, np)
    for key, value in got.items():
        np.testing.assert_allclose(np.asarray(value), G[f"{name}|{key}"], rtol=2e-5, atol=2e-6,
                                   err_msg=f"{name}: {key}")


def test_dropout_noise_shape_shares_the_mask_and_a_seed_repeats_it():
    x = np.ones((4, 6, 5), np.float32)
    d = layers.Dropout(0.5, noise_shape=(None, 1, 5), seed=3)
    y = d(x, training=True).numpy()
    assert (y == y[:, :1, :]).all() and set(np.unique(y)) <= {0.0, 2.0}
    y2 = layers.Dropout(0.5, noise_shape=(None, 1, 5), seed=3)(x, training=True).numpy()
    np.testing.assert_array_equal(y, y2)
    with pytest.raises(ValueError, match="noise_shape"):
        layers.Dropout(0.5, noise_shape=(None, 2, 5))(x, training=True)


def test_config_round_trips_the_new_arguments():
    d = layers.Dense(2, kernel_constraint="max_norm", activity_regularizer="l2", bias_constraint="non_neg")
    again = layers.Dense.from_config(d.get_config())
    again(np.ones((1, 3), np.float32))
    assert again.kernel.constraint.get_config() == {"max_value": 2, "axis": 0}
    assert again.activity_regularizer.get_config() == {"l2": 0.01}
    c = layers.Conv2D(4, 3, groups=2)
    assert layers.Conv2D.from_config(c.get_config()).groups == 2


@pytest.mark.parametrize("make, what", [
    (lambda: layers.Dense(2, lora_rank=4), "lora_rank"),
    (lambda: layers.Conv2DTranspose(4, 3, groups=2), "groups"),
    (lambda: layers.BatchNormalization(renorm=True), "renorm"),
    (lambda: layers.BatchNormalization(synchronized=True), "synchronized"),
    (lambda: layers.LayerNormalization(rms_scaling=True), "rms_scaling"),
    (lambda: layers.Embedding(4, 2, sparse=True), "sparse"),
    (lambda: layers.LSTM(3, zero_output_for_mask=True), "zero_output_for_mask"),
    (lambda: layers.MultiHeadAttention(2, 4, attention_axes=(1,)), "attention_axes"),
    (lambda: layers.MultiHeadAttention(2, 4, use_gate=True), "use_gate"),
])
def test_unimplemented_arguments_are_named(make, what):
    with pytest.raises(NotImplementedError, match=what):
        make()


def test_groups_must_divide_the_channels():
    with pytest.raises(ValueError, match="divisible by groups"):
        layers.Conv2D(5, 3, groups=2)
    with pytest.raises(ValueError, match="divisible by groups"):
        layers.Conv2D(4, 3, groups=2)(np.ones((1, 5, 5, 3), np.float32))


@given(groups=st.sampled_from([1, 2, 3]), per_group=st.integers(1, 2), filters_per_group=st.integers(1, 2),
       length=st.integers(3, 6), stride=st.integers(1, 2), padding=st.sampled_from(["valid", "same"]),
       two_d=st.booleans(), seed=st.integers(0, 2 ** 16))
@settings(deadline=None)
def test_grouped_convolution_gradients_first_and_second_order(groups, per_group, filters_per_group, length, stride,
                                                              padding, two_d, seed):
    """Grouped Conv1D/Conv2D against float64 finite differences, in the input, kernel and bias."""
    rng = np.random.default_rng(seed)
    c, f = groups * per_group, groups * filters_per_group
    shape = (2, length, length, c) if two_d else (2, length, c)
    layer = (layers.Conv2D if two_d else layers.Conv1D)(f, 2, strides=stride, padding=padding, groups=groups,
                                                        activation="tanh", dtype="float64")
    x = tinydl.Tensor(rng.normal(size=shape), requires_grad=True)
    layer(x)
    layer.bias.data[...] = rng.normal(size=layer.bias.shape)

    def fn(xx, kk, bb):  # the layer computing with the checked (float64 leaf) kernel and bias
        object.__setattr__(layer, "kernel", kk)
        object.__setattr__(layer, "bias", bb)
        assert layer.kernel is kk and layer.bias is bb
        return layer(xx)

    assert gradcheck(fn, x, layer.kernel, layer.bias)
    assert gradgradcheck(fn, x, layer.kernel, layer.bias)
