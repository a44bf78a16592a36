"""Weight regularizers (Keras's): callables mapping a weight Tensor to a scalar penalty Tensor.

The penalty is built from tinydl ops, so adding it to the loss backpropagates into the weight.

>>> import tinydl
>>> from tinydl.nn.regularizers import L1L2
>>> w = tinydl.Tensor([1.0, -2.0], requires_grad=True)
>>> penalty = L1L2(l1=0.1, l2=0.5)(w)      # 0.1 * (1 + 2) + 0.5 * (1 + 4)
>>> round(penalty.item(), 6)
2.8
"""
import numbers

from ..core import functional as F
from ..core.tensor import Tensor, as_tensor
from .keras_objects import lookup


class Regularizer:
    """Base class: ``__call__(x) -> scalar Tensor`` and ``get_config()`` (its constructor arguments)."""

    def __call__(self, x):
        raise NotImplementedError

    def get_config(self):
        return dict(vars(self))


def _coefficient(name, value):
    if not isinstance(value, numbers.Real) or value < 0:
        raise ValueError(f"regularizer: {name} must be a non-negative number, got {value!r}")
    return float(value)


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x^2)`` (no factor 1/2 on the L2 term, as in Keras)."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = _coefficient("l1", l1), _coefficient("l2", l2)

    def __call__(self, x):
        x = as_tensor(x)
        penalty = None
        if self.l1:
            penalty = self.l1 * F.sum(F.abs(x))
        if self.l2:
            term = self.l2 * F.sum(x * x)
            penalty = term if penalty is None else penalty + term
        if penalty is None:  # both zero: a constant zero of x's dtype and device
            penalty = Tensor._wrap(x.xp.zeros((), dtype=x.dtype))
        return penalty


class L1(L1L2):
    """``l1 * sum(|x|)``."""

    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    """``l2 * sum(x^2)``."""

    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


_BY_NAME = {"l1": L1, "l2": L2, "l1_l2": lambda: L1L2(l1=0.01, l2=0.01),
            "L1": L1, "L2": L2, "L1L2": L1L2}


def get(identifier):
    """A regularizer from None, a name (``'l1'``, ``'l2'``, ``'l1_l2'``), a config dict
    ``{"class_name": "L2", "config": {"l2": 0.1}}``, or a callable (returned as is).

    The string ``'l1_l2'`` gives 0.01 for both terms (tf.keras's ``l1_l2()`` defaults).

    >>> get("l2").l2, get(None) is None
    (0.01, True)
    """
    if identifier is None:
        return None
    return lookup(identifier, "regularizer", _BY_NAME, {"L1": L1, "L2": L2, "L1L2": L1L2})
