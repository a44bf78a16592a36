"""docs/conformance/keras_tf.md: every row's check names a test that exists (and uses the name it
checks, for the tinydl.tf rows), and every public name of tinydl.tf and its submodules has a row."""
import os
import re

import tinydl.tf as tf

from conformance_tables import table_rows, function_sources

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLE = os.path.join(ROOT, "docs", "conformance", "keras_tf.md")
DTYPES = {"bool", "double", "float16", "float32", "float64", "half", "int8", "int16", "int32", "int64", "uint8",
          "uint16", "uint32", "uint64"}


def _rows():
    return table_rows(TABLE)


def test_every_check_exists_and_uses_its_name():
    for name, status, check, notes in _rows():
        assert status in ("same", "differs", "NotImplementedError"), name
        if status == "differs":
            assert notes, f"row {name!r}: a difference needs a note"
        found = re.fullmatch(r"(tests/[\w/]+\.py)::(\w+)", check)
        assert found, f"row {name!r} names no test"
        tests, text = function_sources(found.group(1))
        assert found.group(2) in tests, f"{check} does not exist"
        plain = re.fullmatch(r"tf\.([\w.]+)", name)
        if plain and plain.group(1) not in DTYPES:  # the test (or the table it runs) spells the name
            leaf = plain.group(1).split(".")[-1]
            assert leaf in tests[found.group(2)] or leaf in text, f"{check} does not use {name}"


def test_every_public_name_has_a_row():
    names = {r[0] for r in _rows()}
    for prefix, module in (("tf.", tf), ("tf.math.", tf.math), ("tf.nn.", tf.nn), ("tf.linalg.", tf.linalg),
                           ("tf.random.", tf.random), ("tf.config.", tf.config), ("tf.data.", tf.data)):
        for public in module.__all__:
            if module is tf and public in ("config", "data", "dtypes", "linalg", "math", "nn", "random", "keras"):
                continue
            assert f"{prefix}{public}" in names, f"no row for {prefix}{public}"
    methods = [m for m in vars(tf.data.Dataset) if not m.startswith("_")]
    for m in methods:
        assert f"tf.data.Dataset.{m}" in names, f"no row for tf.data.Dataset.{m}"
