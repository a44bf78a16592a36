"""The guided tour (docs/tour): every chapter's code runs, and prints what the chapter says it prints.

A chapter's ```python blocks run in order in one namespace, in a temporary folder; a block
followed by an ```output block must print exactly that. Each chapter links files of the
repository that exist and ends with an exercise whose solution file exists (the exercises
themselves are checked in test_tour_exercises.py).
"""
import contextlib
import io
import os
import re
from pathlib import Path

import pytest

from tinydl.core.autograd import OPS

ROOT = Path(__file__).resolve().parents[1]
TOUR = ROOT / "docs" / "tour"
CHAPTERS = sorted(TOUR.glob("[0-9][0-9]-*.md"))
# a chapter that trains on MNIST takes seconds to a minute on a busy machine: it runs in the slow pass
RUNS = [pytest.param(c, marks=pytest.mark.slow) if "<!-- needs: mnist -->" in c.read_text() else c
        for c in CHAPTERS]
# what a chapter's code must have achieved, beyond printing what it says it prints
OUTCOMES = {
    "10-training-the-seed-cnn": lambda ns: ns["accuracy"] > 0.6 and (ns["predictions"] == ns["y_test"]).mean() > 0.6,
}
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)
_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def code_blocks(text):
    """[(code, expected output or None)] in the order they appear."""
    blocks, fences = [], [(m.group(1), m.group(2)) for m in _FENCE.finditer(text)]
    for i, (lang, body) in enumerate(fences):
        if lang == "python":
            nxt = fences[i + 1] if i + 1 < len(fences) else None
            blocks.append((body, nxt[1] if nxt and nxt[0] == "output" else None))
    return blocks


@pytest.fixture
def keep_op_inventory():
    """Ops a chapter defines are the reader's, not the library's: keep them out of tinydl's OPS."""
    before = dict(OPS)
    yield
    OPS.clear()
    OPS.update(before)


def test_the_tour_has_ten_chapters():
    assert len(CHAPTERS) == 10
    index = (TOUR / "index.md").read_text()
    for ch in CHAPTERS:
        assert f"]({ch.name})" in index, f"index.md does not link {ch.name}"


@pytest.mark.parametrize("chapter", RUNS, ids=[c.stem for c in CHAPTERS])
def test_chapter_runs_and_prints_what_it_says(chapter, tmp_path, monkeypatch, keep_op_inventory):
    text = chapter.read_text()
    if "<!-- needs: mnist -->" in text:
        root = os.environ.get("TINYDL_DATA")
        if not root or not os.path.isdir(os.path.join(root, "mnist")):
            pytest.skip("this chapter trains on MNIST: TINYDL_DATA is not set to a folder holding mnist/ (CI sets it)")
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": f"tour_{chapter.stem.replace('-', '_')}"}
    blocks = code_blocks(text)
    assert blocks, f"{chapter.name} has no code"
    for i, (code, expected) in enumerate(blocks):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"{chapter.name} (code block {i + 1})", "exec"), namespace)
        if expected is not None:
            assert out.getvalue() == expected, f"{chapter.name}, code block {i + 1} printed:\n{out.getvalue()}"
    if chapter.stem in OUTCOMES:
        assert OUTCOMES[chapter.stem](namespace), f"{chapter.name} did not achieve what it says"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_chapter_links_the_code_it_explains_and_ends_with_an_exercise(chapter):
    text = chapter.read_text()
    links = [l for l in _LINK.findall(text) if not l.startswith("http")]
    code_links = [l for l in links if l.startswith("../../")]
    assert code_links, f"{chapter.name} links no reference implementation"
    for link in links:
        assert (chapter.parent / link).resolve().exists(), f"{chapter.name}: broken link {link}"
    sections = re.findall(r"^## (.+)$", text, re.M)
    assert sections and sections[-1] == "Exercise", f"{chapter.name} must end with an Exercise section"
    exercise = text.split("## Exercise", 1)[1]
    assert re.search(r"\(exercises/ex\d\d_\w+\.py\)", exercise), f"{chapter.name}: the exercise names no solution file"


def test_readme_look_inside_example_runs(tmp_path, monkeypatch):
    """The README's short example of draw_graph, summary and the profiler runs and prints what it says."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Look inside", 1)[1]
    code = code_blocks(section)[0][0]
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md (Look inside)", "exec"), {"__name__": "readme"})
    assert out.getvalue().splitlines()[0] == "54170 54170 102752"
    assert "MatMulBackward" in out.getvalue() and (tmp_path / "trace.json").is_file()
