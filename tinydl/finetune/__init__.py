"""Fine-tuning: low-rank adapters (LoRA) and helpers to freeze and to split parameters.

Freezing is Keras's ``layer.trainable = False`` (a frozen BatchNormalization also runs in
inference mode, as in Keras) or PyTorch's ``p.requires_grad = False``; per-part learning rates
are the optimizers' param groups (``SGD([{"params": body, "lr": 1e-4}, {"params": head}], lr=1e-2)``).
"""
from .lora import (LoRA, lora_targets, apply_lora, merge_lora, unmerge_lora, lora_adapters, save_lora,
                   load_lora, remove_lora)

__all__ = ["LoRA", "lora_targets", "apply_lora", "merge_lora", "unmerge_lora", "lora_adapters",
           "save_lora", "load_lora", "remove_lora"]
