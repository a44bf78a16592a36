"""The differentiable ops, each a Function with forward and backward side by side.

- ``arithmetic``: + - * / ** neg, matmul
- ``elementwise``: exp, log, sqrt, abs, clip, maximum, minimum, where, activations
- ``reduction``: sum, mean, max, min, var, logsumexp, softmax, log_softmax
- ``shape``: reshape, transpose, broadcast_to, getitem, concatenate, stack, pad
"""
