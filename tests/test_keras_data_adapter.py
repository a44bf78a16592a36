"""The one data adapter behind fit / evaluate / predict: batching, the partial last batch,
shuffling, sample weights, validation split, and which inputs stay integers."""
import numpy as np
import pytest

import tinydl
from tinydl.keras import layers, models
from tinydl.keras.data_adapter import DataAdapter


@pytest.fixture(autouse=True)
def _seed():
    tinydl.manual_seed(0)


class _Recorder(models.Model):
    """y = x @ w with a fixed w; records the first feature of every sample it sees, batch by batch."""

    def __init__(self):
        super().__init__()
        self.proj = layers.Dense(1, use_bias=False, kernel_initializer="ones")
        self.seen = []

    def call(self, x, training=None):
        self.seen.append(x.detach().numpy()[:, 0].tolist())
        return self.proj(x)


def _data(n=10):
    x = np.stack([np.arange(n), np.zeros(n)], axis=1).astype(np.float32)  # feature 0 = sample index
    return x, x.sum(axis=1, keepdims=True) + 1.0  # constant error 1 for the untrained model


def test_fit_evaluate_predict_batch_the_same_way_with_a_partial_last_batch():
    x, y = _data(10)
    model = _Recorder()
    model.build((None, 2))
    model.compile(optimizer="sgd", loss="mse")
    model.seen.clear()
    p = model.predict(x, batch_size=4)
    assert [len(b) for b in model.seen] == [4, 4, 2]
    np.testing.assert_allclose(p, x.sum(axis=1, keepdims=True))
    model.seen.clear()
    assert model.evaluate(x, y, batch_size=4, verbose=0) == pytest.approx(1.0)
    assert [len(b) for b in model.seen] == [4, 4, 2]
    model.seen.clear()
    model.compile(optimizer=tinydl.keras.optimizers.SGD(learning_rate=0.0), loss="mse")
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    assert model.seen == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]] * 2
    model.seen.clear()
    model.fit(x, y, batch_size=4, epochs=2, shuffle=True, verbose=0)
    assert [len(b) for b in model.seen] == [4, 4, 2] * 2
    epochs = [sum(model.seen[i:i + 3], []) for i in (0, 3)]
    assert all(sorted(e) == list(range(10)) for e in epochs)  # every sample once per epoch
    assert epochs[0] != epochs[1]  # a fresh order each epoch


def test_steps_limit_the_batches():
    x, y = _data(10)
    model = _Recorder()
    model.build((None, 2))
    model.compile(optimizer="sgd", loss="mse")
    model.seen.clear()
    model.predict(x, batch_size=3, steps=2)
    model.evaluate(x, y, batch_size=3, steps=1, verbose=0)
    assert [len(b) for b in model.seen] == [3, 3, 3]


def test_adapter_keeps_x_y_and_sample_weight_aligned_when_shuffling():
    model = models.Sequential([layers.Dense(1, input_shape=(1,))])
    n = 11
    x = np.arange(n, dtype=np.float32)
    adapter = DataAdapter(model, x, 10 * x, 100 * x, who="fit")
    assert len(adapter) == n and adapter.x[0].shape == (n, 1)  # 1-d input becomes a column
    assert adapter.num_steps(4) == 3 and adapter.num_steps(4, steps=2) == 2
    batches = list(adapter.batches(4, shuffle=True))
    assert [b.size for b in batches] == [4, 4, 3] and [b.index for b in batches] == [0, 1, 2]
    seen = np.concatenate([b.x[0][:, 0] for b in batches])
    assert sorted(seen.tolist()) == list(range(n))
    for b in batches:
        np.testing.assert_array_equal(b.y, 10 * b.x[0][:, 0])
        np.testing.assert_array_equal(b.sample_weight, 100 * b.x[0][:, 0])
    train, val = adapter.split(0.25, "fit")  # the last quarter (8 = floor(11 * 0.75) stay), unshuffled
    np.testing.assert_array_equal(val.x[0][:, 0], [8, 9, 10])
    np.testing.assert_array_equal(val.sample_weight, [800, 900, 1000])
    np.testing.assert_array_equal(train.y, 10 * np.arange(8))


def test_sample_weights_weight_the_loss_over_all_batches():
    x, _ = _data(10)
    y = x.sum(axis=1, keepdims=True) + np.arange(10, dtype=np.float32)[:, None]  # error i for sample i
    w = np.linspace(0.5, 2.0, 10).astype(np.float32)
    model = _Recorder()
    model.build((None, 2))
    model.compile(optimizer="sgd", loss="mse")
    per_sample = np.arange(10, dtype=np.float64) ** 2
    unweighted = model.evaluate(x, y, batch_size=4, verbose=0)
    assert unweighted == pytest.approx(per_sample.mean(), rel=1e-6)
    # Keras: each batch's loss is sum(w * l) / batch size; batches are averaged by size
    for bs in (3, 4, 10):
        weighted = model.evaluate(x, y, batch_size=bs, sample_weight=w, verbose=0)
        assert weighted == pytest.approx((w * per_sample).sum() / 10, rel=1e-6)
    with pytest.raises(ValueError, match=r"evaluate: sample_weight has shape \(9,\), expected \(10,\)"):
        model.evaluate(x, y, sample_weight=w[:9], verbose=0)
    with pytest.raises(ValueError, match=r"fit \(validation_data\): sample_weight has shape"):
        model.fit(x, y, validation_data=(x, y, w[:9]), verbose=0)


def test_class_weight_multiplies_sample_weight():
    model = models.Sequential([layers.Dense(2, activation="softmax", input_shape=(1,))])
    x = np.zeros((4, 1), np.float32)
    y = np.array([0, 1, 1, 0])
    adapter = DataAdapter(model, x, y, sample_weight=[1, 2, 3, 4], class_weight={0: 10.0, 1: 0.5}, who="fit")
    np.testing.assert_array_equal(adapter.sample_weight, [10, 1, 1.5, 40])


class _Ids(layers.Layer):
    """A custom layer that declares integer inputs (no 'Embedding' in its name)."""
    integer_inputs = True

    def forward(self, x):
        return tinydl.Tensor(x.detach().numpy().astype(np.float32))


class _EmbeddingLookalike(layers.Layer):
    """Named like an embedding, but takes floats: integer data is cast for it."""

    def forward(self, x):
        return x


@pytest.mark.parametrize("first, keeps_ints", [
    (lambda: layers.Embedding(5, 2), True), (lambda: _Ids(), True),
    (lambda: _EmbeddingLookalike(), False), (lambda: layers.Dense(2), False)])
def test_integer_inputs_are_kept_only_for_layers_that_declare_them(first, keeps_ints):
    model = models.Sequential([layers.Input(shape=(3,)), first()])
    ids = np.array([[0, 1, 2], [3, 4, 0]], dtype=np.int64)
    x = DataAdapter(model, ids, who="predict").x[0]
    assert x.dtype == (np.int64 if keeps_ints else np.float32)
    inp = layers.Input(shape=(3,), dtype="float32")
    functional = models.Model(inp, first()(inp))
    assert DataAdapter(functional, ids, who="predict").x[0].dtype == (np.int64 if keeps_ints else np.float32)


def test_empty_data_is_refused_by_every_entry_point():
    model = models.Sequential([layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.zeros((0, 2), np.float32), np.zeros((0, 1), np.float32)
    for call, message in ((lambda: model.fit(x, y, verbose=0), "fit: the training data is empty"),
                          (lambda: model.evaluate(x, y, verbose=0), "evaluate: the data is empty"),
                          (lambda: model.predict(x), "predict: x is empty"),
                          (lambda: model.train_on_batch(x, y), "train_on_batch: the batch is empty"),
                          (lambda: model.test_on_batch(x, y), "test_on_batch: the batch is empty")):
        with pytest.raises(ValueError, match=message):
            call()
