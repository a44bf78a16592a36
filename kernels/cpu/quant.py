"""int8 inference kernels: symmetric quantization, int8 x int8 -> int32 matmul and convolution,
dequantize + bias + activation, and their fusions: matmul or conv + dequantize, and conv + max
pooling + requantize (int8 in, int8 out, for the next quantized layer).

The providers hand weights over as (O, K) int8 rows (PyTorch's (out, in) layout; a conv kernel
(KH, KW, C, O) becomes (O, KH*KW*C)). :func:`pack_weights` turns them into the micro-kernel's
layout: int16 pairs (K/2, O, 2), O padded to whole vectors, K to an even length, with zeros.
Activations are widened to int16: a matmul's rows, and a convolution's input as one zero-padded
image (zero is the zero point of symmetric quantization) whose windows the register tiles of
``int8_tile.py`` read in place, one segment per kernel row; when a kernel row is not an even
number of contiguous values (conv1: 3 x 1 channel), one output row's windows are gathered into
int16 rows of K first.

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
CHUNK = 4  # output rows of a convolution per task (its scratch buffers are allocated once)
MAX_DEPTH = (2 ** 31 - 1) // (128 * 128)  # longest K whose int32 sums cannot overflow


def pack_weights(w, lanes=LANES):
    """(O, K) int8 -> (ceil(K/2), O rounded up to ``lanes``, 2) int16, zero padded."""
    o, k = w.shape
    k2, op = (k + 1) // 2, -(-o // lanes) * lanes
    p = np.zeros((2 * k2, op), np.int16)
    p[:k, :o] = w.T
    return np.ascontiguousarray(p.reshape(k2, 2, op).transpose(0, 2, 1))


def make_gemm(isa, cache=False):
    """``gemm(a, a_off, a_rs, a_seg, seg_pairs, wp, rw, acc)``: rows j < RW (a multiple of the
    ISA's rows) of acc (RW, OP) int32 = the activations of row j (read from the flat buffer
    ``a`` at ``a_off + j*a_rs`` in segments, as ``int8_tile.py`` says) times the packed wp
    (K2, OP, 2). Unchecked: callers size a and acc themselves."""
    lanes, rows, _ = ISAS[isa]
    wide, mid, narrow = (make_tile(isa, nv) for nv in (4, 2, 1))

    @njit(cache=cache, nogil=True)
    def gemm(a, a_off, a_rs, a_seg, seg_pairs, wp, rw, acc):
        k2, op = wp.shape[0], wp.shape[1]
        for j in range(0, rw, rows):
            off = a_off + j * a_rs
            f = 0
            while f < op:  # the widest tile that fits what is left of the row
                if op - f >= 4 * lanes:
                    wide(a, off, a_rs, a_seg, seg_pairs, wp, 2 * f, 2 * op, k2, acc, j * op + f, op)
                    f += 4 * lanes
                elif op - f >= 2 * lanes:
                    mid(a, off, a_rs, a_seg, seg_pairs, wp, 2 * f, 2 * op, k2, acc, j * op + f, op)
                    f += 2 * lanes
                else:
                    narrow(a, off, a_rs, a_seg, seg_pairs, wp, 2 * f, 2 * op, k2, acc, j * op + f, op)
                    f += lanes
    return gemm


gemm = make_gemm(ISA, cache=True)


@njit(**_CACHE)
def gemm_rows(a, wp, acc):
    """acc (RW, OP) int32 = a (RW, 2*K2) int16 rows times the packed wp (K2, OP, 2)."""
    gemm(a, 0, a.shape[1], 0, wp.shape[0], wp, a.shape[0], acc)


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
    Flat offsets, unsigned (no negative-index wraparound to test), no slices."""
    if kw * x.shape[3] >= 16:
        _gather_runs(x, b, i, kh, kw, sh, sw, pt, pl, dh, dw, ow, cols)
    else:
        _gather_columns(x, b, i, kh, kw, sh, sw, pt, pl, dh, dw, ow, cols)


@njit(**_CACHE)
def _gather_runs(x, b, i, kh, kw, sh, sw, pt, pl, dh, dw, ow, cols):
    """Many channels: a window's kernel row is one contiguous run of kw*C values (dw == 1)."""
    _, h, wd, c = x.shape
    rw, kk = cols.shape
    xf = x[b].reshape(h * wd * c)
    cf = cols.reshape(rw * kk)
    run = kw * c
    for a in range(kh):
        y = i * sh - pt + a * dh
        if y < 0 or y >= h:
            continue
        for j in range(ow):
            x0 = j * sw - pl
            d = j * kk + a * run
            if dw == 1 and x0 >= 0 and x0 + kw <= wd:
                src = (y * wd + x0) * c
                for e in range(run):
                    cf[np.uint64(d + e)] = xf[np.uint64(src + e)]
            else:
                for bb in range(kw):
                    xx = x0 + bb * dw
                    if 0 <= xx < wd:
                        for ch in range(c):
                            cf[np.uint64(d + bb * c + ch)] = xf[np.uint64((y * wd + xx) * c + ch)]


@njit(**_CACHE)
def _gather_columns(x, b, i, kh, kw, sh, sw, pt, pl, dh, dw, ow, cols):
    """Few channels (conv1: C = 1, runs of 3): one column of K at a time, over the windows j
    whose pixel lies inside the image, j innermost."""
    _, h, wd, c = x.shape
    rw, kk = cols.shape
    xf = x[b].reshape(h * wd * c)
    cf = cols.reshape(rw * kk)
    for a in range(kh):
        y = i * sh - pt + a * dh
        if y < 0 or y >= h:
            continue
        for bb in range(kw):
            off = bb * dw - pl  # window j reads column j*sw + off
            j0, j1 = 0, ow
            while j0 < ow and j0 * sw + off < 0:
                j0 += 1
            while j1 > j0 and (j1 - 1) * sw + off >= wd:
                j1 -= 1
            for ch in range(c):
                d = (a * kw + bb) * c + ch
                src = (y * wd + off) * c + ch
                for j in range(j0, j1):
                    cf[np.uint64(j * kk + d)] = xf[np.uint64(src + j * sw * c)]


@njit(parallel=True, **_CACHE)
def widen_pad(x, pt, pl, hp, wpad, slack):
    """x (N, H, W, C) int8 as a flat int16 (N, hp, wpad, C) image, zero padded (pt rows above,
    pl columns left, the rest below and right), followed by ``slack`` zeros."""
    n, h, wd, c = x.shape
    out = np.zeros(n * hp * wpad * c + slack, np.int16)
    for r in prange(n * h):
        b, y = r // h, r % h
        src = x[b, y].reshape(wd * c)
        base = ((b * hp + y + pt) * wpad + pl) * c
        for e in range(wd * c):
            out[np.uint64(base + e)] = src[e]
    return out


@njit(**_CACHE)
def row_buffers(wp, ow):
    """A task's scratch: int16 windows (OW rounded up to ROWS, 2*K2) and their int32 sums."""
    rw = (ow + ROWS - 1) // ROWS * ROWS
    return np.empty((rw, 2 * wp.shape[0]), np.int16), np.empty((rw, wp.shape[1]), np.int32)


@njit(**_CACHE)
def conv_row(x, xp, hp, wpad, wp, b, i, kh, kw, sh, sw, pt, pl, dh, dw, ow, cols, acc):
    """acc = int32 sums of output row (b, i). With a padded int16 image ``xp`` (not empty), the
    tiles read each window straight from it, one segment of kw*C values per kernel row
    (dw == 1, kw*C even); otherwise the OW windows are gathered into cols first (zeros outside
    the image: the zero point)."""
    if xp.size > 0:
        c = x.shape[3]
        gemm(xp, (b * hp + i * sh) * wpad * c, sw * c, dh * wpad * c, kw * c // 2, wp, acc.shape[0], acc)
    else:
        cols[:] = 0
        gather_windows(x, b, i, kh, kw, sh, sw, pt, pl, dh, dw, ow, cols)
        gemm_rows(cols, wp, acc)


@njit(parallel=True, **_CACHE)
def int8_conv2d(x, xp, hp, wpad, wp, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, out):
    """out (N, OH, OW, O) int32 = conv(x (N, H, W, C) int8, w (O, KH*KW*C) packed into wp),
    zero padding (``xp``: see :func:`conv_row`); CHUNK output rows per task."""
    rows = x.shape[0] * oh
    for t in prange((rows + CHUNK - 1) // CHUNK):
        cols, acc = row_buffers(wp, ow)
        for r in range(t * CHUNK, min(rows, t * CHUNK + CHUNK)):
            b, i = r // oh, r % oh
            conv_row(x, xp, hp, wpad, wp, b, i, kh, kw, sh, sw, pt, pl, dh, dw, ow, cols, acc)
            copy_rows(acc, out[b, i])


@njit(parallel=True, **_CACHE)
def int8_conv2d_bias_act(x, xp, hp, wpad, wp, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, scale, bias, relu, out):
    """out (N, OH, OW, O) float32 = act(int8_conv2d * scale + bias), without the int32 array."""
    rows = x.shape[0] * oh
    for t in prange((rows + CHUNK - 1) // CHUNK):
        cols, acc = row_buffers(wp, ow)
        for r in range(t * CHUNK, min(rows, t * CHUNK + CHUNK)):
            b, i = r // oh, r % oh
            conv_row(x, xp, hp, wpad, wp, b, i, kh, kw, sh, sw, pt, pl, dh, dw, ow, cols, acc)
            bias_act_rows(acc, scale, bias, relu, out[b, i])


@njit(parallel=True, **_CACHE)
def int8_conv2d_requant(x, xp, hp, wpad, wp, kh, kw, sh, sw, pt, pl, dh, dw, ow, ph, pw, psh, psw, scale, bias,
                        relu, inv_out, out):
    """out (N, PH, PW, O) int8: the convolution's int32 sums max-pooled over 'valid' (ph, pw)
    windows of stride (psh, psw), then ``act(acc * scale + bias)`` requantized with ``inv_out``.
    Pooling the sums first gives the same int8 as pooling the float outputs: with scale > 0
    the epilogue is non-decreasing, so max commutes with it. Conv rows no window covers are
    never computed."""
    n, poh, pow_, o = out.shape
    op = wp.shape[1]
    rows = n * poh
    for t in prange((rows + CHUNK - 1) // CHUNK):
        cols, acc = row_buffers(wp, ow)
        best = np.empty_like(acc)
        pooled = np.empty((pow_, op), np.int32)
        for r in range(t * CHUNK, min(rows, t * CHUNK + CHUNK)):
            b, pi = r // poh, r % poh
            conv_row(x, xp, hp, wpad, wp, b, pi * psh, kh, kw, sh, sw, pt, pl, dh, dw, ow, cols, best)
            for a in range(1, ph):
                conv_row(x, xp, hp, wpad, wp, b, pi * psh + a, kh, kw, sh, sw, pt, pl, dh, dw, ow, cols, acc)
                for j in range(ow):
                    for f in range(op):
                        best[j, f] = max(best[j, f], acc[j, f])
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
