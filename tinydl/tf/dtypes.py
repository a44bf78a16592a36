"""``tf.dtypes``: TensorFlow's dtype names as NumPy dtypes (``tf.float32 == np.float32``)."""
import numpy as np

float16, float32, float64 = np.dtype("float16"), np.dtype("float32"), np.dtype("float64")
half, double = float16, float64
int8, int16, int32, int64 = np.dtype("int8"), np.dtype("int16"), np.dtype("int32"), np.dtype("int64")
uint8, uint16, uint32, uint64 = np.dtype("uint8"), np.dtype("uint16"), np.dtype("uint32"), np.dtype("uint64")
bool = np.dtype("bool")  # noqa: A001 - tf.bool


def as_dtype(type_value):
    from ._convert import as_dtype as convert
    return convert(type_value)


DType = np.dtype
