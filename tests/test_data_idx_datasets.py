"""IDX reading and the MNIST / Fashion-MNIST loaders (local lookup, checksums, real downloads
from a throwaway HTTP server on 127.0.0.1)."""
import doctest
import functools
import gzip
import hashlib
import http.server
import importlib
import os
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinydl.data import (CHECKSUMS, ChecksumError, DatasetNotFoundError, IDXError, load_dataset,
                         load_fashion_mnist, load_mnist, read_idx, write_idx)
from tinydl.data.datasets import FILES
from tinydl.data.idx import idx_bytes, parse_idx

IDX_DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


# ---------------------------------------------------------------- IDX

def test_parse_hand_built_header():
    # magic 0x00000803 (uint8, 3 dims), dims 2x1x2, then 4 bytes of data
    data = bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 1, 2, 3, 250])
    out = parse_idx(data)
    assert out.dtype == np.uint8 and out.shape == (2, 1, 2)
    assert out.ravel().tolist() == [1, 2, 3, 250]


def test_big_endian_int32_is_decoded():
    data = bytes([0, 0, 0x0C, 1, 0, 0, 0, 2]) + (1).to_bytes(4, "big") + (-2).to_bytes(4, "big", signed=True)
    out = parse_idx(data)
    assert out.tolist() == [1, -2] and out.dtype == np.int32 and out.dtype.isnative


@pytest.mark.parametrize("dtype", IDX_DTYPES)
@pytest.mark.parametrize("compress", [False, True])
def test_roundtrip_every_dtype(tmp_path, dtype, compress):
    a = (np.arange(24) - 7).reshape(2, 3, 4).astype(dtype)
    path = tmp_path / "a.idx"
    write_idx(path, a, compress=compress)
    b = read_idx(path)
    assert b.dtype == a.dtype and b.dtype.isnative and b.flags.writeable
    np.testing.assert_array_equal(a, b)


@settings(max_examples=25, deadline=None)
@given(hnp.arrays(st.sampled_from(IDX_DTYPES), hnp.array_shapes(min_dims=1, max_dims=4, max_side=5)))
def test_roundtrip_property(a):
    b = parse_idx(idx_bytes(a))
    assert b.dtype == a.dtype and b.shape == a.shape
    np.testing.assert_array_equal(a, b)  # NaNs compare equal here


def test_compression_is_detected_from_content_not_name(tmp_path):
    a = np.arange(5, dtype=np.uint8)
    write_idx(tmp_path / "plain.gz", a, compress=False)       # raw bytes under a .gz name
    write_idx(tmp_path / "zipped.idx", a, compress=True)      # gzip bytes without .gz
    np.testing.assert_array_equal(read_idx(tmp_path / "plain.gz"), a)
    np.testing.assert_array_equal(read_idx(tmp_path / "zipped.idx"), a)


@pytest.mark.parametrize("head", [b"\x01\x00\x08\x01", b"\x00\x00\x07\x01", b"PK\x03\x04"])
def test_bad_magic_names_the_file(tmp_path, head):
    path = tmp_path / "bad-magic"
    path.write_bytes(head + b"\x00\x00\x00\x01\x05")
    with pytest.raises(IDXError, match=r"bad-magic.*bad IDX magic number 0x" + head.hex()):
        read_idx(path)


def test_truncated_header(tmp_path):
    path = tmp_path / "short"
    path.write_bytes(b"\x00\x00\x08\x03\x00\x00\x00\x02")  # says 3 dims, has 1
    with pytest.raises(IDXError, match=r"short: truncated IDX header: 3 dimensions need 16 bytes, file has 8"):
        read_idx(path)
    path.write_bytes(b"\x00\x00")
    with pytest.raises(IDXError, match="truncated IDX header"):
        read_idx(path)


def test_truncated_data_reports_expected_and_actual(tmp_path):
    path = tmp_path / "cut.idx"
    path.write_bytes(idx_bytes(np.zeros((3, 4), np.int16))[:-5])
    # header 12 bytes + 12 int16 = 36 bytes expected, 31 present
    with pytest.raises(IDXError, match=r"cut\.idx: truncated IDX data: .*needs 36 bytes, file has 31"):
        read_idx(path)


def test_trailing_bytes_are_a_size_mismatch(tmp_path):
    path = tmp_path / "long.idx"
    path.write_bytes(idx_bytes(np.zeros(4, np.uint8)) + b"xyz")
    with pytest.raises(IDXError, match=r"long\.idx: IDX size mismatch: .*needs 12 bytes, file has 15"):
        read_idx(path)


def test_truncated_gzip(tmp_path):
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.arange(1000, dtype=np.int32)))[:-30])
    with pytest.raises(IDXError, match=r"cut\.gz: corrupt or truncated gzip"):
        read_idx(path)


def test_unsupported_dtype_cannot_be_written(tmp_path):
    with pytest.raises(TypeError, match="IDX cannot store dtype"):
        write_idx(tmp_path / "x", np.zeros(2, np.uint16))


@pytest.mark.parametrize("module", ["idx", "datasets", "loader", "augment", "metrics"])
def test_docstring_examples_run(module):
    mod = importlib.import_module("tinydl.data." + module)
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


# ---------------------------------------------------------------- local lookup

def _synthetic_arrays(seed=0, n_train=6, n_test=3):
    rng = np.random.default_rng(seed)
    return {
        FILES[0]: rng.integers(0, 256, (n_train, 5, 4), dtype=np.uint8),
        FILES[1]: rng.integers(0, 10, n_train, dtype=np.uint8),
        FILES[2]: rng.integers(0, 256, (n_test, 5, 4), dtype=np.uint8),
        FILES[3]: rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def _write_set(directory, arrays, gz=True):
    os.makedirs(directory, exist_ok=True)
    for name, a in arrays.items():
        write_idx(os.path.join(directory, name + (".gz" if gz else "")), a)


def _sums(arrays):
    return {name: hashlib.sha256(idx_bytes(a)).hexdigest() for name, a in arrays.items()}


def _check(result, arrays):
    (x, y), (xt, yt) = result
    for got, name in zip((x, y, xt, yt), FILES):
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, arrays[name])


@pytest.fixture
def env(tmp_path, monkeypatch):
    """No TINYDL_DATA, and a cache under tmp_path: tests never touch ~/.tinydl."""
    monkeypatch.delenv("TINYDL_DATA", raising=False)
    monkeypatch.setenv("TINYDL_CACHE", str(tmp_path / "cache"))
    return tmp_path


def test_explicit_path_gz_and_raw_names(env):
    arrays = _synthetic_arrays()
    _write_set(env / "gz", arrays, gz=True)
    _write_set(env / "raw", arrays, gz=False)
    for d in ("gz", "raw"):
        _check(load_mnist(env / d, download=False, checksums=_sums(arrays)), arrays)


def test_search_order_path_then_env_then_cache(env, monkeypatch):
    a_path, a_env, a_cache = (_synthetic_arrays(seed) for seed in (1, 2, 3))
    _write_set(env / "mine", a_path)
    _write_set(env / "data" / "mnist", a_env)
    _write_set(env / "cache" / "mnist", a_cache)
    sums = {f: None for f in FILES}  # unpinned: contents differ on purpose, to tell them apart
    monkeypatch.setenv("TINYDL_DATA", str(env / "data"))
    _check(load_mnist(env / "mine", download=False, checksums=sums), a_path)
    _check(load_mnist(download=False, checksums=sums), a_env)
    monkeypatch.delenv("TINYDL_DATA")
    _check(load_mnist(download=False, checksums=sums), a_cache)
    # an explicit cache_dir argument beats $TINYDL_CACHE
    _write_set(env / "other" / "mnist", a_path)
    _check(load_mnist(download=False, checksums=sums, cache_dir=env / "other"), a_path)


def test_default_table_rejects_files_that_are_not_mnist(env):
    _write_set(env / "fake", _synthetic_arrays())
    with pytest.raises(ChecksumError) as info:
        load_mnist(env / "fake", download=False)
    msg = str(info.value)
    assert "train-images-idx3-ubyte.gz" in msg and CHECKSUMS["mnist"][FILES[0]] in msg
    assert "expected" in msg and "not used" in msg


def test_local_checksum_mismatch_is_an_error(env):
    arrays = _synthetic_arrays()
    _write_set(env / "d", arrays)
    sums = _sums(arrays)
    sums[FILES[3]] = "0" * 64
    with pytest.raises(ChecksumError, match=r"t10k-labels-idx1-ubyte\.gz: SHA-256 .* expected 0{64}"):
        load_mnist(env / "d", download=False, checksums=sums)


def test_checksum_table_must_cover_every_file(env):
    sums = _sums(_synthetic_arrays())
    del sums[FILES[1]]
    with pytest.raises(ValueError, match="no entry for"):
        load_mnist(env, download=False, checksums=sums)


def test_fashion_mnist_sums_are_explicitly_unpinned(env):
    assert set(CHECKSUMS["fashion_mnist"]) == set(FILES)
    assert all(v is None for v in CHECKSUMS["fashion_mnist"].values())
    arrays = _synthetic_arrays()
    _write_set(env / "fm", arrays)
    _check(load_fashion_mnist(env / "fm", download=False), arrays)


def test_images_and_labels_must_agree(env):
    arrays = _synthetic_arrays()
    arrays[FILES[1]] = arrays[FILES[1]][:-1]
    _write_set(env / "d", arrays)
    with pytest.raises(ValueError, match="do not fit together"):
        load_mnist(env / "d", download=False, checksums=_sums(arrays))


def test_offline_error_lists_every_place(env, monkeypatch):
    monkeypatch.setenv("TINYDL_DATA", str(env / "data"))
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist(env / "nowhere", download=False)
    assert isinstance(info.value, FileNotFoundError)
    msg = str(info.value)
    for expected in ("MNIST files not found", "train-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
                     str(env / "nowhere"), str(env / "data" / "mnist"), str(env / "cache" / "mnist"),
                     "download=False", "set TINYDL_DATA", "copy them into"):
        assert expected in msg, expected
    # only the missing files are reported
    _write_set(env / "nowhere", {FILES[0]: _synthetic_arrays()[FILES[0]]})
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist(env / "nowhere", download=False, checksums=dict.fromkeys(FILES))
    assert "not found: train-labels" in str(info.value)


def test_offline_error_says_when_tinydl_data_is_unset(env):
    with pytest.raises(DatasetNotFoundError, match=r"\$TINYDL_DATA/mnist: \(TINYDL_DATA is not set\)"):
        load_mnist(download=False)


# ---------------------------------------------------------------- real MNIST

def test_real_mnist_from_tinydl_data(tmp_path):
    if not os.environ.get("TINYDL_DATA"):
        pytest.skip("TINYDL_DATA is not set; point it at a directory holding mnist/ "
                    "(e.g. TINYDL_DATA=../shared/data) to run the real-MNIST check")
    (x, y), (xt, yt) = load_mnist(download=False, cache_dir=tmp_path)  # checksums from the table
    assert (x.shape, y.shape, xt.shape, yt.shape) == ((60000, 28, 28), (60000,), (10000, 28, 28), (10000,))
    assert {a.dtype for a in (x, y, xt, yt)} == {np.dtype(np.uint8)}
    assert y[:5].tolist() == [5, 0, 4, 1, 9] and yt[:5].tolist() == [7, 2, 1, 0, 4]
    assert set(np.unique(y)) == set(range(10)) and x.max() == 255 and x.min() == 0


# ---------------------------------------------------------------- downloads over HTTP

class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):
        self.server.requests.append(self.path)
        super().do_GET()


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 (free port) serving tmp_path/www; yields (root dir, base URL)."""
    root = tmp_path / "www"
    root.mkdir()
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    httpd.requests = []
    # a short poll interval makes shutdown() quick
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield root, httpd, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _cache_files(env):
    d = env / "cache" / "mnist"
    return sorted(os.listdir(d)) if d.exists() else []


def test_download_into_cache_then_reuse(env, server):
    root, httpd, url = server
    arrays = _synthetic_arrays()
    _write_set(root / "good", arrays)
    sums = _sums(arrays)
    _check(load_mnist(mirrors=[url + "/good/"], checksums=sums, verbose=False), arrays)
    assert _cache_files(env) == sorted(f + ".gz" for f in FILES)  # no .part left behind
    assert len(httpd.requests) == 4
    # second load: from the cache, no network at all
    _check(load_mnist(mirrors=[], download=False, checksums=sums), arrays)
    assert len(httpd.requests) == 4


def test_404_falls_through_to_next_mirror(env, server):
    root, httpd, url = server
    arrays = _synthetic_arrays()
    _write_set(root / "good", arrays)
    (root / "empty").mkdir()
    _check(load_mnist(mirrors=[url + "/empty", url + "/good"], checksums=_sums(arrays),
                      verbose=False), arrays)
    assert httpd.requests[:2] == ["/empty/" + FILES[0] + ".gz", "/good/" + FILES[0] + ".gz"]


def test_corrupt_download_is_rejected_and_deleted(env, server):
    root, httpd, url = server
    arrays = _synthetic_arrays()
    _write_set(root / "good", arrays)
    bad = dict(arrays)
    bad[FILES[0]] = arrays[FILES[0]] ^ np.uint8(1)  # valid IDX, wrong content
    _write_set(root / "bad", bad)
    sums = _sums(arrays)
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist(mirrors=[url + "/bad"], checksums=sums, verbose=False)
    msg = str(info.value)
    assert "checksum mismatch" in msg and sums[FILES[0]] in msg and "file deleted" in msg
    assert _cache_files(env) == []  # rejected file deleted, nothing half-written
    # with a good mirror behind it, the bad copy is skipped and the good one cached
    _check(load_mnist(mirrors=[url + "/bad", url + "/good"], checksums=sums, verbose=False), arrays)
    np.testing.assert_array_equal(read_idx(env / "cache" / "mnist" / (FILES[0] + ".gz")),
                                  arrays[FILES[0]])


def test_truncated_download_is_rejected(env, server):
    root, _, url = server
    arrays = _synthetic_arrays()
    _write_set(root / "cut", arrays)
    path = root / "cut" / (FILES[0] + ".gz")
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DatasetNotFoundError, match="truncated"):
        load_mnist(mirrors=[url + "/cut"], checksums=_sums(arrays), verbose=False)
    assert _cache_files(env) == []


def test_all_mirrors_missing_gives_one_clear_error(env, server):
    root, _, url = server
    (root / "a").mkdir()
    (root / "b").mkdir()
    mirrors = [url + "/a/", url + "/b/"]
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist(env / "given", mirrors=mirrors, verbose=False)
    msg = str(info.value)
    for expected in (str(env / "given"), str(env / "cache" / "mnist"), "TINYDL_DATA",
                     url + "/a/train-images-idx3-ubyte.gz", url + "/b/train-images-idx3-ubyte.gz",
                     "404", "To provide the files"):
        assert expected in msg, expected


def test_module_level_mirror_list_is_used(env, server, monkeypatch):
    root, _, url = server
    arrays = _synthetic_arrays()
    _write_set(root / "fm", arrays)
    from tinydl.data import datasets
    monkeypatch.setitem(datasets.MIRRORS, "fashion_mnist", [url + "/fm/"])
    # Fashion-MNIST's sums are not pinned, so a download says it was not verified.
    with pytest.warns(UserWarning, match="without checksum verification"):
        result = load_fashion_mnist(verbose=False)
    _check(result, arrays)
    assert sorted(os.listdir(env / "cache" / "fashion_mnist")) == sorted(f + ".gz" for f in FILES)


def test_load_dataset_reports_progress_on_stderr(env, server, capsys):
    root, _, url = server
    arrays = _synthetic_arrays()
    _write_set(root / "good", arrays)
    load_dataset("mnist", mirrors=[url + "/good"], checksums=_sums(arrays))
    assert "downloading " + url + "/good/train-images-idx3-ubyte.gz" in capsys.readouterr().err
