"""Batches for ``fit``/``evaluate``/``predict`` from a stream: a ``tinydl.tf.data.Dataset``, a
Python generator or iterator, or a :class:`PyDataset` (``keras.utils.Sequence``).

Each element is ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``, checked and cast as the
array path does (``data_adapter.prepare_x`` / ``prepare_targets``); ``batch_size`` does not apply
(the stream has its own batching) and ``shuffle`` only shuffles a PyDataset's batch order. A
Dataset starts a fresh pass every epoch, unless ``steps_per_epoch`` is given: then, as in
Keras, one iterator runs on across epochs. A generator is always one iterator.
"""
import numpy as np

from ..core.random import get_rng
from ..core.tensor import Tensor
from .data_adapter import Batch, DataAdapter, prepare_targets, prepare_x, sample_weights


class PyDataset:
    """Keras's ``keras.utils.PyDataset`` (and ``Sequence``): subclass it with ``__len__`` (the
    number of batches) and ``__getitem__(index)`` (one batch: ``x``, ``(x, y)`` or ``(x, y,
    sample_weight)``); ``on_epoch_end`` runs after each epoch. ``workers``/``use_multiprocessing``
    are accepted; the batches are read in the calling thread."""

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self.workers, self.use_multiprocessing, self.max_queue_size = workers, use_multiprocessing, max_queue_size

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__(index)")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __len__()")

    def on_epoch_end(self):
        pass

    @property
    def num_batches(self):
        return len(self)


Sequence = PyDataset


def is_stream(x):
    """Whether ``x`` is a stream of batches (a Dataset, a PyDataset, a generator or iterator)."""
    if x is None or isinstance(x, (np.ndarray, list, tuple, dict, Tensor)):
        return False
    return (hasattr(x, "as_numpy_iterator") or isinstance(x, PyDataset) or hasattr(x, "__next__"))


def make_adapter(model, x, y=None, sample_weight=None, class_weight=None, *, who, check_finite=True,
                 empty_message=None, **kwargs):
    if is_stream(x):
        if y is not None:
            raise ValueError(f"{who}: y must not be given when x is a dataset, generator or PyDataset "
                             "(the targets come from x)")
        if sample_weight is not None or class_weight is not None:
            raise ValueError(f"{who}: sample_weight/class_weight must come from the dataset's elements")
        return StreamAdapter(model, x, who, check_finite)
    return DataAdapter(model, x, y, sample_weight, class_weight, who=who, check_finite=check_finite,
                       empty_message=empty_message, **kwargs)


class StreamAdapter:
    """Batches from a Dataset, a generator or a PyDataset (see the module notes)."""

    def __init__(self, model, source, who, check_finite=True):
        self.model, self.source, self.who, self.check_finite = model, source, who, check_finite
        self._running = None  # the iterator carried across epochs

    def _cardinality(self):
        if isinstance(self.source, PyDataset):
            return len(self.source)
        card = getattr(self.source, "_cardinality", None)
        return card if isinstance(card, int) and card >= 0 else None

    def num_steps(self, batch_size=None, steps=None):
        total = self._cardinality()
        if steps is not None:
            return int(steps) if total is None else min(int(steps), total) if not hasattr(
                self.source, "as_numpy_iterator") else int(steps)
        return total

    def on_epoch_end(self):
        if isinstance(self.source, PyDataset):
            self.source.on_epoch_end()

    def _elements(self, steps, shuffle):
        src = self.source
        if isinstance(src, PyDataset):
            order = get_rng().permutation(len(src)) if shuffle else range(len(src))
            return (src[int(i)] for i in order)
        if hasattr(src, "as_numpy_iterator"):
            if steps is None:
                return src.as_numpy_iterator()
            if self._running is None:
                self._running = src.as_numpy_iterator()
            return self._running
        return src  # a generator or iterator: one pass over its whole life

    def batches(self, batch_size=None, steps=None, shuffle=False):
        it = self._elements(steps, shuffle)
        b = 0
        while steps is None or b < steps:
            try:
                element = next(it) if hasattr(it, "__next__") else next(iter(it))
            except StopIteration:
                if steps is not None and b == 0:
                    raise ValueError(f"{self.who}: the data ran out of batches (steps_per_epoch={steps}); use "
                                     ".repeat() on the dataset") from None
                return
            yield self._batch(b, element)
            b += 1

    def _batch(self, index, element):
        if isinstance(element, list):
            element = tuple(element)
        if not isinstance(element, tuple):
            element = (element,)
        if len(element) > 3:
            raise ValueError(f"{self.who}: a batch must be x, (x,), (x, y) or (x, y, sample_weight), got a "
                             f"tuple of {len(element)}")
        x, y, sw = (tuple(element) + (None, None))[:3]
        xs = prepare_x(self.model, _np_tree(x), self.who, self.check_finite)
        n = len(xs[0])
        y = prepare_targets(self.model, _np_tree(y), n, self.who, self.check_finite)
        sw = sample_weights(y, None if sw is None else np.asarray(_np_tree(sw)), None, n, self.who)
        return Batch(index, xs, y, sw, n)


def _np_tree(v):
    if isinstance(v, Tensor):
        return v.detach().numpy()
    if isinstance(v, dict):
        return {k: _np_tree(a) for k, a in v.items()}
    if isinstance(v, (list, tuple)):
        return type(v)(_np_tree(a) for a in v) if not hasattr(v, "_fields") else v
    return v
