"""docs/conformance/keras_ops.md: every public name of tinydl.keras.ops and tinydl.keras.backend has a
row, every row's check names a test that exists, and every `same`/`differs` op is called by the
recorded cases (tests/golden/keras_ops_cases.py) or by its check."""
import os
import re

from tinydl.keras import backend, ops

from conformance_tables import table_rows, function_sources

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLE = os.path.join(ROOT, "docs", "conformance", "keras_ops.md")
CASES = open(os.path.join(ROOT, "tests", "golden", "keras_ops_cases.py")).read()


def _rows():
    return table_rows(TABLE)


def test_every_check_exists_and_exercises_its_name():
    for name, status, check, notes in _rows():
        assert status in ("same", "differs", "NotImplementedError"), name
        if status == "differs":
            assert notes, f"row {name!r}: a difference needs a note"
        found = re.fullmatch(r"(tests/[\w/]+\.py)::(\w+)", check)
        assert found, f"row {name!r} names no test"
        tests, _ = function_sources(found.group(1))
        assert found.group(2) in tests, f"{check} does not exist"
        leaf = name.split(".")[-1]
        if name.startswith("ops.") and status != "NotImplementedError":
            assert f"ops.{leaf}(" in CASES or f"ops.{leaf}" in tests[found.group(2)], f"nothing calls {name}"
        if name.startswith("ops.") and status == "NotImplementedError":
            assert leaf in ops.NOT_IMPLEMENTED, f"{name} is implemented: its row is stale"
        if name.startswith("backend."):
            assert leaf in tests[found.group(2)], f"{check} does not use {name}"


def test_every_public_name_has_a_row():
    names = [r[0] for r in _rows()]
    assert len(names) == len(set(names)), "duplicate rows"
    for public in ops.__all__ + ops.NOT_IMPLEMENTED:
        assert f"ops.{public}" in names, f"no row for ops.{public}"
    for public in backend.__all__:
        assert f"backend.{public}" in names, f"no row for backend.{public}"
    assert "optimizers.Optimizer.apply" in names
