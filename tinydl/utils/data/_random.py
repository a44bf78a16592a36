"""The NumPy generator behind a ``generator=`` argument of the data API.

``None`` means tinydl's shared generator (``tinydl.manual_seed`` seeds it); a NumPy
``np.random.Generator`` is used as is; a tinydl ``Generator`` (anything holding a NumPy generator
as ``_rng``) gives its stream. Draws come from NumPy's PCG64, not PyTorch's Mersenne Twister, so a
seeded shuffle or split is reproducible in tinydl but not the same permutation PyTorch draws.
"""
import numpy as np

from ...data.loader import as_rng


def numpy_rng(generator, owner):
    if generator is None or isinstance(generator, np.random.Generator):
        return as_rng(generator)  # tinydl.data's rule: None is tinydl's shared generator
    rng = getattr(generator, "_rng", None)
    if isinstance(rng, np.random.Generator):
        return rng
    raise TypeError(f"{owner}: generator must be None, a tinydl Generator or a numpy.random.Generator, "
                    f"got {type(generator).__name__}")


def draw_seed(generator, owner):
    """A 63-bit seed from ``generator`` (PyTorch draws one per epoch for samplers and workers)."""
    return int(numpy_rng(generator, owner).integers(0, 2 ** 63 - 1))
