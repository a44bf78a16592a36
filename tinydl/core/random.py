"""One seeded random generator for everything tinydl draws: init, dropout, shuffling, augmentation.

>>> import tinydl
>>> _ = tinydl.manual_seed(0); a = tinydl.core.random.get_rng().random()
>>> _ = tinydl.manual_seed(0); a == tinydl.core.random.get_rng().random()
True
"""
import numpy as np

_rng = np.random.default_rng(0)


def manual_seed(seed):
    """Reseed tinydl's generator; makes init, dropout, shuffling and augmentation repeatable."""
    global _rng
    _rng = np.random.default_rng(int(seed))


def get_rng():
    """The numpy Generator all of tinydl draws from."""
    return _rng


def get_rng_state():
    """A JSON-able snapshot of the generator (for exact resume from a checkpoint)."""
    return _rng.bit_generator.state


def set_rng_state(state):
    _rng.bit_generator.state = state
