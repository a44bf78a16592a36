"""The kernel-provider interface: every provider implements or explicitly delegates every
function, the agreement tests exercise each one, kernels are reached only through
``backends.provider_for``, and ``use_reference()`` holds per thread."""
import pathlib
import re
import threading

import numpy as np
import pytest

import tinydl as td
from tinydl import backends
from tinydl.backends import interface

HERE = pathlib.Path(__file__).parent
ROOT = HERE.parent
PROVIDERS = ["tinydl.backends.reference", "tinydl.backends.numba_cpu", "tinydl.backends.cuda"]
AGREEMENT_TESTS = ["test_kernels_agree.py", "test_provider_agree.py", "test_cuda_kernels.py", "test_quant.py"]


def test_interface_lists_the_kernel_functions():
    for name in ("conv2d_forward", "conv2d_bias_act_backward", "maxpool2d_backward", "bias_act_forward",
                 "softmax_xent_forward", "gelu_tanh_backward", "layernorm_forward", "embedding_backward",
                 "lstm_scan_backward", "gru_scan_forward", "rnn_scan_forward", "adam_step", "sgd_step"):
        assert name in interface.FUNCTIONS
    for name in interface.FUNCTIONS:
        assert getattr(interface.KernelProvider, name).__doc__, f"{name} has no contract docstring"


@pytest.mark.parametrize("module_name", PROVIDERS)
def test_each_provider_implements_or_delegates_every_function(module_name):
    import importlib
    module = importlib.import_module(module_name)
    delegated = set(getattr(module, "DELEGATED", ()))
    reference = importlib.import_module(PROVIDERS[0])
    for name in interface.FUNCTIONS:
        own = callable(getattr(module, name, None))
        assert own != (name in delegated), f"{module_name}.{name}: defined={own}, delegated={name in delegated}"
        bound = getattr(backends.get_provider(module_name.rsplit(".", 1)[1]), name)
        assert bound is (getattr(reference, name) if name in delegated else getattr(module, name))
    assert not delegated - set(interface.FUNCTIONS)


def test_bind_refuses_an_incomplete_provider():
    import types
    module = types.ModuleType("broken_provider")
    module.DELEGATED = ()
    with pytest.raises(TypeError, match="neither defines conv2d_forward nor lists it in DELEGATED"):
        interface.bind(module, backends.get_provider("reference"))


def test_agreement_tests_cover_every_function():
    text = "".join((HERE / f).read_text() for f in AGREEMENT_TESTS)
    missing = [name for name in interface.FUNCTIONS if not re.search(rf"\.{name}\(", text)]
    assert not missing, f"interface functions no agreement test calls: {missing}"


def test_kernels_are_reached_only_through_provider_for():
    """No op, layer or optimizer imports a kernel module or a provider module directly."""
    offenders = []
    for path in (ROOT / "tinydl").rglob("*.py"):
        if path.parent.name == "backends":
            continue
        src = path.read_text()
        for pattern in (r"kernels\.cpu", r"kernels\.cuda", r"backends\s+import\s+(cuda|numba_cpu|reference)",
                        r"backends\.(cuda|numba_cpu|reference)\b", r"reference_forced", r"kernels_for"):
            if re.search(pattern, src):
                offenders.append(f"{path.relative_to(ROOT)}: {pattern}")
    assert not offenders, offenders


def test_provider_choice():
    x = np.zeros(3)
    assert backends.provider_for(x).name == "tinydl.backends.numba_cpu"
    with td.use_reference():
        assert backends.provider_for(x).name == "tinydl.backends.reference"
        with td.use_reference(False):
            assert backends.provider_for(x).name == "tinydl.backends.numba_cpu"
    assert backends.provider_for(x).name == "tinydl.backends.numba_cpu"


def test_use_reference_is_per_thread():
    x = np.zeros(3)
    entered, release = threading.Event(), threading.Event()
    seen = {}

    def forcing():
        with td.use_reference():
            entered.set()
            release.wait(10)
            seen["inside"] = backends.provider_for(x).name

    t = threading.Thread(target=forcing)
    t.start()
    assert entered.wait(10)
    try:
        assert backends.provider_for(x).name == "tinydl.backends.numba_cpu"  # not this thread's
    finally:
        release.set()
        t.join(10)
    assert seen["inside"] == "tinydl.backends.reference"

    def fresh():
        seen["fresh"] = backends.provider_for(x).name
    with td.use_reference():  # a new thread does not inherit it
        t = threading.Thread(target=fresh)
        t.start()
        t.join(10)
    assert seen["fresh"] == "tinydl.backends.numba_cpu"
