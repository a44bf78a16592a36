"""tinydl.summary: parameter counts against Keras's (computed by hand here), MACs against
bench/bench_cnn.py's own count, shapes and activation memory, for both APIs."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

import tinydl
from tinydl import keras, nn
from tinydl.keras import layers as kl

ROOT = Path(__file__).resolve().parents[1]

# The seed CNN, per layer: Keras's Param # (kernel + bias) and the MACs of one 28x28x1 image.
SEED_PARAMS = [3 * 3 * 1 * 32 + 32, 0, 3 * 3 * 32 * 64 + 64, 0, 3 * 3 * 64 * 64 + 64, 0, 576 * 64 + 64, 64 * 10 + 10]
SEED_MACS = [26 * 26 * 32 * 9 * 1, 0, 11 * 11 * 64 * 9 * 32, 0, 3 * 3 * 64 * 9 * 64, 0, 576 * 64, 64 * 10]
SEED_SHAPES = [(26, 26, 32), (13, 13, 32), (11, 11, 64), (5, 5, 64), (3, 3, 64), (576,), (64,), (10,)]


def seed_cnn_keras():
    tinydl.manual_seed(0)
    return keras.Sequential([
        kl.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)), kl.MaxPooling2D((2, 2)),
        kl.Conv2D(64, (3, 3), activation="relu"), kl.MaxPooling2D((2, 2)),
        kl.Conv2D(64, (3, 3), activation="relu"), kl.Flatten(), kl.Dense(64, activation="relu"),
        kl.Dense(10, activation="softmax")])


class SeedCNNTorchStyle(nn.Module):
    """The same network in the PyTorch-flavoured API (NCHW input, PyTorch layer names)."""

    def __init__(self):
        super().__init__()
        self.conv1, self.conv2, self.conv3 = nn.Conv2d(1, 32, 3), nn.Conv2d(32, 64, 3), nn.Conv2d(64, 64, 3)
        self.pool = nn.MaxPool2d(2)
        self.fc1, self.fc2 = nn.Linear(576, 64), nn.Linear(64, 10)

    def forward(self, x):
        x = self.pool(tinydl.relu(self.conv1(x)))
        x = self.pool(tinydl.relu(self.conv2(x)))
        x = tinydl.relu(self.conv3(x))
        return self.fc2(tinydl.relu(self.fc1(tinydl.flatten(x, 1))))


def test_seed_cnn_keras_counts_equal_keras_and_the_benchmark():
    assert sum(SEED_PARAMS) == 93_322 and sum(SEED_MACS) == 2_794_240   # the hand counts themselves
    model = seed_cnn_keras()
    r = tinydl.summary(model, (28, 28, 1))
    assert [row.params for row in r.layers] == SEED_PARAMS
    assert [row.macs for row in r.layers] == SEED_MACS
    assert [row.output_shape for row in r.layers] == [(1,) + s for s in SEED_SHAPES]
    assert [row.activation_bytes for row in r.layers] == [4 * int(np.prod(s)) for s in SEED_SHAPES]
    assert (r.total_params, r.trainable_params, r.non_trainable_params) == (93_322, 93_322, 0)
    assert r.total_macs == 2_794_240
    spec = importlib.util.spec_from_file_location("bench_cnn", ROOT / "bench" / "bench_cnn.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    flops = bench.model_flops()
    assert r.total_macs == flops["macs_per_image"]
    assert [row.macs for row in r.layers if row.macs] == [l["macs"] for l in flops["layers"] if l["macs"]]
    # Keras's own summary() of the same model prints the same total
    lines = []
    model.summary(print_fn=lines.append)
    assert "Total params: 93,322 (364.54 KB)" in lines
    # a batch scales MACs and activations, not parameters; the input shape is optional for Keras
    r32 = tinydl.summary(model, batch_size=32)
    assert r32.total_macs == 32 * 2_794_240 and r32.total_params == 93_322
    assert r32.activation_bytes == 32 * r.activation_bytes
    assert r32.layers[0].output_shape == (32, 26, 26, 32)


def test_seed_cnn_torch_style_module_same_counts():
    tinydl.manual_seed(0)
    r = tinydl.summary(SeedCNNTorchStyle(), (1, 28, 28))
    assert r.total_params == 93_322 and r.total_macs == 2_794_240
    names = [row.name for row in r.layers]
    assert names == ["conv1", "pool", "conv2", "conv3", "fc1", "fc2"]   # leaf modules, first-call order
    conv1 = r.layers[0]
    assert (conv1.output_shape, conv1.params, conv1.macs) == ((1, 32, 26, 26), 320, 26 * 26 * 32 * 9)
    # the pool is called twice: its row sums both calls' outputs
    assert r.layers[1].activation_bytes == 4 * (32 * 13 * 13 + 64 * 5 * 5)


def test_keras_counts_for_normalization_recurrent_embedding_and_frozen_layers():
    units_l, units_g, vocab, dim, steps = 8, 6, 50, 5, 7
    model = keras.Sequential([kl.Embedding(vocab, dim, input_shape=(steps,)),
                              kl.LSTM(units_l, return_sequences=True), kl.GRU(units_g), kl.Dense(10),
                              kl.BatchNormalization(), kl.Dropout(0.5), kl.Dense(3)])
    model.layers[-1].trainable = False
    r = tinydl.summary(model, batch_size=4)
    lstm = 4 * (units_l * (dim + units_l) + units_l)                 # Keras: 4 gates, kernel + recurrent + bias
    gru = 3 * (units_g * (units_l + units_g) + 2 * units_g)           # Keras GRU, reset_after=True: two biases
    expect = [(vocab * dim, 0), (lstm, 0), (gru, 0), (units_g * 10 + 10, 0), (20, 20), (0, 0), (0, 33)]
    assert [(row.trainable_params, row.non_trainable_params) for row in r.layers] == expect
    assert r.total_params == sum(a + b for a, b in expect) == 1_129
    assert r.non_trainable_params == 20 + 33
    b = 4
    lstm_macs = b * steps * (dim + units_l) * 4 * units_l            # input projection + h @ U per step
    gru_macs = b * steps * (units_l + units_g) * 3 * units_g
    assert [row.macs for row in r.layers] == [0, lstm_macs, gru_macs, b * units_g * 10, 0, 0, b * 10 * 3]
    # the summary ran in inference mode: BatchNormalization's moving statistics did not move
    before = [w.copy() for w in model.layers[4].get_weights()]
    tinydl.summary(model, batch_size=4)
    assert all(np.array_equal(x, y) for x, y in zip(before, model.layers[4].get_weights()))


def test_functional_model_rows_include_the_input_layer():
    inp = keras.Input(shape=(8,), name="features")
    out = kl.Dense(1, name="head")(kl.Concatenate(name="join")([kl.Dense(4, name="left")(inp),
                                                                 kl.Dense(4, name="right")(inp)]))
    model = keras.Model(inputs=inp, outputs=out)
    r = tinydl.summary(model)
    assert [(row.name, row.output_shape, row.params, row.macs) for row in r.layers] == [
        ("features", (1, 8), 0, 0), ("left", (1, 4), 36, 32), ("right", (1, 4), 36, 32),
        ("join", (1, 8), 0, 0), ("head", (1, 1), 9, 8)]


def test_subclassed_keras_model_rows_are_its_layers():
    class Small(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = kl.Dense(4, activation="relu")
            self.out = kl.Dense(2)

        def call(self, inputs, training=None):
            return self.out(self.hidden(inputs))

    r = tinydl.summary(Small(), (3,), batch_size=5)
    assert [(row.type, row.output_shape, row.params, row.macs) for row in r.layers] == [
        ("Dense", (5, 4), 3 * 4 + 4, 5 * 3 * 4), ("Dense", (5, 2), 4 * 2 + 2, 5 * 4 * 2)]
    with pytest.raises(ValueError, match="input_shape"):
        tinydl.summary(Small())


def test_printed_table_and_errors():
    r = tinydl.summary(seed_cnn_keras(), (28, 28, 1))
    text = str(r)
    assert "Total params: 93,322" in text and "Total MACs: 2,794,240 (2.79M) for a batch of 1" in text
    assert "Trainable params: 93,322" in text and "Non-trainable params: 0" in text
    for row in r.layers:
        assert f"{row.name} ({row.type})" in text
    assert "(1, 26, 26, 32)" in text and "2,230,272" in text
    model = nn.Sequential(nn.Linear(3, 2))
    with pytest.raises(ValueError, match="input_shape"):
        tinydl.summary(model)
    with pytest.raises(ValueError, match="batch_size"):
        tinydl.summary(model, (3,), batch_size=0)
    with pytest.raises(ValueError, match="without the batch axis"):
        tinydl.summary(model, (None, 3))
    assert model.training  # restored after the run
