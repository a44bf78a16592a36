"""The op inventory: every differentiable Function must have a gradient test (an OpSpec), and a
second-order test unless it is declared once-differentiable (then the README must list it)."""
import importlib
import pathlib

import pytest

import tinydl

HERE = pathlib.Path(__file__).parent
# modules whose import registers more Functions (layers, losses, sequence models ...)
LIBRARY_MODULES = ["tinydl.core", "tinydl.nn"]


def _collect():
    first, second = set(), set()
    for path in sorted(HERE.glob("test_*.py")):
        try:
            module = importlib.import_module(f"tests.{path.stem}" if (HERE / "__init__.py").exists() else path.stem)
        except pytest.skip.Exception:  # e.g. the distributed tests without mpi4py: not an op test module
            continue
        for spec in getattr(module, "SPECS", []):
            first.update(spec.covers)
        for spec in getattr(module, "SECOND_ORDER", []):  # the specs a second-order test runs
            second.update(spec.covers)
        first.update(getattr(module, "EXTRA_COVERED", ()))
        second.update(getattr(module, "EXTRA_SECOND_ORDER", ()))
    return first, second


def _ops():
    for name in LIBRARY_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError:
            pass
    return {name: cls for name, cls in tinydl.core.OPS.items() if cls.differentiable}


def test_every_differentiable_op_has_a_gradient_test():
    missing = sorted(set(_ops()) - _collect()[0])
    assert not missing, f"ops without a gradient test (add an OpSpec to a test module's SPECS): {missing}"


def test_every_twice_differentiable_op_has_a_second_order_test():
    twice = {name for name, cls in _ops().items() if not cls.once_differentiable}
    missing = sorted(twice - _collect()[1])
    assert not missing, (f"ops without a second-order test (an OpSpec in a test module's SECOND_ORDER "
                         f"list, run through check_op_spec_second_order, or EXTRA_SECOND_ORDER): {missing}")


def test_once_differentiable_ops_are_listed_in_the_readme():
    readme = (HERE.parent / "README.md").read_text()
    once = sorted(name for name, cls in _ops().items() if cls.once_differentiable)
    unlisted = [name for name in once if f"`{name}`" not in readme]
    assert not unlisted, f"once-differentiable ops missing from the README's list: {unlisted}"
