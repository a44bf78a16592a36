"""``tf.data.Dataset``: an input pipeline of elements (nested tuples/dicts of arrays).

A Dataset is a recipe: each ``iter()`` starts a fresh pass, so ``fit`` can run one pass per
epoch. Elements are held as NumPy arrays and handed out as tinydl Tensors (``as_numpy_iterator``
gives the arrays); the function given to ``map``/``filter`` receives a tuple element unpacked
as arguments, as TensorFlow calls it. ``shuffle`` uses TensorFlow's buffer algorithm on tinydl's
seeded generator (other numbers than TensorFlow's for the same seed). ``prefetch`` and
``num_parallel_calls`` are accepted and change nothing: the pipeline runs in the caller's thread.
"""
import itertools

import numpy as np

from ..core.random import get_rng
from ..core.tensor import Tensor
from ._convert import to_array

__all__ = ["AUTOTUNE", "Dataset", "INFINITE_CARDINALITY", "UNKNOWN_CARDINALITY", "experimental"]

AUTOTUNE = -1
INFINITE_CARDINALITY = -1
UNKNOWN_CARDINALITY = -2


class experimental:  # noqa: N801 - tf.data.experimental's names
    AUTOTUNE = AUTOTUNE
    INFINITE_CARDINALITY = INFINITE_CARDINALITY
    UNKNOWN_CARDINALITY = UNKNOWN_CARDINALITY

    @staticmethod
    def cardinality(dataset):
        return dataset.cardinality()


def _map(fn, s):
    if isinstance(s, dict):
        return {k: _map(fn, v) for k, v in s.items()}
    if isinstance(s, tuple):
        return tuple(_map(fn, v) for v in s)
    if isinstance(s, list):
        return tuple(_map(fn, v) for v in s)  # TF turns lists in an element into tuples
    return fn(s)


def _arrays(element):
    return _map(lambda v: np.asarray(v.detach().numpy()) if isinstance(v, Tensor) else to_array(v, None, "data"), element)


def _tensors(element):
    return _map(lambda a: Tensor(a), element)


def _leaves(s):
    if isinstance(s, dict):
        return [v for k in s for v in _leaves(s[k])]
    if isinstance(s, (list, tuple)):
        return [v for item in s for v in _leaves(item)]
    return [s]


def _zip_structure(items):
    """A list of same-structured elements -> one structure of lists."""
    first = items[0]
    if isinstance(first, dict):
        return {k: _zip_structure([it[k] for it in items]) for k in first}
    if isinstance(first, tuple):
        return tuple(_zip_structure([it[i] for it in items]) for i in range(len(first)))
    return items


def _call(fn, element):
    out = fn(*_tensors(element)) if isinstance(element, tuple) else fn(_tensors(element))
    return out


class Dataset:
    """Build one with ``from_tensor_slices``, ``from_tensors``, ``from_generator``, ``range`` or ``zip``."""

    def __init__(self, make_iter, cardinality):
        self._make_iter = make_iter       # () -> iterator of elements (structures of numpy arrays)
        self._cardinality = cardinality   # an int, INFINITE_CARDINALITY or UNKNOWN_CARDINALITY

    # ---- sources
    @staticmethod
    def from_tensor_slices(tensors, name=None):
        """One element per row of the first axis (of every array in the structure, which must agree)."""
        data = _arrays(tensors if not isinstance(tensors, list) else tuple(tensors))
        leaves = _leaves(data)
        if any(a.ndim == 0 for a in leaves):
            raise ValueError("Dataset.from_tensor_slices: every component needs a first axis to slice")
        n = len(leaves[0])
        if any(len(a) != n for a in leaves):
            raise ValueError(f"Dataset.from_tensor_slices: the components have different first axes "
                             f"{[len(a) for a in leaves]}")
        return Dataset(lambda: (_map(lambda a: a[i], data) for i in range(n)), n)

    @staticmethod
    def from_tensors(tensors, name=None):
        data = _arrays(tensors if not isinstance(tensors, list) else tuple(tensors))
        return Dataset(lambda: iter([data]), 1)

    @staticmethod
    def from_generator(generator, output_types=None, output_shapes=None, args=None, output_signature=None,
                       name=None):
        """Elements from ``generator()`` (called once per pass), cast to ``output_signature``'s dtypes."""
        if not callable(generator):
            raise TypeError("Dataset.from_generator: generator must be a callable that returns an iterator")
        if output_signature is None and output_types is None:
            raise TypeError("Dataset.from_generator: give output_signature (or output_types)")
        sig = output_signature if output_signature is not None else output_types

        def cast(element):
            element = element if not isinstance(element, list) else tuple(element)
            return _cast_like(_arrays(element), sig)

        return Dataset(lambda: (cast(e) for e in generator(*(args or ()))), UNKNOWN_CARDINALITY)

    @staticmethod
    def range(*args, output_type="int64", name=None):
        r = range(*[int(a) for a in args])
        return Dataset(lambda: (np.asarray(i, dtype=output_type) for i in r), len(r))

    @staticmethod
    def zip(*datasets, name=None):
        if len(datasets) == 1 and isinstance(datasets[0], (tuple, list, dict)):
            datasets = datasets[0]
        if isinstance(datasets, dict):
            keys, ds = list(datasets), list(datasets.values())
            make = lambda: (dict(zip(keys, es)) for es in zip(*[d._iter_arrays() for d in ds]))  # noqa: E731
        else:
            ds = list(datasets)
            make = lambda: (tuple(es) for es in zip(*[d._iter_arrays() for d in ds]))  # noqa: E731
        return Dataset(make, _min_card([d._cardinality for d in ds]))

    # ---- iteration
    def _iter_arrays(self):
        return iter(self._make_iter())

    def __iter__(self):
        return (_tensors(e) for e in self._iter_arrays())

    def as_numpy_iterator(self):
        return self._iter_arrays()

    def cardinality(self):
        return Tensor(np.asarray(self._cardinality, dtype=np.int64))

    def __len__(self):
        if self._cardinality == INFINITE_CARDINALITY:
            raise TypeError("The dataset is infinite.")
        if self._cardinality == UNKNOWN_CARDINALITY:
            raise TypeError("The dataset length is unknown.")
        return self._cardinality

    @property
    def element_spec(self):
        first = next(self._iter_arrays())
        from . import TensorSpec
        return _map(lambda a: TensorSpec(a.shape, a.dtype), first)

    # ---- transformations
    def map(self, map_func, num_parallel_calls=None, deterministic=None, name=None):
        src = self

        def make():
            for e in src._iter_arrays():
                out = _call(map_func, e)
                yield _arrays(out if not isinstance(out, list) else tuple(out))
        return Dataset(make, self._cardinality)

    def filter(self, predicate, name=None):
        src = self

        def make():
            for e in src._iter_arrays():
                keep = _call(predicate, e)
                if bool(np.asarray(keep.detach().numpy() if isinstance(keep, Tensor) else keep)):
                    yield e
        return Dataset(make, UNKNOWN_CARDINALITY if self._cardinality != INFINITE_CARDINALITY
                       else INFINITE_CARDINALITY)

    def batch(self, batch_size, drop_remainder=False, num_parallel_calls=None, deterministic=None, name=None):
        """Stack ``batch_size`` consecutive elements; the last, smaller batch is kept unless ``drop_remainder``."""
        batch_size = int(batch_size)
        if batch_size < 1:
            raise ValueError(f"Dataset.batch: batch_size must be positive, got {batch_size}")
        src = self

        def make():
            it = src._iter_arrays()
            while True:
                items = list(itertools.islice(it, batch_size))
                if not items or (drop_remainder and len(items) < batch_size):
                    return
                yield _stack_structure(_zip_structure(items))
        c = self._cardinality
        if c >= 0:
            c = c // batch_size if drop_remainder else -(-c // batch_size)
        return Dataset(make, c)

    def unbatch(self, name=None):
        src = self

        def make():
            for e in src._iter_arrays():
                n = len(_leaves(e)[0])
                for i in range(n):
                    yield _map(lambda a: a[i], e)
        return Dataset(make, UNKNOWN_CARDINALITY if self._cardinality != INFINITE_CARDINALITY
                       else INFINITE_CARDINALITY)

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=True, name=None):
        """TensorFlow's buffered shuffle: fill a buffer of ``buffer_size``, emit a random one, refill."""
        buffer_size = int(buffer_size)
        if buffer_size < 1:
            raise ValueError(f"Dataset.shuffle: buffer_size must be positive, got {buffer_size}")
        src = self
        fixed = None if reshuffle_each_iteration else get_rng().integers(2 ** 63)

        def make():
            rng = get_rng() if fixed is None else np.random.default_rng(fixed)
            buf = []
            for e in src._iter_arrays():
                if len(buf) < buffer_size:
                    buf.append(e)
                    continue
                k = int(rng.integers(len(buf)))
                yield buf[k]
                buf[k] = e
            while buf:
                yield buf.pop(int(rng.integers(len(buf))))
        return Dataset(make, self._cardinality)

    def repeat(self, count=None, name=None):
        src = self
        count = None if count is None or int(count) < 0 else int(count)

        def make():
            n = 0
            while count is None or n < count:
                yield from src._iter_arrays()
                n += 1
        c = self._cardinality
        if count is None:
            c = INFINITE_CARDINALITY if c != 0 else 0
        elif c >= 0:
            c = c * count
        return Dataset(make, c)

    def take(self, count, name=None):
        count = int(count)
        src = self
        if count < 0:
            return self
        c = self._cardinality
        c = min(c, count) if c >= 0 else (count if c == INFINITE_CARDINALITY else UNKNOWN_CARDINALITY)
        return Dataset(lambda: itertools.islice(src._iter_arrays(), count), c)

    def skip(self, count, name=None):
        count = int(count)
        src = self
        c = self._cardinality
        if c >= 0:
            c = max(c - count, 0) if count >= 0 else 0
        return Dataset(lambda: itertools.islice(src._iter_arrays(), count, None) if count >= 0 else iter(()), c)

    def cache(self, filename="", name=None):
        """Keep the elements of the first complete pass in memory (a ``filename`` is not supported)."""
        if filename:
            raise NotImplementedError("Dataset.cache: caching to a file is not supported (use cache())")
        src, store = self, {}

        def make():
            if "items" in store:
                yield from store["items"]
                return
            items = []
            for e in src._iter_arrays():
                items.append(e)
                yield e
            store["items"] = items
        return Dataset(make, self._cardinality)

    def prefetch(self, buffer_size, name=None):
        return self

    def padded_batch(self, *args, **kwargs):
        raise NotImplementedError("Dataset.padded_batch is not supported in tinydl (pad the elements in map(), "
                                  "e.g. with keras.utils.pad_sequences, then batch())")

    def interleave(self, *args, **kwargs):
        raise NotImplementedError("Dataset.interleave is not supported in tinydl")

    def concatenate(self, dataset, name=None):
        a, b = self, dataset
        ca, cb = a._cardinality, b._cardinality
        c = ca + cb if ca >= 0 and cb >= 0 else (INFINITE_CARDINALITY if INFINITE_CARDINALITY in (ca, cb)
                                                  else UNKNOWN_CARDINALITY)
        return Dataset(lambda: itertools.chain(a._iter_arrays(), b._iter_arrays()), c)

    def enumerate(self, start=0, name=None):
        src = self
        return Dataset(lambda: ((np.asarray(i, np.int64), e) for i, e in enumerate(src._iter_arrays(), start)),
                       self._cardinality)

    def reduce(self, initial_state, reduce_func, name=None):
        state = initial_state
        for e in self:
            state = reduce_func(state, e)
        return state


def _stack_structure(s):
    if isinstance(s, dict):
        return {k: _stack_structure(v) for k, v in s.items()}
    if isinstance(s, tuple):
        return tuple(_stack_structure(v) for v in s)
    try:
        return np.stack(s)
    except ValueError as e:
        raise ValueError(f"Dataset.batch: elements of different shapes {sorted({a.shape for a in s})} cannot be "
                         "batched (padded_batch is not supported)") from e


def _min_card(cards):
    known = [c for c in cards if c >= 0]
    if known:
        return min(known)
    return INFINITE_CARDINALITY if all(c == INFINITE_CARDINALITY for c in cards) else UNKNOWN_CARDINALITY


def _cast_like(element, sig):
    """Cast each array to the dtype of the matching TensorSpec (or dtype) in ``sig``."""
    if isinstance(sig, dict):
        return {k: _cast_like(element[k], sig[k]) for k in sig}
    if isinstance(sig, (tuple, list)):
        if not isinstance(element, tuple) or len(element) != len(sig):
            raise ValueError(f"Dataset.from_generator: the generator yielded {type(element).__name__} "
                             f"that does not match output_signature with {len(sig)} components")
        return tuple(_cast_like(e, s) for e, s in zip(element, sig))
    dtype = getattr(sig, "dtype", sig)
    shape = getattr(sig, "shape", None)
    a = np.asarray(element).astype(dtype)
    if shape is not None and (len(shape) != a.ndim or any(d is not None and d != g for d, g in zip(shape, a.shape))):
        raise ValueError(f"Dataset.from_generator: the generator yielded shape {a.shape}, output_signature "
                         f"expects {tuple(shape)}")
    return a


def is_dataset(obj):
    return isinstance(obj, Dataset)
