"""tinydl.keras: the tf.keras facade (models, training loop, callbacks, losses, metrics, optimizers)."""
import csv
import doctest
import importlib
import io
import math
import os
import re
import warnings
from contextlib import redirect_stdout

import numpy as np
import pytest

import tinydl
import tinydl as tf
from tinydl import nn, optim
from tinydl.io import CheckpointError
from tinydl.keras import callbacks, layers, losses, metrics, models, optimizers


def _blobs(n=120, seed=0, classes=3, features=4):
    """A small separable classification problem."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=3.0, size=(classes, features))
    y = rng.integers(0, classes, size=n)
    x = centers[y] + rng.normal(size=(n, features))
    return x.astype(np.float32), y


def _mlp(features=4, classes=3, hidden=16, **kw):
    return models.Sequential([layers.Dense(hidden, activation="relu", input_shape=(features,)),
                              layers.Dense(classes, activation="softmax")], **kw)


@pytest.fixture(autouse=True)
def _seed():
    tinydl.manual_seed(0)


# ---- imports as in the seed programs ----------------------------------------------------------------

def test_seed_import_lines_work():
    from tinydl.keras import layers as L, models as M  # noqa: F401
    from tinydl.keras.models import Sequential, Model  # noqa: F401
    from tinydl.keras.layers import Dense, Activation, Input  # noqa: F401
    assert tf.keras.layers.Dense is nn.Dense is Dense
    assert tf.keras.layers.Conv2D is nn.Conv2D and tf.keras.layers.MaxPooling2D is nn.MaxPooling2D
    assert tf.keras.Sequential is Sequential and tf.keras.Model is Model and tf.keras.Input is Input
    assert callable(tf.keras.datasets.mnist.load_data)
    opt = tf.keras.optimizers.Adam(0.01)
    assert opt.learning_rate == 0.01
    model = tf.keras.Sequential([tf.keras.layers.Dense(units=1, input_shape=(1,))])
    assert isinstance(model, nn.Module) and model.built
    from tinydl.keras.utils import to_categorical
    assert to_categorical([1], 3).tolist() == [[0.0, 1.0, 0.0]]


def test_layers_are_tinydl_nn_layers_not_copies():
    for name in ["Dense", "Conv2D", "Conv2DTranspose", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D",
                 "Flatten", "Dropout", "BatchNormalization", "Activation", "LeakyReLU", "Reshape"]:
        assert getattr(layers, name) is getattr(nn.layers, name)  # tinydl.nn's own names are PyTorch's


@pytest.mark.parametrize("name", ["tinydl.keras", "tinydl.keras.layers", "tinydl.keras.models", "tinydl.keras.losses",
                                  "tinydl.keras.metrics", "tinydl.keras.optimizers", "tinydl.keras.datasets",
                                  "tinydl.io"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


# ---- Sequential ------------------------------------------------------------------------------------------

def test_sequential_with_input_shape_builds_eagerly_and_summary():
    model = models.Sequential()
    model.add(layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation="relu"))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation="relu"))
    model.add(layers.Flatten())
    model.add(layers.Dense(64, activation="relu"))
    model.add(layers.Dense(10, activation="softmax"))
    assert model.built and model.count_params() == 93322  # tf.keras reports 93,322 for this model
    assert model.output_shape == (None, 10) and model.input_shape == (None, 28, 28, 1)
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert text.startswith(f'Model: "{model.name}"')
    assert "Layer (type)" in text and "Output Shape" in text and "Param #" in text
    assert "(Conv2D)" in text and "(None, 26, 26, 32)" in text and "320" in text
    assert "(None, 576)" in text and "36,928" in text
    assert "Total params: 93,322 (364.54 KB)" in text
    assert "Trainable params: 93,322" in text and "Non-trainable params: 0 (0.00 B)" in text
    assert [type(l).__name__ for l in model.layers][:2] == ["Conv2D", "MaxPooling2D"]
    assert list(model.state_dict())[:2] == ["0.kernel", "0.bias"]


def test_sequential_without_input_shape_builds_on_first_use():
    model = models.Sequential([layers.Dense(8, activation="relu"), layers.Dense(2)])
    assert not model.built
    with pytest.raises(ValueError, match="not yet been built"):
        model.summary()
    out = model.predict(np.zeros((5, 3), np.float32))
    assert out.shape == (5, 2) and model.built
    assert model.count_params() == 3 * 8 + 8 + 8 * 2 + 2
    lines = []
    model.summary(print_fn=lines.append)
    assert any("(None, 8)" in line for line in lines)


def test_sequential_input_first_and_pop():
    model = models.Sequential([layers.Input(shape=(6,)), layers.Dense(4), layers.Dense(3)])
    assert model.built and model.output_shape == (None, 3)
    assert len(model.layers) == 2
    model.pop()
    assert model.output_shape == (None, 4) and len(model.state_dict()) == 2


def test_model_is_a_module_and_state_dict_roundtrip():
    model = _mlp()
    other = _mlp()
    other.load_state_dict(model.state_dict())
    x = np.random.default_rng(1).normal(size=(7, 4)).astype(np.float32)
    np.testing.assert_array_equal(model.predict(x), other.predict(x))
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(4, 16), (16,), (16, 3), (3,)]
    other.set_weights([w * 0 for w in weights])
    assert np.all(other.predict(x) == pytest.approx(1 / 3))
    with pytest.raises(ValueError, match="expects shape"):
        other.set_weights([np.zeros((5, 16))] + weights[1:])


# ---- functional API -------------------------------------------------------------------------------------

def test_functional_model_records_and_replays_layers():
    inp = layers.Input(shape=(784,))
    hidden_layer = layers.Dense(units=128, activation="relu")
    out_layer = layers.Dense(units=10, activation="softmax")
    h = hidden_layer(inp)
    out = out_layer(h)
    assert isinstance(h, layers.KerasTensor) and h.shape == (None, 128) and out.shape == (None, 10)
    model = models.Model(inputs=inp, outputs=out)
    assert model.built and model.count_params() == 784 * 128 + 128 + 128 * 10 + 10
    assert [type(l).__name__ for l in model.layers] == ["InputLayer", "Dense", "Dense"]
    x = np.random.default_rng(0).random((5, 784)).astype(np.float32)
    expected = out_layer(hidden_layer(tinydl.Tensor(x))).detach().numpy()
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-6)
    np.testing.assert_allclose(model(x).detach().numpy(), expected, rtol=1e-6)
    assert set(model.state_dict()) == {"1.kernel", "1.bias", "2.kernel", "2.bias"}
    lines = []
    model.summary(print_fn=lines.append)
    assert any("InputLayer" in line and "(None, 784)" in line for line in lines)


def test_functional_multiple_inputs_and_nested_model():
    a, b = layers.Input(shape=(3,), name="a"), layers.Input(shape=(2,), name="b")
    merged = layers.Concatenate()([layers.Dense(4)(a), b])
    inner = models.Sequential([layers.Dense(5, activation="relu", input_shape=(6,)), layers.Dense(1)])
    model = models.Model(inputs=[a, b], outputs=inner(merged))
    xa, xb = np.ones((8, 3), np.float32), np.ones((8, 2), np.float32)
    assert model.predict([xa, xb]).shape == (8, 1)
    assert model.predict({"a": xa, "b": xb}).shape == (8, 1)
    model.compile("adam", "mse")
    history = model.fit([xa, xb], np.zeros((8, 1)), epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    lines = []
    model.summary(print_fn=lines.append)
    assert any("Connected to" in line for line in lines)


def test_functional_errors():
    a = layers.Input(shape=(3,))
    other = layers.Input(shape=(3,))
    out = layers.Add()([layers.Dense(3)(a), other])
    with pytest.raises(ValueError, match="not among inputs"):
        models.Model(inputs=a, outputs=out)
    with pytest.raises(TypeError, match="symbolic"):
        _ = a + a
    with pytest.raises(ValueError, match="dense.* expected input with last dimension 5"):
        layers.Dense(2, input_shape=(5,))(a)


def test_subclassed_model_with_training_flag():
    class Net(models.Model):
        def __init__(self):
            super().__init__()
            self.hidden = layers.Dense(16, activation="relu")
            self.drop = layers.Dropout(0.5)
            self.out = layers.Dense(3, activation="softmax")
            self.seen = []

        def call(self, inputs, training=None):
            self.seen.append(training)
            return self.out(self.drop(self.hidden(inputs)))

    net = Net()
    x, y = _blobs()
    net.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    net.fit(x, y, epochs=2, batch_size=32, verbose=0)
    assert True in net.seen and net.count_params() == 4 * 16 + 16 + 16 * 3 + 3
    p1, p2 = net.predict(x), net.predict(x)
    np.testing.assert_array_equal(p1, p2)  # inference mode: dropout is off
    assert not net.training


def test_symbolic_dispatch_leaves_real_calls_alone():
    layer = layers.Dense(2)
    out = layer(tinydl.ones(3, 4))
    assert isinstance(out, tinydl.Tensor) and out.shape == (3, 2)
    sym = layer(layers.Input(shape=(4,)))  # a KerasTensor dispatches the call itself
    assert isinstance(sym, layers.KerasTensor) and sym.shape == (None, 2)
    assert not hasattr(nn.Module, "symbolic_handler")


# ---- compile -------------------------------------------------------------------------------------------

from tinydl.keras.optimizer_rules import KerasAdam, KerasAdamW, KerasRMSprop  # noqa: E402


@pytest.mark.parametrize("name, cls, lr, extra", [
    ("adam", KerasAdam, 1e-3, {"eps": 1e-7, "betas": (0.9, 0.999)}),  # Keras's rule: eps after the correction
    ("sgd", optim.SGD, 0.01, {"momentum": 0.0, "nesterov": False}),
    ("rmsprop", KerasRMSprop, 1e-3, {"rho": 0.9, "eps": 1e-7}),  # Keras's rule: eps inside the root
    ("adamw", KerasAdamW, 1e-3, {"weight_decay": 0.004, "eps": 1e-7}),
])
def test_compile_optimizer_defaults(name, cls, lr, extra):
    model = _mlp()
    model.compile(optimizer=name, loss="sparse_categorical_crossentropy")
    inner = model.optimizer.inner
    assert type(inner) is cls and inner.lr == pytest.approx(lr)
    for k, v in extra.items():
        assert inner.defaults[k] == pytest.approx(v)
    assert len(inner.param_groups[0]["params"]) == 4


def test_optimizer_created_before_model_binds_at_fit():
    opt = optimizers.SGD(learning_rate=0.1, momentum=0.9)
    assert not opt.built
    model = models.Sequential([layers.Dense(3, activation="softmax")])  # unbuilt
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
    assert not opt.built
    x, y = _blobs()
    model.fit(x, y, epochs=1, verbose=0)
    assert opt.built and opt.iterations == math.ceil(len(x) / 32)
    assert opt.inner.defaults["momentum"] == 0.9 and opt.learning_rate == pytest.approx(0.1)


def test_fit_makes_exactly_the_optimizers_updates():
    """fit's step is the forward, the loss, the backward and the Keras optimizer's own update (whose
    rule tests/test_keras_optimizers_golden.py checks against Keras)."""
    x, y = _blobs(64)
    tinydl.manual_seed(3)
    a = _mlp()
    tinydl.manual_seed(3)
    b = _mlp()
    a.compile(optimizers.Adam(learning_rate=0.01), "sparse_categorical_crossentropy")
    a.fit(x, y, batch_size=64, epochs=3, shuffle=False, verbose=0)
    opt = optimizers.Adam(learning_rate=0.01)
    b.train()
    for _ in range(3):
        with tinydl.tf.GradientTape() as tape:
            loss = nn.losses.sparse_categorical_crossentropy(y, b(x))
        opt.apply_gradients(zip(tape.gradient(loss, b.trainable_weights), b.trainable_weights))
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


def test_compile_errors_and_fit_before_compile():
    model = _mlp()
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(*_blobs(), verbose=0)
    with pytest.raises(ValueError, match="unknown optimizer"):
        model.compile(optimizer="adamax_typo", loss="mse")
    with pytest.raises(ValueError, match="unknown loss"):
        model.compile(optimizer="adam", loss="cross_entropy_typo")
    with pytest.raises(ValueError, match="unknown metric"):
        model.compile(optimizer="adam", loss="mse", metrics=["acuracy"])


@pytest.mark.parametrize("loss, y_kind, expected", [
    ("sparse_categorical_crossentropy", "labels", metrics.sparse_categorical_accuracy),
    ("categorical_crossentropy", "onehot", metrics.categorical_accuracy),
    ("binary_crossentropy", "binary", metrics.binary_accuracy),
    ("mse", "onehot", metrics.categorical_accuracy),
])
def test_accuracy_resolves_as_keras(loss, y_kind, expected):
    x, y = _blobs(40)
    if y_kind == "onehot":
        y = tf.keras.utils.to_categorical(y, 3)
    units = 3
    if y_kind == "binary":
        y, units = (y > 0).astype(np.float32)[:, None], 1
    model = models.Sequential([layers.Dense(units, activation="sigmoid" if units == 1 else "softmax",
                                            input_shape=(4,))])
    model.compile("adam", loss, metrics=["accuracy"])
    model.fit(x, y, epochs=1, verbose=0)
    assert model.compiled_metrics[0]._fn is expected
    assert model.metrics_names == ["loss", "compile_metrics"]  # Keras 3's names


def test_accuracy_resolution_from_shapes_without_a_known_loss():
    pick = metrics._accuracy_for
    assert pick(None, (8,), (8, 10)) is metrics.sparse_categorical_accuracy
    assert pick(None, (8, 1), (8, 10)) is metrics.sparse_categorical_accuracy
    assert pick(None, (8, 10), (8, 10)) is metrics.categorical_accuracy
    assert pick(None, (8, 1), (8, 1)) is metrics.binary_accuracy
    assert pick(None, (8,), (8, 1)) is metrics.binary_accuracy


# ---- fit -------------------------------------------------------------------------------------------------

def test_fit_history_validation_and_running_averages():
    x, y = _blobs(150)
    model = _mlp()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    batches = []
    rec = callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: batches.append(dict(logs)))
    history = model.fit(x, y, epochs=3, batch_size=32, validation_split=0.2, verbose=0, callbacks=[rec])
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history.epoch == [0, 1, 2] and len(history.history["loss"]) == 3
    # 150 * 0.8 = 120 training samples -> 4 batches per epoch (the last one partial)
    assert len(batches) == 12
    # the epoch's logs are the running averages after its last batch
    assert history.history["loss"][-1] == pytest.approx(batches[-1]["loss"])
    assert history.history["loss"][-1] < history.history["loss"][0]
    # validation_split holds out the LAST 20%, as Keras
    val_loss, val_acc = model.evaluate(x[120:], y[120:], verbose=0)
    assert history.history["val_loss"][-1] == pytest.approx(val_loss, rel=1e-5)
    assert history.history["val_accuracy"][-1] == pytest.approx(val_acc)
    assert model.history is history and len(history.epoch_seconds) == 3


def test_training_loss_is_running_mean_weighted_by_batch_size():
    x, y = _blobs(70)
    model = _mlp()
    model.compile(optimizers.SGD(0.0), "sparse_categorical_crossentropy")  # lr 0: the weights stay put
    history = model.fit(x, y, epochs=1, batch_size=32, shuffle=False, verbose=0)
    per_batch = [model.evaluate(x[i:i + 32], y[i:i + 32], verbose=0) for i in (0, 32, 64)]
    expected = (per_batch[0] * 32 + per_batch[1] * 32 + per_batch[2] * 6) / 70
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-5)


def test_fit_is_repeatable_with_the_seed_and_shuffles():
    x, y = _blobs()

    def run(shuffle):
        tinydl.manual_seed(5)
        m = _mlp()
        m.compile("adam", "sparse_categorical_crossentropy")
        m.fit(x, y, epochs=2, verbose=0, shuffle=shuffle)
        return m.get_weights()

    a, b, c = run(True), run(True), run(False)
    for wa, wb in zip(a, b):
        np.testing.assert_array_equal(wa, wb)
    assert any(not np.array_equal(wa, wc) for wa, wc in zip(a, c))


def test_fit_casts_float64_and_1d_inputs():
    x = np.linspace(-1, 1, 50)  # float64, 1-D: Keras treats it as (50, 1)
    model = models.Sequential([layers.Dense(1, input_shape=(1,))])
    model.compile(optimizers.SGD(0.1), "mse")
    history = model.fit(x, 3 * x + 1, epochs=30, verbose=0)
    assert history.history["loss"][-1] < 0.05
    assert model.predict(x).dtype == np.float32


def test_fit_input_errors():
    model = _mlp()
    model.compile("adam", "sparse_categorical_crossentropy")
    x, y = _blobs(20)
    with pytest.raises(ValueError, match=r"x has 20, y has 19"):
        model.fit(x, y[:19], verbose=0)
    bad = x.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match=r"NaN or infinite.*\(3, 2\)"):
        model.fit(bad, y, verbose=0)
    bad[3, 2] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        model.evaluate(bad, y, verbose=0)
    with pytest.raises(ValueError, match="empty"):
        model.fit(x[:0], y[:0], verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(x[:1], y[:1], validation_split=0.5, verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(x, y, validation_split=1.5, verbose=0)


def test_channels_first_input_names_the_conv_layer():
    model = models.Sequential([layers.Conv2D(4, 3, input_shape=(8, 8, 1)), layers.Flatten(), layers.Dense(2)])
    model.compile("adam", "sparse_categorical_crossentropy")
    x = np.zeros((4, 1, 8, 8), np.float32)
    conv = model.layers[0].name
    with pytest.raises(ValueError, match=rf"{conv}.*Conv2D.*channels-first"):
        model.fit(x, np.zeros(4, np.int64), verbose=0)
    with pytest.raises(ValueError, match=rf"{conv}.*Conv2D.*channels-first"):
        model(x)  # the layer itself says the same


def test_dense_built_for_784_fed_10_names_the_layer():
    model = models.Sequential([layers.Dense(32, input_shape=(784,)), layers.Dense(10)])
    dense = model.layers[0].name
    with pytest.raises(ValueError, match=rf"{dense}.*Dense.*784.*\(3, 10\)"):
        model.predict(np.zeros((3, 10), np.float32))
    with pytest.raises(ValueError, match=rf"{dense} \(Dense\): expected input with last dimension 784"):
        model(np.zeros((3, 10), np.float32))


def test_regularization_losses_are_added():
    x, y = _blobs(32)
    plain = _mlp()
    tinydl.manual_seed(0)
    reg = models.Sequential([layers.Dense(16, activation="relu", input_shape=(4,), kernel_regularizer="l2"),
                             layers.Dense(3, activation="softmax")])
    reg.set_weights(plain.get_weights())
    for m in (plain, reg):
        m.compile("sgd", "sparse_categorical_crossentropy")
    penalty = 0.01 * float(np.sum(reg.get_weights()[0] ** 2))
    assert reg.evaluate(x, y, verbose=0) == pytest.approx(plain.evaluate(x, y, verbose=0) + penalty, rel=1e-5)


def test_trainable_freezing():
    x, y = _blobs()
    model = _mlp()
    model.layers[0].trainable = False
    model.compile("adam", "sparse_categorical_crossentropy")
    lines = []
    model.summary(print_fn=lines.append)
    assert any("Non-trainable params: 80" in line for line in lines)
    before = model.get_weights()
    model.fit(x, y, epochs=1, verbose=0)
    after = model.get_weights()
    np.testing.assert_array_equal(before[0], after[0])
    np.testing.assert_array_equal(before[1], after[1])
    assert not np.array_equal(before[2], after[2])
    model.layers[0].trainable = True  # unfreezing takes effect without recompiling
    model.fit(x, y, epochs=1, verbose=0)
    assert not np.array_equal(after[0], model.get_weights()[0])


def test_sample_and_class_weights():
    x, y = _blobs(30)
    model = _mlp()
    model.compile("sgd", "sparse_categorical_crossentropy")
    base = model.evaluate(x, y, verbose=0)
    assert model.evaluate(x, y, sample_weight=np.full(30, 2.0), verbose=0) == pytest.approx(2 * base, rel=1e-5)
    model.fit(x, y, class_weight={0: 1.0, 1: 2.0, 2: 0.5}, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="class_weight"):
        model.fit(x, y, class_weight={0: 1.0}, epochs=1, verbose=0)


# ---- progress output -------------------------------------------------------------------------------------

def test_progress_output_formats():
    x, y = _blobs(100)
    model = _mlp()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    for verbose in (1, 2, "auto"):
        buf = io.StringIO()
        with redirect_stdout(buf):
            model.fit(x, y, epochs=2, validation_data=(x, y), verbose=verbose)
        lines = buf.getvalue().splitlines()
        assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
        assert re.fullmatch(r"4/4 - \d+s - \d+(us|ms|s)/step - accuracy: \d\.\d{4} - loss: \d\.\d{4}"
                            r" - val_accuracy: \d\.\d{4} - val_loss: \d\.\d{4}", lines[1]), lines[1]
    buf = io.StringIO()
    with redirect_stdout(buf):
        model.fit(x, y, epochs=2, verbose=0)
        model.predict(x)
        model.evaluate(x, y, verbose=0)
    assert buf.getvalue() == ""
    buf = io.StringIO()
    with redirect_stdout(buf):
        model.evaluate(x, y)
    assert re.fullmatch(r"4/4 - \d+s - \d+(us|ms|s)/step - accuracy: \d\.\d{4} - loss: \d\.\d{4}\n", buf.getvalue())


def test_progress_bar_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    out = Tty()
    bar = callbacks.ProgbarLogger(verbose=1, stream=out)
    bar.set_params({"epochs": 1, "steps": 3})
    bar.on_epoch_begin(0)
    for b in range(3):
        bar.on_train_batch_end(b, {"loss": 0.5})
    bar.on_epoch_end(0, {"loss": 0.5})
    text = out.getvalue()
    assert text.startswith("Epoch 1/1\n") and "\r" in text and "3/3" in text and "loss: 0.5000" in text


# ---- callbacks ---------------------------------------------------------------------------------------------

class _Recorder(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.events = []

    def on_train_begin(self, logs=None): self.events.append("train_begin")
    def on_train_end(self, logs=None): self.events.append("train_end")
    def on_epoch_begin(self, epoch, logs=None): self.events.append(f"epoch_begin {epoch}")
    def on_epoch_end(self, epoch, logs=None): self.events.append(f"epoch_end {epoch} {sorted(logs)}")
    def on_train_batch_begin(self, batch, logs=None): self.events.append(f"batch_begin {batch}")
    def on_train_batch_end(self, batch, logs=None): self.events.append(f"batch_end {batch} {sorted(logs)}")
    def on_test_begin(self, logs=None): self.events.append("test_begin")
    def on_test_end(self, logs=None): self.events.append("test_end")


def test_custom_callback_hook_order():
    x, y = _blobs(40)
    model = _mlp()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    rec = _Recorder()
    model.fit(x, y, epochs=2, batch_size=32, validation_data=(x[:8], y[:8]), verbose=0, callbacks=[rec])
    per_epoch = lambda e: [f"epoch_begin {e}", "batch_begin 0", "batch_end 0 ['accuracy', 'loss']", "batch_begin 1",
                           "batch_end 1 ['accuracy', 'loss']", "test_begin", "test_end",
                           f"epoch_end {e} ['accuracy', 'loss', 'val_accuracy', 'val_loss']"]
    assert rec.events == ["train_begin"] + per_epoch(0) + per_epoch(1) + ["train_end"]
    assert rec.model is model and rec.params["epochs"] == 2 and rec.params["steps"] == 2


def test_stop_training_from_a_callback_and_initial_epoch():
    x, y = _blobs(40)
    model = _mlp()
    model.compile("adam", "sparse_categorical_crossentropy")
    stopper = callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: setattr(model, "stop_training", b == 0))
    history = model.fit(x, y, epochs=5, verbose=0, callbacks=[stopper])
    assert history.epoch == [0]
    history = model.fit(x, y, epochs=4, initial_epoch=2, verbose=0)
    assert history.epoch == [2, 3]


class _Script(callbacks.Callback):
    """Puts a scripted value into the epoch logs as 'score', and records the weights per epoch."""

    def __init__(self, scores):
        super().__init__()
        self.scores, self.weights = scores, []

    def on_epoch_end(self, epoch, logs=None):
        logs["score"] = self.scores[epoch]
        self.weights.append(self.model.get_weights())


def test_early_stopping_patience_and_restore_best_weights():
    x, y = _blobs(40)
    model = _mlp()
    model.compile("adam", "sparse_categorical_crossentropy")
    script = _Script([5.0, 3.0, 4.0, 3.5, 1.0, 0.5])
    stop = callbacks.EarlyStopping(monitor="score", patience=2, restore_best_weights=True)
    history = model.fit(x, y, epochs=6, verbose=0, callbacks=[script, stop])
    assert history.epoch == [0, 1, 2, 3] and stop.stopped_epoch == 3 and stop.best == 3.0
    for w, best in zip(model.get_weights(), script.weights[1]):
        np.testing.assert_array_equal(w, best)
    # min_delta: an improvement smaller than min_delta does not count; mode='max'
    script = _Script([0.5, 0.52, 0.53, 0.9])
    stop = callbacks.EarlyStopping(monitor="score", patience=1, min_delta=0.05, mode="max")
    assert model.fit(x, y, epochs=4, verbose=0, callbacks=[script, stop]).epoch == [0, 1]


def test_model_checkpoint_and_load_weights(tmp_path):
    x, y = _blobs(40)
    model = _mlp()
    model.compile("adam", "sparse_categorical_crossentropy")
    script = _Script([3.0, 2.0, 2.5, 1.0])
    every = callbacks.ModelCheckpoint(str(tmp_path / "w-{epoch:02d}.npz"), save_weights_only=True)
    best = callbacks.ModelCheckpoint(str(tmp_path / "best.npz"), monitor="score", save_best_only=True,
                                     save_weights_only=True)
    seen = []
    spy = callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(os.path.getmtime(tmp_path / "best.npz")))
    model.fit(x, y, epochs=4, verbose=0, callbacks=[script, every, best, spy])
    assert sorted(os.listdir(tmp_path)) == ["best.npz", "w-01.npz", "w-02.npz", "w-03.npz", "w-04.npz"]
    fresh = _mlp()
    fresh.load_weights(tmp_path / "w-02.npz")
    for w, ref in zip(fresh.get_weights(), script.weights[1]):
        np.testing.assert_array_equal(w, ref)
    fresh.load_weights(tmp_path / "best.npz")
    for w, ref in zip(fresh.get_weights(), script.weights[3]):
        np.testing.assert_array_equal(w, ref)
    # Keras's default save_weights_only=False: a non-.keras path gets a full training checkpoint
    full = callbacks.ModelCheckpoint(str(tmp_path / "ckpt.npz"))
    model.fit(x, y, epochs=1, verbose=0, callbacks=[full])
    info = tinydl.io.load_checkpoint(tmp_path / "ckpt.npz", _compiled_copy(), restore_rng=False)
    assert info["epoch"] == 1


def _compiled_copy():
    m = _mlp()
    m.compile("adam", "sparse_categorical_crossentropy")
    return m


def test_csv_logger(tmp_path):
    x, y = _blobs(40)
    model = _mlp()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    path = tmp_path / "log.csv"
    history = model.fit(x, y, epochs=3, validation_split=0.25, verbose=0, callbacks=[callbacks.CSVLogger(str(path))])
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [r["epoch"] for r in rows] == ["0", "1", "2"]
    assert float(rows[2]["loss"]) == pytest.approx(history.history["loss"][2])
    model.fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.CSVLogger(str(path), append=True)])
    with open(path, newline="") as f:
        assert len(list(csv.DictReader(f))) == 4


def _nan_after(batches):
    """A loss that turns NaN from the given (global) batch on."""
    count = {"n": 0}

    def loss(y_true, y_pred):
        count["n"] += 1
        base = losses.sparse_categorical_crossentropy(y_true, y_pred)
        return base * float("nan") if count["n"] > batches else base
    return loss


def test_terminate_on_nan_is_on_by_default():
    x, y = _blobs(64)
    model = _mlp()
    model.compile("sgd", _nan_after(3))
    with pytest.warns(RuntimeWarning, match=r"loss became nan at epoch 2, batch 2"):
        history = model.fit(x, y, epochs=5, batch_size=32, verbose=0)
    assert history.epoch == [0, 1] and math.isnan(history.history["loss"][-1])
    # switched off: training goes on to the end
    model.compile("sgd", _nan_after(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = model.fit(x, y, epochs=3, verbose=0, terminate_on_nan=False)
    assert history.epoch == [0, 1, 2]
    model.compile("sgd", _nan_after(0), terminate_on_nan=False)
    assert len(model.fit(x, y, epochs=2, verbose=0).epoch) == 2


def test_learning_rate_scheduler_and_reduce_on_plateau():
    x, y = _blobs(40)
    model = _mlp()
    model.compile(optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    seen = []
    spy = callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: seen.append(model.optimizer.learning_rate))
    sched = callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch else lr)
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[sched, spy])
    assert seen == pytest.approx([0.1, 0.05, 0.025]) and history.history["learning_rate"] == pytest.approx(seen)
    model.compile(optimizers.SGD(1.0), "sparse_categorical_crossentropy")
    script = _Script([1.0, 1.0, 1.0, 1.0, 1.0])
    plateau = callbacks.ReduceLROnPlateau(monitor="score", factor=0.5, patience=2, min_lr=0.3)
    model.fit(x, y, epochs=5, verbose=0, callbacks=[script, plateau])
    assert model.optimizer.learning_rate == pytest.approx(0.3)


# ---- evaluate / predict / batches -----------------------------------------------------------------------------

def test_evaluate_and_predict_return_types():
    x, y = _blobs(50)
    model = _mlp()
    model.compile("adam", "sparse_categorical_crossentropy")
    loss = model.evaluate(x, y, verbose=0)
    assert isinstance(loss, float)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy", "sparse_top_k_categorical_accuracy"])
    values = model.evaluate(x, y, verbose=0)
    assert isinstance(values, list) and len(values) == 3 and values[0] == pytest.approx(loss)
    assert model.evaluate(x, y, verbose=0, return_dict=True).keys() == {"loss", "accuracy",
                                                                       "sparse_top_k_categorical_accuracy"}
    pred = model.predict(x, batch_size=7)
    assert isinstance(pred, np.ndarray) and pred.shape == (50, 3)
    assert values[1] == pytest.approx(np.mean(pred.argmax(1) == y))
    np.testing.assert_allclose(pred.sum(1), 1, rtol=1e-5)


def test_predict_and_evaluate_run_in_inference_mode():
    model = models.Sequential([layers.Dense(32, input_shape=(4,)), layers.Dropout(0.5),
                               layers.BatchNormalization(), layers.Dense(2)])
    model.compile("sgd", "mse")
    x = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
    moving = model.get_weights()[-4]
    np.testing.assert_array_equal(model.predict(x), model.predict(x))
    model.evaluate(x, np.zeros((16, 2)), verbose=0)
    np.testing.assert_array_equal(moving, model.get_weights()[-4])  # BN statistics untouched
    assert tinydl.is_grad_enabled()  # predict/evaluate restore gradient recording
    out = model(x, training=True)
    assert out.requires_grad and not model.training  # training=True for that call only


def test_train_on_batch_and_test_on_batch():
    x, y = _blobs(32)
    model = _mlp()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    first = model.train_on_batch(x, y)
    assert isinstance(first, list) and len(first) == 2
    for _ in range(20):
        last = model.train_on_batch(x, y)
    assert last[0] < first[0]
    assert model.test_on_batch(x, y)[0] == pytest.approx(model.evaluate(x, y, verbose=0)[0], rel=1e-5)
    assert model.optimizer.iterations == 21


def test_save_and_load_weights(tmp_path):
    x, _ = _blobs(10)
    model = _mlp()
    path = tmp_path / "weights.npz"
    model.save_weights(path)
    other = _mlp()
    other.load_weights(path)
    np.testing.assert_array_equal(model.predict(x), other.predict(x))
    wrong = _mlp(hidden=8)
    before = wrong.get_weights()
    with pytest.raises(CheckpointError, match=r"'0.kernel'.*\(4, 16\).*\(4, 8\)"):
        wrong.load_weights(path)
    for a, b in zip(before, wrong.get_weights()):
        np.testing.assert_array_equal(a, b)
    model.save(tmp_path / "model.keras")  # whole models: tests/test_keras_saving.py


# ---- losses / metrics / optimizers -----------------------------------------------------------------------------

def test_keras_losses_order_logits_and_backprop():
    rng = np.random.default_rng(0)
    logits = tinydl.Tensor(rng.normal(size=(6, 4)).astype(np.float32), requires_grad=True)
    labels = rng.integers(0, 4, size=6)
    probs = tinydl.softmax(logits, axis=-1)
    a = losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits)
    b = losses.SparseCategoricalCrossentropy()(labels, probs)
    assert a.shape == () and a.item() == pytest.approx(b.item(), rel=1e-5)
    a.backward()
    assert logits.grad.shape == (6, 4)
    onehot = tf.keras.utils.to_categorical(labels, 4)
    c = losses.CategoricalCrossentropy(from_logits=True)(onehot, logits)
    assert c.item() == pytest.approx(a.item(), rel=1e-5)
    t = rng.random((6, 4)).astype(np.float32)
    mse = losses.MeanSquaredError()(t, probs)
    assert mse.item() == pytest.approx(np.mean((probs.detach().numpy() - t) ** 2), rel=1e-5)
    mae = losses.MeanAbsoluteError()(t, probs)
    assert mae.item() == pytest.approx(np.mean(np.abs(probs.detach().numpy() - t)), rel=1e-5)
    bce = losses.BinaryCrossentropy(from_logits=True)(t > 0.5, logits)
    assert bce.item() == pytest.approx(nn.losses.binary_crossentropy((t > 0.5).astype(np.float32), logits,
                                                                     from_logits=True).item(), rel=1e-5)
    per_sample = losses.mse(t, probs)
    assert per_sample.shape == (6,)
    weighted = losses.MeanSquaredError()(t, probs, sample_weight=np.arange(6))
    assert weighted.item() == pytest.approx(float(np.sum(per_sample.detach().numpy() * np.arange(6)) / 6), rel=1e-5)
    for name in ("sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy",
                 "mean_squared_error", "mse", "mae", "mean_absolute_error"):
        assert isinstance(losses.get(name), losses.Loss)


def test_metric_objects():
    m = metrics.BinaryAccuracy()
    m.update_state([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]])
    assert m.result() == 0.75
    m = metrics.CategoricalAccuracy()
    m.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    assert m.result() == 0.5
    p, r = metrics.Precision(), metrics.Recall()
    for met in (p, r):
        met.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    assert p.result() == pytest.approx(2 / 3) and r.result() == pytest.approx(2 / 3)
    m.reset_state()
    assert m.result() == 0.0


def test_keras_optimizer_facade():
    opt = optimizers.get("rmsprop")
    assert isinstance(opt, optimizers.RMSprop) and opt.get_config()["rho"] == 0.9
    opt.learning_rate = 0.5
    assert opt.learning_rate == 0.5
    with pytest.raises(TypeError, match="unexpected"):
        optimizers.Adam(betas=(0.9, 0.99))
    w = tinydl.Tensor([1.0, 2.0], requires_grad=True)
    sgd = optimizers.SGD(learning_rate=0.1)
    sgd.apply_gradients([(np.array([1.0, -1.0]), w)])
    np.testing.assert_allclose(w.detach().numpy(), [0.9, 2.1], rtol=1e-6)
    schedule = optim.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    model = _mlp()
    model.compile(optimizers.SGD(learning_rate=schedule), "sparse_categorical_crossentropy")
    model.fit(*_blobs(64), batch_size=32, epochs=1, verbose=0)
    assert model.optimizer.learning_rate == pytest.approx(0.1 * 0.5 ** 2)


def test_datasets_mnist_load_data(mnist_dir):
    (x, y), (xt, yt) = tf.keras.datasets.mnist.load_data()
    assert x.shape == (60000, 28, 28) and y.shape == (60000,) and x.dtype == np.uint8 and y.dtype == np.uint8
    assert xt.shape == (10000, 28, 28) and yt.shape == (10000,)


def test_direct_call_of_a_subclassed_model_is_inference_by_default():
    class Net(models.Model):
        def __init__(self):
            super().__init__()
            self.drop = layers.Dropout(0.5)

        def call(self, inputs):
            return self.drop(inputs)

    net = Net()
    x = np.ones((4, 10), np.float32)
    np.testing.assert_array_equal(net(x).detach().numpy(), x)
    assert (net(x, training=True).detach().numpy() != x).any()
    np.testing.assert_array_equal(net(x).detach().numpy(), x)


def test_fit_refuses_iterables_with_a_clear_message():
    model = _mlp()
    model.compile("adam", "sparse_categorical_crossentropy")
    x, y = _blobs(10)
    loader = tinydl.data.DataLoader(x, y, batch_size=4)
    with pytest.raises(TypeError, match="DataLoader.*train_on_batch"):
        model.fit(loader, y, verbose=0)
    for xb, yb in loader:  # the documented way
        model.train_on_batch(xb, yb)
    assert model.optimizer.iterations == 3
