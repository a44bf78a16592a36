"""Make ``tinydl.kernels`` importable from a source checkout, without installing.

The hot loops live in the top-level ``kernels/`` folder of the repository.  An installed tinydl
(a wheel, or ``pip install -e``) has that folder mapped to the package ``tinydl.kernels`` by
setuptools' ``package-dir`` in ``pyproject.toml``, so nothing named ``kernels`` is ever installed
at top level.  A checkout used through ``PYTHONPATH=.`` has no such mapping: there ``kernels/``
sits next to ``tinydl/``, and :func:`register` loads it under the name ``tinydl.kernels``.
"""
import importlib.util
import os
import sys

NAME = "tinydl.kernels"


def _checkout_root():
    """The repository root if this tinydl package is a source checkout's, else None."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        with open(os.path.join(root, "pyproject.toml"), encoding="utf-8") as f:
            is_ours = 'name = "tinydl"' in f.read()
    except OSError:  # an installed package: site-packages has no pyproject.toml
        return None
    return root if is_ours and os.path.isfile(os.path.join(root, "kernels", "__init__.py")) else None


def register():
    """Register ``<checkout>/kernels`` as ``tinydl.kernels`` (once; no-op when installed)."""
    if NAME in sys.modules:
        return
    root = _checkout_root()
    if root is None:
        return
    folder = os.path.join(root, "kernels")
    spec = importlib.util.spec_from_file_location(NAME, os.path.join(folder, "__init__.py"),
                                                  submodule_search_locations=[folder])
    module = importlib.util.module_from_spec(spec)
    sys.modules[NAME] = module
    spec.loader.exec_module(module)  # kernels/__init__.py imports nothing: cheap
