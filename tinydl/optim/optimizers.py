"""Optimizers: SGD, Adam, AdamW, RMSprop on a small shared base class.

Each optimizer updates ``p.data`` in place (layers keep references to their parameters' arrays)
and skips parameters whose ``grad`` is None.

>>> import tinydl
>>> from tinydl.optim import SGD
>>> w = tinydl.Tensor([1.0, -2.0], requires_grad=True)
>>> opt = SGD([w], lr=0.1)
>>> (w * w).sum().backward()     # grad = 2w
>>> opt.step(); opt.zero_grad()
>>> [round(v, 4) for v in w.tolist()]
[0.8, -1.6]

Param groups give parts of a model their own settings (keys missing from a group take the
optimizer's defaults)::

    SGD([{"params": body, "lr": 1e-3}, {"params": head}], lr=1e-2, momentum=0.9)

``lr`` may also be a callable of the step number (e.g. ``tinydl.optim.CosineDecay``); it is
evaluated at ``optimizer.iterations`` on every step.
"""
import math

import numpy as np

from ..backends import is_gpu_array, provider_for
from ..core.tensor import Tensor
from .clip import clip_coefficient, total_norm


def _to_numpy(a):
    # a private copy: later in-place updates must not change a saved state dict
    return a.get() if hasattr(a, "get") else np.array(a, copy=True)


def _is_state_array(v):
    # Counters are ints; after a trip through .npz they come back as 0-d integer arrays.
    return hasattr(v, "shape") and v.dtype.kind not in "iub"


def _restore(v, p):
    """A loaded state value: arrays move to p's device and dtype (a copy), counters become ints."""
    if _is_state_array(v):
        return p.xp.array(v, dtype=p.dtype)
    return int(v) if hasattr(v, "shape") else v


def _plain(value):
    """Hyperparameters as Python floats/bools/tuples: a numpy float64 scalar would upcast float32 arrays."""
    if isinstance(value, np.ndarray):  # e.g. a value read back from an .npz file
        value = value.tolist()
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    if isinstance(value, (int, float, np.number)):
        return float(value)
    return value  # a callable lr schedule


class Optimizer:
    """Base class. Subclasses define ``_update(p, g, state, group, lr)`` for one parameter.

    ``params``: an iterable of Tensors, or of dicts ``{"params": [...], **overrides}`` (param
    groups). ``defaults``: the hyperparameters (``lr`` included) each group starts from.
    ``clipnorm`` scales all gradients together to a global L2 norm of at most ``clipnorm``;
    ``clipvalue`` clips each element into ``[-clipvalue, clipvalue]``; both act on copies, before
    the update (norm first), and leave ``p.grad`` untouched.
    """

    def __init__(self, params, defaults, clipnorm=None, clipvalue=None):
        self.defaults = {k: _plain(v) for k, v in defaults.items()}
        self.clipnorm = None if clipnorm is None else float(clipnorm)
        self.clipvalue = None if clipvalue is None else float(clipvalue)
        self.iterations = 0
        self.param_groups = []
        self.state = []  # per parameter, in order: momentum buffers, moments (created on first update)
        groups = [params] if isinstance(params, Tensor) else list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group):
        """Add ``{"params": [...], **overrides}``; missing settings come from the defaults."""
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError("a param group must be a dict with a 'params' entry")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__}: parameters must be Tensors, got {type(p).__name__}")
            if id(p) in seen:
                raise ValueError(f"{type(self).__name__}: a parameter appears in more than one place")
            seen.add(id(p))
        unknown = set(group) - set(self.defaults) - {"params"}
        if unknown:
            raise ValueError(f"{type(self).__name__}: unknown setting(s) {sorted(unknown)} in a param group; "
                             f"known: {sorted(self.defaults)}")
        new = dict(self.defaults)
        new.update({k: _plain(v) for k, v in group.items() if k != "params"})
        new["params"] = params
        self.param_groups.append(new)
        self.state.extend({} for _ in params)

    # ---- the learning rate ------------------------------------------------------------------
    def _lr_value(self, lr):
        return float(lr(self.iterations)) if callable(lr) else lr

    @property
    def lr(self):
        """The (first group's) learning rate at the current iteration; setting it sets every group's."""
        return self._lr_value(self.param_groups[0]["lr"])

    @lr.setter
    def lr(self, value):
        for group in self.param_groups:
            group["lr"] = _plain(value)

    # ---- stepping ---------------------------------------------------------------------------
    def _params_with_state(self):
        i = 0
        for group in self.param_groups:
            for p in group["params"]:
                yield p, self.state[i], group
                i += 1

    def _clip(self, grads):
        if self.clipnorm is not None:
            coef = clip_coefficient(total_norm(grads), self.clipnorm)
            if coef < 1.0:
                grads = [g * coef for g in grads]
        if self.clipvalue is not None:
            c = self.clipvalue
            grads = [g.clip(-c, c) for g in grads]
        return grads

    def step(self, closure=None):
        """Update every parameter that has a gradient; ``closure`` (optional) recomputes and returns the loss."""
        loss = closure() if closure is not None else None
        todo = [(p, state, group) for p, state, group in self._params_with_state() if p.grad is not None]
        grads = self._clip([p.grad.data for p, _, _ in todo])
        if not (todo and is_gpu_array(todo[0][0].data) and self._fused_step(todo, grads)):
            for (p, state, group), g in zip(todo, grads):
                self._update(p, g, state, group, self._lr_value(group["lr"]))
        for p, _, _ in todo:  # changed in place: a backward through a graph made before this raises
            p._bump_version()
        self.iterations += 1
        return loss

    def _fused_step(self, todo, grads):
        """On the GPU, update all parameters in one kernel launch; False if this case has no fused kernel."""
        return False

    def _by_group(self, todo, grads):
        groups = {}
        for (p, state, group), g in zip(todo, grads):
            groups.setdefault(id(group), (group, []))[1].append((p, state, g))
        return groups.values()

    def _update(self, p, g, state, group, lr):
        raise NotImplementedError

    def zero_grad(self):
        """Drop every parameter's gradient (set to None)."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    @staticmethod
    def _buffer(state, name, p):
        """The state array ``name`` for ``p``, created as zeros of p's shape and dtype on first use."""
        if name not in state:
            state[name] = p.xp.zeros_like(p.data)
        return state[name]

    # ---- saving and loading -----------------------------------------------------------------
    def state_dict(self):
        """The optimizer's state as numpy arrays and plain Python values (no pickle needed).

        ``{"optimizer": name, "iterations": int, "param_groups": [{settings..., "num_params": n}],
        "state": [{name: array or int} per parameter, in order]}``. A callable ``lr`` is code,
        not state: it is stored as None and the loading optimizer keeps its own.
        """
        groups = []
        for group in self.param_groups:
            g = {k: (None if callable(v) else list(v) if isinstance(v, tuple) else v)
                 for k, v in group.items() if k != "params"}
            g["num_params"] = len(group["params"])
            groups.append(g)
        state = [{k: (_to_numpy(v) if hasattr(v, "shape") else v) for k, v in s.items()} for s in self.state]
        return {"optimizer": type(self).__name__, "iterations": self.iterations,
                "param_groups": groups, "state": state}

    def load_state_dict(self, state_dict):
        """Restore ``state_dict()``'s output; raises ValueError (before changing anything) if it does not fit."""
        name = type(self).__name__
        sd_name = str(state_dict.get("optimizer", name))
        if sd_name != name:
            raise ValueError(f"load_state_dict: this state is from {sd_name}, not {name}")
        groups, states = state_dict["param_groups"], state_dict["state"]
        if len(groups) != len(self.param_groups):
            raise ValueError(f"load_state_dict: the state has {len(groups)} param groups, "
                             f"this {name} has {len(self.param_groups)}")
        for k, (g, mine) in enumerate(zip(groups, self.param_groups)):
            if g["num_params"] != len(mine["params"]):
                raise ValueError(f"load_state_dict: param group {k} has {g['num_params']} parameters in the "
                                 f"state but {len(mine['params'])} in this {name}")
        if len(states) != len(self.state):
            raise ValueError(f"load_state_dict: the state has entries for {len(states)} parameters, "
                             f"this {name} has {len(self.state)}")
        params = [p for p, _, _ in self._params_with_state()]
        for i, (p, s) in enumerate(zip(params, states)):
            for key, v in s.items():
                if _is_state_array(v) and tuple(v.shape) != tuple(p.shape):
                    raise ValueError(f"load_state_dict: state {key!r} of parameter {i} has shape "
                                     f"{tuple(v.shape)} but the parameter has shape {tuple(p.shape)}")

        self.iterations = int(state_dict["iterations"])
        for g, mine in zip(groups, self.param_groups):
            for k, v in g.items():
                if k in self.defaults and v is not None:  # None: a schedule, which stays as it is
                    mine[k] = _plain(v)
        self.state = [{k: _restore(v, p) for k, v in s.items()} for p, s in zip(params, states)]


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum, PyTorch's formulas.

    ``g += weight_decay * p``; ``v = momentum * v + g``; step ``g + momentum * v`` (Nesterov) or
    ``v``; ``p -= lr * step``.
    """

    def __init__(self, params, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0,
                 clipnorm=None, clipvalue=None):
        _check(lr=lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and momentum <= 0:
            raise ValueError("SGD: nesterov=True needs momentum > 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay),
                         clipnorm, clipvalue)

    def _update(self, p, g, state, group, lr):
        mu, wd = group["momentum"], group["weight_decay"]
        if wd:
            g = g + wd * p.data
        if mu:
            v = self._buffer(state, "momentum_buffer", p)
            v *= mu
            v += g
            g = g + mu * v if group["nesterov"] else v
        p.data -= lr * g

    def _fused_step(self, todo, grads):
        for group, items in self._by_group(todo, grads):
            bufs = [self._buffer(st, "momentum_buffer", p) for p, st, _ in items] if group["momentum"] else None
            provider_for(items[0][0].data).sgd_step([p.data for p, _, _ in items], [g for _, _, g in items], bufs,
                             self._lr_value(group["lr"]), group["momentum"], group["nesterov"],
                             group["weight_decay"])
        return True


class Adam(Optimizer):
    """Adam (Kingma & Ba), bias-corrected as in PyTorch; ``weight_decay`` is L2 added to the gradient.

    ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g^2``,
    ``p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``; with ``amsgrad`` the running
    maximum of ``v`` replaces ``v`` in the denominator.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
                 clipnorm=None, clipvalue=None):
        _check(lr=lr, eps=eps, weight_decay=weight_decay, beta1=betas[0], beta2=betas[1])
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad), clipnorm, clipvalue)

    def _weight_decay(self, p, g, wd, lr):
        return g + wd * p.data  # L2: part of the gradient, so it is rescaled by the moments

    def _fused_step(self, todo, grads):
        groups = list(self._by_group(todo, grads))
        for group, items in groups:
            if group["amsgrad"] or len({st.get("step", 0) for _, st, _ in items}) != 1:
                return False  # the fused kernel has one step count per launch and no amsgrad
        for group, items in groups:
            t = items[0][1].get("step", 0) + 1
            for p, st, _ in items:
                st["step"] = t
            b1, b2 = group["betas"]
            provider_for(items[0][0].data).adam_step([p.data for p, _, _ in items], [g for _, _, g in items],
                              [self._buffer(st, "exp_avg", p) for p, st, _ in items],
                              [self._buffer(st, "exp_avg_sq", p) for p, st, _ in items],
                              self._lr_value(group["lr"]), b1, b2, group["eps"], t,
                              group["weight_decay"], decoupled=isinstance(self, AdamW))
        return True

    def _update(self, p, g, state, group, lr):
        if group["weight_decay"]:
            g = self._weight_decay(p, g, group["weight_decay"], lr)
        b1, b2 = group["betas"]
        # a per-parameter count: a parameter that sat out some steps still gets the right correction
        t = state["step"] = state.get("step", 0) + 1
        m, v = self._buffer(state, "exp_avg", p), self._buffer(state, "exp_avg_sq", p)
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * (g * g)
        if group["amsgrad"]:
            v = p.xp.maximum(self._buffer(state, "max_exp_avg_sq", p), v, out=state["max_exp_avg_sq"])
        denom = p.xp.sqrt(v) / math.sqrt(1 - b2 ** t) + group["eps"]
        p.data -= (lr / (1 - b1 ** t)) * m / denom


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): ``p -= lr * weight_decay * p``, then Adam."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, amsgrad=False,
                 clipnorm=None, clipvalue=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, clipnorm, clipvalue)

    def _weight_decay(self, p, g, wd, lr):
        p.data *= 1 - lr * wd  # decoupled: shrink the weights directly, leave the gradient alone
        return g


class RMSprop(Optimizer):
    """RMSprop with PyTorch's defaults and formula (``eps`` outside the square root).

    ``s = alpha s + (1 - alpha) g^2``; ``centered`` subtracts the squared running mean of g;
    ``step = g / (sqrt(s) + eps)``; with momentum ``b = momentum b + step``, ``p -= lr b``.
    """

    def __init__(self, params, lr=0.01, alpha=0.99, eps=1e-8, momentum=0.0, centered=False, weight_decay=0.0,
                 clipnorm=None, clipvalue=None):
        _check(lr=lr, alpha=alpha, eps=eps, momentum=momentum, weight_decay=weight_decay)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, momentum=momentum, centered=centered,
                                      weight_decay=weight_decay), clipnorm, clipvalue)

    def _update(self, p, g, state, group, lr):
        a, mu, wd = group["alpha"], group["momentum"], group["weight_decay"]
        if wd:
            g = g + wd * p.data
        s = self._buffer(state, "square_avg", p)
        s *= a
        s += (1 - a) * (g * g)
        if group["centered"]:
            m = self._buffer(state, "grad_avg", p)
            m *= a
            m += (1 - a) * g
            avg = p.xp.sqrt(s - m * m) + group["eps"]
        else:
            avg = p.xp.sqrt(s) + group["eps"]
        if mu:
            b = self._buffer(state, "momentum_buffer", p)
            b *= mu
            b += g / avg
            p.data -= lr * b
        else:
            p.data -= lr * (g / avg)


def _check(**values):
    for name, v in values.items():
        if callable(v):
            continue
        upper_open = name in ("beta1", "beta2")
        if not (0.0 <= v and (v < 1.0 or not upper_open)):
            raise ValueError(f"invalid {name}: {v} (must be >= 0{' and < 1' if upper_open else ''})")
