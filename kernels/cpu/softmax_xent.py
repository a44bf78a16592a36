"""Numba kernels for softmax + cross-entropy on ``(N, K)`` logits with integer labels.

Small (N is a batch, K a number of classes), so these run serially: waking threads would
cost more than the work.
"""
import math

from numba import njit


@njit(cache=True)
def softmax_xent_fwd(logits, labels, loss, probs):
    """``loss[r] = logsumexp(logits[r]) - logits[r, labels[r]]``; ``probs`` = softmax(logits)."""
    n, k = logits.shape
    for r in range(n):
        lab = labels[r]
        if lab < 0 or lab >= k:
            raise ValueError("softmax_xent: label out of range [0, K)")
        m = logits[r, 0]
        for j in range(1, k):
            if logits[r, j] > m:
                m = logits[r, j]
        s = 0.0
        for j in range(k):
            e = math.exp(logits[r, j] - m)  # <= 1: no overflow
            probs[r, j] = e
            s += e
        loss[r] = math.log(s) - (logits[r, lab] - m)
        for j in range(k):
            probs[r, j] = probs[r, j] / s


@njit(cache=True)
def softmax_xent_bwd(probs, labels, gloss, g):
    """``g = (probs - onehot(labels)) * gloss[:, None]``."""
    n, k = probs.shape
    for r in range(n):
        lab = labels[r]
        if lab < 0 or lab >= k:
            raise ValueError("softmax_xent: label out of range [0, K)")
        gl = gloss[r]
        for j in range(k):
            g[r, j] = probs[r, j] * gl
        g[r, lab] = (probs[r, lab] - 1) * gl
