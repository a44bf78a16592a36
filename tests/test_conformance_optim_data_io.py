"""docs/conformance/pytorch_optim_data_io.md: every row's check names a test that exists, and every
public name of tinydl.optim, tinydl.optim.lr_scheduler and tinydl.utils.data has a row."""
import os
import re

import tinydl.optim as optim
import tinydl.optim.lr_scheduler as lr_scheduler
import tinydl.utils.data as data

from conformance_tables import table_rows, function_sources

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLE = os.path.join(ROOT, "docs", "conformance", "pytorch_optim_data_io.md")
KERAS_OR_TINYDL_ONLY = {"LearningRateSchedule", "ExponentialDecay", "CosineDecay", "PiecewiseConstantDecay",
                        "clip_grad_norm_", "clip_grad_value_", "lr_scheduler"}


def _rows():
    return table_rows(TABLE)


def _tests_in(path):
    return set(function_sources(path)[0])


def test_every_check_exists():
    checks = []
    for name, status, check, notes in _rows():
        assert status.strip() in ("same", "differs", "NotImplementedError"), name
        checks += re.findall(r"(tests/[\w/]+\.py)::(\w+)", check + " " + notes)
        assert re.search(r"tests/[\w/]+\.py::\w+", check), f"row {name.strip()!r} names no test"
    for path, test in checks:
        assert test in _tests_in(path), f"{path}::{test} does not exist"


def test_every_public_name_has_a_row():
    names = " ".join(r[0] for r in _rows())
    for prefix, module in (("optim.", optim), ("lr_scheduler.", lr_scheduler), ("utils.data.", data)):
        for public in module.__all__:
            if public in KERAS_OR_TINYDL_ONLY or (module is optim and public in lr_scheduler.__all__):
                continue  # tinydl.optim re-exports the schedulers (their rows are under lr_scheduler)
            assert re.search(rf"{re.escape(prefix)}{public}\b", names), f"no row for {prefix}{public}"
