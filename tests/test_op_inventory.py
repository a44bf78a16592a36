"""The op inventory: every differentiable Function must have a gradient test (an OpSpec)."""
import importlib
import pathlib

import tinydl

HERE = pathlib.Path(__file__).parent
# modules whose import registers more Functions (layers, losses, sequence models ...)
LIBRARY_MODULES = ["tinydl.core", "tinydl.nn"]


def _covered():
    covered = set()
    for path in sorted(HERE.glob("test_*.py")):
        module = importlib.import_module(f"tests.{path.stem}" if (HERE / "__init__.py").exists() else path.stem)
        for spec in getattr(module, "SPECS", []):
            covered.update(spec.covers)
        covered.update(getattr(module, "EXTRA_COVERED", ()))
    return covered


def test_every_differentiable_op_has_a_gradient_test():
    for name in LIBRARY_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError:
            pass
    ops = {name for name, cls in tinydl.core.OPS.items() if cls.differentiable}
    missing = sorted(ops - _covered())
    assert not missing, f"ops without a gradient test (add an OpSpec to a test module's SPECS): {missing}"
