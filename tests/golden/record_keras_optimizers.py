"""Record Keras 3 / TF 2.21 optimizer trajectories for tests/test_keras_optimizers_golden.py: the
weights after each of STEPS ``apply_gradients`` calls with the gradients of
keras_optimizer_cases.py, for every case there.

Run from the repository root under the oracle extra: ``python tests/golden/record_keras_optimizers.py``.
Needs TensorFlow and NumPy only; writes tests/golden/keras_optimizers.npz.
"""
import os
import sys

import numpy as np
import tensorflow as tf
import keras

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from keras_optimizer_cases import CASES, build_kwargs, gradients, initial_weights  # noqa: E402


def main():
    out = {"__version__": np.array(f"tensorflow {tf.__version__}, keras {keras.__version__}")}
    for name, cls, kwargs in CASES:
        v = tf.Variable(initial_weights())
        opt = getattr(keras.optimizers, cls)(**build_kwargs(kwargs, keras.optimizers.schedules))
        trajectory = []
        for g in gradients():
            opt.apply_gradients([(tf.constant(g), v)])
            trajectory.append(v.numpy().copy())
        out[name] = np.stack(trajectory)
    np.savez_compressed(os.path.join(HERE, "keras_optimizers.npz"), **out)


if __name__ == "__main__":
    main()
