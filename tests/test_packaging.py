"""tinydl imports from a source checkout (``PYTHONPATH=.``, nothing installed) and from a built
wheel, kernels included, and installs no top-level ``kernels`` package."""
import os
import pathlib
import re
import shutil
import subprocess
import sys

import numpy
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
CODE = ("import sys, tinydl, tinydl.backends.numba_cpu, tinydl.backends.cuda as c; "
        "assert 'kernels' not in sys.modules; assert c.raw_source('conv'); "
        "print(tinydl.kernels.__file__)")


def _deps_path():
    """Where numpy and numba are installed (their site-packages), without tinydl's install hook."""
    return str(pathlib.Path(numpy.__file__).resolve().parent.parent)


def _run_bare(paths, cwd):
    # -S: no site module, so no .pth file (an editable install's import hook) takes part
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": os.pathsep.join(paths)}
    return subprocess.run([sys.executable, "-S", "-c", CODE], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_source_checkout_imports_the_kernels(tmp_path):
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT, checkout, ignore=shutil.ignore_patterns(".git", ".venv*", "__pycache__", "*.egg-info",
                                                                  "build", ".pytest_cache", ".hypothesis"))
    res = _run_bare([".", _deps_path()], checkout)
    assert res.returncode == 0, res.stderr
    assert pathlib.Path(res.stdout.strip()) == checkout / "kernels" / "__init__.py"


def test_pyproject_lists_every_package():
    text = (ROOT / "pyproject.toml").read_text()
    listed = set(re.findall(r'"(tinydl(?:\.[a-z_]+)*)"', text.split("packages = [", 1)[1].split("]", 1)[0]))
    found = {".".join(p.relative_to(ROOT).parent.parts) for p in (ROOT / "tinydl").rglob("__init__.py")}
    found |= {"tinydl." + ".".join(p.relative_to(ROOT).parent.parts) for p in (ROOT / "kernels").rglob("__init__.py")}
    assert listed == found


@pytest.mark.slow
def test_wheel_contains_and_imports_the_kernels(tmp_path):
    pytest.importorskip("wheel", reason="building a wheel with --no-build-isolation needs the 'wheel' package")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
                            "-q", "-w", str(tmp_path / "dist")], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr
    wheel = next((tmp_path / "dist").glob("tinydl-*.whl"))
    target = tmp_path / "site"
    inst = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                           str(wheel)], capture_output=True, text=True, timeout=600)
    assert inst.returncode == 0, inst.stderr
    assert not (target / "kernels").exists()
    assert (target / "tinydl" / "kernels" / "cuda" / "conv.cu").is_file()
    res = _run_bare([str(target), _deps_path()], tmp_path)
    assert res.returncode == 0, res.stderr
    assert pathlib.Path(res.stdout.strip()) == target / "tinydl" / "kernels" / "__init__.py"
