"""Keras-style learning-rate schedules: plain callables of the step number, passed as an
optimizer's ``lr``; the optimizer evaluates them at its own ``iterations`` counter on every step.
(PyTorch's scheduler objects are in ``tinydl.optim.lr_scheduler``.)

>>> import tinydl
>>> from tinydl.optim import SGD
>>> schedule = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
>>> schedule(10)
0.05
>>> opt = SGD([tinydl.Tensor([1.0], requires_grad=True)], lr=schedule)
"""
import math


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
