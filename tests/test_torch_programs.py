"""Tutorial-style PyTorch programs (tests/torch_programs) run on tinydl with only their imports
changed, and print what PyTorch 2.13 printed (recorded by tests/golden/record_torch_programs.py);
numbers are compared with a relative tolerance of 1e-4, everything else exactly."""
import json
import pathlib
import re
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).parent
RECORDED = json.loads((HERE / "golden" / "torch_programs.json").read_text())
PROGRAMS = sorted(k for k in RECORDED if k != "__version__")  # the tensor-API tutorials
NUMBER = re.compile(r"-?\d+\.?\d*(?:e[-+]?\d+)?")


def test_every_recorded_program_exists():
    assert RECORDED["__version__"].startswith("2.13.") and len(PROGRAMS) == 3
    assert all((HERE / "torch_programs" / f"{name}.py").exists() for name in PROGRAMS)


def test_programs_use_only_the_import_rule():
    for name in PROGRAMS:
        source = (HERE / "torch_programs" / f"{name}.py").read_text()
        assert "import tinydl as torch" in source
        assert "tinydl" not in source.replace("import tinydl as torch", ""), name


def _same_line(want, got):
    if NUMBER.sub("#", want) != NUMBER.sub("#", got):
        return False
    return all(float(a) == pytest.approx(float(b), rel=1e-4, abs=1e-6)
               for a, b in zip(NUMBER.findall(want), NUMBER.findall(got)))


@pytest.mark.parametrize("name", PROGRAMS)
def test_program_prints_what_pytorch_printed(name):
    run = subprocess.run([sys.executable, str(HERE / "torch_programs" / f"{name}.py")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    want, got = RECORDED[name].splitlines(), run.stdout.splitlines()
    assert len(got) == len(want), f"{name}: {len(got)} lines printed, PyTorch printed {len(want)}"
    for i, (w, g) in enumerate(zip(want, got)):
        assert _same_line(w, g), f"{name} line {i + 1}:\n  PyTorch: {w}\n  tinydl:  {g}"
