"""Keras 3's update rules where they are not PyTorch's: Adam (epsilon placement), Adagrad, Adamax,
Nadam and RMSprop, as ``tinydl.optim.Optimizer`` subclasses (one ``_update`` per parameter, on arrays).

* SGD with momentum: ``p -= lr wd p`` (decoupled decay, first), ``m = momentum m - lr g``,
  ``p += m`` (Nesterov: ``p += momentum m - lr g``). The velocity holds the learning rates it was
  made with, so under a schedule it is not PyTorch's ``lr * buf``.
* Adam: ``p -= lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)``. That is PyTorch's update
  with ``eps / sqrt(1 - b2^t)`` in place of ``eps``, so it runs on the same (fused) code.

* Adagrad: ``acc += g^2; p -= lr * g / sqrt(acc + eps)`` (acc starts at
  ``initial_accumulator_value``).
* Adamax: ``m = b1 m + (1 - b1) g; u = max(b2 u, |g|); p -= lr / (1 - b1^t) * m / (u + eps)``.
* Nadam (Dozat, with Keras's momentum schedule ``mu_t = b1 (1 - 0.5 * 0.96^t)``):
  ``m_hat = mu_{t+1} m / (1 - prod mu_1..mu_{t+1}) + (1 - mu_t) g / (1 - prod mu_1..mu_t)``,
  ``v_hat = v / (1 - b2^t)``, ``p -= lr * m_hat / (sqrt(v_hat) + eps)``.
"""
import math

from ..optim.optimizers import Adam, AdamW, Optimizer


class KerasSGD(Optimizer):
    def __init__(self, params, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0, clipnorm=None,
                 clipvalue=None):
        super().__init__(params, dict(lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay),
                         clipnorm, clipvalue)

    def _update(self, p, g, state, group, lr):
        if group["weight_decay"]:
            p.data -= p.data * (group["weight_decay"] * lr)
        mu = group["momentum"]
        if not mu:
            p.data -= lr * g
            return
        m = self._buffer(state, "momentum", p)
        m[...] = mu * m - lr * g
        if group["nesterov"]:
            p.data += mu * m - lr * g
        else:
            p.data += m


class KerasAdam(Adam):
    def _eps(self, group, t):
        return group["eps"] / math.sqrt(1 - group["betas"][1] ** t)


class KerasAdamW(AdamW):
    _eps = KerasAdam._eps


class KerasAdagrad(Optimizer):
    def __init__(self, params, lr=0.001, initial_accumulator_value=0.1, eps=1e-7, clipnorm=None, clipvalue=None):
        super().__init__(params, dict(lr=lr, initial_accumulator_value=initial_accumulator_value, eps=eps),
                         clipnorm, clipvalue)

    def _update(self, p, g, state, group, lr):
        if "accumulator" not in state:
            state["accumulator"] = p.xp.full_like(p.data, group["initial_accumulator_value"])
        acc = state["accumulator"]
        acc += g * g
        p.data -= lr * g / p.xp.sqrt(acc + group["eps"])


class KerasAdamax(Optimizer):
    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-7, clipnorm=None, clipvalue=None):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps), clipnorm, clipvalue)

    def _update(self, p, g, state, group, lr):
        b1, b2 = group["betas"]
        m, u = self._buffer(state, "m", p), self._buffer(state, "u", p)
        t = state["step"] = state.get("step", 0) + 1
        m += (g - m) * (1 - b1)
        u[...] = p.xp.maximum(b2 * u, p.xp.abs(g))
        p.data -= (lr / (1 - b1 ** t)) * m / (u + group["eps"])


class KerasNadam(Optimizer):
    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-7, clipnorm=None, clipvalue=None):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps), clipnorm, clipvalue)

    def _update(self, p, g, state, group, lr):
        b1, b2 = group["betas"]
        m, v = self._buffer(state, "m", p), self._buffer(state, "v", p)
        t = state["step"] = state.get("step", 0) + 1
        mu_t = b1 * (1 - 0.5 * 0.96 ** t)
        mu_next = b1 * (1 - 0.5 * 0.96 ** (t + 1))
        product = state["mu_product"] = state.get("mu_product", 1.0) * mu_t
        m += (g - m) * (1 - b1)
        v += (g * g - v) * (1 - b2)
        m_hat = mu_next * m / (1 - product * mu_next) + (1 - mu_t) * g / (1 - product)
        v_hat = v / (1 - b2 ** t)
        p.data -= lr * m_hat / (p.xp.sqrt(v_hat) + group["eps"])


class KerasRMSprop(Optimizer):
    """Keras 3's RMSprop: ``v = rho v + (1 - rho) g^2`` (centered: minus the square of the
    running mean gradient), ``step = lr g / sqrt(v + eps)`` (epsilon inside the root, unlike
    PyTorch's), with momentum ``buf = momentum buf + step``; ``p -= buf``."""

    def __init__(self, params, lr=0.001, rho=0.9, momentum=0.0, eps=1e-7, centered=False, clipnorm=None,
                 clipvalue=None):
        super().__init__(params, dict(lr=lr, rho=rho, momentum=momentum, eps=eps, centered=centered),
                         clipnorm, clipvalue)

    def _update(self, p, g, state, group, lr):
        rho = group["rho"]
        v = self._buffer(state, "velocity", p)
        v[...] = rho * v + (1 - rho) * g * g
        denom = v
        if group["centered"]:
            avg = self._buffer(state, "average_gradient", p)
            avg[...] = rho * avg + (1 - rho) * g
            denom = v - avg * avg
        step = lr * g / p.xp.sqrt(denom + group["eps"])
        if group["momentum"] > 0:
            buf = self._buffer(state, "momentum", p)
            buf[...] = group["momentum"] * buf + step
            step = buf
        p.data -= step
