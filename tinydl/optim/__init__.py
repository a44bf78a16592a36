"""Optimizers (PyTorch's ``torch.optim``), learning-rate schedulers, Keras-style schedules and
gradient clipping.

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
from .optimizer import Optimizer
from .optimizers import SGD, Adam, AdamW, RMSprop, Adagrad
from . import lr_scheduler
from .lr_scheduler import (LRScheduler, LambdaLR, StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR,
                           LinearLR, SequentialLR, OneCycleLR, ReduceLROnPlateau)
from .schedules import LearningRateSchedule, ExponentialDecay, CosineDecay, PiecewiseConstantDecay
from .clip import clip_grad_norm_, clip_grad_value_

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler",
           "LRScheduler", "LambdaLR", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
           "LinearLR", "SequentialLR", "OneCycleLR", "ReduceLROnPlateau",
           "LearningRateSchedule", "ExponentialDecay", "CosineDecay", "PiecewiseConstantDecay",
           "clip_grad_norm_", "clip_grad_value_"]

_NOT_IMPLEMENTED = ("Adadelta", "Adamax", "NAdam", "RAdam", "ASGD", "LBFGS", "Rprop", "SparseAdam", "Adafactor",
                    "Muon")


def __getattr__(name):
    if name in _NOT_IMPLEMENTED:
        raise NotImplementedError(f"torch.optim.{name} is not implemented in tinydl; implemented: "
                                  "SGD, Adam, AdamW, RMSprop, Adagrad")
    raise AttributeError(f"module 'tinydl.optim' has no attribute {name!r}")
