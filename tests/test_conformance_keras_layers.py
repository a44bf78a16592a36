"""docs/conformance/keras_layers.md: every public Keras name of the layers, activations,
initializers, regularizers, constraints, metrics, losses, optimizers, schedules and utils has a
row, and every row's check names a test that exists."""
import os
import re

import pytest

from tinydl.keras import (activations, constraints, initializers, layers, losses, metrics, optimizers, regularizers,
                          schedules, utils)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "conformance", "keras_layers.md")
ROW = re.compile(r"^\| (?P<name>[^|]+?) \| (?P<status>same|differs|NotImplementedError) \| `(?P<check>[^`]+)` \|")


def _rows():
    sections, current = {}, None
    for line in open(DOC, encoding="utf-8"):
        if line.startswith("## "):
            current = line[3:].strip()
        m = ROW.match(line)
        if m and current:
            sections.setdefault(current, []).append(m.groupdict())
    return sections


SECTIONS = _rows()


def _names(prefix):
    return {r["name"] for s, rows in SECTIONS.items() if s.startswith(prefix) for r in rows}


@pytest.mark.parametrize("prefix, names", [
    ("Layers", ["Input"] + layers.LAYER_NAMES + layers.ALIASES + layers.FUNCTIONS + layers.MISSING),
    ("Activations", activations.NAMES + ["get", "serialize", "deserialize"]),
    ("Initializers", initializers.__all__), ("Regularizers", regularizers.__all__),
    ("Constraints", constraints.__all__), ("Metrics", metrics.__all__), ("Losses", losses.__all__),
    ("Optimizers", [n for n in optimizers.__all__ if n != "schedules"]), ("Schedules", schedules.__all__),
    ("Utils", utils.__all__),
])
def test_every_public_name_has_a_row(prefix, names):
    missing = sorted(set(names) - _names(prefix))
    assert not missing, f"{prefix}: no row for {missing}"


def test_every_missing_layer_really_raises():
    rows = [r for r in SECTIONS[next(s for s in SECTIONS if s.startswith("Layers"))] if r["status"] == "NotImplementedError"]
    assert rows
    for r in rows:
        with pytest.raises(NotImplementedError, match=r["name"]):
            getattr(layers, r["name"])()


def test_every_check_exists():
    bad = []
    for rows in SECTIONS.values():
        for r in rows:
            path, _, test = r["check"].partition("::")
            full = os.path.join(ROOT, path)
            if not os.path.exists(full) or not re.search(rf"^def {re.escape(test)}\(", open(full).read(), re.M):
                bad.append(r["check"])
    assert not bad, sorted(set(bad))
