"""Hypothesis profiles: `ci` (fixed seeds, few examples, for the 5-minute run) and `dev` (more)."""
import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=12, deadline=None, derandomize=True, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
settings.register_profile(
    "dev", max_examples=60, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
settings.register_profile(  # the GPU run: every test, fewer drawn examples (each compiles kernels)
    "gpu-ci", max_examples=3, deadline=None, derandomize=True, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
settings.load_profile("dev")  # `pytest --hypothesis-profile=ci` overrides this


def pytest_addoption(parser):
    parser.addoption("--backend", default="cpu", choices=["cpu", "gpu"],
                     help="run the suite with new tensors on this backend (gpu needs CuPy and a GPU)")


def pytest_configure(config):
    # Tests start subprocesses in other folders: a relative TINYDL_DATA must not change meaning.
    if os.environ.get("TINYDL_DATA"):
        os.environ["TINYDL_DATA"] = os.path.abspath(os.environ["TINYDL_DATA"])
    if config.getoption("--backend") == "gpu":
        import tinydl
        tinydl.set_backend("gpu")


@pytest.fixture
def mnist_dir():
    """The real MNIST folder, found through TINYDL_DATA (CI sets it to ../shared/data)."""
    root = os.environ.get("TINYDL_DATA")
    if not root or not os.path.isdir(os.path.join(root, "mnist")):
        pytest.skip("TINYDL_DATA is not set to a folder holding mnist/ (CI sets it)")
    return os.path.join(root, "mnist")
