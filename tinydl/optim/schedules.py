"""Learning-rate schedules, in two flavours.

PyTorch style: a scheduler object wraps an optimizer and rewrites each param group's ``lr``
when you call ``.step()`` (once per epoch, usually):

>>> import tinydl
>>> from tinydl.optim import SGD, StepLR
>>> opt = SGD([tinydl.Tensor([1.0], requires_grad=True)], lr=1.0)
>>> sched = StepLR(opt, step_size=2, gamma=0.5)
>>> for epoch in range(4):
...     sched.step()
>>> opt.lr
0.25

Keras style: a plain callable of the step number, passed as the optimizer's ``lr``; the
optimizer evaluates it at its own ``iterations`` counter on every step:

>>> from tinydl.optim import ExponentialDecay
>>> schedule = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
>>> schedule(10)
0.05
>>> opt = SGD([tinydl.Tensor([1.0], requires_grad=True)], lr=schedule)
"""
import math


# ---- PyTorch-style schedulers ---------------------------------------------------------------

class LRScheduler:
    """Base class: sets each group's lr to ``_lr_at(base_lr, epoch)`` (a closed form)."""

    def __init__(self, optimizer):
        for group in optimizer.param_groups:
            if callable(group["lr"]):
                raise TypeError(f"{type(self).__name__}: the optimizer's lr is already a schedule "
                                "(a callable); use one or the other")
        self.optimizer = optimizer
        self.base_lrs = [group["lr"] for group in optimizer.param_groups]
        self.last_epoch = 0
        self._apply()

    def _lr_at(self, base_lr, epoch):
        raise NotImplementedError

    def _apply(self):
        for group, base in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = float(self._lr_at(base, self.last_epoch))

    def step(self):
        """Advance one epoch and update the optimizer's learning rates."""
        self.last_epoch += 1
        self._apply()

    def get_last_lr(self):
        """The learning rate of each param group, as last set."""
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self):
        """Plain Python values only (JSON-able); the optimizer itself is not included."""
        return {k: v for k, v in vars(self).items() if k != "optimizer"}

    def load_state_dict(self, state):
        vars(self).update(state)
        self.base_lrs = list(self.base_lrs)


class StepLR(LRScheduler):
    """``lr = base_lr * gamma ** (epoch // step_size)``."""

    def __init__(self, optimizer, step_size, gamma=0.1):
        self.step_size, self.gamma = int(step_size), float(gamma)
        super().__init__(optimizer)

    def _lr_at(self, base_lr, epoch):
        return base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """``lr = base_lr * gamma ** epoch``."""

    def __init__(self, optimizer, gamma):
        self.gamma = float(gamma)
        super().__init__(optimizer)

    def _lr_at(self, base_lr, epoch):
        return base_lr * self.gamma ** epoch


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from ``base_lr`` (epoch 0) down to ``eta_min`` (epoch ``T_max``).

    Past ``T_max`` the closed form keeps going, so the lr climbs back up (as in PyTorch).
    """

    def __init__(self, optimizer, T_max, eta_min=0.0):
        self.T_max, self.eta_min = int(T_max), float(eta_min)
        super().__init__(optimizer)

    def _lr_at(self, base_lr, epoch):
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2


class ReduceLROnPlateau:
    """Multiply the lr by ``factor`` once the metric has not improved for ``patience`` epochs.

    Call ``.step(metric)`` once per epoch. "Improved" means better than the best so far by more
    than ``threshold`` (relative, or absolute with ``threshold_mode='abs'``). After a reduction,
    ``cooldown`` epochs pass before bad epochs count again. ``min_lr`` is a float or one per group.

    >>> import tinydl
    >>> from tinydl.optim import SGD
    >>> opt = SGD([tinydl.Tensor([1.0], requires_grad=True)], lr=1.0)
    >>> sched = ReduceLROnPlateau(opt, patience=1, factor=0.5)
    >>> for loss in [3.0, 2.0, 2.0, 2.0]:
    ...     sched.step(loss)
    >>> sched.get_last_lr()
    [0.5]
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 cooldown=0, min_lr=0.0, threshold_mode="rel"):
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        if not factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be < 1, got {factor}")
        n = len(optimizer.param_groups)
        min_lrs = list(min_lr) if isinstance(min_lr, (list, tuple)) else [min_lr] * n
        if len(min_lrs) != n:
            raise ValueError(f"ReduceLROnPlateau: {len(min_lrs)} min_lr values for {n} param groups")
        self.optimizer = optimizer
        self.mode, self.threshold_mode = mode, threshold_mode
        self.factor, self.threshold = float(factor), float(threshold)
        self.patience, self.cooldown = int(patience), int(cooldown)
        self.min_lrs = [float(m) for m in min_lrs]
        self.best = None            # None until the first metric arrives
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0

    def _is_better(self, value):
        if self.best is None:
            return True
        sign = 1.0 if self.mode == "max" else -1.0
        margin = self.threshold * abs(self.best) if self.threshold_mode == "rel" else self.threshold
        return sign * (value - self.best) > margin

    def step(self, metric):
        value = float(metric)
        self.last_epoch += 1
        if self._is_better(value):
            self.best, self.num_bad_epochs = value, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during the cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce()
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0

    def _reduce(self):
        for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
            new = max(group["lr"] * self.factor, min_lr)
            if group["lr"] - new > 1e-8:  # skip changes too small to matter (PyTorch's eps)
                group["lr"] = new

    def get_last_lr(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self):
        return {k: v for k, v in vars(self).items() if k != "optimizer"}

    def load_state_dict(self, state):
        vars(self).update(state)


# ---- Keras-style schedules: callables of the step number ------------------------------------

class LearningRateSchedule:
    """Base for Keras-style schedules: ``schedule(step) -> lr`` (a Python float)."""

    def __call__(self, step):
        raise NotImplementedError

    def get_config(self):
        return dict(vars(self))


class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)`` (integer division if ``staircase``)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False):
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps, self.decay_rate = int(decay_steps), float(decay_rate)
        self.staircase = bool(staircase)

    def __call__(self, step):
        p = step / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate * self.decay_rate ** p


class CosineDecay(LearningRateSchedule):
    """Cosine from ``initial_learning_rate`` to ``alpha * initial_learning_rate`` over ``decay_steps``, then flat."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0):
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps, self.alpha = int(decay_steps), float(alpha)

    def __call__(self, step):
        step = min(step, self.decay_steps)
        cosine = 0.5 * (1 + math.cos(math.pi * step / self.decay_steps))
        return self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha)


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[1]`` up to ``boundaries[1]``, ..., then ``values[-1]``.

    >>> PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])(10), PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])(11)
    (1.0, 0.5)
    """

    def __init__(self, boundaries, values):
        if len(values) != len(boundaries) + 1:
            raise ValueError(f"PiecewiseConstantDecay: need len(values) == len(boundaries) + 1, "
                             f"got {len(values)} values for {len(boundaries)} boundaries")
        self.boundaries, self.values = list(boundaries), [float(v) for v in values]

    def __call__(self, step):
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]
