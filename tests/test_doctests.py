"""The runnable examples in docstrings are tests too."""
import doctest
import importlib

import pytest

MODULES = ["tinydl", "tinydl.core.tensor", "tinydl.core.functional", "tinydl.core.autograd",
           "tinydl.core.grad_mode", "tinydl.core.inplace", "tinydl.core.forward_ad", "tinydl.nn.composite", "tinydl.autograd", "tinydl.autograd.functional",
           "tinydl.autograd.function",
           "tinydl.core.random", "tinydl.backends", "tinydl.testing", "tinydl.testing.strategies",
           "tinydl.nn", "tinydl.nn.module", "tinydl.nn.functional", "tinydl.nn.losses", "tinydl.nn.init",
           "tinydl.keras.graph", "tinydl.keras.models",
           "tinydl.utils.data.distributed", "tinydl.utils.data.dataset", "tinydl.utils.data.sampler",
           "tinydl.utils.data.collate", "tinydl.utils.data.dataloader",
           "tinydl.optim", "tinydl.optim.optimizers", "tinydl.optim.lr_scheduler", "tinydl.optim.schedules",
           "tinydl.nn.reparam", "tinydl.finetune.lora"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no docstring examples"
    assert result.failed == 0
