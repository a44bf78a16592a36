"""The PyTorch-style programs in tests/torch_programs/ (optimizers, schedulers, data loading,
saving) run unchanged but for their imports; each also runs under PyTorch with ``torch`` for
``tinydl`` (checked by hand when they were written, not here: CI has no PyTorch)."""
import os
import re
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PROGRAMS = os.path.join(HERE, "torch_programs")


def _run(name, *args):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, os.path.join(PROGRAMS, name), *args], capture_output=True, text=True,
                          timeout=300, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.parametrize("name", ["train_resume_checkpoint.py", "data_pipeline_workers.py"])
def test_imports_follow_the_import_rule(name):
    with open(os.path.join(PROGRAMS, name)) as f:
        imports = [line for line in f if re.match(r"\s*(import|from)\s", line)]
    assert imports and not any(re.match(r"\s*(import|from)\s+torch\b", line) for line in imports)
    for line in imports:  # every tinydl import is a torch import with the prefix replaced
        assert "tinydl" not in line or re.match(r"\s*(import tinydl(\.\w+)* as \w+|from tinydl(\.\w+)* import )", line)


def test_train_resume_checkpoint(tmp_path):
    out = _run("train_resume_checkpoint.py", str(tmp_path / "ck.pt"))
    assert "resumed run matches: True" in out
    loss = float(re.search(r"final loss ([\d.]+)", out).group(1))
    assert loss < 0.01
    weights = [float(v) for v in re.search(r"learned weight \[([^\]]+)\]", out).group(1).split(",")]
    assert weights == pytest.approx([2.0, -3.0, 0.5], abs=0.05)
    assert "lr 0.01250" in out  # 0.05 halved at epochs 4 and 8
    assert (tmp_path / "ck.pt").exists()


def test_data_pipeline_workers():
    out = _run("data_pipeline_workers.py")
    assert "train 480 val 120 batches 8" in out
    accuracy = float(re.search(r"accuracy ([\d.]+)", out).group(1))
    assert accuracy > 0.9
    assert "workers used: [0, 1]" in out
