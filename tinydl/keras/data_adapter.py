"""The data behind ``fit`` / ``evaluate`` / ``predict``: checked and cast once, then cut into batches.

``DataAdapter(model, x, y, sample_weight, class_weight, who=...)`` turns what the caller passed
into one numpy array per model input, the targets and the per-sample weights, following tf.keras:
float64 becomes float32 (integer data too, except where it feeds a layer that takes indices,
``Layer.integer_inputs``), a 1-d input becomes a column, lengths must agree, and NaN/inf are
refused unless ``check_finite=False``. Errors name the method (``who``) and the argument.

``batches(batch_size, steps, shuffle)`` yields :class:`Batch`es in order, or in a fresh
permutation drawn from tinydl's seeded generator; the last partial batch is included.
``split(fraction)`` holds out the *last* fraction (``validation_split``), before any shuffling.

Targets of a model with several outputs are a list (or a dict by output name) of arrays.

Streams of ready-made batches (Datasets, generators, PyDataset) are ``stream_adapter.py``'s.
"""
import math
from typing import NamedTuple

import numpy as np

from ..core.random import get_rng
from ..core.tensor import Tensor
from .summary import shape_str


class Batch(NamedTuple):
    index: int
    x: list             # one array per model input
    y: object           # array or None
    sample_weight: object
    size: int


class DataAdapter:
    def __init__(self, model, x, y=None, sample_weight=None, class_weight=None, *, who, check_finite=True,
                 empty_message=None, y_name="y", check_shapes=True):
        xs = prepare_x(model, x, who, check_finite)
        n = len(xs[0])
        y = prepare_targets(model, y, n, who, check_finite, y_name)
        if n == 0 and empty_message:
            raise ValueError(empty_message)
        self.x, self.y = xs, y
        self.sample_weight = sample_weights(y, sample_weight, class_weight, n, who)
        if check_shapes:
            check_input_shapes(model, xs, who)

    @classmethod
    def _of_arrays(cls, xs, y, sw):
        adapter = cls.__new__(cls)
        adapter.x, adapter.y, adapter.sample_weight = xs, y, sw
        return adapter

    def __len__(self):
        return len(self.x[0])

    def on_epoch_end(self):
        pass

    def split(self, fraction, who):
        """(the first 1 - fraction of the samples, the rest), as Keras's ``validation_split``."""
        n = len(self)
        at = int(math.floor(n * (1.0 - fraction)))
        if at == 0 or at == n:
            raise ValueError(f"{who}: validation_split={fraction} of {n} samples leaves "
                             f"{at} for training and {n - at} for validation; both need at least one")
        sw = self.sample_weight
        head = self._of_arrays([a[:at] for a in self.x], _cut(self.y, slice(None, at)), _cut(sw, slice(None, at)))
        tail = self._of_arrays([a[at:] for a in self.x], _cut(self.y, slice(at, None)), _cut(sw, slice(at, None)))
        return head, tail

    def num_steps(self, batch_size, steps=None):
        total = math.ceil(len(self) / batch_size)
        return total if steps is None else min(total, int(steps))

    def batches(self, batch_size, steps=None, shuffle=False):
        """An iterator of Batches; with ``shuffle`` the order is drawn now, once per call."""
        n = len(self)
        order = get_rng().permutation(n) if shuffle else None
        return self._iterate(batch_size, self.num_steps(batch_size, steps), order, n)

    def _iterate(self, batch_size, total, order, n):
        for b in range(total):
            lo, hi = b * batch_size, min((b + 1) * batch_size, n)
            idx = slice(lo, hi) if order is None else order[lo:hi]
            yield Batch(b, [a[idx] for a in self.x], _cut(self.y, idx), _cut(self.sample_weight, idx), hi - lo)


def _cut(a, idx):
    if isinstance(a, dict):
        return {k: v[idx] for k, v in a.items()}
    if isinstance(a, list):
        return [v[idx] for v in a]
    return None if a is None else a[idx]


def prepare_targets(model, y, n, who, check_finite=True, name="y"):
    """Targets for one output (an array), or for several (a list, or a dict by output name)."""
    names = model._output_names() if hasattr(model, "_output_names") else None
    multi = names is not None and len(names) > 1 or getattr(model, "_multi", None) is not None
    if multi and isinstance(y, dict):
        return {k: prepare_y(v, n, who, check_finite, f"{name}[{k!r}]") for k, v in y.items()}
    if multi and isinstance(y, (list, tuple)) and len(y) == len(names or model._multi.names) and all(
            np.ndim(v) >= 1 and len(v) == n for v in y):
        return [prepare_y(v, n, who, check_finite, f"{name}[{i}]") for i, v in enumerate(y)]
    return prepare_y(y, n, who, check_finite, name)


def batch_tensors(xs):
    """A batch's arrays as the model's argument: one Tensor, or a list of them for several inputs."""
    tensors = [Tensor(a) for a in xs]
    return tensors[0] if len(tensors) == 1 else tensors


def _input_label(xs, i):
    return "" if len(xs) == 1 else f"[{i}]"


def prepare_x(model, x, who, check_finite=True):
    """Inputs as a list of numpy arrays (one per model input), cast as Keras casts them."""
    names = model._input_names()
    if isinstance(x, dict) and names is not None:
        missing = [n for n in names if n not in x]
        if missing:
            raise ValueError(f"{who}: missing input(s) {missing} in x (got {sorted(x)})")
        xs = [x[n] for n in names]
    elif isinstance(x, (list, tuple)) and names is not None and len(names) > 1:
        xs = list(x)
    else:
        xs = [x]
    dtypes = model._input_dtypes() or [np.dtype(model.dtype)] * len(xs)
    if len(xs) != len(dtypes):
        raise ValueError(f"{who}: model '{model.name}' has {len(dtypes)} inputs, got {len(xs)} arrays")
    out = []
    for i, (a, want) in enumerate(zip(xs, dtypes)):
        if a is None:
            raise ValueError(f"{who}: x is None")
        if isinstance(a, Tensor):
            a = a.detach().numpy()
        if not isinstance(a, (np.ndarray, list, tuple)) and hasattr(a, "__iter__") and not hasattr(a, "__array__"):
            raise TypeError(f"{who}: x must be a numpy array (or a list of them for several inputs), got "
                            f"{type(a).__name__}; for a tinydl.data.DataLoader or a generator, loop over it "
                            "and call train_on_batch / test_on_batch")
        a = np.asarray(a)
        if a.dtype.kind not in "biuf":
            raise TypeError(f"{who}: x{_input_label(xs, i)} has dtype {a.dtype}; expected numbers")
        if a.ndim == 0:
            raise ValueError(f"{who}: x must have a batch axis, got a scalar")
        if want.kind == "f" and a.dtype != want and (a.dtype.kind == "f" or not model._input_takes_indices(i)):
            a = a.astype(want)  # Keras casts inputs to the model's dtype (float64 -> float32)
        if a.ndim == 1:
            a = a[:, None]  # Keras 2's expand_1d: (n,) -> (n, 1)
        if check_finite and a.dtype.kind == "f" and not np.isfinite(a).all():
            bad = np.argwhere(~np.isfinite(a))[0]
            raise ValueError(
                f"{who}: x{_input_label(xs, i)} contains NaN or infinite values "
                f"({int((~np.isfinite(a)).sum())} of them; first at index {tuple(int(b) for b in bad)}: "
                f"{a[tuple(bad)]}). Clean or impute the data, or pass check_finite=False.")
        out.append(a)
    n = len(out[0])
    for i, a in enumerate(out[1:], 1):
        if len(a) != n:
            raise ValueError(f"{who}: the inputs have different numbers of samples: x[0] has {n}, x[{i}] has {len(a)}")
    return out


def prepare_y(y, n, who, check_finite=True, name="y"):
    """Targets as a numpy array of ``n`` samples (float64 becomes float32), or None."""
    if y is None:
        return None
    if isinstance(y, Tensor):
        y = y.detach().numpy()
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        raise TypeError(f"{who}: {name} has dtype {y.dtype}; expected numbers")
    if y.ndim == 0:
        raise ValueError(f"{who}: {name} must have a batch axis, got a scalar")
    if len(y) != n:
        raise ValueError(f"{who}: x and {name} have different numbers of samples: x has {n}, "
                         f"{name} has {len(y)} (shape {y.shape}). Make sure all arrays contain the same "
                         "number of samples.")
    if y.dtype == np.float64:
        y = y.astype(np.float32)
    if check_finite and y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError(f"{who}: {name} contains NaN or infinite values "
                         f"({int((~np.isfinite(y)).sum())} of them); clean the targets, or pass check_finite=False")
    return y


def sample_weights(y, sample_weight, class_weight, n, who):
    """Per-sample weights (float32, ``n`` of them) from ``sample_weight`` times ``class_weight``, or None."""
    sw = None
    if sample_weight is not None:
        sw = np.asarray(sample_weight)
        if sw.dtype.kind not in "biuf":
            raise TypeError(f"{who}: sample_weight has dtype {sw.dtype}; expected real numbers")
        sw = sw.astype(np.float32)
        if sw.shape[:1] != (n,):
            raise ValueError(f"{who}: sample_weight has shape {sw.shape}, expected ({n},)")
        if not np.isfinite(sw).all():  # one NaN weight would turn every parameter into NaN
            bad = np.argwhere(~np.isfinite(sw))[0]
            raise ValueError(f"{who}: sample_weight contains NaN or infinite values "
                             f"({int((~np.isfinite(sw)).sum())} of them; first at index "
                             f"{tuple(int(b) for b in bad)})")
    if class_weight is not None:
        if y is None:
            raise ValueError(f"{who}: class_weight needs y")
        labels = y.argmax(axis=-1) if (y.ndim > 1 and y.shape[-1] > 1) else y.reshape(len(y), -1)[:, 0]
        labels = np.asarray(labels).astype(np.int64)
        unknown = sorted(set(np.unique(labels).tolist()) - set(int(k) for k in class_weight))
        if unknown:
            raise ValueError(f"{who}: class_weight has no entry for class(es) {unknown}")
        cw = np.array([class_weight[int(c)] for c in labels], dtype=np.float32)
        sw = cw if sw is None else sw * cw
    return sw


def check_input_shapes(model, xs, who):
    """Each input's shape against the model's, naming the layer it feeds (and spotting NCHW/NHWC mix-ups)."""
    expected = model._expected_input_shapes()
    if expected is None:
        return
    for i, (x, want) in enumerate(zip(xs, expected)):
        got = tuple(x.shape[1:])
        if len(got) == len(want) and all(w is None or w == g for w, g in zip(want, got)):
            continue
        layer = model._first_layer_for(i)
        where = f"layer '{layer.name}' ({type(layer).__name__})" if layer is not None else "the model"
        hint = ""
        if len(got) == 3 and len(want) == 3 and (got[1], got[2], got[0]) == tuple(want):
            hint = ("; this looks like channels-first (N, C, H, W) data for a channels-last model: "
                    "transpose it with x.transpose(0, 2, 3, 1)")
        elif len(got) == 3 and len(want) == 3 and (got[2], got[0], got[1]) == tuple(want):
            hint = ("; this looks like channels-last (N, H, W, C) data for a channels-first model: "
                    "transpose it with x.transpose(0, 3, 1, 2)")
        raise ValueError(f"{who}: input {i} of model '{model.name}' is incompatible with {where}: expected "
                         f"shape {shape_str((None,) + tuple(want))}, got {shape_str(tuple(x.shape))}{hint}")
