"""Whole-model files (.keras), JSON architectures, clone_model, custom and registered layers, and
hostile .keras files (bounded memory, validated names, no pickle)."""
import json
import os
import zipfile

import numpy as np
import pytest

import tinydl
from tinydl import keras
from tinydl.keras import layers

RNG = np.random.default_rng(0)


def _functional():
    inp = keras.Input((6, 4), name="seq")
    x = layers.Conv1D(3, 2, activation="swish")(inp)
    a, b = layers.GlobalAveragePooling1D()(x), layers.GlobalMaxPooling1D()(x)
    h = layers.Dense(5, activation="elu", kernel_regularizer=keras.regularizers.l2(1e-3),
                     kernel_initializer=keras.initializers.HeNormal())(layers.concatenate([a, b]))
    return keras.Model(inp, layers.Dense(2, activation="softmax")(h), name="func")


def _sequential():
    return keras.Sequential([keras.Input((8, 8, 3)), layers.Rescaling(1 / 255), layers.SeparableConv2D(4, 3),
                             layers.BatchNormalization(), layers.UpSampling2D(), layers.GlobalMaxPooling2D(),
                             layers.Dense(3)], name="seq_model")


def test_functional_model_round_trip_with_compile(tmp_path):
    m = _functional()
    m.compile(optimizer=keras.optimizers.Nadam(keras.optimizers.schedules.CosineDecay(0.01, 20)),
              loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    x, y = RNG.normal(size=(8, 6, 4)).astype("float32"), np.arange(8) % 2
    m.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "m.keras"
    m.save(path)
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == ["config.json", "metadata.json", "model.weights.npz"]
        assert json.loads(z.read("config.json"))["class_name"] == "Functional"
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), m.predict(x, verbose=0))
    assert [l.name for l in loaded.layers] == [l.name for l in m.layers]
    assert isinstance(loaded.optimizer, keras.optimizers.Nadam)
    loaded.fit(x, y, epochs=1, verbose=0)  # compiled: trains on


def test_sequential_round_trip_keeps_moving_statistics(tmp_path):
    m = _sequential()
    m.compile("adam", "mse")
    x = RNG.uniform(0, 255, size=(4, 8, 8, 3)).astype("float32")
    m.fit(x, RNG.normal(size=(4, 3)), epochs=2, verbose=0)
    m.save(tmp_path / "s.keras")
    loaded = keras.models.load_model(tmp_path / "s.keras", compile=False)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), m.predict(x, verbose=0), rtol=1e-6)
    assert loaded.count_params() == m.count_params()


def test_text_model_round_trip_keeps_the_vocabulary(tmp_path):
    tv = layers.TextVectorization(max_tokens=20, output_sequence_length=5)
    tv.adapt(["the cat sat", "the dog ran far"])
    m = keras.Sequential([layers.Embedding(20, 4), layers.GlobalAveragePooling1D(), layers.Dense(1)])
    ids = tv(["the cat ran", "a dog"]).detach().numpy()
    m(ids)
    m.save(tmp_path / "t.keras")
    config = tv.get_config()
    assert layers.TextVectorization.from_config(config).get_vocabulary() == tv.get_vocabulary()
    np.testing.assert_array_equal(keras.models.load_model(tmp_path / "t.keras").predict(ids, verbose=0),
                                  m.predict(ids, verbose=0))


@keras.saving.register_keras_serializable(package="Tests")
class Scale(layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def forward(self, x):
        return x * self.factor


class Unregistered(Scale):
    pass


def test_registered_and_custom_objects(tmp_path):
    for cls, custom in ((Scale, None), (Unregistered, {"Unregistered": Unregistered})):
        m = keras.Sequential([keras.Input((3,)), cls(3.0), layers.Dense(2)])
        path = tmp_path / f"{cls.__name__}.keras"
        m.save(path)
        if custom:
            with pytest.raises(ValueError, match="Unregistered"):
                keras.models.load_model(path)
        loaded = keras.models.load_model(path, custom_objects=custom)
        assert isinstance(loaded.layers[0], cls) and loaded.layers[0].factor == 3.0
    assert keras.saving.get_registered_name(Scale) == "Tests>Scale"
    assert keras.saving.get_registered_object("Tests>Scale") is Scale


def test_json_architecture_and_clone_model():
    m = _functional()
    again = keras.models.model_from_json(m.to_json())
    assert again.count_params() == m.count_params() and again.to_json() == m.to_json()
    clone = keras.models.clone_model(m)
    assert [w.shape for w in clone.get_weights()] == [w.shape for w in m.get_weights()]
    assert not all(np.array_equal(a, b) for a, b in zip(clone.get_weights(), m.get_weights()))  # fresh weights


def test_lambda_layers_and_hdf5_are_refused(tmp_path):
    m = keras.Sequential([keras.Input((2,)), layers.Lambda(lambda t: t * 2)])
    with pytest.raises(ValueError, match="Lambda"):
        m.save(tmp_path / "l.keras")
    d = keras.Sequential([keras.Input((2,)), layers.Dense(1)])
    for call in (lambda: d.save(tmp_path / "m.h5"), lambda: d.save_weights(tmp_path / "w.weights.h5"),
                 lambda: d.load_weights(tmp_path / "w.weights.h5")):
        with pytest.raises(NotImplementedError, match="HDF5"):
            call()
    with pytest.raises(ValueError, match=".keras"):
        d.save(tmp_path / "saved_model_dir")


def _rewrite(path, out, replace=None, extra=None):
    with zipfile.ZipFile(path) as z, zipfile.ZipFile(out, "w") as w:
        for name in z.namelist():
            data = z.read(name)
            if replace and name in replace:
                data = replace[name](data)
            w.writestr(name, data)
        for name, data in (extra or {}).items():
            w.writestr(name, data)


def test_hostile_files_are_refused_before_allocating(tmp_path):
    m = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
    good = tmp_path / "good.keras"
    m.save(good)
    # an extra entry (a pickle, a path outside the archive)
    for extra in ({"evil.pkl": b"cos\nsystem\n"}, {"../escape.json": b"{}"}):
        bad = tmp_path / "extra.keras"
        _rewrite(good, bad, extra=extra)
        with pytest.raises(ValueError, match="exactly"):
            keras.models.load_model(bad)
    # a config asking for a huge layer: refused by the weight budget, not allocated

    def huge(data):
        cfg = json.loads(data)
        cfg["config"]["layers"][1]["config"]["units"] = 10 ** 9
        return json.dumps(cfg).encode()
    bad = tmp_path / "huge.keras"
    _rewrite(good, bad, replace={"config.json": huge})
    with pytest.raises(ValueError, match="more than the file's weights hold"):
        keras.models.load_model(bad)
    # an unknown class name is never imported
    bad = tmp_path / "cls.keras"
    _rewrite(good, bad, replace={"config.json": lambda d: d.replace(b'"Dense"', b'"os.system"')})
    with pytest.raises(ValueError, match="os.system"):
        keras.models.load_model(bad)
    # a zip bomb header: a declared size no deflate could produce
    bad = tmp_path / "bomb.keras"
    with zipfile.ZipFile(good) as z, zipfile.ZipFile(bad, "w", zipfile.ZIP_DEFLATED) as w:
        for name in z.namelist():
            w.writestr(name, z.read(name))
    raw = bytearray(open(bad, "rb").read())
    cd = raw.rfind(b"PK\x01\x02")  # patch the last central-directory entry's uncompressed size
    raw[cd + 24: cd + 28] = (0xFFFFFFF0).to_bytes(4, "little")
    open(bad, "wb").write(bytes(raw))
    with pytest.raises(ValueError):
        keras.models.load_model(bad)
    # not a zip at all
    (tmp_path / "x.keras").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a .keras file"):
        keras.models.load_model(tmp_path / "x.keras")


def test_weights_mismatch_names_the_layer(tmp_path):
    m = keras.Sequential([keras.Input((3,)), layers.Dense(2, name="d")])
    m.save(tmp_path / "m.keras")

    def wider(data):
        cfg = json.loads(data)
        cfg["config"]["layers"][1]["config"]["units"] = 1
        return json.dumps(cfg).encode()
    _rewrite(tmp_path / "m.keras", tmp_path / "bad.keras", replace={"config.json": wider})
    with pytest.raises(tinydl.io.CheckpointError, match="shape"):
        keras.models.load_model(tmp_path / "bad.keras")
