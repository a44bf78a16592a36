"""Numba kernel for the Adam/AdamW update of one parameter, in place, in one pass.

Each element goes through PyTorch's single-tensor formula in the same order of operations and
the parameter's own float type, as ``tinydl.optim.Adam`` computes it with NumPy (a Python float
scalar meets a float32 array as a float32, so the caller passes the scalars already cast):
``g + l2 p``, ``p * shrink``, ``m + (1-b1) (g - m)``, ``v b2 + (1-b2) g g``,
``p - (step_size m) / (sqrt(v) / bc2_sqrt + eps)``.  No fastmath and no fused multiply-add, so
the result is the same bit for bit.  Serial (see ``backends/numba_cpu.py``).
"""
import numpy as np
from numba import njit


@njit(cache=True, error_model="numpy")
def adam_update(p, g, m, v, one_m_b1, b2, one_m_b2, step_size, bc2_sqrt, eps, l2, shrink):
    """``p``, ``g``, ``m``, ``v`` flat arrays of one size and float type; ``l2`` 0 for none (AdamW
    or no weight decay), ``shrink`` 1 for none (Adam)."""
    n = p.size
    if g.size != n or m.size != n or v.size != n:
        raise ValueError("adam_update: the arrays differ in size")
    use_l2 = l2 != 0
    use_shrink = shrink != 1
    for k in range(n):
        pk = p[k]
        gk = g[k]
        if use_l2:
            gk = gk + l2 * pk
        if use_shrink:
            pk = pk * shrink
        mk = m[k] + one_m_b1 * (gk - m[k])
        vk = v[k] * b2
        vk = vk + one_m_b2 * (gk * gk)
        m[k] = mk
        v[k] = vk
        p[k] = pk - (step_size * mk) / (np.sqrt(vk) / bc2_sqrt + eps)
