"""Checkpoints and IDX files: hostile files are refused with the right error at bounded memory,
everything is validated before anything changes, modes and interrupts are respected, stale
temporaries are cleaned up safely."""
import gzip
import json
import os
import stat
import struct
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import tinydl
from tinydl import io as tio
from tinydl.core import random as trandom
from tinydl.data import IDXError, read_idx, write_idx
from tinydl.io import CheckpointError
from tinydl.keras import layers, models

fcntl = pytest.importorskip("fcntl") if os.name == "posix" else None


def _model():
    tinydl.manual_seed(0)
    m = models.Sequential([layers.Dense(2, input_shape=(3,))])
    m.compile(optimizer="adam", loss="mse")
    m.fit(np.ones((4, 3), np.float32), np.zeros((4, 2), np.float32), verbose=0)
    return m


def _snapshot(model):
    return ([w.copy() for w in model.get_weights()],
            json.dumps(tio._flatten(model.optimizer.state_dict(), "o", {}), sort_keys=True, default=str),
            json.dumps(trandom.get_rng_state(), sort_keys=True, default=str))


def _rewrite(path, edit_meta=None, extra_members=()):
    """Copy a saved file member by member, editing the metadata and appending members."""
    with zipfile.ZipFile(path) as z:
        members = {i.filename: z.read(i) for i in z.infolist()}
    if edit_meta is not None:
        raw = np.load(path)["__meta__"]
        doc = json.loads(raw.tobytes())
        edit_meta(doc)
        buf = __import__("io").BytesIO()
        np.save(buf, np.frombuffer(json.dumps(doc).encode(), np.uint8))
        members["__meta__.npy"] = buf.getvalue()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
        for info, writer in extra_members:
            if writer is None:
                z.writestr(info, b"")
            else:
                with z.open(info, "w", force_zip64=True) as f:
                    writer(f)


def _peak_while(fn):
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


# ---------------------------------------------------------------------------- validate first

@pytest.mark.parametrize("bad_state", [{"bit_generator": "MT19937", "state": {"key": [1], "pos": 0}},
                                       {"bit_generator": "PCG64", "state": {"state": "x", "inc": 1},
                                        "has_uint32": 0, "uinteger": 0},
                                       "not a dict"])
def test_a_bad_rng_state_changes_nothing(tmp_path, bad_state):
    model = _model()
    path = tmp_path / "ck.npz"
    tio.save_checkpoint(path, model)
    _rewrite(path, lambda doc: doc["meta"].__setitem__("rng_state", bad_state))
    other = _model()
    other.fit(np.ones((4, 3), np.float32), np.ones((4, 2), np.float32), verbose=0)  # differs from the file
    trandom.get_rng().random()
    before = _snapshot(other)
    with pytest.raises(CheckpointError, match="RNG state"):
        tio.load_checkpoint(path, other)
    after = _snapshot(other)
    assert all(np.array_equal(a, b) for a, b in zip(before[0], after[0]))
    assert before[1:] == after[1:]
    tio.load_checkpoint(path, other, restore_rng=False)  # the rest of the file is fine


def _link_info(name):
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.mark.parametrize("member", [_link_info("link.npy"), zipfile.ZipInfo("notes.txt"),
                                    zipfile.ZipInfo("dir.npy/")])
def test_members_that_are_not_npy_files_raise_checkpoint_error(tmp_path, member):
    path = tmp_path / "w.npz"
    _model().save_weights(path)
    _rewrite(path, extra_members=[(member, None)])
    with pytest.raises(CheckpointError, match=r"member .* (not a regular file|not a \.npy array)"):
        tio.load_state(path)


def test_a_non_npy_metadata_member_raises_checkpoint_error(tmp_path):
    path = tmp_path / "w.npz"
    _model().save_weights(path)
    with zipfile.ZipFile(path) as z:
        members = {i.filename: z.read(i) for i in z.infolist()}
    members["__meta__.npy"] = b'{"format": "tinydl-state"}'  # JSON, not a .npy array
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    with pytest.raises(CheckpointError, match="w.npz"):
        tio.load_state(path)


# ---------------------------------------------------------------------------- bounded memory

def _zeros_writer(nbytes):
    def write(f):
        header = __import__("io").BytesIO()
        np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": (nbytes,)})
        f.write(header.getvalue())
        chunk = bytes(1 << 20)
        for _ in range(nbytes >> 20):
            f.write(chunk)
    return write


BIG = 64 << 20  # deflates to ~64 KB


def test_an_unlisted_huge_member_is_refused_before_inflating(tmp_path):
    path = tmp_path / "ck.npz"
    tio.save_checkpoint(path, _model())
    info = zipfile.ZipInfo("junk.npy")
    info.compress_type = zipfile.ZIP_DEFLATED
    _rewrite(path, extra_members=[(info, _zeros_writer(BIG))])
    assert os.path.getsize(path) < BIG // 200

    def load():
        with pytest.raises(CheckpointError, match="the file holds"):
            tio.load_checkpoint(path, _model())
    assert _peak_while(load) < 8 << 20


def test_a_listed_member_that_does_not_fit_the_model_is_refused_before_inflating(tmp_path):
    path = tmp_path / "w.npz"
    model = _model()
    model.save_weights(path)
    key = next(k for k in model.state_dict() if k.endswith("kernel"))
    with zipfile.ZipFile(path) as z:
        members = {i.filename: z.read(i) for i in z.infolist() if i.filename != key + ".npy"}
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
        info = zipfile.ZipInfo(key + ".npy")
        info.compress_type = zipfile.ZIP_DEFLATED
        with z.open(info, "w", force_zip64=True) as f:
            _zeros_writer(BIG)(f)

    def load():
        with pytest.raises(CheckpointError, match=r"has shape \(67108864,\) in the file"):
            model.load_weights(path)
    assert _peak_while(load) < 8 << 20


def test_a_member_declaring_more_than_deflate_can_produce_is_refused(tmp_path):
    path = tmp_path / "w.npz"
    _model().save_weights(path)
    data = bytearray(path.read_bytes())
    # patch the central directory's uncompressed size of the first member to 1 GB
    cd = data.rfind(b"PK\x01\x02")
    while cd > 0 and data[cd:cd + 4] == b"PK\x01\x02":
        first = cd
        cd = data.rfind(b"PK\x01\x02", 0, cd)
    struct.pack_into("<I", data, first + 24, 1 << 30)
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError):
        tio.load_state(path)


def _idx_gz(path, header, payload_bytes):
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(header)
        chunk = bytes(1 << 20)
        for _ in range(payload_bytes >> 20):
            f.write(chunk)


def test_an_idx_gz_is_never_inflated_past_its_declared_size(tmp_path):
    path = tmp_path / "bomb-idx1-ubyte.gz"
    _idx_gz(path, b"\x00\x00\x08\x01" + struct.pack(">I", 4), BIG)  # declares 12 bytes, holds 64 MB

    def load():
        with pytest.raises(IDXError, match=r"bomb-idx1-ubyte\.gz: IDX size mismatch"):
            read_idx(path)
    assert _peak_while(load) < 8 << 20


def test_an_idx_gz_declaring_more_than_gzip_can_hold_is_refused(tmp_path):
    path = tmp_path / "liar-idx3-ubyte.gz"
    _idx_gz(path, b"\x00\x00\x08\x03" + struct.pack(">3I", 60000, 28, 28000), 0)
    with pytest.raises(IDXError, match=r"liar-idx3-ubyte\.gz: the IDX header declares .* more than gzip can hold"):
        read_idx(path)


@pytest.mark.parametrize("compress", [False, True])
def test_idx_dimensions_whose_product_overflows_int64_are_named(tmp_path, compress):
    path = tmp_path / ("huge-idx3-ubyte" + (".gz" if compress else ""))
    data = b"\x00\x00\x08\x03" + struct.pack(">3I", 2**32 - 1, 2**32 - 1, 2**32 - 1) + b"\x00" * 16
    path.write_bytes(gzip.compress(data) if compress else data)
    with pytest.raises(IDXError, match="huge-idx3-ubyte"):
        read_idx(path)


def test_normal_idx_files_still_round_trip(tmp_path):
    a = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    for name in ("a-idx3", "a-idx3.gz"):
        write_idx(tmp_path / name, a)
        np.testing.assert_array_equal(read_idx(tmp_path / name), a)


# ---------------------------------------------------------------------------- modes

def test_saving_keeps_an_existing_mode_and_respects_the_umask(tmp_path):
    model = _model()
    path = tmp_path / "w.npz"
    old = os.umask(0o022)
    try:
        model.save_weights(path)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
        os.chmod(path, 0o640)
        model.save_weights(path)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
        os.umask(0o077)
        model.save_weights(tmp_path / "private.npz")
        assert stat.S_IMODE(os.stat(tmp_path / "private.npz").st_mode) == 0o600
        os.umask(0o002)
        tio.save_checkpoint(tmp_path / "group.npz", model)
        assert stat.S_IMODE(os.stat(tmp_path / "group.npz").st_mode) == 0o664
    finally:
        os.umask(old)


# ---------------------------------------------------------------------------- interrupts, leftovers

def test_ctrl_c_while_a_save_opens_a_zip_entry_propagates_as_itself(tmp_path, monkeypatch):
    model = _model()
    path = tmp_path / "w.npz"
    model.save_weights(path)
    saved = path.read_bytes()
    real_open = zipfile.ZipFile.open
    calls = []

    def interrupted(self, name, mode="r", **kwargs):
        if mode == "w":
            calls.append(name)
            if len(calls) == 2:
                raise KeyboardInterrupt
        return real_open(self, name, mode, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", interrupted)
    with pytest.raises(KeyboardInterrupt):
        model.save_weights(path)
    monkeypatch.undo()
    assert path.read_bytes() == saved
    assert os.listdir(tmp_path) == ["w.npz"]


def _temp_name(base, middle="k3x_9abc"):
    return f".{base}.{middle}.tmp"


def test_stale_temporaries_of_killed_saves_are_removed_and_live_ones_kept(tmp_path):
    model = _model()
    path = tmp_path / "w.npz"
    old_time = time.time() - 3600
    stale = tmp_path / _temp_name("w.npz")
    fresh = tmp_path / _temp_name("w.npz", "fresh000")
    locked = tmp_path / _temp_name("w.npz", "locked00")
    other = tmp_path / _temp_name("other.npz")
    lookalike = tmp_path / (_temp_name("w.npz") + ".keep")
    target = tmp_path / "precious.txt"
    link = tmp_path / _temp_name("w.npz", "symlink0")
    for p in (stale, fresh, locked, other, lookalike, target):
        p.write_bytes(b"partial")
    link.symlink_to(target)
    for p in (stale, locked, other, lookalike, target):
        os.utime(p, (old_time, old_time))
    os.utime(link, (old_time, old_time), follow_symlinks=False)
    holder = open(locked, "rb")
    fcntl.flock(holder.fileno(), fcntl.LOCK_EX)  # a save in another process, still writing
    try:
        model.save_weights(path)
    finally:
        holder.close()
    left = set(os.listdir(tmp_path))
    assert stale.name not in left
    assert {fresh.name, locked.name, other.name, lookalike.name, link.name, target.name, "w.npz"} <= left
    assert target.read_bytes() == b"partial"
    model.load_weights(path)
