"""Weight reparametrization: a layer computes with f(W) instead of its stored parameter W.

LoRA (W + B·A), pruning masks (W * mask) and fake quantization (round-to-grid W) all change the
weight a layer uses without changing the layer's code. ``attach(layer, 'kernel', r)`` registers
``r`` (a Module with ``effective(weight) -> Tensor``) as a child of the layer, so its parameters
and buffers are trained, saved and loaded with the layer; while the layer runs ``forward`` its
attribute ``kernel`` is the transformed Tensor, and afterwards the stored Parameter again.
Several reparametrizations on one weight apply in the order they were attached.

>>> import numpy as np, tinydl
>>> from tinydl import nn
>>> class Double(nn.Module):
...     def effective(self, w): return w * 2.0
>>> d = nn.Dense(1, use_bias=False, in_features=1, kernel_initializer="ones")
>>> attach(d, "kernel", Double(), "double")
>>> float(d(tinydl.ones(1, 1)).item()), float(d.kernel.item())
(2.0, 1.0)
>>> _ = detach(d, "kernel", "double"); float(d(tinydl.ones(1, 1)).item())
1.0
"""
import types

from .module import Module

__all__ = ["attach", "detach", "reparams", "effective_weight"]


def reparams(layer, name=None):
    """The reparametrizations attached to ``layer`` ({weight name: [(tag, module), ...]}), or
    those of one weight."""
    table = layer.__dict__.get("_reparams", {})
    return table.get(name, []) if name is not None else table


def effective_weight(layer, name):
    """The weight ``name`` as ``layer`` computes with it (every reparametrization applied)."""
    w = layer._parameters[name]
    for _, r in reparams(layer, name):
        w = r.effective(w)
    return w


def _forward_with_reparams(layer, *args, **kwargs):
    table = reparams(layer)
    subs = {name: effective_weight(layer, name) for name in table}
    for name, w in subs.items():
        object.__setattr__(layer, name, w)  # not registered: the Parameter stays in _parameters
    try:
        return type(layer).forward(layer, *args, **kwargs)
    finally:
        for name in subs:
            object.__setattr__(layer, name, layer._parameters[name])


def attach(layer, name, module, tag):
    """Make ``layer`` compute with ``module.effective(layer.<name>)``; ``module`` becomes the
    child ``<name>_<tag>`` of the layer (its state is saved under that prefix)."""
    if not isinstance(module, Module):
        raise TypeError(f"attach: expected a Module with effective(), got {type(module).__name__}")
    if name not in layer._parameters:
        raise ValueError(f"attach: layer '{layer.name}' ({type(layer).__name__}) has no parameter {name!r}; "
                         f"it has {list(layer._parameters)}")
    table = layer.__dict__.setdefault("_reparams", {})
    chain = table.setdefault(name, [])
    if any(t == tag for t, _ in chain):
        raise ValueError(f"attach: '{layer.name}.{name}' already has a {tag!r} reparametrization")
    chain.append((tag, module))
    setattr(layer, f"{name}_{tag}", module)
    object.__setattr__(layer, "forward", types.MethodType(_forward_with_reparams, layer))


def detach(layer, name, tag):
    """Remove the reparametrization ``tag`` of weight ``name``; returns its module."""
    chain = reparams(layer, name)
    for i, (t, m) in enumerate(chain):
        if t == tag:
            del chain[i]
            delattr(layer, f"{name}_{tag}")
            if not chain:
                del layer.__dict__["_reparams"][name]
            if not layer.__dict__["_reparams"]:
                del layer.__dict__["_reparams"]
                del layer.__dict__["forward"]
            return m
    raise ValueError(f"detach: '{layer.name}.{name}' has no {tag!r} reparametrization")
