"""``tf.random`` on tinydl's seeded generator (``set_seed`` is ``tinydl.manual_seed``).

The streams are tinydl's (NumPy's PCG64), not TensorFlow's: the same seed gives other numbers.
"""
import numpy as np

from ..core.random import get_rng, manual_seed
from ..core.tensor import Tensor
from ._convert import as_dtype, shape_arg, to_array


__all__ = ["categorical", "normal", "set_seed", "shuffle", "truncated_normal", "uniform"]

def set_seed(seed):
    manual_seed(int(seed))


def normal(shape, mean=0.0, stddev=1.0, dtype="float32", seed=None, name=None):
    return Tensor((get_rng().standard_normal(shape_arg(shape)) * stddev + mean).astype(as_dtype(dtype)))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype="float32", seed=None, name=None):
    """Normal values redrawn until within two standard deviations of the mean."""
    rng, shape = get_rng(), shape_arg(shape)
    z = rng.standard_normal(shape)
    bad = np.abs(z) > 2
    while bad.any():
        z[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(z) > 2
    return Tensor((z * stddev + mean).astype(as_dtype(dtype)))


def uniform(shape, minval=0, maxval=None, dtype="float32", seed=None, name=None):
    """Floats in [minval, maxval) (maxval defaults to 1); integer dtypes need maxval."""
    d = as_dtype(dtype)
    if d.kind in "iu":
        if maxval is None:
            raise ValueError("tf.random.uniform: an integer dtype needs maxval")
        return Tensor(get_rng().integers(int(minval), int(maxval), shape_arg(shape)).astype(d))
    hi = 1.0 if maxval is None else float(maxval)
    return Tensor(get_rng().uniform(float(minval), hi, shape_arg(shape)).astype(d))


def shuffle(value, seed=None, name=None):
    """The tensor with its first axis in a random order."""
    a = to_array(value)
    return Tensor(a[get_rng().permutation(len(a))])


def categorical(logits, num_samples, dtype=None, seed=None, name=None):
    """(batch, num_samples) class indices drawn from softmax(logits) per row."""
    z = to_array(logits).astype(np.float64)
    if z.ndim != 2:
        raise ValueError(f"tf.random.categorical: logits must be 2-d (batch, classes), got shape {z.shape}")
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    rng = get_rng()
    out = np.stack([rng.choice(z.shape[1], size=int(num_samples), p=row) for row in p])
    return Tensor(out.astype(as_dtype(dtype) or np.int64))
