"""Numba kernels for the per-step gate math of the LSTM and GRU scans (forward and backward).

The recurrent matrix products (``h @ U`` forward, ``dz @ U.T`` backward) stay in BLAS; these
kernels do the elementwise work around them instead of a dozen NumPy temporaries per step.

* Forward, float32: :func:`lstm_fwd_step32` (and :func:`gru_fwd_step32`) is the whole step
  (gates, ``c_t``, ``tanh(c_t)``, ``h_t``) with its own tanh, :func:`_tanh32`, a rational
  function evaluated in float64 that vectorises (within 0.53 ulp of the exact float32 tanh;
  libm's ``math.tanh`` is scalar without SVML and does not vectorise; multiply-adds fused, see
  ``FMA``).  Float64:
  :func:`lstm_fwd_pre` / :func:`lstm_fwd_post` around NumPy's tanh (a float64 GRU runs its NumPy
  forward).  The forward kernels support the sigmoid and tanh activations only.
* Backward (no transcendentals): one kernel per step, :func:`lstm_bwd_step` (sigmoid/tanh) and
  :func:`gru_bwd_step` (any of the four activations).

Loops are kept to a few arrays each, and the kernels with a division use
``error_model="numpy"`` (IEEE division instead of a ZeroDivisionError check), so LLVM vectorises
them.

Activation codes as in :mod:`.activation`: 0 linear, 1 relu, 2 sigmoid, 3 tanh.  The sigmoid is
computed as ``0.5 * (1 + tanh(0.5 a))``, the same formula as the NumPy path of the scans; the
derivatives come from the activation's output (tanh' = 1 - y^2, sigmoid' = y (1 - y), relu' =
[y > 0]).  Serial, no fastmath beyond FMA contraction in the tanh kernels: results differ from
the NumPy path only by float rounding.
"""

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def _check_rows(n, cols, a):
    """Every kernel checks its arguments' shapes first, so no caller can make it index out of
    bounds (each step is small: the check costs nothing measurable)."""
    if a.ndim != 2 or a.shape[0] != n or a.shape[1] != cols:
        raise ValueError("recurrent kernel: an argument has the wrong shape")


@njit(cache=True, inline="always")
def _dact(y, code):
    """The activation's derivative from its output, in ``y``'s own float type."""
    one = type(y)(1)
    if code == 3:
        return one - y * y
    if code == 2:
        return y * (one - y)
    if code == 1:
        return one if y > 0 else type(y)(0)
    return one


# ------------------------------------------------------------------------------------------ LSTM
# A rational approximation of tanh for float32 results: x P(x^2) / Q(x^2) on |x| <= 9 (beyond
# that float32 tanh is +-1), fitted here by iteratively reweighted least squares on the relative
# error.  Evaluated in float64 its relative error is below 2.5e-8, so the float32-rounded result
# is within 0.53 ulp of the exact tanh (correctly rounded for 99.4% of float32 inputs; NumPy's
# float32 tanh: 1.4 ulp).  Unlike libm's tanh the loop vectorises.
_TANH_CLAMP = 9.0
# The kernels that evaluate it let LLVM fuse a multiply and an add into one FMA (``contract``,
# nothing else of fastmath: NaN/inf and the order of operations stay IEEE): Horner's steps
# then round once instead of twice (results move at float64 rounding only; the tanh's float32
# output is unchanged for every input) and the loops run faster (figures: bench/README.md).
FMA = {"contract"}
_TP0, _TP1, _TP2, _TP3 = 0.9999999996138772, 0.1284953804995535, 0.002723106682186201, -5.245476565484486e-06
_TP4, _TP5, _TP6 = -2.2318125485886747e-07, -3.1135449915709386e-10, 1.3015330543302737e-13
_TQ1, _TQ2, _TQ3 = 0.46182870979788787, 0.023332683651093623, 0.0001634029355203968
_TQ4, _TQ5 = -2.1766292173582505e-06, -1.2091373739200699e-08


@njit(cache=True, inline="always", error_model="numpy", fastmath=FMA)
def _tanh32(x):
    """tanh(x) for a float64 ``x`` to be rounded to float32 (NaN stays NaN, +-inf -> +-1)."""
    if x > _TANH_CLAMP:
        x = _TANH_CLAMP
    elif x < -_TANH_CLAMP:
        x = -_TANH_CLAMP
    t = x * x
    p = ((((((_TP6 * t + _TP5) * t + _TP4) * t + _TP3) * t + _TP2) * t + _TP1) * t + _TP0)
    q = (((((_TQ5 * t + _TQ4) * t + _TQ3) * t + _TQ2) * t + _TQ1) * t + 1.0)
    return x * p / q


@njit(cache=True, error_model="numpy", fastmath=FMA)
def tanh32(x, y):
    """``y = tanh(x)`` through :func:`_tanh32` (float32 arrays; for tests)."""
    if x.size != y.size:
        raise ValueError("tanh32: x and y differ in size")
    xf, yf = x.ravel(), y.ravel()
    for k in range(xf.size):
        yf[k] = _tanh32(np.float64(xf[k]))


@njit(cache=True, error_model="numpy", fastmath=FMA)
def lstm_fwd_step32(xs_t, hu, prev_t, act, ract, gates_t, out_t, tc_t):
    """One whole LSTM step for float32 arrays (``act``/``ract`` 2 sigmoid or 3 tanh), with
    :func:`_tanh32` evaluated in float64: gates ``i, f, g, o`` from ``xs_t + hu`` (N, 4H), written
    to ``gates_t``; ``out_t`` (N, 2H) = ``[h_t | c_t]``; ``tc_t`` (N, H) = ``tanh(c_t)``.
    sigmoid(a) = s tanh(s a) + 1 - s with s = 1/2 (s = 1 gives tanh), so the loop has no branch."""
    n, g4 = xs_t.shape
    hd = g4 // 4
    if g4 != 4 * hd:
        raise ValueError("lstm_fwd_step32: the gate axis is not a multiple of 4")
    _check_rows(n, g4, hu)
    _check_rows(n, g4, gates_t)
    _check_rows(n, 2 * hd, prev_t)
    _check_rows(n, 2 * hd, out_t)
    _check_rows(n, hd, tc_t)
    sr = 0.5 if ract == 2 else 1.0
    sa = 0.5 if act == 2 else 1.0
    # two simple loops per row (few arrays each), so that LLVM vectorises them
    for r in range(n):
        for blk in range(4):
            s = sa if blk == 2 else sr
            for k in range(blk * hd, (blk + 1) * hd):
                gates_t[r, k] = s * _tanh32(s * (np.float64(xs_t[r, k]) + hu[r, k])) + (1.0 - s)
        for j in range(hd):
            c = np.float32(np.float64(gates_t[r, hd + j]) * prev_t[r, hd + j]
                           + np.float64(gates_t[r, j]) * gates_t[r, 2 * hd + j])
            tc = np.float32(sa * _tanh32(sa * np.float64(c)) + (1.0 - sa))
            out_t[r, hd + j] = c
            tc_t[r, j] = tc
            out_t[r, j] = np.float64(gates_t[r, 3 * hd + j]) * tc


@njit(cache=True)
def lstm_fwd_pre(xs_t, hu, act, ract):
    """``hu = (xs_t + hu) * s`` in place, s = 1/2 for the sigmoid gates, else 1: the argument of
    the ``tanh`` that NumPy then applies to the whole (N, 4H) block (sigmoid(a) = (1 + tanh(a/2)) / 2).
    Gates ``i, f, g, o`` in blocks of H columns; ``act``/``ract`` are 2 (sigmoid) or 3 (tanh)."""
    n, g4 = xs_t.shape
    hd = g4 // 4
    _check_rows(n, g4, hu)
    for r in range(n):
        for c in range(g4):
            code = act if 2 * hd <= c < 3 * hd else ract
            v = xs_t[r, c] + hu[r, c]
            hu[r, c] = 0.5 * v if code == 2 else v


@njit(cache=True)
def lstm_fwd_post(w, prev_t, act, ract, gates_t, out_t):
    """From ``w`` = tanh of :func:`lstm_fwd_pre`'s output: the gates ``gates_t`` (N, 4H) and the
    cell ``c_t = f c_{t-1} + i g``, written to ``out_t[:, H:]``.  (The caller then takes ``tanh(c_t)``
    and ``h_t = o tanh(c_t)``.)"""
    n, g4 = w.shape
    hd = g4 // 4
    if g4 != 4 * hd:
        raise ValueError("lstm_fwd_post: the gate axis is not a multiple of 4")
    _check_rows(n, g4, gates_t)
    _check_rows(n, 2 * hd, prev_t)
    _check_rows(n, 2 * hd, out_t)
    for r in range(n):
        for c in range(g4):
            code = act if 2 * hd <= c < 3 * hd else ract
            v = w[r, c]
            gates_t[r, c] = 0.5 * (1 + v) if code == 2 else v
        for j in range(hd):
            out_t[r, hd + j] = gates_t[r, hd + j] * prev_t[r, hd + j] + gates_t[r, j] * gates_t[r, 2 * hd + j]


@njit(cache=True)
def lstm_bwd_step(g_t, dhn, dc_next, gates_t, tc_t, prev_t, act, ract, dz_t):
    """The backward of one LSTM step (``act``/``ract`` 2 sigmoid or 3 tanh).

    ``g_t`` (N, 2H) the output gradient ``[dh | dc]`` of this step, ``dhn`` (N, H) the gradient
    reaching ``h_t`` from step t+1 (``dz_{t+1} @ U.T``), ``dc_next`` (N, H) the gradient reaching
    ``c_t`` from step t+1 (updated IN PLACE to the gradient reaching ``c_{t-1}``), ``prev_t`` (N, 2H)
    the previous ``[h | c]``.  Writes ``dz_t`` (N, 4H), the gradient of the step's pre-activations.
    """
    n, g4 = gates_t.shape
    hd = g4 // 4
    if g4 != 4 * hd:
        raise ValueError("lstm_bwd_step: the gate axis is not a multiple of 4")
    _check_rows(n, 2 * hd, g_t)
    _check_rows(n, hd, dhn)
    _check_rows(n, hd, dc_next)
    _check_rows(n, hd, tc_t)
    _check_rows(n, 2 * hd, prev_t)
    _check_rows(n, g4, dz_t)
    # the derivative from the output y: b y + c - y^2 (sigmoid: b, c = 1, 0; tanh: 0, 1), no branch;
    # the constants in the arrays' type (a float64 constant would turn float32 math into float64)
    one, zero = gates_t.dtype.type(1), gates_t.dtype.type(0)
    ba, ca = (one, zero) if act == 2 else (zero, one)
    br, cr = (one, zero) if ract == 2 else (zero, one)
    for r in range(n):  # one loop over 1-d row slices per row: LLVM vectorises it
        gh, gc, dh_r, dc_r, tc_r = g_t[r, :hd], g_t[r, hd:], dhn[r], dc_next[r], tc_t[r]
        gi, gf, gg, go = gates_t[r, :hd], gates_t[r, hd:2 * hd], gates_t[r, 2 * hd:3 * hd], gates_t[r, 3 * hd:]
        dzi, dzf, dzg, dzo = dz_t[r, :hd], dz_t[r, hd:2 * hd], dz_t[r, 2 * hd:3 * hd], dz_t[r, 3 * hd:]
        c_prev = prev_t[r, hd:]
        for j in range(hd):
            o, tc = go[j], tc_r[j]
            dh = gh[j] + dh_r[j]
            dzo[j] = dh * tc * (br * o + cr - o * o)
            dc = gc[j] + dc_r[j] + dh * o * (ba * tc + ca - tc * tc)
            i, f, g = gi[j], gf[j], gg[j]
            dzi[j] = dc * g * (br * i + cr - i * i)
            dzf[j] = dc * c_prev[j] * (br * f + cr - f * f)
            dzg[j] = dc * i * (ba * g + ca - g * g)
            dc_r[j] = dc * f


# ------------------------------------------------------------------------------------------- GRU
@njit(cache=True, error_model="numpy", fastmath=FMA)
def gru_fwd_step32(xs_t, hp, b, h_prev, act, ract, zr_t, cand_t, hph_t, h_t):
    """One GRU step (reset after the matmul) for float32 arrays, ``act``/``ract`` 2 (sigmoid) or
    3 (tanh), with :func:`_tanh32`.  ``xs_t`` (N, 3H) the input projection (gates ``z, r, h``),
    ``hp`` (N, 3H) = ``h_{t-1} @ U`` WITHOUT the recurrent bias ``b`` (3H,), ``h_prev`` (N, H).
    Writes ``zr_t`` (N, 2H), and ``hph_t`` (the candidate block of ``h @ U + b``), ``cand_t`` and
    ``h_t``, all (N, H)."""
    n, g3 = xs_t.shape
    hd = g3 // 3
    if g3 != 3 * hd or b.ndim != 1 or b.shape[0] != g3:
        raise ValueError("gru_fwd_step32: the gate axis or the bias has the wrong length")
    _check_rows(n, g3, hp)
    _check_rows(n, hd, h_prev)
    _check_rows(n, 2 * hd, zr_t)
    _check_rows(n, hd, cand_t)
    _check_rows(n, hd, hph_t)
    _check_rows(n, hd, h_t)
    sr = 0.5 if ract == 2 else 1.0
    sa = 0.5 if act == 2 else 1.0
    for r in range(n):  # simple loops with one output each, so that LLVM vectorises them
        for k in range(2 * hd):
            v = np.float64(xs_t[r, k]) + np.float32(hp[r, k] + b[k])
            zr_t[r, k] = sr * _tanh32(sr * v) + (1.0 - sr)
        for j in range(hd):
            hph_t[r, j] = hp[r, 2 * hd + j] + b[2 * hd + j]
        for j in range(hd):
            v = np.float64(xs_t[r, 2 * hd + j]) + np.float32(np.float64(zr_t[r, hd + j]) * hph_t[r, j])
            cand_t[r, j] = sa * _tanh32(sa * v) + (1.0 - sa)
        for j in range(hd):
            z = np.float64(zr_t[r, j])
            h_t[r, j] = z * h_prev[r, j] + (1.0 - z) * cand_t[r, j]


@njit(cache=True)
def gru_bwd_step(g_t, dh_acc, zr_t, cand_t, hph_t, h_prev, act, ract, dx_t, dr_t):
    """The backward of one GRU step.

    ``g_t`` (N, H) the output gradient of this step, ``dh_acc`` (N, H) the gradient reaching
    ``h_t`` from step t+1; on return ``dh_acc`` holds ``dh * z`` (the direct part of the gradient
    reaching ``h_{t-1}``; the caller adds ``dr_t @ U.T``).  Writes ``dx_t`` (N, 3H), the gradient
    of the input projection, and ``dr_t`` (N, 3H), that of ``h @ U + b``.
    """
    n, hd = g_t.shape
    _check_rows(n, hd, dh_acc)
    _check_rows(n, 2 * hd, zr_t)
    _check_rows(n, hd, cand_t)
    _check_rows(n, hd, hph_t)
    _check_rows(n, hd, h_prev)
    _check_rows(n, 3 * hd, dx_t)
    _check_rows(n, 3 * hd, dr_t)
    one = zr_t.dtype.type(1)
    for r in range(n):  # 1-d row slices, so that LLVM vectorises the loop
        zs, rs, cand, hph, hp, gr, acc = zr_t[r, :hd], zr_t[r, hd:], cand_t[r], hph_t[r], h_prev[r], g_t[r], dh_acc[r]
        dxz, dxr, dxn = dx_t[r, :hd], dx_t[r, hd:2 * hd], dx_t[r, 2 * hd:]
        drz, drr_, drn = dr_t[r, :hd], dr_t[r, hd:2 * hd], dr_t[r, 2 * hd:]
        for j in range(hd):
            z = zs[j]
            rr = rs[j]
            nn_ = cand[j]
            dh = gr[j] + acc[j]
            da_n = dh * (one - z) * _dact(nn_, act)
            dzz = dh * (hp[j] - nn_) * _dact(z, ract)
            drr = da_n * hph[j] * _dact(rr, ract)
            dxz[j] = dzz
            dxr[j] = drr
            dxn[j] = da_n
            drz[j] = dzz
            drr_[j] = drr
            drn[j] = da_n * rr
            acc[j] = dh * z
