"""``tinydl.keras.optimizers.schedules``: Keras 3's learning-rate schedules, callables of the step
(the optimizer's ``iterations`` before the update, 0 first), usable as ``learning_rate=``.

>>> s = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
>>> s(0), round(s(10), 6)
(0.1, 0.05)
"""
import math


class LearningRateSchedule:
    """Base: ``schedule(step) -> float``; ``get_config`` / ``from_config``."""

    def __call__(self, step):  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self):
        return {k: v for k, v in vars(self).items()}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)`` (floored if ``staircase``)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="ExponentialDecay"):
        if decay_steps <= 0:
            raise ValueError(f"ExponentialDecay: decay_steps must be > 0, got {decay_steps!r}")
        self.initial_learning_rate, self.decay_steps = float(initial_learning_rate), decay_steps
        self.decay_rate, self.staircase, self.name = float(decay_rate), bool(staircase), name

    def __call__(self, step):
        p = step / self.decay_steps
        return self.initial_learning_rate * self.decay_rate ** (math.floor(p) if self.staircase else p)


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` for step <= boundaries[0], ``values[i]`` for boundaries[i-1] < step <=
    boundaries[i], ``values[-1]`` after the last boundary."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(values) != len(boundaries) + 1:
            raise ValueError(f"PiecewiseConstantDecay: len(values) must be len(boundaries) + 1, got "
                             f"{len(values)} values for {len(boundaries)} boundaries")
        self.boundaries, self.values, self.name = list(boundaries), list(values), name

    def __call__(self, step):
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return float(value)
        return float(self.values[-1])


class CosineDecay(LearningRateSchedule):
    """``CosineDecay(initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None,
    warmup_steps=0)``: optional linear warm-up from ``initial_learning_rate`` to ``warmup_target``
    over ``warmup_steps``, then a cosine from there down to ``alpha`` times it over
    ``decay_steps``, then flat."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay", warmup_target=None,
                 warmup_steps=0):
        if decay_steps <= 0:
            raise ValueError(f"CosineDecay: decay_steps must be > 0, got {decay_steps!r}")
        self.initial_learning_rate, self.decay_steps, self.alpha = float(initial_learning_rate), decay_steps, alpha
        self.name, self.warmup_target, self.warmup_steps = name, warmup_target, warmup_steps

    def _decay(self, step, start):
        step = min(step, self.decay_steps)
        cosine = 0.5 * (1 + math.cos(math.pi * step / self.decay_steps))
        return start * ((1 - self.alpha) * cosine + self.alpha)

    def __call__(self, step):
        if self.warmup_target is None:
            return self._decay(step, self.initial_learning_rate)
        if step < self.warmup_steps:
            return self.initial_learning_rate + (self.warmup_target - self.initial_learning_rate) * step / \
                self.warmup_steps
        return self._decay(step - self.warmup_steps, float(self.warmup_target))


class InverseTimeDecay(LearningRateSchedule):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)`` (floored if ``staircase``)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="InverseTimeDecay"):
        self.initial_learning_rate, self.decay_steps = float(initial_learning_rate), decay_steps
        self.decay_rate, self.staircase, self.name = float(decay_rate), bool(staircase), name

    def __call__(self, step):
        p = step / self.decay_steps
        return self.initial_learning_rate / (1 + self.decay_rate * (math.floor(p) if self.staircase else p))


class PolynomialDecay(LearningRateSchedule):
    """``(initial - end) * (1 - step / decay_steps) ** power + end`` (step capped at decay_steps;
    with ``cycle`` the horizon grows to the next multiple of decay_steps instead)."""

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False,
                 name="PolynomialDecay"):
        self.initial_learning_rate, self.decay_steps = float(initial_learning_rate), decay_steps
        self.end_learning_rate, self.power, self.cycle, self.name = float(end_learning_rate), power, cycle, name

    def __call__(self, step):
        steps = self.decay_steps
        if self.cycle:
            steps = steps * (1 if step == 0 else math.ceil(step / steps))
        else:
            step = min(step, steps)
        frac = 1 - step / steps
        return (self.initial_learning_rate - self.end_learning_rate) * frac ** self.power + self.end_learning_rate


CLASSES = {c.__name__: c for c in (ExponentialDecay, PiecewiseConstantDecay, CosineDecay, InverseTimeDecay,
                                   PolynomialDecay)}


def serialize(schedule):
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config):
    cls = CLASSES.get(config.get("class_name"))
    if cls is None:
        raise ValueError(f"unknown learning-rate schedule {config!r}")
    return cls.from_config(config.get("config", {}))


__all__ = ["LearningRateSchedule", "serialize", "deserialize"] + sorted(CLASSES)
