"""tinydl.utils: PyTorch's ``torch.utils`` namespace (only ``data.distributed`` so far)."""
from . import data  # noqa: F401
