"""``tinydl.keras.datasets``: ``mnist.load_data()`` and ``fashion_mnist.load_data()``.

They delegate to :mod:`tinydl.data` (local files first: ``$TINYDL_DATA/mnist/``, then the cache,
then a checksum-verified download) and return what Keras returns: uint8 images
``(n, 28, 28)`` and uint8 labels ``(n,)``, as ``(x_train, y_train), (x_test, y_test)``.

>>> from tinydl.keras import datasets
>>> callable(datasets.mnist.load_data)
True
"""
import os

import numpy as np

__all__ = ["mnist", "fashion_mnist"]


class _Dataset:
    def __init__(self, name, title):
        self.__name__ = f"tinydl.keras.datasets.{name}"
        self._name, self._title = name, title

    def load_data(self, path=None):
        """``(x_train, y_train), (x_test, y_test)`` as uint8 arrays.

        ``path``: a directory holding the four IDX files (Keras's own ``path`` is a cache file name;
        a value that is not a directory is ignored and the usual places are searched).
        """
        from .. import data

        directory = os.fspath(path) if path is not None and os.path.isdir(os.fspath(path)) else None
        (x, y), (xt, yt) = data.load_dataset(self._name, path=directory)
        return (x.astype(np.uint8, copy=False), y.astype(np.uint8, copy=False)), \
            (xt.astype(np.uint8, copy=False), yt.astype(np.uint8, copy=False))

    def __repr__(self):
        return f"<tinydl.keras.datasets.{self._name}: {self._title}, load_data()>"


mnist = _Dataset("mnist", "MNIST handwritten digits")
fashion_mnist = _Dataset("fashion_mnist", "Fashion-MNIST")
