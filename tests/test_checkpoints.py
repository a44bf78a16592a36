"""tinydl.io: weights and training checkpoints that never unpickle, fail loudly, and save atomically."""
import io as _pyio
import json
import os
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinydl
from tinydl import io as tio
from tinydl.io import CheckpointError
from tinydl.keras import layers, models

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _model(hidden=8, seed=0):
    tinydl.manual_seed(seed)
    m = models.Sequential([layers.Dense(hidden, activation="relu", input_shape=(3,)),
                           layers.BatchNormalization(), layers.Dense(2, activation="softmax")])
    m.compile("adam", "sparse_categorical_crossentropy")
    return m


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))


def _weights_file(tmp_path_factory=None, directory=None):
    directory = directory or tmp_path_factory.mktemp("w")
    path = os.path.join(str(directory), "model.npz")
    _model(seed=1).save_weights(path)
    with open(path, "rb") as f:
        return path, f.read()


@pytest.fixture(scope="module")
def good_file(tmp_path_factory):
    return _weights_file(tmp_path_factory)


def test_state_round_trip(tmp_path):
    arrays = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b/c": np.array([1, 2], np.int64),
              "scalar": np.array(3.5)}
    meta = {"step": 12, "note": "hello", "nested": {"x": [1, 2.5, None]}}
    path = tmp_path / "s.npz"
    tio.save_state(path, arrays, meta)
    got, got_meta = tio.load_state(path)
    assert got_meta == meta and set(got) == set(arrays)
    for k in arrays:
        np.testing.assert_array_equal(got[k], arrays[k])
        assert got[k].dtype == arrays[k].dtype
    with pytest.raises(TypeError, match="object"):
        tio.save_state(tmp_path / "o.npz", {"o": np.array([{}], dtype=object)})


def test_weights_round_trip_into_a_fresh_model(tmp_path):
    a, b = _model(seed=1), _model(seed=2)
    assert not _same(a, b)
    a.save_weights(tmp_path / "w.npz")
    b.load_weights(tmp_path / "w.npz")
    assert _same(a, b)
    assert len(a.get_weights()) == 8  # BatchNormalization's moving statistics are saved too


@settings(max_examples=25, deadline=None)
@given(fraction=st.floats(0.0, 0.999))
def test_truncated_files_raise_checkpoint_error_and_leave_the_model_alone(good_file, tmp_path_factory, fraction):
    _, data = good_file
    cut = int(len(data) * fraction)
    path = os.path.join(str(tmp_path_factory.mktemp("t")), "cut.npz")
    with open(path, "wb") as f:
        f.write(data[:cut])
    model = _model(seed=3)
    before = model.get_weights()
    with pytest.raises(CheckpointError) as err:
        model.load_weights(path)
    assert path in str(err.value)
    assert all(np.array_equal(x, y) for x, y in zip(before, model.get_weights()))


@settings(max_examples=40, deadline=None)
@given(position=st.floats(0.0, 0.999), bit=st.integers(0, 7))
def test_flipped_bits_are_detected_or_harmless(good_file, tmp_path_factory, position, bit):
    """A corrupted byte either makes loading fail with CheckpointError, or (when it hits bytes that
    carry no data, such as a zip timestamp) loads exactly the saved weights: never silently wrong ones."""
    original_path, data = good_file
    i = int(len(data) * position)
    corrupted = bytearray(data)
    corrupted[i] ^= 1 << bit
    path = os.path.join(str(tmp_path_factory.mktemp("f")), "flip.npz")
    with open(path, "wb") as f:
        f.write(bytes(corrupted))
    model = _model(seed=3)
    before = model.get_weights()
    try:
        model.load_weights(path)
    except CheckpointError:
        assert all(np.array_equal(x, y) for x, y in zip(before, model.get_weights()))
    else:
        reference = _model(seed=3)
        reference.load_weights(original_path)
        assert _same(model, reference)


def test_pickled_object_array_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    meta = json.dumps({"format": tio.FORMAT, "version": tio.VERSION, "meta": {"kind": "weights"},
                       "sha256": {"0.kernel": "0"}}).encode()
    with zipfile.ZipFile(path, "w") as z:
        buf = _pyio.BytesIO()
        np.save(buf, np.array([{"payload": "os.system"}, None], dtype=object), allow_pickle=True)
        z.writestr("0.kernel.npy", buf.getvalue())
        buf = _pyio.BytesIO()
        np.save(buf, np.frombuffer(meta, np.uint8))
        z.writestr("__meta__.npy", buf.getvalue())
    model = _model()
    before = model.get_weights()
    with pytest.raises(CheckpointError, match="pickled"):
        model.load_weights(path)
    with pytest.raises(CheckpointError, match=str(path).replace("\\", "\\\\")):
        tio.load_state(path)
    assert all(np.array_equal(x, y) for x, y in zip(before, model.get_weights()))


def test_files_that_are_not_checkpoints(tmp_path):
    plain = tmp_path / "plain.npz"
    np.savez(plain, w=np.zeros(3))
    with pytest.raises(CheckpointError, match="no __meta__"):
        tio.load_state(plain)
    with pytest.raises(CheckpointError, match="no such file"):
        tio.load_state(tmp_path / "missing.npz")
    text = tmp_path / "text.npz"
    text.write_text("not a zip at all")
    with pytest.raises(CheckpointError, match="text.npz"):
        tio.load_state(text)
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(3))
    with pytest.raises(CheckpointError):
        tio.load_state(single)


def test_checkpoint_from_another_architecture_names_the_key_and_shape(tmp_path):
    path = tmp_path / "w.npz"
    _model(hidden=8).save_weights(path)
    other = _model(hidden=5)
    before = other.get_weights()
    with pytest.raises(CheckpointError, match=r"'0.kernel' of layer '.*' \(Dense\) has shape \(3, 8\) in the file, "
                                              r"the model expects \(3, 5\)"):
        other.load_weights(path)
    assert all(np.array_equal(x, y) for x, y in zip(before, other.get_weights()))
    deeper = models.Sequential([layers.Dense(8, input_shape=(3,)), layers.Dense(2)])
    with pytest.raises(CheckpointError, match="missing|unexpected"):
        deeper.load_weights(path)


def test_crash_during_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "w.npz"
    old = _model(seed=1)
    old.save_weights(path)
    with open(path, "rb") as f:
        saved = f.read()
    new = _model(seed=2)

    def boom(*args, **kwargs):
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(tio.os, "replace", boom)
    with pytest.raises(OSError, match="simulated"):
        new.save_weights(path)
    monkeypatch.undo()

    real_write = tio._write_npz

    def half_written(f, arrays):
        real_write(f, arrays)
        f.truncate(100)  # the write stops midway
        raise OSError("simulated disk failure during the write")

    monkeypatch.setattr(tio, "_write_npz", half_written)
    with pytest.raises(OSError, match="disk failure"):
        new.save_weights(path)
    monkeypatch.undo()

    with open(path, "rb") as f:
        assert f.read() == saved
    assert os.listdir(tmp_path) == ["w.npz"]  # no temporary files left behind
    fresh = _model(seed=3)
    fresh.load_weights(path)
    assert _same(fresh, old)


def test_checkpoint_round_trip_in_process(tmp_path):
    x = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    a = _model(seed=1)
    a.fit(x, y, epochs=2, verbose=0)
    tio.save_checkpoint(tmp_path / "c.npz", a, step=a.optimizer.iterations, epoch=2,
                        extra={"best": 0.5, "curve": np.arange(3.0)})
    rng_state = tinydl.core.random.get_rng_state()
    tinydl.manual_seed(123)
    b = _model(seed=9)
    info = tio.load_checkpoint(tmp_path / "c.npz", b)
    assert info["step"] == a.optimizer.iterations and info["epoch"] == 2
    assert info["extra"]["best"] == 0.5 and np.array_equal(info["extra"]["curve"], np.arange(3.0))
    assert tinydl.core.random.get_rng_state() == rng_state
    assert _same(a, b) and b.optimizer.iterations == a.optimizer.iterations
    sa, sb = a.optimizer.state_dict(), b.optimizer.state_dict()
    assert sa["state"].keys() == sb["state"].keys()
    for s1, s2 in zip(sa["state"].values(), sb["state"].values()):
        assert s1.keys() == s2.keys()
        for k in s1:
            np.testing.assert_array_equal(s1[k], s2[k])
    # a weights-only file is not a checkpoint; the checkpoint's weights load with load_weights
    a.save_weights(tmp_path / "w.npz")
    with pytest.raises(CheckpointError, match="not a training checkpoint"):
        tio.load_checkpoint(tmp_path / "w.npz", b)
    c = _model(seed=4)
    c.load_weights(tmp_path / "c.npz")
    assert _same(a, c)


def test_checkpoint_with_a_mismatched_optimizer_changes_nothing(tmp_path):
    a = _model(seed=1)
    a.fit(np.zeros((8, 3), np.float32), np.zeros(8, np.int64), epochs=1, verbose=0)
    tio.save_checkpoint(tmp_path / "c.npz", a)
    b = _model(seed=2)
    b.compile("sgd", "sparse_categorical_crossentropy")
    before = b.get_weights()
    with pytest.raises(CheckpointError, match="optimizer"):
        tio.load_checkpoint(tmp_path / "c.npz", b)
    assert all(np.array_equal(x, y) for x, y in zip(before, b.get_weights()))


_RESUME_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import tinydl
    from tinydl import io
    from tinydl.keras import layers, models

    mode, path, out, n_first, n_more = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    tinydl.manual_seed(7 if mode != "resume" else 99)  # the resumed run must not depend on its own seed
    model = models.Sequential([layers.Dense(16, activation="relu", input_shape=(5,)), layers.Dropout(0.3),
                               layers.BatchNormalization(), layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    data = np.random.default_rng(0)
    x = data.normal(size=(90, 5)).astype(np.float32)
    y = data.integers(0, 3, size=90)
    if mode == "straight":
        model.fit(x, y, epochs=n_first + n_more, batch_size=16, verbose=0)
    elif mode == "first":
        model.fit(x, y, epochs=n_first, batch_size=16, verbose=0)
        io.save_checkpoint(path, model, epoch=n_first, step=model.optimizer.iterations)
    else:
        info = io.load_checkpoint(path, model)
        model.fit(x, y, epochs=n_first + n_more, initial_epoch=info["epoch"], batch_size=16, verbose=0)
    if mode != "first":
        np.savez(out, *model.get_weights())
""")


def test_exact_resume_in_a_fresh_process(tmp_path):
    script = tmp_path / "resume.py"
    script.write_text(_RESUME_SCRIPT)
    ckpt, straight, resumed = tmp_path / "c.npz", tmp_path / "straight.npz", tmp_path / "resumed.npz"
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for mode, out in (("straight", straight), ("first", tmp_path / "unused.npz"), ("resume", resumed)):
        proc = subprocess.run([sys.executable, str(script), mode, str(ckpt), str(out), "2", "2"],
                              capture_output=True, text=True, env=env, timeout=300)
        assert proc.returncode == 0, proc.stderr
    a, b = np.load(straight), np.load(resumed)
    assert len(a.files) == 8
    for k in a.files:
        np.testing.assert_array_equal(a[k], b[k])  # bit-identical, not merely close
