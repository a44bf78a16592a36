"""Chapter 8's exercise: 2x2, stride-2 max pooling of NHWC arrays as a Numba loop."""
import numpy as np
from numba import njit


@njit
def _pool(x, y):
    n_img, oh, ow, channels = y.shape
    for n in range(n_img):
        for i in range(oh):
            for j in range(ow):
                for c in range(channels):       # the contiguous axis innermost
                    m = x[n, 2 * i, 2 * j, c]
                    m = max(m, x[n, 2 * i, 2 * j + 1, c])
                    m = max(m, x[n, 2 * i + 1, 2 * j, c])
                    y[n, i, j, c] = max(m, x[n, 2 * i + 1, 2 * j + 1, c])


def maxpool2x2(x):
    x = np.ascontiguousarray(x)
    n, h, w, c = x.shape
    y = np.empty((n, h // 2, w // 2, c), dtype=x.dtype)
    _pool(x, y)
    return y
