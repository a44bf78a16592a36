"""int8 inference kernels: symmetric quantization, int8 x int8 -> int32 matmul and convolution,
and the fused dequantize + bias + activation.

The providers hand weights over as (O, K) int8 rows (PyTorch's (out, in) layout; a conv kernel
(KH, KW, C, O) becomes (O, KH*KW*C)). :func:`pack_weights` turns them into the micro-kernel's
layout: int16 pairs (K/2, O, 2), O padded to whole vectors, K to an even length, with zeros.
Activations are widened to int16 rows of K (for a convolution: one output row's windows
gathered, zeros outside the image, the zero point of symmetric quantization), and
``gemm_rows`` multiplies them with the register tiles of ``int8_tile.py``.

Integer sums are exact (``int8_tile.py`` says why), so results do not depend on the order of
the sums, the instruction set or the number of threads. Rows of the output are split over
Numba's threads (``prange``).
"""
import numpy as np
from numba import njit, prange

from .int8_tile import ISAS, host_isa, make_tile

_CACHE = dict(cache=True, nogil=True, fastmath=False)

ISA = host_isa()
LANES, ROWS, _ = ISAS[ISA]
BLOCK = 16  # rows of a matmul per task: a multiple of every ISA's ROWS


def pack_weights(w, lanes=LANES):
    """(O, K) int8 -> (ceil(K/2), O rounded up to ``lanes``, 2) int16, zero padded."""
    o, k = w.shape
    k2, op = (k + 1) // 2, -(-o // lanes) * lanes
    p = np.zeros((2 * k2, op), np.int16)
    p[:k, :o] = w.T
    return np.ascontiguousarray(p.reshape(k2, 2, op).transpose(0, 2, 1))


def make_gemm_rows(isa, cache=False):
    """``gemm_rows(a, wp, acc)``: acc (RW, OP) int32 = a (RW, 2*K2) int16 times packed
    wp (K2, OP, 2), with RW a multiple of the ISA's rows and OP of its lanes (unchecked:
    callers allocate a and acc themselves)."""
    lanes, rows, _ = ISAS[isa]
    wide, mid, narrow = (make_tile(isa, nv) for nv in (4, 2, 1))

    @njit(cache=cache, nogil=True)
    def gemm_rows(a, wp, acc):
        rw, k = a.shape
        k2, op = wp.shape[0], wp.shape[1]
        for j in range(0, rw, rows):
            f = 0
            while f < op:  # the widest tile that fits what is left of the row
                if op - f >= 4 * lanes:
                    wide(a, j * k, k, wp, 2 * f, 2 * op, k2, acc, j * op + f, op)
                    f += 4 * lanes
                elif op - f >= 2 * lanes:
                    mid(a, j * k, k, wp, 2 * f, 2 * op, k2, acc, j * op + f, op)
                    f += 2 * lanes
                else:
                    narrow(a, j * k, k, wp, 2 * f, 2 * op, k2, acc, j * op + f, op)
                    f += lanes
    return gemm_rows


gemm_rows = make_gemm_rows(ISA, cache=True)


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


@njit(**_CACHE)
def matmul_block(a, wp, r0, r1):
    """int32 (BLOCK, OP) products of rows r0 <= r < r1 (at most BLOCK) of a (M, K) int8."""
    k2, op = wp.shape[0], wp.shape[1]
    rows = np.zeros((BLOCK, 2 * k2), np.int16)
    for r in range(r0, r1):
        src, dst = a[r], rows[r - r0]
        for t in range(a.shape[1]):
            dst[t] = src[t]
    acc = np.empty((BLOCK, op), np.int32)
    gemm_rows(rows, wp, acc)
    return acc


@njit(parallel=True, **_CACHE)
def int8_matmul(a, wp, out):
    """out (M, O) int32 = a (M, K) int8 @ w^T, w packed by :func:`pack_weights` into wp."""
    m = a.shape[0]
    for blk in prange((m + BLOCK - 1) // BLOCK):
        r0 = blk * BLOCK
        r1 = min(m, r0 + BLOCK)
        acc = matmul_block(a, wp, r0, r1)
        copy_rows(acc, out[r0:r1])


@njit(parallel=True, **_CACHE)
def int8_matmul_bias_act(a, wp, scale, bias, relu, out):
    """out (M, O) float32 = act(int8_matmul * scale + bias), without the int32 (M, O) array."""
    m = a.shape[0]
    for blk in prange((m + BLOCK - 1) // BLOCK):
        r0 = blk * BLOCK
        r1 = min(m, r0 + BLOCK)
        acc = matmul_block(a, wp, r0, r1)
        bias_act_rows(acc, scale, bias, relu, out[r0:r1])


@njit(**_CACHE)
def gather_windows(x, b, i, kh, kw, sh, sw, pt, pl, dh, dw, ow, cols):
    """cols[j, (a*kw + bb)*C + ch] = x[b, i*sh - pt + a*dh, j*sw - pl + bb*dw, ch] for the OW
    windows of output row (b, i); positions outside the image are left as they are (zero).
    Flat offsets, no slices: conv1's windows are runs of 3 values, where a slice costs more
    than the copy."""
    _, h, wd, c = x.shape
    rw, kk = cols.shape
    xf = x[b].reshape(h * wd * c)
    cf = cols.reshape(rw * kk)
    run = kw * c  # one kernel row of a window: contiguous in x when dw == 1
    for a in range(kh):
        y = i * sh - pt + a * dh
        if y < 0 or y >= h:
            continue
        for j in range(ow):
            x0 = j * sw - pl
            d = j * kk + a * run
            if dw == 1 and x0 >= 0 and x0 + kw <= wd:
                src = (y * wd + x0) * c
                for e in range(run):  # unsigned indices: no negative-index wraparound to test
                    cf[np.uint64(d + e)] = xf[np.uint64(src + e)]
            else:
                for bb in range(kw):
                    xx = x0 + bb * dw
                    if 0 <= xx < wd:
                        src = (y * wd + xx) * c
                        for ch in range(c):
                            cf[d + bb * c + ch] = xf[src + ch]


@njit(**_CACHE)
def conv_row(x, wp, b, i, kh, kw, sh, sw, pt, pl, dh, dw, ow):
    """int32 (OW rounded up to ROWS, OP) sums of output row (b, i): its OW windows gathered
    as int16 rows of K (zeros outside the image: the zero point), times the packed filters."""
    k2, op = wp.shape[0], wp.shape[1]
    rw = (ow + ROWS - 1) // ROWS * ROWS
    cols = np.zeros((rw, 2 * k2), np.int16)
    gather_windows(x, b, i, kh, kw, sh, sw, pt, pl, dh, dw, ow, cols)
    acc = np.empty((rw, op), np.int32)
    gemm_rows(cols, wp, acc)
    return acc


@njit(parallel=True, **_CACHE)
def int8_conv2d(x, wp, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, out):
    """out (N, OH, OW, O) int32 = conv(x (N, H, W, C) int8, w (O, KH*KW*C) packed into wp),
    zero padding; one output row per task."""
    for r in prange(x.shape[0] * oh):
        b, i = r // oh, r % oh
        acc = conv_row(x, wp, b, i, kh, kw, sh, sw, pt, pl, dh, dw, ow)
        copy_rows(acc, out[b, i])


@njit(parallel=True, **_CACHE)
def int8_conv2d_bias_act(x, wp, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, scale, bias, relu, out):
    """out (N, OH, OW, O) float32 = act(int8_conv2d * scale + bias), without the int32 array."""
    for r in prange(x.shape[0] * oh):
        b, i = r // oh, r % oh
        acc = conv_row(x, wp, b, i, kh, kw, sh, sw, pt, pl, dh, dw, ow)
        bias_act_rows(acc, scale, bias, relu, out[b, i])


@njit(parallel=True, **_CACHE)
def int8_conv2d_requant(x, wp, kh, kw, sh, sw, pt, pl, dh, dw, ow, ph, pw, psh, psw, scale, bias, relu, inv_out, out):
    """out (N, PH, PW, O) int8: the convolution's int32 sums max-pooled over 'valid' (ph, pw)
    windows of stride (psh, psw), then ``act(acc * scale + bias)`` requantized with ``inv_out``.
    Pooling the sums first gives the same int8 as pooling the float outputs: with scale > 0
    the epilogue is non-decreasing, so max commutes with it. Conv rows no window covers are
    never computed."""
    n, poh, pow_, o = out.shape
    op = wp.shape[1]
    for r in prange(n * poh):
        b, pi = r // poh, r % poh
        best = conv_row(x, wp, b, pi * psh, kh, kw, sh, sw, pt, pl, dh, dw, ow)
        for a in range(1, ph):
            acc = conv_row(x, wp, b, pi * psh + a, kh, kw, sh, sw, pt, pl, dh, dw, ow)
            for j in range(ow):
                for f in range(op):
                    best[j, f] = max(best[j, f], acc[j, f])
        pooled = np.empty((pow_, op), np.int32)
        for pj in range(pow_):
            for f in range(op):
                pooled[pj, f] = best[pj * psw, f]
            for bb in range(1, pw):
                for f in range(op):
                    pooled[pj, f] = max(pooled[pj, f], best[pj * psw + bb, f])
        bias_act_requant_rows(pooled, scale, bias, relu, inv_out, out[b, pi])


@njit(**_CACHE)
def bias_act_requant_rows(acc, scale, bias, relu, inv_out, out):
    """out (R, O) int8 = clip(rint(act(float32(acc) * scale + bias) * inv_out), -127, 127):
    :func:`bias_act_rows` then :func:`quantize`, the same float32 operations."""
    for j in range(out.shape[0]):
        for f in range(out.shape[1]):
            v = np.float32(acc[j, f]) * scale[f] + bias[f]
            if relu and v < 0:
                v = np.float32(0.0)
            q = np.rint(v * inv_out)
            if q > 127.0:
                q = 127.0
            elif q < -127.0:
                q = -127.0
            out[j, f] = np.int8(q)


@njit(**_CACHE)
def copy_rows(acc, out):
    """out (R, O) = acc[:R, :O] (the tile's padding rows and columns dropped)."""
    for j in range(out.shape[0]):
        for f in range(out.shape[1]):
            out[j, f] = acc[j, f]


@njit(**_CACHE)
def bias_act_rows(acc, scale, bias, relu, out):
    """out (R, O) float32 = act(float32(acc[:R, :O]) * scale + bias); relu 1 or 0."""
    for j in range(out.shape[0]):
        for f in range(out.shape[1]):
            v = np.float32(acc[j, f]) * scale[f] + bias[f]
            if relu and v < 0:
                v = np.float32(0.0)
            out[j, f] = v


@njit(parallel=True, **_CACHE)
def dequantize_bias_act(acc, scale, bias, relu, out):
    """out (M, O) float32 = act(acc * scale[o] + bias[o]); ``relu`` 1 or 0 (linear)."""
    m = acc.shape[0]
    for blk in prange((m + BLOCK - 1) // BLOCK):
        r0, r1 = blk * BLOCK, min(m, blk * BLOCK + BLOCK)
        bias_act_rows(acc[r0:r1], scale, bias, relu, out[r0:r1])
