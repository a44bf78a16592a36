"""Magnitude pruning: masks on weights (unstructured) and removal of whole filters (structured).

Unstructured pruning keeps a 0/1 ``mask`` buffer next to each pruned weight (a reparametrization,
``tinydl.nn.reparam``): the layer computes with ``W * mask``, so a pruned weight contributes
nothing and gets no gradient whatever the optimizer does (momentum, Adam moments and weight
decay included). The masked entries of W itself are also zeroed when a mask is set and by
:meth:`GradualPruner.step`. The mask is part of ``state_dict()``, so checkpoints keep it; a fresh
model needs its masks attached before loading (:func:`load_pruned` or :func:`prepare_masks`).

* :func:`prune_magnitude` — zero the smallest-|w| fraction, per layer or over all layers (global).
* :class:`PolynomialSparsity` — Zhu & Gupta's (2017) gradual schedule
  ``s_t = s_f + (s_i - s_f) (1 - (t - t0) / (t1 - t0))^3``, updated every ``frequency`` steps.
* :class:`GradualPruner` — follows a schedule during training (call ``step()`` after each
  optimizer step; ``tinydl.compress.keras_callbacks.GradualPruning`` does it inside ``fit``).
* :func:`strip_pruning` — write ``W * mask`` into W and drop the masks.
"""
import numpy as np

from ..core.tensor import Tensor
from ..io import load_state
from ..nn import reparam
from ..nn.module import Module
from ..nn.layers.attention import MultiHeadAttention
from ..nn.layers.conv import Conv2D
from ..nn.layers.core import Dense

__all__ = ["PruneMask", "prunable_weights", "prune_magnitude", "sparsity_report", "PolynomialSparsity", "apply_masks",
           "GradualPruner", "strip_pruning", "prepare_masks", "load_pruned"]

TAG = "prune"


class PruneMask(Module):
    """``effective(W) = W * mask``; ``mask`` is a buffer of 0s and 1s of W's shape and dtype."""

    def __init__(self, shape, dtype, name=None):
        super().__init__(name=name)
        self.register_buffer("mask", np.ones(shape, dtype))

    def effective(self, weight):
        return weight * Tensor._wrap(self.mask)


def prunable_weights(model, layers=None):
    """[(key, layer, weight name)] of the kernels of Dense, Conv2D (and transposed) and attention
    layers; ``layers`` restricts to layer names/paths."""
    out = []
    for path, m in model.named_modules():
        if layers is not None and path not in layers and getattr(m, "name", None) not in layers:
            continue
        if isinstance(m, (Dense, Conv2D)):
            names = ["kernel"]
        elif isinstance(m, MultiHeadAttention) and getattr(m, "_weights_ready", False):
            names = ["query_kernel", "key_kernel", "value_kernel", "output_kernel"]
        else:
            continue
        for n in names:
            if n in m._parameters:
                out.append((f"{path}.{n}" if path else n, m, n))
    return out


def _mask_of(layer, name, create=True):
    existing = dict(reparam.reparams(layer, name)).get(TAG)
    if existing is None and create:
        w = layer._parameters[name]
        existing = PruneMask(w.shape, w.dtype, name=f"{layer.name}_{name}_mask")
        existing.mask[...] = existing.mask.dtype.type(1)
        reparam.attach(layer, name, existing, TAG)
    return existing


def _magnitude(layer, name):
    w = np.abs(layer._parameters[name].detach().numpy()).astype(np.float64)
    m = _mask_of(layer, name, create=False)
    return w * (m.mask != 0) if m is not None else w


def _set_mask(layer, name, keep):
    m = _mask_of(layer, name)
    xp = Tensor(m.mask).xp
    m.mask[...] = xp.asarray(keep, dtype=m.mask.dtype)
    w = layer._parameters[name]
    w.data *= m.mask


def _smallest(values, k):
    """Boolean array, True at the k smallest entries (ties broken by position, so exactly k)."""
    flat = values.reshape(-1)
    drop = np.zeros(flat.size, bool)
    if k > 0:
        drop[np.argsort(flat, kind="stable")[:k]] = True
    return drop.reshape(values.shape)


def prune_magnitude(model, sparsity, scope="layer", layers=None):
    """Zero the fraction ``sparsity`` of weights with the smallest magnitude.

    ``scope='layer'``: each weight loses that fraction of its own entries; ``'global'``: one
    threshold over all selected weights together (big layers lose more). Already-pruned entries
    count as the smallest, so masks only grow. Returns {key: achieved sparsity}.
    """
    if not 0.0 <= sparsity <= 1.0:
        raise ValueError(f"prune_magnitude: sparsity must be in [0, 1], got {sparsity}")
    if scope not in ("layer", "global"):
        raise ValueError(f"prune_magnitude: scope must be 'layer' or 'global', got {scope!r}")
    targets = prunable_weights(model, layers)
    if not targets:
        raise ValueError("prune_magnitude: the model has no Dense, Conv2D or attention kernel to prune")
    mags = [_magnitude(layer, n) for _, layer, n in targets]
    if scope == "layer":
        drops = [_smallest(m, int(round(sparsity * m.size))) for m in mags]
    else:
        flat = np.concatenate([m.reshape(-1) for m in mags])
        drop = _smallest(flat, int(round(sparsity * flat.size)))
        drops, start = [], 0
        for m in mags:
            drops.append(drop[start:start + m.size].reshape(m.shape))
            start += m.size
    for (_, layer, n), d in zip(targets, drops):
        _set_mask(layer, n, ~d)
    return sparsity_report(model, layers)


def sparsity_report(model, layers=None):
    """{key: fraction of zeros in the weight the layer computes with} (plus 'total')."""
    out, zeros, total = {}, 0, 0
    for key, layer, n in prunable_weights(model, layers):
        w = reparam.effective_weight(layer, n).detach().numpy()
        z = int(np.count_nonzero(w == 0))
        out[key] = z / w.size
        zeros, total = zeros + z, total + w.size
    out["total"] = zeros / max(total, 1)
    return out


class PolynomialSparsity:
    """Zhu & Gupta's gradual pruning schedule.

    ``s(t) = final + (initial - final) * (1 - (t - begin) / (end - begin)) ** power`` for
    ``begin <= t <= end`` (``final`` after), applied every ``frequency`` steps. ``__call__(step)``
    returns the target sparsity if pruning should happen at ``step``, else None.
    """

    def __init__(self, initial_sparsity, final_sparsity, begin_step, end_step, frequency=100, power=3):
        if not 0 <= initial_sparsity <= final_sparsity < 1:
            raise ValueError(f"PolynomialSparsity: need 0 <= initial <= final < 1, got {initial_sparsity}, "
                             f"{final_sparsity}")
        if end_step <= begin_step or frequency < 1:
            raise ValueError(f"PolynomialSparsity: need begin_step < end_step and frequency >= 1, got "
                             f"{begin_step}, {end_step}, {frequency}")
        self.initial, self.final = float(initial_sparsity), float(final_sparsity)
        self.begin, self.end, self.frequency, self.power = int(begin_step), int(end_step), int(frequency), power

    def sparsity(self, step):
        t = min(max(step, self.begin), self.end)
        frac = 1.0 - (t - self.begin) / (self.end - self.begin)
        return self.final + (self.initial - self.final) * frac ** self.power

    def __call__(self, step):
        if step < self.begin or step > self.end:
            return None
        if (step - self.begin) % self.frequency and step != self.end:
            return None
        return self.sparsity(step)


class GradualPruner:
    """Prune ``model`` along ``schedule`` while it trains: call :meth:`step` after every optimizer
    step. Between updates it re-zeroes the masked weights (the optimizer may have moved them)."""

    def __init__(self, model, schedule, scope="layer", layers=None):
        self.model, self.schedule, self.scope, self.layers = model, schedule, scope, layers
        self.iterations = 0
        self.current = 0.0

    def step(self):
        target = self.schedule(self.iterations)
        if target is not None:
            prune_magnitude(self.model, target, self.scope, self.layers)
            self.current = target
        else:
            apply_masks(self.model)
        self.iterations += 1
        return self.current


def apply_masks(model):
    """W *= mask for every pruned weight (keeps the stored weights at zero as well)."""
    for _, layer, n in prunable_weights(model):
        m = _mask_of(layer, n, create=False)
        if m is not None:
            layer._parameters[n].data *= m.mask


def strip_pruning(model):
    """Make pruning permanent: W = W * mask, masks removed (the model's state has no masks after)."""
    for _, layer, n in prunable_weights(model):
        m = _mask_of(layer, n, create=False)
        if m is not None:
            layer._parameters[n].data *= m.mask
            reparam.detach(layer, n, TAG)
    return model


def prepare_masks(model, state):
    """Attach (all-ones) masks wherever ``state`` (a state dict, or a path to a weights file or a
    training checkpoint) holds one, so that the state loads into a freshly built model."""
    if isinstance(state, (str, bytes)) or hasattr(state, "__fspath__"):
        state, _ = load_state(state)
    state = {k[len("model/"):] if k.startswith("model/") else k: v for k, v in state.items()}
    suffix = f"_{TAG}.mask"
    for key, layer, n in prunable_weights(model):
        if f"{key}{suffix}" in state:
            _mask_of(layer, n)
    return model


def load_pruned(path, model):
    """Load a pruned model's weights (saved with ``tinydl.io.save_weights``/``save_weights``)."""
    from ..io import load_weights
    prepare_masks(model, path)
    load_weights(path, model)
    return model
