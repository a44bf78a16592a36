"""Keras subclassing, frozen BatchNormalization, mask_zero recurrent layers and multi-output
training, against TensorFlow 2.21 / Keras 3 values (tests/golden/record_keras_tf.py)."""
import json
import os

import numpy as np
import pytest

import tinydl
import tinydl.tf as tf
from tinydl.tf import keras
from tinydl.tf.keras import layers

from golden.subclassed_models import define

HERE = os.path.join(os.path.dirname(__file__), "golden")
G = np.load(os.path.join(HERE, "keras_tf.npz"), allow_pickle=False)
META = json.load(open(os.path.join(HERE, "keras_tf.json")))


def weights(prefix):
    out, i = [], 0
    while f"{prefix}{i}" in G:
        out.append(G[f"{prefix}{i}"])
        i += 1
    return out


Linear, Block, GuideModel = define(tf, keras, layers)


def test_subclassed_layer_and_model_match_keras():
    blk = Block()
    blk(G["sub_x"])
    blk.set_weights(weights("sub_w"))
    np.testing.assert_allclose(blk(G["sub_x"], training=False).detach().numpy(), G["sub_out"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(sum(float(l) for l in blk.losses), G["sub_losses"], rtol=1e-5)
    assert blk.count_params() == META["sub_count_params"]          # each weight counted once
    assert len(blk.weights) == META["sub_n_weights"] and len(blk.trainable_weights) == META["sub_n_trainable"]
    assert blk.lin.count_params() == META["linear_count_params"]
    assert len(blk.lin.weights) == 2 and blk.lin.w is blk.lin.weights[0]


def test_training_flag_reaches_call_and_sublayers():
    seen = []

    class Probe(layers.Layer):
        def call(self, x, training=None):
            seen.append(training)
            return x

    p = Probe()
    p(np.ones((1, 2)))
    p(np.ones((1, 2)), training=True)
    assert seen == [False, True]
    blk = Block()
    x = np.ones((64, 4), np.float32)
    blk(x)
    # every weight 0.5: each of the 5 hidden units is 2.5 (random weights could make them all 0
    # after the relu, and then dropout could change nothing); an output is 2.5k + 0.5 with k of
    # the 5 units kept in training, never the inference value 6.75
    blk.set_weights([np.full(w.shape, 0.5, np.float32) for w in blk.get_weights()])
    a, b = blk(x, training=False).detach().numpy(), blk(x, training=False).detach().numpy()
    assert np.array_equal(a, b)  # inference: dropout off
    assert not np.array_equal(blk(x, training=True).detach().numpy(), a)  # dropout on for this call only
    assert not blk.drop.training


def test_add_weight_keras_signature_and_layer_lists():
    class L(layers.Layer):
        def __init__(self):
            super().__init__()
            self.blocks = [layers.Dense(2), layers.Dense(3)]

        def build(self, shape):
            self.v = self.add_weight(shape=(2,), initializer="ones", name="v")
            self.k = self.add_weight(shape=(2,), dtype="int32", trainable=False)

        def call(self, x):
            for blk in self.blocks:
                x = blk(x)
            return x * tf.reduce_sum(self.v)

    l = L()
    l(np.ones((1, 4), np.float32))
    assert l.count_params() == 2 + 2 + (4 * 2 + 2) + (2 * 3 + 3)
    assert len(l.trainable_weights) == 5 and len(l.non_trainable_weights) == 1


def test_frozen_batchnorm_in_fit_matches_keras():
    base = keras.Sequential([keras.Input((4,)), layers.Dense(3), layers.BatchNormalization()])
    bn = base.layers[1]
    base.set_weights(weights("bn_w"))
    base.trainable = False
    head = layers.Dense(1)
    model = keras.Sequential([keras.Input((4,)), base, head])
    head.set_weights(weights("bn_head_w"))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    hist = model.fit(G["bn_x"], G["bn_y"], batch_size=16, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(bn.moving_mean, G["bn_moving_mean_after"], rtol=1e-6)
    np.testing.assert_allclose(hist.history["loss"][0], G["bn_loss"], rtol=1e-5)
    np.testing.assert_allclose(head.kernel.detach().numpy(), G["bn_head_kernel_after"], rtol=1e-5, atol=1e-6)
    assert len(model.trainable_weights) == META["bn_n_trainable"]
    assert len(model.non_trainable_weights) == META["bn_n_non_trainable"]  # moving statistics included
    assert model.count_params() == META["bn_count_params"]


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "SimpleRNN"])
@pytest.mark.parametrize("seqs", [True, False])
def test_mask_zero_reaches_recurrent_layers(kind, seqs):
    ids = G["mask_ids"]
    m = keras.Sequential([keras.Input((5,), dtype="int32"), layers.Embedding(6, 3, mask_zero=True),
                          getattr(layers, kind)(4, return_sequences=seqs)])
    tag = f"mask_{kind}_{int(seqs)}"
    m.set_weights(weights(f"{tag}_w"))
    np.testing.assert_allclose(m(ids).detach().numpy(), G[f"{tag}_out"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m.predict(ids, verbose=0), G[f"{tag}_out"], rtol=1e-5, atol=1e-6)


def _multi_output_model():
    inp = keras.Input((4,), name="features")
    hid = layers.Dense(5, activation="relu", name="hidden")(inp)
    o1 = layers.Dense(3, activation="softmax", name="cls")(hid)
    o2 = layers.Dense(1, name="reg")(hid)
    mm = keras.Model(inp, [o1, o2])
    mm.set_weights(weights("mo_w"))
    return mm


def test_multi_output_history_keys_and_values_match_keras():
    mm = _multi_output_model()
    mm.compile(optimizer=keras.optimizers.SGD(0.0),
               loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"},
               loss_weights={"cls": 1.0, "reg": 0.25}, metrics={"cls": ["accuracy"], "reg": ["mae"]})
    y = {"cls": G["mo_y1"], "reg": G["mo_y2"]}
    h = mm.fit(G["mo_x"], y, batch_size=4, epochs=1, shuffle=False, verbose=0, validation_data=(G["mo_x"], y))
    assert sorted(h.history) == META["mo_history_keys"]
    for k in h.history:
        np.testing.assert_allclose(h.history[k][0], G[f"mo_hist_{k}"], rtol=1e-5, err_msg=k)
    assert mm.count_params() == META["mo_count_params"]
    assert mm.output_names == ["cls", "reg"]
    assert mm.get_layer("cls").output.shape == (None, 3) and mm.get_layer("hidden").output_shape == (None, 5)


def test_multi_output_lists_and_datasets():
    mm = _multi_output_model()
    mm.compile(optimizer="sgd", loss=["sparse_categorical_crossentropy", "mse"], loss_weights=[1.0, 0.25],
               metrics=[["accuracy"], []])
    ds = tf.data.Dataset.from_tensor_slices((G["mo_x"], (G["mo_y1"], G["mo_y2"]))).batch(4)
    h = mm.fit(ds, epochs=2, verbose=0, validation_data=ds)
    assert sorted(h.history) == ["cls_accuracy", "cls_loss", "loss", "reg_loss", "val_cls_accuracy",
                                 "val_cls_loss", "val_loss", "val_reg_loss"]
    assert len(mm.predict(ds, verbose=0)) == 2


def test_fit_on_datasets_generators_pydataset_steps_and_initial_epoch():
    tinydl.manual_seed(0)
    x = np.random.default_rng(0).normal(size=(32, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    model = keras.Sequential([layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(32).batch(8)
    h = model.fit(ds.repeat(), epochs=4, steps_per_epoch=4, verbose=0, initial_epoch=1, validation_data=ds)
    assert h.epoch == [1, 2, 3] and h.history["loss"][-1] < h.history["loss"][0]

    def gen():
        while True:
            yield x[:8], y[:8]

    assert len(model.fit(gen(), epochs=2, steps_per_epoch=3, verbose=0).history["loss"]) == 2
    ends = []

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return x[8 * i:8 * i + 8], y[8 * i:8 * i + 8]

        def on_epoch_end(self):
            ends.append(1)

    model.fit(Batches(), epochs=2, verbose=0)
    assert ends == [1, 1]
    assert model.predict(ds, verbose=0).shape == (32, 1)
    assert isinstance(model.evaluate(ds, verbose=0), float)
    with pytest.raises(ValueError, match="y must not be given"):
        model.fit(ds, y, verbose=0)


def test_overridden_train_step_runs_in_fit():
    class Custom(keras.Model):
        def __init__(self):
            super().__init__()
            self.d = layers.Dense(1)
            self.steps = 0

        def call(self, x):
            return self.d(x)

        def train_step(self, data):
            x, y = data
            with tf.GradientTape() as tape:
                pred = self(x, training=True)
                loss = self.compute_loss(y=y, y_pred=pred)
            grads = tape.gradient(loss, self.trainable_variables)
            self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
            self.steps += 1
            return {"loss": loss, "custom": 1.0}

    m = Custom()
    m.compile(optimizer="sgd", loss="mse")
    x = np.ones((16, 2), np.float32)
    h = m.fit(x, x[:, :1] * 3, batch_size=4, epochs=2, verbose=0)
    assert m.steps == 8 and sorted(h.history) == ["custom", "loss"] and h.history["loss"][1] < h.history["loss"][0]


def test_scalar_tensors_convert_like_numpy_scalars():
    loss = tinydl.Tensor(np.float32(2.5))
    assert np.float32(loss) == 2.5 and np.asarray(loss).shape == () and float(loss) == 2.5


def test_keras3_guide_train_step_matches_keras():
    cin = keras.Input(shape=(6,))
    cm = GuideModel(cin, layers.Dense(1)(cin))
    cm.set_weights(weights("ts_w"))
    cm.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    assert [m.name for m in cm.metrics] == META["ts_metrics_names"] == cm.metrics_names
    h = cm.fit(G["ts_x"], G["ts_y"], batch_size=5, epochs=2, shuffle=False, verbose=0)
    assert sorted(h.history) == META["ts_history_keys"]
    for k in h.history:
        np.testing.assert_allclose(h.history[k], G[f"ts_hist_{k}"], rtol=1e-5, err_msg=k)
    np.testing.assert_allclose(cm.layers[-1].kernel.detach().numpy(), G["ts_kernel_after"], rtol=1e-5, atol=1e-6)


def test_mask_passes_through_dense_to_lstm():
    md = keras.Sequential([keras.Input((5,), dtype="int32"), layers.Embedding(6, 3, mask_zero=True), layers.Dense(4),
                           layers.LSTM(2)])
    md.set_weights(weights("md_w"))
    np.testing.assert_allclose(md(G["mask_ids"]).detach().numpy(), G["md_out"], rtol=1e-5, atol=1e-6)


def test_sequential_layer_outputs_build_a_feature_extractor():
    m = keras.Sequential([keras.Input((3,)), layers.Dense(4, activation="relu"), layers.Dense(1)])
    features = keras.Model(inputs=m.inputs, outputs=m.layers[0].output)
    x = np.ones((2, 3), np.float32)
    np.testing.assert_allclose(features(x).detach().numpy(), m.layers[0](x).detach().numpy())
    assert m.layers[1].output.shape == (None, 1) and m.outputs[0] is m.layers[1].output
    with pytest.raises(AttributeError, match="never been called"):
        layers.Dense(2).output


def test_mask_reaches_multi_head_attention():
    ain = keras.Input((5,), dtype="int32")
    aemb = layers.Embedding(6, 4, mask_zero=True)(ain)
    aout = layers.MultiHeadAttention(num_heads=2, key_dim=3)(aemb, aemb)
    am = keras.Model(ain, aout)
    am.set_weights(weights("att_w"))
    ids = G["mask_ids"]
    got, want = am(ids).detach().numpy(), G["att_out"]
    keep = ids != 0  # padded query rows: no key to attend to, which tinydl and Keras fill differently
    np.testing.assert_allclose(got[keep], want[keep], rtol=1e-5, atol=1e-6)


def test_build_gets_one_shape_per_input_and_numpy_becomes_tensors():
    class Merge(layers.Layer):
        def build(self, input_shape):
            a, b = input_shape
            self.w = self.add_weight(shape=(a[-1] + b[-1], 2), initializer="ones")

        def call(self, inputs):
            return tf.matmul(tf.concat(inputs, axis=-1), self.w)

    out = Merge()([np.ones((3, 2)), np.ones((3, 4))])  # float64 NumPy in, the layer's float32 out
    assert isinstance(out, tf.Tensor) and out.dtype == tf.float32 and out.detach().numpy().tolist() == [[6.0, 6.0]] * 3
    i1, i2 = keras.Input((2,)), keras.Input((4,))
    model = keras.Model([i1, i2], Merge()([i1, i2]))
    assert model.count_params() == 12 and model([np.ones((1, 2)), np.ones((1, 4))]).shape == (1, 2)


def test_overriding_call_of_a_builtin_layer_and_add_loss_in_a_model_call():
    class Doubled(layers.Dense):
        def call(self, inputs):
            return super().call(inputs) * 2

    assert Doubled(2, kernel_initializer="ones")(np.ones((1, 3))).detach().numpy().tolist() == [[6.0, 6.0]]

    class WithPenalty(keras.Model):
        def __init__(self):
            super().__init__()
            self.d = layers.Dense(1, kernel_initializer="zeros")

        def call(self, x):
            self.add_loss(tf.constant(1.0))
            return {"a": self.d(x), "b": self.d(x)}

    m = WithPenalty()
    m.compile(optimizer=keras.optimizers.SGD(0.0), loss={"a": "mse", "b": "mse"}, loss_weights={"a": 1.0, "b": 2.0})
    h = m.fit(np.ones((8, 2)), {"a": np.ones(8), "b": np.ones(8)}, epochs=2, batch_size=4, verbose=0)
    # zero outputs, targets 1: each output's mse is 1; 1 + 2 * 1 + the added 1, on every step (not accumulating)
    assert h.history == {"loss": [4.0, 4.0], "a_loss": [1.0, 1.0], "b_loss": [1.0, 1.0]} and len(m.losses) == 1
