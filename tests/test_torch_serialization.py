"""tinydl.save / tinydl.load (tinydl's format, and PyTorch's .pt files read without PyTorch) and
safetensors, against files recorded with PyTorch 2.13 (tests/golden/torch_io/)."""
import collections
import io
import json
import math
import os
import struct
import zipfile

import numpy as np
import pytest

import tinydl
from tinydl import Tensor
from tinydl.io import CheckpointError
from tinydl.serialization import UnsafeFileError, safetensors as st

IO_DIR = os.path.join(os.path.dirname(__file__), "golden", "torch_io")
EXPECTED = np.load(os.path.join(IO_DIR, "expected.npz"), allow_pickle=False)
with open(os.path.join(IO_DIR, "expected.json")) as _f:
    META = json.load(_f)


def test_recorded_with_pytorch_2_13():
    assert META["__version__"].startswith("2.13")


# ---- tinydl's own format ------------------------------------------------------------------------------

def _sample():
    return {"model": collections.OrderedDict([("w", Tensor(np.arange(6, dtype=np.float32).reshape(2, 3))),
                                              ("steps", Tensor(np.array(4)))]),
            "param": Tensor(np.ones(2), requires_grad=True),
            "epoch": 3, "lr": 0.25, "nan": math.nan, "inf": -math.inf, "name": "run", "none": None, "flag": True,
            "pair": (1, "two", (3.0,)), "list": [1, [2, 3]], 7: "an int key", (1, 2): "a tuple key",
            "np": np.eye(2, dtype=np.float16), "np_scalar": np.int16(5), "dtype": np.dtype("float32")}


def _check_sample(back):
    assert type(back["model"]) is collections.OrderedDict and list(back["model"]) == ["w", "steps"]
    w = back["model"]["w"]
    assert isinstance(w, Tensor) and w.dtype == np.float32 and w.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert back["model"]["steps"].dtype == np.int64 and back["model"]["steps"].item() == 4
    assert back["param"].requires_grad and not back["model"]["w"].requires_grad
    assert back["epoch"] == 3 and isinstance(back["epoch"], int) and back["lr"] == 0.25
    assert math.isnan(back["nan"]) and back["inf"] == -math.inf and back["name"] == "run"
    assert back["none"] is None and back["flag"] is True
    assert back["pair"] == (1, "two", (3.0,)) and back["list"] == [1, [2, 3]]
    assert back[7] == "an int key" and back[(1, 2)] == "a tuple key"
    assert back["np"].dtype == np.float16 and np.array_equal(back["np"], np.eye(2))
    assert back["np_scalar"] == 5 and back["np_scalar"].dtype == np.int16
    assert back["dtype"] == np.float32


def test_save_load_round_trip_through_a_path_and_a_buffer(tmp_path):
    path = tmp_path / "ckpt.pt"
    tinydl.save(_sample(), path)
    _check_sample(tinydl.load(path))
    _check_sample(tinydl.load(str(path), map_location="cpu", weights_only=False))
    buf = io.BytesIO()
    tinydl.save(_sample(), buf)
    buf.seek(0)
    _check_sample(tinydl.load(buf))
    with zipfile.ZipFile(path) as z:  # the documented layout: .npy members and the JSON metadata
        assert all(n.endswith(".npy") for n in z.namelist()) and "__meta__.npy" in z.namelist()


def test_save_refuses_what_it_cannot_store_without_pickle(tmp_path):
    class Model:
        def state_dict(self):
            return {}

    with pytest.raises(TypeError, match=r"cannot store a Model at obj \(save its state_dict\(\) instead\)"):
        tinydl.save(Model(), tmp_path / "m.pt")
    with pytest.raises(TypeError, match=r"cannot store a set at obj\['a'\]"):
        tinydl.save({"a": {1, 2}}, tmp_path / "s.pt")
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError, match="contains itself"):
        tinydl.save(loop, tmp_path / "l.pt")
    assert not os.listdir(tmp_path)  # nothing half-written is left


def test_load_rejects_corrupt_and_foreign_files(tmp_path):
    path = tmp_path / "c.pt"
    tinydl.save({"w": Tensor(np.arange(1000.0))}, path)
    raw = bytearray(path.read_bytes())
    raw[raw.index(b"\x00\x00\x00\x00\x00\x00\xf0\x3f") + 3] ^= 0xFF  # a flipped bit inside the array (1.0)
    (tmp_path / "flipped.pt").write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="CRC|SHA-256"):  # the zip's CRC catches it first
        tinydl.load(tmp_path / "flipped.pt")
    (tmp_path / "cut.pt").write_bytes(path.read_bytes()[:300])
    with pytest.raises(CheckpointError):
        tinydl.load(tmp_path / "cut.pt")
    (tmp_path / "text.pt").write_bytes(b"hello world, not a checkpoint")
    with pytest.raises(CheckpointError, match="not a file written by tinydl.save or torch.save"):
        tinydl.load(tmp_path / "text.pt")
    tinydl.io.save_weights(tmp_path / "weights.npz", tinydl.nn.Module())
    with pytest.raises(CheckpointError, match="not one written by tinydl.save"):
        tinydl.load(tmp_path / "weights.npz")
    with pytest.raises(FileNotFoundError):
        tinydl.load(tmp_path / "missing.pt")


def test_map_location():
    buf = io.BytesIO()
    tinydl.save({"w": Tensor(np.ones(2))}, buf)
    buf.seek(0)
    assert tinydl.load(buf, map_location={"cuda:0": "cpu"})["w"].device == tinydl.device("cpu")
    buf.seek(0)
    with pytest.raises(NotImplementedError, match="map_location as a function"):
        tinydl.load(buf, map_location=lambda storage, loc: storage)


# ---- PyTorch's files ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["state_dict.pt", "state_dict_legacy.pt"])
def test_reads_a_pytorch_state_dict_with_dtypes_strides_and_shared_storage(name):
    sd = tinydl.load(os.path.join(IO_DIR, name))
    assert type(sd) is collections.OrderedDict
    assert list(sd) == ["linear.weight", "linear.bias", "emb.weight", "bf16", "bn.num_batches_tracked", "mask",
                        "bytes", "ints", "transposed", "tied_a", "row", "scalar", "empty"]
    for key, t in sd.items():
        assert isinstance(t, Tensor), key
        want = EXPECTED[key]
        assert t.shape == want.shape and np.array_equal(t.detach().numpy(), want), key
        dtype = {"bfloat16": "float32", "bool": "bool"}.get(META["dtypes"][key], META["dtypes"][key])
        assert t.dtype == np.dtype(dtype), key
        item = t.dtype.itemsize
        if t.detach().numpy().size > 1 and META["dtypes"][key] != "bfloat16":
            assert tuple(s // item for s in t.detach().numpy().strides) == tuple(META["strides"][key]), key
    assert all(t.detach().numpy().flags.writeable for t in sd.values())  # loaded weights can be trained in place
    # "transposed", "tied_a" and "row" are views of one storage, as in PyTorch
    assert np.shares_memory(sd["transposed"].detach().numpy(), sd["tied_a"].detach().numpy())
    assert np.shares_memory(sd["row"].detach().numpy(), sd["tied_a"].detach().numpy())


def test_reads_a_pytorch_checkpoint_and_the_optimizer_state_loads_into_tinydl():
    ck = tinydl.load(os.path.join(IO_DIR, "checkpoint.pt"))
    assert ck["epoch"] == 4 and ck["loss"] == 0.25 and ck["name"] == "run" and ck["none"] is None
    assert ck["pair"] == (1, 2.0) and ck["list"] == [1, "two"]
    assert ck["nested"]["a"]["b"].tolist() == [1.0, 1.0]
    (w,) = ck["params"]
    assert w.requires_grad and np.array_equal(w.detach().numpy(), EXPECTED["ckpt_w"])  # an nn.Parameter
    state = ck["optimizer"]["state"][0]
    for k, v in state.items():
        assert np.array_equal(v.detach().numpy(), EXPECTED[f"ckpt_opt_{k}"])
    opt = tinydl.optim.Adam([w], lr=0.5)
    opt.load_state_dict(ck["optimizer"])
    groups = META["checkpoint_opt_groups"]
    assert opt.param_groups[0]["lr"] == groups[0]["lr"] == 0.1
    assert float(opt.state[w]["step"].item()) == 1.0


def _s(text):
    b = text.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def _i(n):
    if -2 ** 31 <= n < 2 ** 31:
        return b"J" + struct.pack("<i", n)
    raw = n.to_bytes(16, "little", signed=True)
    return b"\x8a" + bytes([len(raw)]) + raw  # LONG1


def _tup(*items):
    return b"(" + b"".join(items) + b"t"


def _tensor_pickle(size, stride, offset, numel, storage="FloatStorage"):
    """The pickle PyTorch writes for one tensor (protocol 2), by hand."""
    pid = _tup(_s("storage"), b"ctorch\n" + storage.encode() + b"\n", _s("0"), _s("cpu"), _i(numel))
    return (b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n(" + pid + b"Q" + _i(offset) + _tup(*map(_i, size))
            + _tup(*map(_i, stride)) + b"\x89ccollections\nOrderedDict\n)RtR.")


def _torch_zip(path, pickle_bytes, storage_bytes=None):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pickle_bytes)
        if storage_bytes is not None:
            z.writestr("archive/data/0", storage_bytes)
        z.writestr("archive/version", "3\n")


def test_hand_made_pytorch_file_builds_the_tensor(tmp_path):
    data = np.arange(6, dtype=np.float32)
    _torch_zip(tmp_path / "t.pt", _tensor_pickle((2, 2), (1, 2), 1, 6), data.tobytes())
    t = tinydl.load(tmp_path / "t.pt")
    assert t.tolist() == [[1.0, 3.0], [2.0, 4.0]]


@pytest.mark.parametrize("prefix, call, arg", [
    (b"", b"posix\nsystem", "touch {marker}"),
    (b"", b"os\nsystem", "touch {marker}"),
    (b"", b"builtins\neval", "open({marker!r}, 'w')"),
    (b"ccollections\nOrderedDict\n)R", b"builtins\nexec", "open({marker!r}, 'w')"),  # after an allowed global
])
def test_a_hostile_pickle_is_refused_and_runs_nothing(tmp_path, prefix, call, arg):
    marker = str(tmp_path / "pwned")
    body = b"\x80\x02" + prefix + b"c" + call + b"\n" + _s(arg.format(marker=marker)) + b"\x85R."
    _torch_zip(tmp_path / "evil.pt", body)                # in a PyTorch zip archive
    (tmp_path / "evil_legacy.pt").write_bytes(body)       # as a bare pickle (the legacy layout's start)
    for name in ("evil.pt", "evil_legacy.pt"):
        with pytest.raises(UnsafeFileError, match=r"refused to load the global '(posix|os|builtins)\.(system|eval|exec)'"):
            tinydl.load(tmp_path / name, weights_only=False)
    assert not os.path.exists(marker)


@pytest.mark.parametrize("size, stride, offset, numel, nbytes, message", [
    ((4,), (1,), 0, 4, 8, "declares 4 elements"),                  # the storage member is too short
    ((4,), (2,), 0, 4, 16, "reaches past its storage"),            # the view runs off the storage
    ((1000, 1000), (0, 0), 0, 1, 4, "more elements than its storage"),  # an expanded tensor
    ((2,), (-1,), 0, 2, 8, "refused"),                              # a negative stride
])
def test_inconsistent_pytorch_files_are_refused_before_allocating(tmp_path, size, stride, offset, numel, nbytes,
                                                                   message):
    _torch_zip(tmp_path / "bad.pt", _tensor_pickle(size, stride, offset, numel), b"\x00" * nbytes)
    with pytest.raises(CheckpointError, match=message):
        tinydl.load(tmp_path / "bad.pt")


def test_a_storage_declaring_a_huge_size_costs_nothing(tmp_path):
    _torch_zip(tmp_path / "huge.pt", _tensor_pickle((1 << 40,), (1,), 0, 1 << 40), b"\x00" * 16)
    with pytest.raises(CheckpointError, match="declares 1099511627776 elements"):
        tinydl.load(tmp_path / "huge.pt")


# ---- safetensors ------------------------------------------------------------------------------------------

def test_reads_a_file_written_by_safetensors_torch():
    path = os.path.join(IO_DIR, "torch_writer.safetensors")
    arrays = st.load_file(path)
    assert sorted(arrays) == ["bf", "bias", "half", "idx", "weight"]
    for k, v in arrays.items():
        want = EXPECTED[f"st_{k}"]
        assert v.dtype == want.dtype and np.array_equal(v, want), k
    assert st.read_metadata(path) == {"format": "pt", "epoch": "3"}
    with pytest.raises(CheckpointError, match="safetensors file; read it with"):
        tinydl.load(path)


def test_writes_what_the_safetensors_writer_writes(tmp_path):
    same = {"b": np.arange(6, dtype=np.float32).reshape(2, 3), "a": np.ones(4, np.float32)}
    with open(os.path.join(IO_DIR, "numpy_writer.safetensors"), "rb") as f:
        assert st.save(same) == f.read()
    mixed = {"x": Tensor(np.arange(3, dtype=np.int64)), "y": np.zeros((2, 2), np.float16), "z": np.array(True)}
    st.save_file(mixed, tmp_path / "m.safetensors", metadata={"k": "v"})
    back = st.load_file(tmp_path / "m.safetensors")
    assert back["x"].tolist() == [0, 1, 2] and back["y"].dtype == np.float16 and back["z"].shape == ()
    assert st.read_metadata(tmp_path / "m.safetensors") == {"k": "v"}
    with pytest.raises(TypeError, match="metadata must be a dict of str to str"):
        st.save(same, metadata={"k": 1})


def _st_file(header, data=b""):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


@pytest.mark.parametrize("blob, message", [
    (struct.pack("<Q", 1 << 40) + b"{}", "more than the 100000000 allowed"),
    (struct.pack("<Q", 1000) + b"{}", "the file is truncated"),
    (_st_file({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\x00" * 8), "accounts for 16"),
    (_st_file({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
               "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"\x00" * 12), "overlapping"),
    (_st_file({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\x00" * 8), "needs 12 bytes"),
    (_st_file({"a": {"dtype": "X9", "shape": [1], "data_offsets": [0, 1]}}, b"\x00"), "dtype 'X9'"),
    (struct.pack("<Q", 2) + b"{]", "not valid JSON"),
])
def test_hostile_safetensors_headers_are_refused(tmp_path, blob, message):
    (tmp_path / "bad.safetensors").write_bytes(blob)
    with pytest.raises(CheckpointError, match=message):
        st.load_file(tmp_path / "bad.safetensors")
    with pytest.raises(CheckpointError, match=message):
        st.load(blob)


def test_reads_pytorch_files_from_open_file_objects():
    for name in ("state_dict.pt", "state_dict_legacy.pt"):
        with open(os.path.join(IO_DIR, name), "rb") as f:
            sd = tinydl.load(io.BytesIO(f.read()))
        assert np.array_equal(sd["linear.weight"].detach().numpy(), EXPECTED["linear.weight"])


from hypothesis import given, strategies as hs  # noqa: E402

_leaves = hs.one_of(hs.none(), hs.booleans(), hs.integers(-2 ** 70, 2 ** 70), hs.floats(allow_nan=False),
                    hs.text(max_size=5),
                    hs.builds(lambda n, d: np.arange(n).astype(d), hs.integers(0, 4),
                              hs.sampled_from([np.float32, np.int64, np.uint8, np.bool_, np.complex64])),
                    hs.builds(lambda n: Tensor(np.linspace(0, 1, n, dtype=np.float32)), hs.integers(1, 4)))
_trees = hs.recursive(_leaves, lambda kids: hs.one_of(
    hs.lists(kids, max_size=3), hs.tuples(kids, kids),
    hs.dictionaries(hs.one_of(hs.text(max_size=3), hs.integers(-5, 5)), kids, max_size=3),
    hs.builds(lambda d: collections.OrderedDict(sorted(d.items())), hs.dictionaries(hs.text(max_size=3), kids,
                                                                                     max_size=3))), max_leaves=8)


def _same(a, b):
    if isinstance(a, Tensor):
        return isinstance(b, Tensor) and a.dtype == b.dtype and np.array_equal(a.detach().numpy(), b.detach().numpy())
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, dict):
        return type(a) is type(b) and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


@given(_trees)
def test_save_load_round_trips_any_nested_container(obj):
    buf = io.BytesIO()
    tinydl.save(obj, buf)
    buf.seek(0)
    assert _same(obj, tinydl.load(buf))


def test_pytorchs_tar_format_raises_not_implemented(tmp_path):
    import tarfile
    with tarfile.open(tmp_path / "old.pt", "w") as tar:
        tar.add(os.path.join(IO_DIR, "expected.json"), arcname="sys_info")
    with pytest.raises(NotImplementedError, match="tar format"):
        tinydl.load(tmp_path / "old.pt")
