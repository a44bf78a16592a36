"""The fine-tuning, pruning and explanation examples and the quantization benchmark, in their
``--quick`` modes (each well under a minute on an idle 2-core machine; marked slow because four
of them together exceed the default suite's budget). They must print their tables and learn."""
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _main(name, argv, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    return runpy.run_path(str(ROOT / "examples" / name), run_name="example")["main"](argv)


def test_finetune_quick(mnist_dir, monkeypatch, capsys):
    result = _main("finetune.py", ["--quick"], monkeypatch)
    out = capsys.readouterr().out
    assert "| variant | labels per class |" in out and "LoRA r=4" in out
    rows = {r["variant"]: r for r in result["rows"]}
    assert result["base_accuracy"] > 0.8  # 0.902 measured (2,000 images, one epoch)
    assert rows["(a) scratch"]["trainable"] > rows["(d) LoRA r=4 + new head"]["trainable"] > \
        rows["(d) LoRA r=1 + new head"]["trainable"] > rows["(c) frozen body + new head"]["trainable"] == 64 * 5 + 5
    assert all(r["accuracy"] > 0.3 for r in result["rows"]), result["rows"]  # chance is 0.2


def test_prune_quick(mnist_dir, monkeypatch, capsys):
    result = _main("prune.py", ["--quick"], monkeypatch)
    out = capsys.readouterr().out
    assert "| sparsity |" in out and "| filters removed |" in out
    for r in result["unstructured"]:
        assert r["finetuned_sparsity"] == pytest.approx(r["sparsity"], abs=0.002)
        assert r["reloaded_sparsity"] == r["finetuned_sparsity"]
        assert r["gradual_sparsity"] == pytest.approx(r["sparsity"], abs=0.002)
    assert result["unstructured"][0]["finetuned"] > 0.7
    s = result["structured"][0]
    assert s["params"] < s["params_before"] and s["acc_finetuned"] > 0.6


def test_explain_quick(mnist_dir, monkeypatch, capsys, tmp_path):
    result = _main("explain.py", ["--quick", "--out", str(tmp_path)], monkeypatch)
    assert (tmp_path / "cnn_attribution.png").stat().st_size > 1000
    assert (tmp_path / "reverse_attention.png").stat().st_size > 1000
    cnn = result["cnn"]
    assert cnn["grad_cam"] > cnn["ink_share"] and cnn["saliency"] > 2 * cnn["ink_share"]
    assert result["attention"]["reverse_accuracy"] > 0.9
    assert max(result["attention"]["anti_diagonal"].values()) > 0.5


def test_bench_quant_quick_without_torch(mnist_dir):
    p = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_quant.py"), "--quick", "--no-torch",
                        "--threads", "2"], cwd=ROOT, capture_output=True, text=True, timeout=600,
                       env={**os.environ})
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert "| tinydl | float32 |" in p.stdout and "| tinydl | int8 post-training" in p.stdout
    assert "PyTorch not measured" in p.stdout and "tinydl int8 vs float32" in p.stdout
