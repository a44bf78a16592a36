"""``tinydl.autograd.forward_ad``: forward-mode AD with dual tensors (see ``tinydl.core.forward_ad``)."""
from ..core.forward_ad import UnpackedDualTensor, dual_level, make_dual, unpack_dual  # noqa: F401

__all__ = ["dual_level", "make_dual", "unpack_dual", "UnpackedDualTensor"]
