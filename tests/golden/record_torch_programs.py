"""Run the tutorial-style programs of tests/torch_programs under real PyTorch and record what they
print, for tests/test_torch_programs.py. Run from the repository root with PyTorch 2.13 CPU:

    python tests/golden/record_torch_programs.py

Each program imports ``tinydl as torch`` (the import rule); here that line becomes ``import torch``
and nothing else changes. Writes torch_programs.json: {"__version__": ..., program name: stdout}.
"""
import json
import pathlib
import subprocess
import sys

import torch

HERE = pathlib.Path(__file__).parent
PROGRAMS = HERE.parent / "torch_programs"
# the tensor-API tutorials whose printed output is compared (other programs there check themselves)
NAMES = ["autograd_mechanics", "polynomial_autograd", "tensor_basics"]


def main():
    out = {"__version__": torch.__version__}
    for path in (PROGRAMS / f"{name}.py" for name in NAMES):
        source = path.read_text().replace("import tinydl as torch", "import torch")
        run = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, check=True)
        out[path.stem] = run.stdout
    (HERE / "torch_programs.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"recorded {len(out) - 1} programs with PyTorch {torch.__version__}")


if __name__ == "__main__":
    main()
