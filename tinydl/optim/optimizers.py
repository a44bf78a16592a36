"""SGD, Adam, AdamW, RMSprop, Adagrad: PyTorch 2.13's update rules, one parameter at a time.

Each optimizer updates ``p.data`` in place (layers keep references to their parameters' arrays)
and skips parameters whose ``grad`` is None. The formulas are PyTorch's single-tensor ones, in
the same order of operations (``exp_avg.lerp_(g, 1 - beta1)``, the momentum buffer starting as
the first gradient, ...), so trajectories agree with PyTorch's to rounding
(``tests/test_torch_optim.py`` compares them with recorded ones).

>>> import tinydl
>>> from tinydl.optim import SGD
>>> w = tinydl.Tensor([1.0, -2.0], requires_grad=True)
>>> opt = SGD([w], lr=0.1)
>>> (w * w).sum().backward()     # grad = 2w
>>> opt.step(); opt.zero_grad()
>>> [round(v, 4) for v in w.tolist()]
[0.8, -1.6]

``foreach``, ``fused``, ``capturable`` and ``differentiable`` are accepted and kept in the param
groups as PyTorch keeps them; they choose implementations in PyTorch and change nothing here
(``differentiable=True``, an update that is itself recorded by autograd, raises NotImplementedError).
"""
import math

import numpy as np

from ..backends import provider_for
from ..core.tensor import Tensor
from .optimizer import Optimizer

__all__ = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"]


def _impl_flags(name, foreach, differentiable, fused, **more):
    if differentiable:
        raise NotImplementedError(f"{name}(differentiable=True): recording the optimizer update in the "
                                  "autograd graph is not implemented in tinydl")
    return dict(foreach=foreach, differentiable=False, fused=fused, **more)


class SGD(Optimizer):
    """``SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *, maximize=False)``.

    ``g += weight_decay * p``; with momentum ``buf = g`` on the first step, then
    ``buf = momentum * buf + (1 - dampening) * g``; the step is ``g + momentum * buf`` (Nesterov)
    or ``buf``; ``p -= lr * step``.
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None, clipnorm=None, clipvalue=None):
        _check("SGD", lr=lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize,
                                      **_impl_flags("SGD", foreach, differentiable, fused)), clipnorm, clipvalue)

    def _update(self, p, g, state, group, lr):
        mu, wd = group["momentum"], group["weight_decay"]
        if group["maximize"]:
            g = -g
        if wd:
            g = g + wd * p.data
        if mu:
            if "momentum_buffer" not in state:
                self._buffer(state, "momentum_buffer", p)[...] = g
                buf = state["momentum_buffer"].data
            else:
                buf = state["momentum_buffer"].data
                buf *= mu
                buf += (1 - group["dampening"]) * g
            g = g + mu * buf if group["nesterov"] else buf
        p.data -= lr * g

    def _fused_step(self, todo, grads):
        for group, _ in self._by_group(todo, grads):
            if group["maximize"] or group["dampening"]:
                return False
        for group, items in self._by_group(todo, grads):
            # a zero buffer gives the first step's buf = g, as PyTorch's clone does (dampening is 0)
            bufs = [self._buffer(st, "momentum_buffer", p) for p, st, _ in items] if group["momentum"] else None
            provider_for(items[0][0].data).sgd_step([p.data for p, _, _ in items], [g for _, _, g in items], bufs,
                                                     self._lr_value(group["lr"]), group["momentum"],
                                                     group["nesterov"], group["weight_decay"])
        return True


class Adam(Optimizer):
    """``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
    maximize=False, decoupled_weight_decay=False)``.

    ``weight_decay`` is L2 added to the gradient (``decoupled_weight_decay=True``: AdamW's
    ``p *= 1 - lr * weight_decay``). ``m.lerp_(g, 1 - b1)``, ``v = b2 v + (1 - b2) g^2``,
    ``p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``; with ``amsgrad`` the
    running maximum of ``v`` replaces ``v`` in the denominator.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False, clipnorm=None, clipvalue=None):
        name = type(self).__name__
        _check(name, lr=lr, eps=eps, weight_decay=weight_decay, beta1=betas[0], beta2=betas[1])
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize,
                                      **_impl_flags(name, foreach, differentiable, fused, capturable=capturable),
                                      decoupled_weight_decay=decoupled_weight_decay), clipnorm, clipvalue)

    _fused_on_cpu = True  # the providers' adam_step is this class's _update, bit for bit

    def _fused_step(self, todo, grads):
        groups = list(self._by_group(todo, grads))
        for group, items in groups:
            if group["amsgrad"] or group["maximize"] or \
                    len({float(st["step"].data) if "step" in st else 0 for _, st, _ in items}) != 1:
                return False  # the fused kernel has one step count per launch, no amsgrad, no maximize
        for group, items in groups:
            t = 0
            for p, st, _ in items:
                t = self._count_step(st, p)
            b1, b2 = group["betas"]
            provider_for(items[0][0].data).adam_step(
                [p.data for p, _, _ in items], [g for _, _, g in items],
                [self._buffer(st, "exp_avg", p) for p, st, _ in items],
                [self._buffer(st, "exp_avg_sq", p) for p, st, _ in items],
                self._lr_value(group["lr"]), b1, b2, self._eps(group, t), int(t),
                group["weight_decay"], decoupled=group["decoupled_weight_decay"])
        return True

    def _eps(self, group, t):
        """The epsilon added to the bias-corrected sqrt(v) at step ``t``."""
        return group["eps"]

    def _update(self, p, g, state, group, lr):
        wd = group["weight_decay"]
        if group["maximize"]:
            g = -g
        t = self._count_step(state, p)
        if wd:
            if group["decoupled_weight_decay"]:
                p.data *= 1 - lr * wd  # decoupled: shrink the weights, leave the gradient alone
            else:
                g = g + wd * p.data  # L2: part of the gradient, so it is rescaled by the moments
        b1, b2 = group["betas"]
        m, v = self._buffer(state, "exp_avg", p), self._buffer(state, "exp_avg_sq", p)
        m += (1 - b1) * (g - m)  # lerp with weight < 0.5, PyTorch's formula
        v *= b2
        v += (1 - b2) * (g * g)
        if group["amsgrad"]:
            v = p.xp.maximum(self._buffer(state, "max_exp_avg_sq", p), v, out=state["max_exp_avg_sq"].data)
        denom = p.xp.sqrt(v) / math.sqrt(1 - b2 ** t) + self._eps(group, t)
        p.data -= (lr / (1 - b1 ** t)) * m / denom


class AdamW(Adam):
    """``AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *, maximize=False)``:
    Adam with decoupled weight decay (Loshchilov & Hutter): ``p *= 1 - lr * weight_decay``, then Adam."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None,
                 clipnorm=None, clipvalue=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True, clipnorm=clipnorm, clipvalue=clipvalue)


class RMSprop(Optimizer):
    """``RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False, *, maximize=False)``.

    ``s = alpha s + (1 - alpha) g^2``; ``centered`` subtracts the squared running mean of g;
    ``avg = sqrt(s) + eps`` (eps outside the root); with momentum ``b = momentum b + g / avg``,
    ``p -= lr b``, else ``p -= lr g / avg``.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False,
                 clipnorm=None, clipvalue=None):
        _check("RMSprop", lr=lr, alpha=alpha, eps=eps, momentum=momentum, weight_decay=weight_decay)
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                                      weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                                      maximize=maximize, differentiable=False), clipnorm, clipvalue)
        _impl_flags("RMSprop", foreach, differentiable, None)

    def _update(self, p, g, state, group, lr):
        a, mu, wd = group["alpha"], group["momentum"], group["weight_decay"]
        if group["maximize"]:
            g = -g
        self._count_step(state, p)
        if wd:
            g = g + wd * p.data
        s = self._buffer(state, "square_avg", p)
        if mu > 0:
            self._buffer(state, "momentum_buffer", p)
        if group["centered"]:
            self._buffer(state, "grad_avg", p)
        s *= a
        s += (1 - a) * (g * g)
        if group["centered"]:
            m = state["grad_avg"].data
            m += (1 - a) * (g - m)
            avg = p.xp.sqrt(s - m * m) + group["eps"]
        else:
            avg = p.xp.sqrt(s) + group["eps"]
        if mu > 0:
            b = state["momentum_buffer"].data
            b *= mu
            b += g / avg
            p.data -= lr * b
        else:
            p.data -= lr * (g / avg)


class Adagrad(Optimizer):
    """``Adagrad(params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10, *, maximize=False)``.

    The state (``step``, ``sum``) is created at construction, as PyTorch does.
    ``clr = lr / (1 + (t - 1) lr_decay)``; ``sum += g^2``; ``p -= clr * g / (sqrt(sum) + eps)``.
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None, clipnorm=None, clipvalue=None):
        _check("Adagrad", lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
               initial_accumulator_value=initial_accumulator_value, eps=eps)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                                      maximize=maximize, differentiable=False, fused=fused), clipnorm, clipvalue)
        _impl_flags("Adagrad", foreach, differentiable, fused)

    def add_param_group(self, param_group):
        super().add_param_group(param_group)
        for p in self.param_groups[-1]["params"]:
            self._init_state(p, self.param_groups[-1])

    def _init_state(self, p, group):
        state = self.state.setdefault(p, {})
        if "step" not in state:
            state["step"] = Tensor._wrap(p.xp.zeros((), dtype=np.float32))
            self._buffer(state, "sum", p, fill=group["initial_accumulator_value"])

    def _update(self, p, g, state, group, lr):
        wd = group["weight_decay"]
        t = self._count_step(state, p)
        if group["maximize"]:
            g = -g
        if wd:
            g = g + wd * p.data
        clr = lr / (1 + (t - 1) * group["lr_decay"])
        s = self._buffer(state, "sum", p, fill=group["initial_accumulator_value"])
        s += g * g
        p.data -= clr * (g / (p.xp.sqrt(s) + group["eps"]))


def _check(owner, **values):
    for name, v in values.items():
        if callable(v):
            continue
        upper_open = name in ("beta1", "beta2")
        if not (0.0 <= v and (v < 1.0 or not upper_open)):
            raise ValueError(f"{owner}: invalid {name} value: {v} (must be >= 0{' and < 1' if upper_open else ''})")
