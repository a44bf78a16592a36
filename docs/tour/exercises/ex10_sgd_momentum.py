"""Chapter 10's exercise: one step of SGD with (Nesterov) momentum, PyTorch's formulas."""


def sgd_momentum_step(param, grad, velocity, lr, momentum, nesterov=False):
    """Update ``param`` and ``velocity`` in place (velocity starts at zeros)."""
    velocity *= momentum
    velocity += grad
    step = grad + momentum * velocity if nesterov else velocity
    param -= lr * step
