"""Which input pixels or feature-map regions a prediction depends on.

* :func:`saliency` — the gradient of the class score with respect to the input (Simonyan et al.
  2014). The score is the class's logit: for a model whose last layer is a softmax (as Keras
  models usually are) the logits it carries are used, since the probability's gradient mostly
  reflects the other classes.
* :func:`smoothgrad` — the mean of the gradients at ``n`` noisy copies of the input
  (Smilkov et al. 2017, noise sd = ``noise`` x the input's value range).
* :func:`grad_cam` — Grad-CAM (Selvaraju et al. 2017) for a convolutional layer: channel
  weights are the spatial means of the score's gradient with respect to the layer's output A,
  and the map is ``relu(sum_k w_k A_k)``, upsampled to the input's size.
* :func:`capture_attention` — record the attention weights of every attention layer of a model
  while it runs (through ``return_attention_scores``), for heatmaps.

Every function runs the model in evaluation mode and restores the mode afterwards.
"""
import contextlib

import numpy as np

from ..core import autograd
from ..core.tensor import Tensor
from ..nn.layers.attention import MultiHeadAttention
from ..nn.modules.conv import Conv1d, Conv2d, ConvTranspose2d
from ..nn.logits import logits_of

__all__ = ["class_scores", "saliency", "smoothgrad", "grad_cam", "capture_attention", "intercept_output"]


@contextlib.contextmanager
def _eval_mode(model):
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for m, t in modes:
            m.training = t


def class_scores(output):
    """The pre-softmax scores of a model output (its logits, if a softmax/sigmoid layer made it)."""
    for kind in ("softmax", "sigmoid"):
        logits = logits_of(output, kind)
        if logits is not None:
            return logits
    return output


def _target_score(model, x, target):
    out = model(x)
    scores = class_scores(out)
    n = scores.shape[0]
    if target is None:
        target = scores.detach().numpy().argmax(axis=1)
    target = np.broadcast_to(np.asarray(target, dtype=np.int64), (n,))
    onehot = np.zeros(scores.shape, scores.dtype)
    onehot[np.arange(n), target] = 1
    return (scores * Tensor._wrap(scores.xp.asarray(onehot))).sum(), target


def _check_model_input(x):
    x = np.asarray(x.detach().numpy() if isinstance(x, Tensor) else x)
    if x.dtype.kind != "f":
        raise TypeError(f"explain: the input must be a float array, got dtype {x.dtype}")
    return x


def saliency(model, x, target=None):
    """d score[target] / d x for a batch ``x`` (``target``: class per example, default the
    predicted one). Returns (gradients with x's shape, targets)."""
    x = _check_model_input(x)
    with _eval_mode(model):
        xt = Tensor(x.copy(), requires_grad=True)
        score, target = _target_score(model, xt, target)
        score.backward()
    return xt.grad.detach().numpy(), target


def smoothgrad(model, x, target=None, n=25, noise=0.15, seed=0):
    """SmoothGrad: the mean input gradient over ``n`` copies of ``x`` with Gaussian noise of sd
    ``noise * (max(x) - min(x))`` (per example). Returns (mean gradients, targets)."""
    x = _check_model_input(x)
    rng = np.random.default_rng(seed)
    if target is None:
        with _eval_mode(model), autograd.no_grad():
            target = class_scores(model(Tensor(x))).detach().numpy().argmax(axis=1)
    axes = tuple(range(1, x.ndim))
    sd = noise * (x.max(axis=axes, keepdims=True) - x.min(axis=axes, keepdims=True))
    total = np.zeros_like(x, dtype=np.float64)
    for _ in range(n):
        g, _ = saliency(model, (x + sd * rng.standard_normal(x.shape)).astype(x.dtype), target)
        total += g
    return (total / n).astype(x.dtype), np.asarray(target)


@contextlib.contextmanager
def _wrapped_forward(layer, wrap):
    """While active, ``layer.forward`` is ``wrap(call)``, ``call`` being the forward it had (an
    instance attribute set by an outer wrapper, or the class's); restored afterwards."""
    old = layer.__dict__.get("forward")
    call = old if old is not None else (lambda *a, **k: type(layer).forward(layer, *a, **k))
    object.__setattr__(layer, "forward", wrap(call))
    try:
        yield
    finally:
        if old is None:
            del layer.__dict__["forward"]
        else:
            object.__setattr__(layer, "forward", old)


def intercept_output(layer, fn):
    """While active, ``layer``'s output is replaced by ``fn(output)``."""
    return _wrapped_forward(layer, lambda call: lambda *args, **kwargs: fn(call(*args, **kwargs)))


def _resize_bilinear(maps, size):
    """(N, h, w) -> (N, H, W) by bilinear interpolation (align_corners=False, as most libraries)."""
    n, h, w = maps.shape
    H, W = size

    def coords(out, inp):
        c = (np.arange(out) + 0.5) * inp / out - 0.5
        c = np.clip(c, 0, inp - 1)
        lo = np.floor(c).astype(int)
        hi = np.minimum(lo + 1, inp - 1)
        return lo, hi, c - lo

    y0, y1, fy = coords(H, h)
    x0, x1, fx = coords(W, w)
    top = maps[:, y0][:, :, x0] * (1 - fx) + maps[:, y0][:, :, x1] * fx
    bot = maps[:, y1][:, :, x0] * (1 - fx) + maps[:, y1][:, :, x1] * fx
    return top * (1 - fy)[None, :, None] + bot * fy[None, :, None]


def grad_cam(model, x, layer, target=None, data_format=None, upsample=True):
    """Grad-CAM maps of conv ``layer`` (a layer of ``model``, or its name) for batch ``x``.

    Returns (maps (N, H, W) in [0, 1] per example, raw maps at the layer's resolution, targets).
    The layer's output is (N, h, w, C), or (N, C, h, w) for ``data_format='channels_first'``
    (default: the layer's own ``data_format``)."""
    x = _check_model_input(x)
    if isinstance(layer, str):
        found = [m for _, m in model.named_modules() if getattr(m, "name", None) == layer]
        if not found:
            raise ValueError(f"grad_cam: the model has no layer named {layer!r}")
        layer = found[0]
    # PyTorch's convolutions are NCHW; the Keras-semantics layers say which layout they use
    fmt = data_format or ("channels_first" if isinstance(layer, (Conv1d, Conv2d, ConvTranspose2d))
                          else getattr(layer, "data_format", "channels_last"))
    captured = {}

    def as_leaf(out):
        leaf = Tensor(out.data, requires_grad=True)  # cut here: the gradient stops at A
        captured["A"] = leaf
        return leaf

    with _eval_mode(model), intercept_output(layer, as_leaf):
        score, target = _target_score(model, Tensor(x), target)
    if "A" not in captured:
        raise ValueError(f"grad_cam: layer '{layer.name}' was not called by the model")
    a = captured["A"]
    if a.ndim != 4:
        raise ValueError(f"grad_cam: layer '{layer.name}' gives a {a.ndim}-d output {tuple(a.shape)}; "
                         "Grad-CAM needs a 4-d feature map")
    score.backward()
    act, grad = a.detach().numpy(), a.grad.detach().numpy()
    if fmt == "channels_first":
        act, grad = act.transpose(0, 2, 3, 1), grad.transpose(0, 2, 3, 1)
    weights = grad.mean(axis=(1, 2), keepdims=True)             # (N, 1, 1, C)
    raw = np.maximum((weights * act).sum(axis=3), 0)           # (N, h, w)
    peak = raw.reshape(len(raw), -1).max(axis=1).reshape(-1, 1, 1)
    norm = np.where(peak > 0, raw / np.where(peak > 0, peak, 1), 0)
    if upsample:
        hw = x.shape[1:3] if x.ndim == 4 and fmt != "channels_first" else x.shape[-2:]
        norm = _resize_bilinear(norm, hw)
    return norm.astype(np.float32), raw.astype(np.float32), target


@contextlib.contextmanager
def capture_attention(model):
    """Record each attention layer's weights while the model runs: yields {layer name: list of
    arrays (batch, heads, queries, keys)}, one entry per call."""
    records = {}
    stack = contextlib.ExitStack()
    for _, m in model.named_modules():
        if isinstance(m, MultiHeadAttention) and type(m) is MultiHeadAttention:
            records[m.name] = []
            stack.enter_context(_record_attention(m, records[m.name]))
    with stack:
        yield records


def _record_attention(layer, sink):
    def wrap(call):
        def forward(*args, **kwargs):
            want = kwargs.pop("return_attention_scores", False)
            out, w = call(*args, return_attention_scores=True, **kwargs)
            sink.append(w.detach().numpy().copy())
            return (out, w) if want else out
        return forward
    return _wrapped_forward(layer, wrap)
