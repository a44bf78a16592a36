"""Low-rank adapters (LoRA, Hu et al. 2021): fine-tune W + ΔW with ΔW = B·A of rank r.

A weight W seen as a matrix (fan_in, fan_out) — a Dense kernel (in, units), a Conv2D kernel
(KH*KW*C_in, filters), an attention projection (dim, heads*key_dim) or output kernel
(heads*value_dim, out) — gets two trainable matrices, A (r, fan_in) and B (fan_out, r), in the
paper's orientation; the layer computes with ``W + (alpha / r) * (B @ A)^T`` (reshaped to W's
shape). PyTorch's layers store W as (fan_out, fan_in...) (``Linear.weight`` (out, in),
``Conv2d.weight`` (out, in, kh, kw)); there ``in_axes`` is 0 and ΔW = B·A is reshaped without
the transpose. A starts like PyTorch's Linear weight (uniform ±1/sqrt(fan_in)), B at zero, so an
adapted model starts out computing exactly what the pretrained one did. The pretrained weights
are frozen; only A and B (and whatever you ask to keep trainable) learn.

>>> import numpy as np, tinydl
>>> from tinydl import nn
>>> _ = tinydl.manual_seed(0)
>>> model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
>>> adapters = apply_lora(model, rank=2)
>>> [name for name, p in model.named_parameters() if p.requires_grad]
['0.weight_lora.A', '0.weight_lora.B', '2.weight_lora.A', '2.weight_lora.B']
>>> x = tinydl.Tensor(np.ones((1, 8), np.float32))
>>> before = model(x).detach().numpy(); _ = merge_lora(model); after = model(x).detach().numpy()
>>> bool(np.allclose(before, after))
True
"""
import math

import numpy as np

from ..core import functional as T
from ..core.random import get_rng
from ..io import load_state, save_state, CheckpointError
from ..nn import reparam
from ..nn.module import Module
from ..nn.layers.attention import MultiHeadAttention
from ..nn.layers.conv import Conv2D, Conv2DTranspose
from ..nn.layers.core import Dense
from ..nn.modules.attention import MultiheadAttention
from ..nn.modules.conv import Conv1d, Conv2d
from ..nn.modules.linear import Linear

__all__ = ["LoRA", "lora_targets", "apply_lora", "merge_lora", "unmerge_lora", "lora_adapters",
           "save_lora", "load_lora", "remove_lora"]

TAG = "lora"


class LoRA(Module):
    """The adapter of one weight: ``effective(W) = W + scale * reshape((B @ A)^T)`` for Keras's
    layout (``in_axes`` > 0: the leading axes are the fan-in), ``W + scale * reshape(B @ A)`` for
    PyTorch's (``in_axes`` = 0: axis 0 is the fan-out)."""

    def __init__(self, weight_shape, in_axes, rank, alpha=None, dtype="float32", name=None):
        super().__init__(name=name)
        shape = tuple(int(s) for s in weight_shape)
        if not 0 <= in_axes < len(shape) or len(shape) < 2:
            raise ValueError(f"LoRA: in_axes must split the weight's shape {shape}, got {in_axes}")
        if not isinstance(rank, (int, np.integer)) or rank < 1:
            raise ValueError(f"LoRA: rank must be a positive integer, got {rank!r}")
        self.weight_shape, self.in_axes, self.rank = shape, int(in_axes), int(rank)
        self.alpha = float(rank if alpha is None else alpha)
        self.scale = self.alpha / self.rank
        self.fan_in, self.fan_out = _fans(shape, self.in_axes)
        bound = 1.0 / math.sqrt(self.fan_in)
        self.add_parameter("A", get_rng().uniform(-bound, bound, (self.rank, self.fan_in)).astype(dtype))
        self.add_parameter("B", np.zeros((self.fan_out, self.rank), dtype))
        self.merged = False

    def delta(self):
        """ΔW in the weight's own shape (a Tensor in the graph of A and B)."""
        d = T.matmul(self.B, self.A) * self.scale
        return T.reshape(d if self.in_axes == 0 else T.transpose(d), self.weight_shape)

    def effective(self, weight):
        return weight if self.merged else weight + self.delta()


def _fans(shape, in_axes):
    """(fan_in, fan_out) of a weight: PyTorch's layout for in_axes 0, else Keras's."""
    if in_axes == 0:
        return math.prod(shape[1:]), shape[0]
    return math.prod(shape[:in_axes]), math.prod(shape[in_axes:])


def lora_targets(layer):
    """{weight name: in_axes} of the weights LoRA can adapt in ``layer`` (empty if none)."""
    if isinstance(layer, (Linear, Conv1d, Conv2d)):
        return {"weight": 0}
    if isinstance(layer, MultiheadAttention):
        return {"in_proj_weight": 0} if layer._qkv_same_embed_dim else {}
    if isinstance(layer, Conv2DTranspose):
        return {}
    if isinstance(layer, Dense):
        return {"kernel": 1}
    if isinstance(layer, Conv2D):
        return {"kernel": 3}
    if isinstance(layer, MultiHeadAttention):
        return {"query_kernel": 1, "key_kernel": 1, "value_kernel": 1, "output_kernel": 2}
    return {}


def _select(model, layers):
    """(path, layer) pairs to adapt: every adaptable layer, or those named / of the given types."""
    chosen = []
    for path, m in model.named_modules():
        if not lora_targets(m):
            continue
        if layers is None:
            chosen.append((path, m))
        elif any((isinstance(s, str) and s in (path, m.name)) or (isinstance(s, type) and isinstance(m, s))
                 for s in layers):
            chosen.append((path, m))
    if layers is not None:
        for s in layers:
            if isinstance(s, str) and not any(s in (p, m.name) for p, m in chosen):
                raise ValueError(f"apply_lora: no adaptable layer named {s!r} (Dense, Conv2D and attention "
                                 f"layers can be adapted)")
    return chosen


def apply_lora(model, rank=4, alpha=None, layers=None, weights=None, keep_trainable=()):
    """Attach adapters and freeze everything else; returns {'path.weight': LoRA}.

    ``layers``: layer names/paths or layer classes to adapt (default: every Dense/Linear, Conv2D/Conv2d
    and attention layer). ``weights``: for attention layers, which projections (default all four:
    'query_kernel', 'key_kernel', 'value_kernel', 'output_kernel'). ``keep_trainable``: names of
    layers whose own parameters stay trainable (e.g. a new classification head, which is then
    not adapted).
    """
    keep = set(keep_trainable)
    added = {}
    for path, layer in _select(model, layers):
        if path in keep or layer.name in keep:
            continue
        for wname in lora_targets(layer):
            if weights is None or wname in weights:
                added[f"{path}.{wname}" if path else wname] = _attach(layer, wname, rank, alpha)
    if not added:
        raise ValueError("apply_lora: no layer to adapt was found")
    _freeze_all_but_adapters(model, keep)
    return added


def _attach(layer, wname, rank, alpha):
    w = layer._parameters.get(wname)
    if w is None:
        raise ValueError(f"apply_lora: layer '{layer.name}' ({type(layer).__name__}) has no weights yet; "
                         "build the model first (call it once on an input)")
    adapter = LoRA(w.shape, lora_targets(layer)[wname], rank, alpha, dtype=w.dtype,
                   name=f"{layer.name}_{wname}_lora")
    reparam.attach(layer, wname, adapter, TAG)
    return adapter


def _freeze_all_but_adapters(model, keep=()):
    adapter_params = {id(p) for a in lora_adapters(model).values() for p in a.parameters()}
    for path, m in model.named_modules():
        kept = path in keep or getattr(m, "name", None) in keep
        for p in m._parameters.values():
            if id(p) not in adapter_params and not kept:
                p.requires_grad = False


def lora_adapters(model):
    """{'path.weight': LoRA} of every adapter in ``model``."""
    out = {}
    for path, m in model.named_modules():
        for wname, chain in reparam.reparams(m).items():
            for tag, r in chain:
                if tag == TAG:
                    out[f"{path}.{wname}" if path else wname] = r
    return out


def _layer_weight(model, key):
    path, wname = key.rsplit(".", 1) if "." in key else ("", key)
    for p, m in model.named_modules():
        if p == path:
            return m, wname
    raise KeyError(key)


def merge_lora(model):
    """Fold every adapter into its weight (W += ΔW) for inference at the base model's cost."""
    for key, a in lora_adapters(model).items():
        if not a.merged:
            layer, wname = _layer_weight(model, key)
            w = layer._parameters[wname]
            w.data += a.delta().data.astype(w.dtype)
            a.merged = True
    return model


def unmerge_lora(model):
    """Undo :func:`merge_lora` (W -= ΔW; exact up to float rounding)."""
    for key, a in lora_adapters(model).items():
        if a.merged:
            layer, wname = _layer_weight(model, key)
            w = layer._parameters[wname]
            w.data -= a.delta().data.astype(w.dtype)
            a.merged = False
    return model


def remove_lora(model, merge=True):
    """Detach every adapter (merging it into W first unless ``merge=False``) and unfreeze W."""
    if merge:
        merge_lora(model)
    for key, a in lora_adapters(model).items():
        layer, wname = _layer_weight(model, key)
        reparam.detach(layer, wname, TAG)
        layer._parameters[wname].requires_grad = True
    return model


def save_lora(path, model):
    """Save only the adapters (A, B and their settings) to an ``.npz`` in tinydl's checkpoint
    format (atomic, checksummed, no pickle). The pretrained weights are not written."""
    adapters = lora_adapters(model)
    if not adapters:
        raise ValueError("save_lora: the model has no LoRA adapters")
    arrays, info = {}, []
    for key, a in adapters.items():
        arrays[f"{key}.A"], arrays[f"{key}.B"] = a.A.detach().numpy(), a.B.detach().numpy()
        info.append({"weight": key, "rank": a.rank, "alpha": a.alpha, "in_axes": a.in_axes,
                     "shape": list(a.weight_shape)})
    save_state(path, arrays, {"kind": "lora", "adapters": info})


def load_lora(path, model):
    """Load adapters saved by :func:`save_lora` into ``model`` (the same architecture): adapters
    are attached where missing (freezing the rest, as :func:`apply_lora`). Everything is checked
    before anything changes; raises CheckpointError on a mismatch."""
    arrays, meta = load_state(path)
    if meta.get("kind") != "lora" or not isinstance(meta.get("adapters"), list):
        raise CheckpointError(f"{path}: not a LoRA adapter file (kind {meta.get('kind')!r})", path)
    plan = []
    for entry in meta["adapters"]:
        key = str(entry.get("weight"))
        try:
            layer, wname = _layer_weight(model, key)
        except KeyError:
            raise CheckpointError(f"{path}: adapter for {key!r}, but the model has no such layer", path) from None
        if wname not in lora_targets(layer) or tuple(layer._parameters[wname].shape) != tuple(entry["shape"]):
            raise CheckpointError(f"{path}: adapter for {key!r} of shape {tuple(entry['shape'])} does not fit "
                                  f"layer '{layer.name}' ({type(layer).__name__})", path)
        rank, in_axes = int(entry["rank"]), int(entry["in_axes"])
        fan_in, fan_out = _fans(tuple(entry["shape"]), in_axes)
        a, b = arrays.get(f"{key}.A"), arrays.get(f"{key}.B")
        if a is None or b is None or a.shape != (rank, fan_in) or b.shape != (fan_out, rank):
            raise CheckpointError(f"{path}: adapter {key!r} arrays are missing or have the wrong shapes", path)
        existing = dict(reparam.reparams(layer, wname)).get(TAG)
        if existing is not None and (existing.rank != rank or existing.merged):
            raise CheckpointError(f"{path}: {key!r} already has an adapter of rank {existing.rank}"
                                  f"{' (merged)' if existing.merged else ''}; cannot load one of rank {rank}", path)
        plan.append((key, layer, wname, entry, a, b, existing))
    for key, layer, wname, entry, a, b, existing in plan:
        if existing is None:
            existing = _attach(layer, wname, int(entry["rank"]), float(entry["alpha"]))
        existing.A.data[...] = a
        existing.B.data[...] = b
    _freeze_all_but_adapters(model)
    return model
