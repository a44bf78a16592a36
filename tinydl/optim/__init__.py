"""Optimizers, learning-rate schedules and gradient clipping.

>>> import tinydl
>>> from tinydl import optim
>>> w = tinydl.Tensor([2.0], requires_grad=True)
>>> opt = optim.Adam([w], lr=0.1)
>>> for _ in range(3):
...     opt.zero_grad()
...     (w * w).sum().backward()
...     opt.step()
>>> opt.iterations
3
"""
from .optimizers import Optimizer, SGD, Adam, AdamW, RMSprop
from .schedules import (LRScheduler, StepLR, ExponentialLR, CosineAnnealingLR, ReduceLROnPlateau,
                        LearningRateSchedule, ExponentialDecay, CosineDecay, PiecewiseConstantDecay)
from .clip import clip_grad_norm_, clip_grad_value_

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop",
           "LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "ReduceLROnPlateau",
           "LearningRateSchedule", "ExponentialDecay", "CosineDecay", "PiecewiseConstantDecay",
           "clip_grad_norm_", "clip_grad_value_"]
