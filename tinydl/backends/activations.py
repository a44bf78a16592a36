"""The one table of activation names; every other list of activations derives from it.

``KERNEL_CODES`` names the activations the kernels implement themselves (fused bias +
activation, convolution + bias + activation, the recurrent gates) with the integer code the
Numba and CUDA kernels take (``kernels/cuda/*.cu`` switch on the same numbers).
``TENSOR_ONLY`` names the activations that exist only as Tensor functions
(``tinydl.nn.functional.get_activation``); ``NAMES`` is all of them.
"""
KERNEL_CODES = {"linear": 0, "relu": 1, "sigmoid": 2, "tanh": 3}
KERNEL_ACTIVATIONS = tuple(KERNEL_CODES)
TENSOR_ONLY = ("gelu", "softmax", "leaky_relu", "swish", "silu", "elu", "selu", "softplus", "softsign", "relu6",
               "exponential", "hard_sigmoid", "hard_swish", "hard_silu", "mish", "log_softmax")
NAMES = KERNEL_ACTIVATIONS + TENSOR_ONLY


def kernel_code(act):
    """The kernels' integer code for ``act``; ValueError naming the known ones otherwise."""
    try:
        return KERNEL_CODES[act]
    except (KeyError, TypeError):
        raise ValueError(f"unknown activation {act!r}; expected one of {KERNEL_ACTIVATIONS}") from None
