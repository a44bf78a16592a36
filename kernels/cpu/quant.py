"""int8 inference kernels: symmetric quantization, int8 x int8 -> int32 matmul and convolution,
and the fused dequantize + bias + activation.

Weights come pre-packed as (O, K) int8 rows (PyTorch's (out, in) layout; a conv kernel
(KH, KW, C, O) becomes (O, KH*KW*C)), so every output value is a dot product of two contiguous
int8 vectors, widened to int16 and accumulated in int32: |q| <= 127 gives products of at most
16,129, so a sum of K terms is exact for K < 133,000. Rows of the output are split over Numba's
threads (``prange``); each value is summed in a fixed order, and integer sums are exact anyway,
so the results do not depend on the thread count.
"""
import numpy as np
from numba import njit, prange

_CACHE = dict(cache=True, nogil=True, fastmath=False)


@njit(parallel=True, **_CACHE)
def quantize(x, inv_scale, out):
    """out = clip(rint(x * inv_scale), -127, 127) as int8 (x float32, flattened)."""
    n = x.size
    xf = x.reshape(n)
    of = out.reshape(n)
    for i in prange(n):
        v = np.rint(xf[i] * inv_scale)
        if v > 127.0:
            v = 127.0
        elif v < -127.0:
            v = -127.0
        of[i] = np.int8(v)


@njit(parallel=True, **_CACHE)
def int8_matmul(a, w, out):
    """out (M, O) int32 = a (M, K) int8 @ w (O, K) int8 ^T."""
    m, k = a.shape
    o = w.shape[0]
    w16 = w.astype(np.int16)
    a16 = a.astype(np.int16)
    for i in prange(m):
        ar = a16[i]
        for j in range(o):
            wr = w16[j]  # plain loops over contiguous int16 slices: what LLVM vectorizes best here
            acc = np.int32(0)
            for t in range(k):
                acc += np.int32(ar[t]) * np.int32(wr[t])
            out[i, j] = acc


@njit(parallel=True, **_CACHE)
def int8_conv2d(x, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, out):
    """out (N, OH, OW, O) int32 = conv(x (N, H, W, C) int8, w (O, KH*KW*C) int8), zero padding.

    One output row at a time: its OW windows are gathered into an int16 block (zeros outside
    the image: the zero point of symmetric quantization), then each window takes O dot
    products with the packed filters."""
    n, h, wd, c = x.shape
    o = w.shape[0]
    k = kh * kw * c
    w16 = w.astype(np.int16)
    for r in prange(n * oh):
        b = r // oh
        i = r - b * oh
        cols = np.zeros((ow, k), np.int16)
        for j in range(ow):
            t = 0
            for a in range(kh):
                y = i * sh - pt + a * dh
                for bb in range(kw):
                    xx = j * sw - pl + bb * dw
                    if 0 <= y < h and 0 <= xx < wd:
                        for ch in range(c):
                            cols[j, t + ch] = x[b, y, xx, ch]
                    t += c
        orow = out[b, i]
        for j in range(ow):
            cr = cols[j]
            for f in range(o):
                wr = w16[f]
                acc = np.int32(0)
                for tt in range(k):
                    acc += np.int32(cr[tt]) * np.int32(wr[tt])
                orow[j, f] = acc


@njit(parallel=True, **_CACHE)
def dequantize_bias_act(acc, scale, bias, relu, out):
    """out (M, O) float32 = act(acc * scale[o] + bias[o]); ``relu`` 1 or 0 (linear)."""
    m, o = acc.shape
    for i in prange(m):
        for j in range(o):
            v = np.float32(acc[i, j]) * scale[j] + bias[j]
            if relu and v < 0:
                v = np.float32(0.0)
            out[i, j] = v
