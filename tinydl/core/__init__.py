"""The autograd core: Tensor, the Function base class and graph walk, the ops, dtype rules, RNG."""
from .tensor import Tensor, as_tensor
from .autograd import (Function, no_grad, enable_grad, set_grad_enabled, is_grad_enabled, detect_anomaly,
                       set_detect_anomaly, is_anomaly_enabled, AnomalyError, OPS)
from .random import manual_seed, get_rng
