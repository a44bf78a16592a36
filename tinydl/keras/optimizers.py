"""Keras-named optimizers: ``Adam(learning_rate=0.001)`` and friends, on tinydl.optim's classes.

A Keras optimizer is created before the model has parameters, so each class here only records
its hyperparameters; ``build(params)`` (done by ``compile``/``fit``, or by ``apply_gradients``)
creates the tinydl.optim optimizer (``.inner``) that does the updates.

Keras defaults, and how they map:

=================================================  ==========================================
tinydl.keras.optimizers                            tinydl.optim
=================================================  ==========================================
``SGD(learning_rate=0.01, momentum=0.0,            ``SGD(lr, momentum, nesterov)``; Keras's
nesterov=False)``                                  ``v = m v - lr g`` and PyTorch's
                                                   ``v = m v + g; p -= lr v`` are the same
                                                   updates while lr is constant
``Adam(learning_rate=0.001, beta_1=0.9,            ``Adam(lr, betas, eps)`` (``AdamW`` when
beta_2=0.999, epsilon=1e-7, amsgrad=False)``       ``weight_decay`` is given: Keras 3 decays
                                                   weights decoupled)
``AdamW(learning_rate=0.001, weight_decay=0.004,   ``AdamW(lr, betas, eps, weight_decay)``
beta_1=0.9, beta_2=0.999, epsilon=1e-7)``
``RMSprop(learning_rate=0.001, rho=0.9,            Keras's own rule (``optimizer_rules``:
momentum=0.0, epsilon=1e-7, centered=False)``      epsilon inside the square root)
``Adagrad``, ``Adamax``, ``Nadam``                 Keras's own rules (``optimizer_rules``)
=================================================  ==========================================

``learning_rate`` may be a number or a schedule (a callable of the step number, e.g.
``tinydl.optim.ExponentialDecay``). ``clipnorm`` and ``clipvalue`` are passed through.

>>> import tinydl
>>> from tinydl.keras import optimizers
>>> opt = optimizers.Adam(0.01)
>>> w = tinydl.Tensor([1.0], requires_grad=True)
>>> opt.apply_gradients([(tinydl.Tensor([0.5]), w)])
1
>>> opt.iterations, round(float(w.data[0]), 4)
(1, 0.99)
"""
import sys

from .. import optim as _optim
from ..core.tensor import Tensor
from . import schedules
from .optimizer_rules import KerasAdagrad, KerasAdam, KerasSGD, KerasAdamW, KerasAdamax, KerasNadam, KerasRMSprop

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "Nadam", "schedules", "get",
           "serialize", "deserialize"]


class Optimizer:
    """Base of the Keras-named optimizers: hyperparameters now, a tinydl.optim optimizer on build."""

    _defaults = {}

    def __init__(self, learning_rate=0.001, name=None, clipnorm=None, clipvalue=None, **hyper):
        if "lr" in hyper:  # the old Keras spelling
            learning_rate = hyper.pop("lr")
        unknown = set(hyper) - set(self._defaults)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unexpected argument(s) {sorted(unknown)}; "
                            f"accepted: learning_rate, {', '.join(self._defaults)}, clipnorm, clipvalue")
        self.hyper = dict(self._defaults)
        self.hyper.update(hyper)
        self._learning_rate = learning_rate
        self.clipnorm, self.clipvalue = clipnorm, clipvalue
        self.name = name or type(self).__name__.lower()
        self.inner = None
        self._pending_state = None
        self._validate()

    def _validate(self):
        lr = self._learning_rate
        if not callable(lr) and (not isinstance(lr, (int, float)) or lr < 0):
            raise ValueError(f"{type(self).__name__}: learning_rate must be a non-negative number or a "
                             f"schedule, got {lr!r}")

    # ---- binding to parameters -------------------------------------------------------------
    def _make(self, params):  # pragma: no cover - abstract
        raise NotImplementedError

    def build(self, params):
        """Create the tinydl.optim optimizer over ``params`` (once; later calls add new parameters)."""
        params = list(params)
        if self.inner is None:
            if not params:
                raise ValueError(f"{type(self).__name__}: the model has no parameters to optimize")
            self.inner = self._make(params)
            if self._pending_state is not None:
                state, self._pending_state = self._pending_state, None
                self.inner.load_state_dict(state)
        else:
            known = {id(p) for g in self.inner.param_groups for p in g["params"]}
            new = [p for p in params if id(p) not in known]
            if new:
                self.inner.add_param_group({"params": new})
        return self

    @property
    def built(self):
        return self.inner is not None

    def _require(self, what):
        if self.inner is None:
            raise RuntimeError(f"{type(self).__name__}.{what}: the optimizer is not bound to any parameters "
                               "yet (compile and fit a model with it, or call build(params))")

    # ---- stepping (tinydl.optim's interface) ---------------------------------------------------
    def step(self):
        self._require("step")
        self.inner.step()
        self._apply_constraints()

    def _apply_constraints(self):
        """Keras applies each weight's constraint right after its update."""
        for group in self.inner.param_groups:
            for p in group["params"]:
                constraint = getattr(p, "constraint", None)
                if constraint is not None:
                    p.data[...] = p.xp.asarray(constraint(p.data), dtype=p.dtype)

    def zero_grad(self):
        if self.inner is not None:
            self.inner.zero_grad()

    def apply_gradients(self, grads_and_vars):
        """Keras's custom-training-loop API: ``opt.apply_gradients(zip(grads, model.trainable_weights))``."""
        pairs = [(g, v) for g, v in grads_and_vars]
        self.apply([g for g, _ in pairs], [v for _, v in pairs])
        return self.iterations  # Keras returns its step counter (a variable there, an int here)

    def apply(self, grads, trainable_variables=None):
        """Keras 3's ``optimizer.apply(grads, trainable_variables)``: one update of the variables
        with these gradients (the same update as ``apply_gradients``). Without variables the
        gradients pair up with the variables the optimizer was built on, in order. A None gradient
        leaves its variable alone; all None is an error, as in Keras."""
        grads = list(grads)
        if not grads:
            return
        if trainable_variables is None:
            if self.inner is None:
                raise ValueError(f"{type(self).__name__}.apply: when passing grads without variables, the optimizer "
                                 "must already be built on a list of variables (call optimizer.build(variables))")
            variables = [p for group in self.inner.param_groups for p in group["params"]]
        else:
            variables = list(trainable_variables)
        if len(grads) != len(variables):
            raise ValueError(f"{type(self).__name__}.apply: {len(grads)} gradients for {len(variables)} variables")
        if all(g is None for g in grads):
            raise ValueError(f"{type(self).__name__}.apply: no gradients provided for any variable")
        self.build(variables)
        owned = {id(v) for v in variables}
        saved = {}
        for group in self.inner.param_groups:
            for p in group["params"]:
                if id(p) not in owned:  # only the given variables move
                    saved[id(p)] = (p, p.grad)
                    p.grad = None
        for g, v in zip(grads, variables):
            if g is None:
                v.grad = None
                continue
            g = g.data if isinstance(g, Tensor) else v.xp.asarray(g)
            v.grad = Tensor._wrap(g.astype(v.dtype, copy=False).reshape(v.shape))
        self.inner.step()
        self._apply_constraints()
        for p, grad in saved.values():
            p.grad = grad

    # ---- the learning rate and counters ---------------------------------------------------------
    @property
    def learning_rate(self):
        """The current learning rate (a schedule is evaluated at the current step)."""
        if self.inner is not None:
            return self.inner.lr
        lr = self._learning_rate
        return float(lr(0)) if callable(lr) else float(lr)

    @learning_rate.setter
    def learning_rate(self, value):
        self._learning_rate = value
        if self.inner is not None:
            self.inner.lr = value

    lr = learning_rate  # Keras 2 alias

    @property
    def iterations(self):
        return 0 if self.inner is None else self.inner.iterations

    # ---- state ------------------------------------------------------------------------------
    def state_dict(self):
        """The bound tinydl.optim optimizer's ``state_dict()`` (PyTorch's layout, see tinydl.optim)
        with Keras's step counter ``iterations`` and the optimizer's class name (checked on load) added."""
        self._require("state_dict")
        return {**self.inner.state_dict(), "iterations": self.inner.iterations,
                "optimizer": type(self.inner).__name__}

    def load_state_dict(self, state):
        """Restore a state; before ``build`` it is kept and applied when the optimizer binds."""
        if self.inner is None:
            self._pending_state = state
        else:
            self.inner.load_state_dict(state)

    def get_config(self):
        lr = self._learning_rate
        if isinstance(lr, schedules.LearningRateSchedule):
            lr = schedules.serialize(lr)
        cfg = {"name": self.name, "learning_rate": lr if callable(lr) or isinstance(lr, dict) else float(lr)}
        cfg.update(self.hyper)
        cfg.update(clipnorm=self.clipnorm, clipvalue=self.clipvalue)
        return cfg

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """``SGD(learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None)``.

    Keras's update: ``p -= lr wd p`` (decoupled decay), then with momentum ``m = momentum m - lr g``,
    ``p += m`` (or Nesterov's ``p += momentum m - lr g``); without momentum ``p -= lr g``.
    """

    _defaults = {"momentum": 0.0, "nesterov": False, "weight_decay": None}

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None, **kwargs):
        super().__init__(learning_rate, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay, **kwargs)

    def _make(self, params):
        h = self.hyper
        if h["momentum"]:  # Keras's velocity form (see optimizer_rules)
            return KerasSGD(params, lr=self._learning_rate, momentum=h["momentum"], nesterov=h["nesterov"],
                            weight_decay=h["weight_decay"] or 0.0, clipnorm=self.clipnorm, clipvalue=self.clipvalue)
        # without momentum Keras's decoupled decay p -= lr wd p is PyTorch's L2 step: the fused kernel
        return _optim.SGD(params, lr=self._learning_rate, weight_decay=h["weight_decay"] or 0.0,
                          clipnorm=self.clipnorm, clipvalue=self.clipvalue)


class Adam(Optimizer):
    """``Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, weight_decay=None)``."""

    _defaults = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False, "weight_decay": None}

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 weight_decay=None, **kwargs):
        super().__init__(learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, amsgrad=amsgrad,
                         weight_decay=weight_decay, **kwargs)

    def _make(self, params):
        h = self.hyper
        cls = KerasAdamW if h["weight_decay"] else KerasAdam
        return cls(params, lr=self._learning_rate, betas=(h["beta_1"], h["beta_2"]), eps=h["epsilon"],
                   weight_decay=h["weight_decay"] or 0.0, amsgrad=h["amsgrad"],
                   clipnorm=self.clipnorm, clipvalue=self.clipvalue)


class AdamW(Adam):
    """``AdamW(learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7)``: decoupled decay."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):
        super().__init__(learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, amsgrad=amsgrad,
                         weight_decay=weight_decay, **kwargs)


class RMSprop(Optimizer):
    """``RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False)``."""

    _defaults = {"rho": 0.9, "momentum": 0.0, "epsilon": 1e-7, "centered": False, "weight_decay": None}

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 weight_decay=None, **kwargs):
        super().__init__(learning_rate, rho=rho, momentum=momentum, epsilon=epsilon, centered=centered,
                         weight_decay=weight_decay, **kwargs)

    def _make(self, params):
        h = self.hyper
        if h["weight_decay"]:
            raise NotImplementedError("RMSprop: weight_decay is not supported")
        return KerasRMSprop(params, lr=self._learning_rate, rho=h["rho"], eps=h["epsilon"], momentum=h["momentum"],
                            centered=h["centered"], clipnorm=self.clipnorm, clipvalue=self.clipvalue)


class Adagrad(Optimizer):
    """``Adagrad(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7)``."""

    _defaults = {"initial_accumulator_value": 0.1, "epsilon": 1e-7}

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, initial_accumulator_value=initial_accumulator_value, epsilon=epsilon, **kwargs)

    def _make(self, params):
        h = self.hyper
        return KerasAdagrad(params, lr=self._learning_rate, initial_accumulator_value=h["initial_accumulator_value"],
                            eps=h["epsilon"], clipnorm=self.clipnorm, clipvalue=self.clipvalue)


class Adamax(Optimizer):
    """``Adamax(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)``."""

    _defaults = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}
    _rule = KerasAdamax

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, **kwargs)

    def _make(self, params):
        h = self.hyper
        return type(self)._rule(params, lr=self._learning_rate, betas=(h["beta_1"], h["beta_2"]), eps=h["epsilon"],
                                clipnorm=self.clipnorm, clipvalue=self.clipvalue)


class Nadam(Adamax):
    """``Nadam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)``: Adam with Nesterov
    momentum and Keras's momentum schedule (see optimizer_rules)."""

    _rule = KerasNadam


_BY_NAME = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad, "adamax": Adamax,
            "nadam": Nadam}


def get(identifier):
    """An optimizer from a name ('adam', 'sgd', 'rmsprop', 'adamw'; Keras defaults), a config dict,
    a tinydl.keras optimizer, or a tinydl.optim optimizer (already bound to its parameters)."""
    if isinstance(identifier, (Optimizer, _optim.Optimizer)):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(f"unknown optimizer {identifier!r}; expected one of {sorted(_BY_NAME)} "
                             "or an optimizer object")
        return cls()
    if isinstance(identifier, dict) and "class_name" in identifier:
        cls = _BY_NAME.get(str(identifier["class_name"]).lower())
        if cls is None:
            raise ValueError(f"unknown optimizer config {identifier!r}")
        return cls.from_config(identifier.get("config", {}))
    raise ValueError(f"cannot interpret {identifier!r} as an optimizer; pass a name such as 'adam' "
                     "or an optimizer object")


def serialize(optimizer):
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config):
    cls = _BY_NAME.get(str(config.get("class_name", "")).lower())
    if cls is None:
        raise ValueError(f"unknown optimizer config {config!r}")
    return cls.from_config(config.get("config", {}))


# `from tinydl.keras.optimizers.schedules import ExponentialDecay` (Keras's module path)
sys.modules[__name__ + ".schedules"] = schedules
