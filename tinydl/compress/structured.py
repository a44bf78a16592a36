"""Structured pruning: remove whole filters / units, so the layers become genuinely smaller.

For a chain of layers (``nn.Sequential`` or a Keras ``Sequential``), each Conv2D or Dense that
feeds another Conv2D or Dense loses the filters (units) with the smallest L1 norm (Li et al.
2017, "Pruning Filters for Efficient ConvNets"); the consumer loses the matching input channels
(rows). Between the two, pooling, activations, dropout and Flatten pass channels through, and a
BatchNormalization is sliced with them. The last layer (the model's outputs) is never pruned.
Parameters are replaced by smaller arrays: build a new optimizer (or ``compile()`` again) after.
"""
import math

import numpy as np

from ..nn.layers.conv import Conv2D, Conv2DTranspose
from ..nn.layers.core import Activation, Dense, Dropout, Flatten, Identity, LeakyReLU, ReLU, Sigmoid, Tanh
from ..nn.layers.normalization import BatchNormalization
from ..nn.layers.pooling import AveragePooling2D, MaxPooling2D
from ..nn import reparam
from ..nn.modules import activation as torch_act, dropout as torch_dropout, linear as torch_linear

__all__ = ["prune_filters", "count_parameters"]

_PASS_THROUGH = (Activation, Dropout, Identity, LeakyReLU, ReLU, Sigmoid, Tanh, MaxPooling2D, AveragePooling2D,
                 torch_act.ReLU, torch_act.LeakyReLU, torch_act.Sigmoid, torch_act.Tanh, torch_dropout.Dropout,
                 torch_linear.Identity)
_FLATTEN = (Flatten, torch_linear.Flatten)  # PyTorch's with its default dims (1, -1): the same reshape


def _chain(model):
    layers = list(model.layers) if hasattr(model, "layers") else list(model)
    return [l for l in layers if type(l).__name__ != "InputLayer"]


def _is_producer(layer):
    return isinstance(layer, (Conv2D, Dense)) and not isinstance(layer, Conv2DTranspose)


def _replace(param, array):
    param.data = param.xp.ascontiguousarray(param.xp.asarray(array))
    param.grad = None


def _plan(chain, i):
    """The layers between producer ``chain[i]`` and its consumer: (between, consumer) or None."""
    between = []
    for layer in chain[i + 1:]:
        if _is_producer(layer):
            return between, layer
        if isinstance(layer, _FLATTEN + (BatchNormalization,) + _PASS_THROUGH):
            between.append(layer)
        else:
            return None
    return None


def prune_filters(model, fraction, layers=None):
    """Remove ``fraction`` of the filters/units (smallest L1 norm) of each prunable layer.

    ``layers``: names of the producing layers to prune (default: every Conv2D/Dense followed by
    another one). Returns {layer name: (before, after)} output-channel counts.
    """
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"prune_filters: fraction must be in [0, 1), got {fraction}")
    chain = _chain(model)
    done = {}
    for i, layer in enumerate(chain):
        if not _is_producer(layer) or (layers is not None and layer.name not in layers):
            continue
        plan = _plan(chain, i)
        if plan is None:
            continue
        between, consumer = plan
        if isinstance(consumer, Conv2D) and any(isinstance(b, _FLATTEN) for b in between):
            continue
        for m in (layer, consumer):
            if reparam.reparams(m):
                raise ValueError(f"prune_filters: layer '{m.name}' has masks or adapters attached; strip them "
                                 "first (tinydl.compress.strip_pruning / tinydl.finetune.remove_lora)")
        kernel = layer._parameters["kernel"].detach().numpy()
        c = kernel.shape[-1]
        n_keep = max(1, int(math.ceil((1.0 - fraction) * c)))
        norms = np.abs(kernel).reshape(-1, c).sum(axis=0)
        keep = np.sort(np.argsort(-norms, kind="stable")[:n_keep])
        _shrink_producer(layer, keep)
        for b in between:
            if isinstance(b, BatchNormalization):
                _shrink_batchnorm(b, keep)
        flatten = next((b for b in between if isinstance(b, _FLATTEN)), None)
        channels_first = isinstance(layer, Conv2D) and layer.data_format == "channels_first"
        _shrink_consumer(consumer, keep, c, flatten is not None, channels_first)
        done[layer.name] = (c, n_keep)
    return done


def _shrink_producer(layer, keep):
    _replace(layer._parameters["kernel"], layer._parameters["kernel"].detach().numpy()[..., keep])
    if layer._parameters.get("bias") is not None:
        _replace(layer._parameters["bias"], layer._parameters["bias"].detach().numpy()[keep])
    if isinstance(layer, Conv2D):
        layer.filters = len(keep)
    else:
        layer.units = len(keep)


def _shrink_batchnorm(bn, keep):
    for name in ("gamma", "beta"):
        p = bn._parameters.get(name)
        if p is not None:
            _replace(p, p.detach().numpy()[keep])
    for name in ("moving_mean", "moving_variance"):
        arr = getattr(bn, name)
        xp = np if isinstance(arr, np.ndarray) else __import__("cupy")
        object.__setattr__(bn, name, xp.ascontiguousarray(arr[xp.asarray(keep)]))
    bn.num_features = len(keep)


def _shrink_consumer(consumer, keep, c, through_flatten, channels_first):
    p = consumer._parameters["kernel"]
    k = p.detach().numpy()
    if isinstance(consumer, Conv2D):
        _replace(p, k[:, :, keep, :])
        consumer.in_channels = len(keep)
        return
    rows, units = k.shape
    if through_flatten:
        spatial = rows // c
        if channels_first:  # flattened in (C, H, W) order
            new = k.reshape(c, spatial, units)[keep].reshape(-1, units)
        else:  # (H, W, C) order
            new = k.reshape(spatial, c, units)[:, keep, :].reshape(-1, units)
    else:
        new = k[keep]
    _replace(p, new)
    consumer.in_features = new.shape[0]


def count_parameters(model):
    """The number of parameter entries (weights and biases) of ``model``."""
    return int(sum(int(np.prod(p.shape)) for p in model.parameters()))
