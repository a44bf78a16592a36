"""MNIST and Fashion-MNIST, found locally or downloaded, always checksum-verified when a sum is known.

Each of the four IDX files is looked for, in order, in

1. the ``path`` argument (a directory),
2. ``$TINYDL_DATA/<name>/`` (``name`` is ``mnist`` or ``fashion_mnist``),
3. the cache, ``<cache>/<name>/``, where ``<cache>`` is the ``cache_dir`` argument, else
   ``$TINYDL_CACHE``, else ``~/.tinydl/datasets``,

under its ``.gz`` name or its uncompressed name. A file found nowhere is downloaded (when
``download=True``) from the mirrors, in order, into the cache: to a temporary file first, renamed
into place only once it verifies, so a cut-off or corrupt download never lands in the cache.

Verification is the SHA-256 of the *decompressed* content (mirrors recompress; the content is what
matters) against :data:`CHECKSUMS`. Decompressing and hashing all of MNIST takes about 0.3 s, so it is
simply redone on every load rather than cached in a marker file that could go stale.

Fashion-MNIST's SHA-256 sums are **not pinned**: its publishers list MD5 sums of the compressed files,
not SHA-256 of the content, and we do not guess. Its files are therefore only checked structurally
(valid IDX, matching counts), and a download of them warns that it was not verified. Pass your own
``checksums`` table to pin them.

>>> import os
>>> (x, y), (xt, yt) = load_mnist(download=False)  # doctest: +SKIP
>>> x.shape, y.shape, xt.shape, yt.shape, x.dtype  # doctest: +SKIP
((60000, 28, 28), (60000,), (10000, 28, 28), (10000,), dtype('uint8'))
"""
import hashlib
import os
import shutil
import sys
import tempfile
import warnings

from .idx import parse_idx, read_file_bytes

__all__ = [
    "load_mnist", "load_fashion_mnist", "load_dataset", "default_cache_dir",
    "ChecksumError", "DatasetNotFoundError", "MIRRORS", "CHECKSUMS", "FILES",
]

# (x_train, y_train, x_test, y_test), without the .gz suffix.
FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

# Tried in order. Module-level lists, so a test or an air-gapped site can point them elsewhere.
MIRRORS = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ],
    "fashion_mnist": [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ],
}

# SHA-256 of each file's decompressed content; None means "not pinned" (see module docstring).
CHECKSUMS = {
    "mnist": {
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    "fashion_mnist": dict.fromkeys(FILES),
}

_TITLES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}


class ChecksumError(ValueError):
    """A dataset file's decompressed content does not have the expected SHA-256."""

    def __init__(self, message, path=None, expected=None, actual=None):
        super().__init__(message)
        self.path, self.expected, self.actual = path, expected, actual


class DatasetNotFoundError(FileNotFoundError):
    """Dataset files are in none of the places looked and could not be downloaded."""


def default_cache_dir():
    """``$TINYDL_CACHE`` if set, else ``~/.tinydl/datasets``.

    >>> "TINYDL_CACHE" in os.environ or default_cache_dir().endswith(".tinydl/datasets")
    True
    """
    env = os.environ.get("TINYDL_CACHE")
    return os.path.abspath(os.path.expanduser(env)) if env else os.path.expanduser("~/.tinydl/datasets")


def load_mnist(path=None, download=True, **kwargs):
    """MNIST digits as ``((x_train, y_train), (x_test, y_test))``, uint8, shaped like Keras's.

    x_train is (60000, 28, 28), y_train (60000,), x_test (10000, 28, 28), y_test (10000,).
    See :func:`load_dataset` for the keyword arguments (cache_dir, mirrors, checksums, ...).
    """
    return load_dataset("mnist", path=path, download=download, **kwargs)


def load_fashion_mnist(path=None, download=True, **kwargs):
    """Fashion-MNIST, same layout as :func:`load_mnist`. Its checksums are not pinned (see module doc)."""
    return load_dataset("fashion_mnist", path=path, download=download, **kwargs)


def load_dataset(name, path=None, download=True, cache_dir=None, mirrors=None,
                 checksums=None, timeout=30.0, verbose=True):
    """Find (or download) and verify the four IDX files of dataset `name`; return the arrays.

    mirrors: base URLs to try in order (default ``MIRRORS[name]``).
    checksums: file name (no .gz) -> SHA-256 hex of the decompressed content, or None for
        "not pinned" (default ``CHECKSUMS[name]``); every file of FILES must have an entry.
    timeout: seconds per HTTP request. verbose: say on stderr what is downloaded.
    """
    checksums = dict(CHECKSUMS.get(name, {}) if checksums is None else checksums)
    missing_sums = [f for f in FILES if f not in checksums]
    if missing_sums:
        # A forgotten entry must not silently switch verification off.
        raise ValueError(f"checksum table for {name!r} has no entry for {missing_sums}; "
                         "use None to mark a sum as not pinned")
    mirrors = list(MIRRORS.get(name, []) if mirrors is None else mirrors)
    cache = os.path.join(cache_dir or default_cache_dir(), name)
    places = _places(name, path, cache)

    found = {f: _find_local(f, [d for _, d in places if d]) for f in FILES}
    # Local files are verified before any network traffic: a bad local file is an error, not a
    # reason to fetch a replacement behind the user's back.
    arrays = {f: _load_verified(p, checksums[f], name) for f, p in found.items() if p}
    missing = [f for f in FILES if f not in arrays]
    for f in missing:
        if not download:
            raise _not_found(name, missing, places, cache, attempts=None)
        array, attempts = _download(f, mirrors, cache, checksums[f], name, timeout, verbose)
        if array is None:
            raise _not_found(name, missing, places, cache, attempts=(f, attempts))
        arrays[f] = array
    return _assemble(name, [arrays[f] for f in FILES])


def _places(name, path, cache):
    """[(description, directory or None)] in search order; None marks an unset location."""
    data_root = os.environ.get("TINYDL_DATA")
    places = []
    if path is not None:
        places.append(("path argument", os.path.abspath(os.path.expanduser(os.fspath(path)))))
    if data_root:
        places.append(("$TINYDL_DATA/" + name, os.path.abspath(os.path.join(data_root, name))))
    else:
        places.append(("$TINYDL_DATA/" + name, None))
    places.append(("cache", cache))
    return places


def _find_local(fname, dirs):
    for d in dirs:
        for candidate in (fname + ".gz", fname):
            p = os.path.join(d, candidate)
            if os.path.isfile(p):
                return p
    return None


def _load_verified(path, expected, name):
    """Decompress once, hash that, then parse it: verification costs no second read."""
    data = read_file_bytes(path)
    if expected is not None:
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected:
            raise ChecksumError(
                f"{path}: SHA-256 of the decompressed content is {actual}, expected {expected}. "
                f"The file is corrupt or is not the {_TITLES.get(name, name)} file; it was not "
                "used. Delete it and provide a good copy.",
                path=path, expected=expected, actual=actual,
            )
    return parse_idx(data, path)


def _download(fname, mirrors, dest_dir, expected, name, timeout, verbose):
    """Try each mirror; return (array, attempts) with array None when all failed."""
    import urllib.request  # imported here: it pulls in ssl/http, too slow for `import tinydl.data`

    os.makedirs(dest_dir, exist_ok=True)
    final = os.path.join(dest_dir, fname + ".gz")
    attempts = []
    for base in mirrors:
        url = base.rstrip("/") + "/" + fname + ".gz"
        fd, tmp = tempfile.mkstemp(prefix=fname + ".", suffix=".part", dir=dest_dir)
        try:
            with os.fdopen(fd, "wb") as out:
                if verbose:
                    print(f"tinydl: downloading {url}", file=sys.stderr)
                request = urllib.request.Request(url, headers={"User-Agent": "tinydl"})
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    shutil.copyfileobj(response, out)
            array = _load_verified(tmp, expected, name)
            if expected is None:
                warnings.warn(f"{url}: downloaded without checksum verification "
                              f"(no SHA-256 pinned for {fname} of {name})", stacklevel=3)
            os.replace(tmp, final)  # atomic: the cache only ever holds complete, verified files
            return array, attempts
        except ChecksumError as exc:
            attempts.append((url, f"checksum mismatch: SHA-256 of the decompressed content is "
                                  f"{exc.actual}, expected {exc.expected}; file deleted"))
        except Exception as exc:  # noqa: BLE001 - any failure means "try the next mirror"
            attempts.append((url, f"{type(exc).__name__}: {exc}"))
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)  # a bad or partial download is never kept (no-op after the rename)
    return None, attempts


def _not_found(name, missing, places, cache, attempts):
    title = _TITLES.get(name, name)
    lines = [f"{title} files not found: " + ", ".join(f + "[.gz]" for f in missing), "Looked in:"]
    for desc, d in places:
        lines.append(f"  - {desc}: {d}" if d else f"  - {desc}: (TINYDL_DATA is not set)")
    if attempts is None:
        lines.append("No download was tried (download=False).")
    else:
        fname, tries = attempts
        lines.append(f"Downloading {fname}.gz failed:" if tries else
                     f"Downloading {fname}.gz failed: no mirrors configured.")
        lines += [f"  - {url}: {why}" for url, why in tries]
    lines.append(
        f"To provide the files ({', '.join(f + '.gz' for f in FILES)}), either set TINYDL_DATA "
        f"to a directory that contains {name}/ with them, copy them into {cache}, or pass "
        "path=<directory>."
    )
    return DatasetNotFoundError("\n".join(lines))


def _assemble(name, arrays):
    x_train, y_train, x_test, y_test = arrays
    for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise ValueError(f"{name} {split}: images {x.shape} and labels {y.shape} do not fit "
                             "together (expected (n, h, w) and (n,))")
    return (x_train, y_train), (x_test, y_test)
