"""The fused nn ops written with differentiable core ops: what ``create_graph=True`` differentiates.

Each function computes exactly what a fused kernel computes (convolution as a sum of shifted
matmuls, pooling as a sum or a masked pick over window taps, the cross-entropy from
log_softmax, LayerNorm from means), but as a graph of core ops, so its backward is itself
differentiable to any order. The fused op's ``composite`` method calls it; the fast path never
does. Layout as the kernels: NHWC images, (KH, KW, C_in, C_out) kernels, padding
((top, bottom), (left, right)).

>>> import numpy as np, tinydl
>>> from tinydl.nn import composite, channels_last as F
>>> x = tinydl.Tensor(np.arange(16.0).reshape(1, 4, 4, 1))
>>> w = tinydl.Tensor(np.ones((2, 2, 1, 1)))
>>> np.array_equal(composite.conv2d(x, w, (1, 1), ((0, 0), (0, 0)), (1, 1)).detach().numpy(), F.conv2d(x, w).detach().numpy())
True
"""
from ..core import functional as T
from ..core.ops.shape import ScatterAdd


def _out_hw(size, k, s, lo, hi, d):
    return (size + lo + hi - d * (k - 1) - 1) // s + 1


def _tap(a, i, j, stride, out_hw):
    """The (N, OH, OW, C) slice of padded image ``a`` that kernel tap (i, j) (dilated) touches."""
    (sh, sw), (oh, ow) = stride, out_hw
    return (slice(None), slice(i, i + sh * (oh - 1) + 1, sh), slice(j, j + sw * (ow - 1) + 1, sw), slice(None))


def _pad(x, padding, value=0.0):
    (pt, pb), (pl, pr) = padding
    if pt == pb == pl == pr == 0:
        return x
    return T.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), value)


def conv2d(x, w, stride, padding, dilation):
    """sum over kernel taps (a, b) of x_padded[taps] @ w[a, b]."""
    kh, kw, _, _ = w.shape
    (pt, pb), (pl, pr) = padding
    out_hw = (_out_hw(x.shape[1], kh, stride[0], pt, pb, dilation[0]),
              _out_hw(x.shape[2], kw, stride[1], pl, pr, dilation[1]))
    xp = _pad(x, padding)
    y = None
    for a in range(kh):
        for b in range(kw):
            term = xp[_tap(xp, a * dilation[0], b * dilation[1], stride, out_hw)] @ w[a, b]
            y = term if y is None else y + term
    return y


def conv2d_transpose(x, w, stride, padding, dilation, out_shape):
    """The adjoint of conv2d (from an image of ``out_shape``): each tap's x @ w[a, b]^T is added
    back at the positions that tap read."""
    kh, kw, _, _ = w.shape
    (pt, pb), (pl, pr) = padding
    n, h, wd, c = out_shape
    padded = (n, h + pt + pb, wd + pl + pr, c)
    out_hw = x.shape[1:3]
    y = None
    for a in range(kh):
        for b in range(kw):
            part = x @ T.transpose(w[a, b])
            term = ScatterAdd.apply(part, index=_tap(None, a * dilation[0], b * dilation[1], stride, out_hw),
                                    shape=padded)
            y = term if y is None else y + term
    return y[:, pt:pt + h, pl:pl + wd, :]


def activation(z, act):
    if act in (None, "linear"):
        return z
    return {"relu": T.relu, "sigmoid": T.sigmoid, "tanh": T.tanh}[act](z)


def bias_act(x, b, act):
    return activation(x + b, act)


def conv2d_bias_act(x, w, b, stride, padding, dilation, act):
    return activation(conv2d(x, w, stride, padding, dilation) + b, act)


def max_pool2d(x, argmax, pool, stride, padding):
    """The element each window picked (``argmax``, the kernels' window offset a * PW + b, ties
    to the first maximum) as a sum of masked taps: the same tie rule as the kernels."""
    ph, pw = pool
    (pt, pb), (pl, pr) = padding
    out_hw = argmax.shape[1:3]
    xp = _pad(x, padding)
    y = None
    for a in range(ph):
        for b in range(pw):
            term = T.where(argmax == a * pw + b, xp[_tap(xp, a, b, stride, out_hw)], 0.0)
            y = term if y is None else y + term
    return y


def avg_pool2d(x, pool, stride, padding):
    """Sum over window taps of the zero-padded image, divided by each window's in-bounds count."""
    ph, pw = pool
    (pt, pb), (pl, pr) = padding
    out_hw = (_out_hw(x.shape[1], ph, stride[0], pt, pb, 1), _out_hw(x.shape[2], pw, stride[1], pl, pr, 1))
    xp = _pad(x, padding)
    ones = x.xp.pad(x.xp.ones((1,) + x.shape[1:3] + (1,), dtype=x.dtype), ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    y, counts = None, 0
    for a in range(ph):
        for b in range(pw):
            tap = _tap(xp, a, b, stride, out_hw)
            y = xp[tap] if y is None else y + xp[tap]
            counts = counts + ones[tap]
    return y / x.xp.maximum(counts, 1)  # a window of padding only averages to 0, as the kernels


def softmax_cross_entropy(logits, labels):
    """Per-row -log softmax(logits)[label]."""
    lab = labels.data if hasattr(labels, "data") else labels
    return -T.log_softmax(logits, axis=1)[logits.xp.arange(logits.shape[0]), lab]


def layer_norm(x, gamma, beta, axes, eps):
    mu = T.mean(x, axis=axes, keepdims=True)
    xc = x - mu
    var = T.mean(xc * xc, axis=axes, keepdims=True)
    return xc / T.sqrt(var + eps) * gamma + beta


def embedding(table, ids, padding_idx=None):
    """table[ids]; the padding row's lookups pass no gradient (PyTorch's padding_idx)."""
    idx = ids.data if hasattr(ids, "data") else ids
    rows = table[idx]
    if padding_idx is None:
        return rows
    return T.where((idx != padding_idx)[..., None], rows, table.detach()[idx])
