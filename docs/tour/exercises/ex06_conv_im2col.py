"""Chapter 6's exercise: convolution by im2col with stride and zero padding (NHWC)."""
import numpy as np


def conv_im2col(x, w, stride=1, padding=0):
    kh, kw, c, o = w.shape
    x = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    n, h, wd, _ = x.shape
    oh, ow = (h - kh) // stride + 1, (wd - kw) // stride + 1
    cols = np.empty((n, oh, ow, kh, kw, c), dtype=x.dtype)
    for a in range(kh):
        for b in range(kw):
            # tap (a, b) of output pixel (i, j) is input pixel (i*stride + a, j*stride + b)
            cols[:, :, :, a, b, :] = x[:, a:a + stride * (oh - 1) + 1:stride, b:b + stride * (ow - 1) + 1:stride, :]
    y = cols.reshape(n * oh * ow, kh * kw * c) @ w.reshape(kh * kw * c, o)
    return y.reshape(n, oh, ow, o)
