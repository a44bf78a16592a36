"""Brief runs of the sequence examples that must show learning (the full runs are in the README).

The language-model examples need tinyshakespeare (``$TINYDL_DATA/tinyshakespeare/input.txt``)
and are skipped without it; the digit reversal is synthetic and always runs. Each example runs
in a subprocess with one BLAS thread and writes its metrics as JSON.
"""
import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def run_example(name, args, tmp_path, timeout=300):
    out = tmp_path / f"{name}.json"
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / f"{name}.py"), *args, "--json", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return json.loads(out.read_text()), proc.stdout


@pytest.fixture
def shakespeare():
    root = os.environ.get("TINYDL_DATA")
    if not root or not os.path.isfile(os.path.join(root, "tinyshakespeare", "input.txt")):
        pytest.skip("TINYDL_DATA is not set to a folder holding tinyshakespeare/input.txt (CI sets it)")
    return root


def test_char_lstm_learns(shakespeare, tmp_path):
    res, out = run_example("char_lstm", ["--limit", "60000", "--steps", "40", "--epochs", "1", "--units", "128",
                                         "--sample", "40"], tmp_path)
    assert res["val_loss_initial"] > 4.0  # about ln(vocabulary)
    assert res["history"][-1]["val_loss"] < res["val_loss_initial"] - 0.6, out
    assert "nats/char" in out and "sample: ROMEO:" in out and "CPU time used" in out


def test_tiny_gpt_learns(shakespeare, tmp_path):
    res, out = run_example("tiny_gpt", ["--limit", "60000", "--steps", "30", "--epochs", "1", "--layers", "2",
                                        "--dim", "64", "--eval-batches", "4", "--sample", "40"], tmp_path)
    assert res["history"][-1]["val_loss"] < res["val_loss_initial"] - 1.0, out
    assert res["history"][-1]["val_loss"] < 3.2, out
    assert "sample: ROMEO:" in out and "CPU time used" in out


def test_reverse_digits_reaches_99_percent(tmp_path):
    res, out = run_example("reverse_digits", ["--steps", "800", "--eval", "1000"], tmp_path)
    assert res["seq_acc"] >= 0.99, out
    assert "sequence accuracy" in out


@pytest.mark.slow
def test_char_lstm_longer_run_gets_below_2_1_nats(shakespeare, tmp_path):
    res, out = run_example("char_lstm", ["--steps", "450", "--epochs", "1", "--sample", "0"], tmp_path, timeout=1200)
    assert res["history"][-1]["val_loss"] < 2.1, out


@pytest.mark.slow
def test_tiny_gpt_longer_run_gets_below_2_2_nats(shakespeare, tmp_path):
    res, out = run_example("tiny_gpt", ["--steps", "300", "--epochs", "1", "--layers", "2", "--sample", "0"],
                           tmp_path, timeout=1200)
    assert res["history"][-1]["val_loss"] < 2.2, out
