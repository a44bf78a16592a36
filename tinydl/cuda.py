"""``torch.cuda``'s everyday questions, answered for tinydl's GPU backend (CuPy).

>>> import tinydl
>>> isinstance(tinydl.cuda.is_available(), bool)
True
"""
from .core.torch_api.dtypes_devices import cuda_is_available


def is_available():
    """True when the GPU backend can run here (CuPy installed and a GPU answering)."""
    return cuda_is_available()


def device_count():
    """How many GPUs tinydl can use: 1 with a usable GPU (tinydl drives one), else 0."""
    return 1 if cuda_is_available() else 0


def current_device():
    if not cuda_is_available():
        raise AssertionError("cuda.current_device: no CUDA GPU is usable here (tinydl's GPU backend "
                             "needs CuPy and a working NVIDIA GPU)")
    return 0


def manual_seed(seed):
    """Seeds tinydl's one generator (GPU tensors draw from it too)."""
    from .core.random import manual_seed as seed_all
    seed_all(seed)


manual_seed_all = manual_seed


def synchronize(device=None):
    if cuda_is_available():
        import cupy
        cupy.cuda.Device().synchronize()
