"""tinydl.keras's optimizers against Keras 3 / TF 2.21 trajectories
(tests/golden/record_keras_optimizers.py): gradients from 1e-7 to 1, where epsilon's placement
and the form of weight decay show."""
import os

import numpy as np
import pytest

import tinydl
from tinydl.keras import optimizers

from golden.keras_optimizer_cases import CASES, build_kwargs, gradients, initial_weights

G = np.load(os.path.join(os.path.dirname(__file__), "golden", "keras_optimizers.npz"), allow_pickle=False)


def test_recorded_with_the_pinned_tensorflow():
    assert str(G["__version__"]).startswith("tensorflow 2.21.0, keras 3.")


@pytest.mark.parametrize("name,cls,kwargs", CASES, ids=[c[0] for c in CASES])
def test_trajectory_matches_keras(name, cls, kwargs):
    v = tinydl.Tensor(initial_weights(), requires_grad=True)
    opt = getattr(optimizers, cls)(**build_kwargs(kwargs, optimizers.schedules))
    for step, g in enumerate(gradients()):
        opt.apply_gradients([(tinydl.Tensor(g), v)])
        np.testing.assert_allclose(v.detach().numpy(), G[name][step], rtol=2e-6, atol=2e-6,
                                   err_msg=f"{name}: weights after step {step + 1}")
