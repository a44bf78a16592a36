"""The torch.nn tutorial-style programs (tests/torch_programs/) run on tinydl with only the import rule
applied: ``torch`` -> ``tinydl`` in import lines and nothing else. Each program asserts what it
learned and prints OK."""
import ast
import os
import pathlib
import re
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).parent / "torch_programs"
PROGRAMS = ["blitz_cnn.py", "module_api.py", "nn_really.py", "custom_autograd_function.py", "transformer_classifier.py",
            "gan_1d.py", "mlp_dataloader_scheduler.py"]  # this file's (the others have their own tests)
ROOT = pathlib.Path(__file__).parent.parent


def test_there_are_programs():
    assert len(PROGRAMS) >= 3


@pytest.mark.parametrize("name", PROGRAMS)
def test_only_import_lines_differ_from_pytorch(name):
    """tinydl appears only in import lines (of torch's module names), nowhere else in the code."""
    text = (HERE / name).read_text()
    tree = ast.parse(text)
    doc = tree.body[0] if isinstance(tree.body[0], ast.Expr) else None
    skip = set(range(doc.lineno, doc.end_lineno + 1)) if doc else set()
    imports = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imports.add(node.lineno)
            assert all(a.name.split(".")[0] != "torch" for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            imports.add(node.lineno)
            assert (node.module or "").split(".")[0] != "torch"
    for i, line in enumerate(text.splitlines(), 1):
        code = line.split("#")[0]
        if "tinydl" in code and i not in skip:
            assert i in imports, f"{name}:{i}: tinydl outside an import line: {line!r}"


@pytest.mark.parametrize("name", PROGRAMS)
def test_program_runs_and_learns(name):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, str(HERE / name)], capture_output=True, text=True, timeout=300, env=env,
                          cwd=ROOT)
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    assert proc.stdout.strip().splitlines()[-1] == "OK"
