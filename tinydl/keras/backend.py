"""``tinydl.keras.backend``: the few ``keras.backend`` helpers Keras 3 programs call with ``keras.ops``.

>>> from tinydl.keras import backend
>>> backend.floatx(), backend.epsilon(), backend.result_type("int8", "uint8")
('float32', 1e-07, 'int16')
"""
from .ops.dtypes import floatx, result_type, standardize_dtype
from .ops.nn_ops import EPSILON

__all__ = ["epsilon", "floatx", "result_type", "standardize_dtype"]


def epsilon():
    """The fuzz factor Keras's losses clip probabilities with (1e-7)."""
    return EPSILON


floatx, result_type, standardize_dtype = floatx, result_type, standardize_dtype
