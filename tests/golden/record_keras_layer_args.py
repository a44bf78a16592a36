"""Record Keras 3 / TF 2.21 values of the cases in keras_layer_args_cases.py for
tests/test_keras_layer_args.py.

Run from the repository root under the oracle extra: ``python tests/golden/record_keras_layer_args.py``.
Needs TensorFlow and NumPy only; writes tests/golden/keras_layer_args.npz.
"""
import os
import sys

import numpy as np
import tensorflow as tf
import keras
from keras import layers

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from keras_layer_args_cases import CASES  # noqa: E402


def main():
    out = {"__version__": np.array(f"tensorflow {tf.__version__}, keras {keras.__version__}")}
    for name, case in CASES.items():
        for key, value in case(keras, layers, np).items():
            out[f"{name}|{key}"] = np.asarray(value)
    np.savez_compressed(os.path.join(HERE, "keras_layer_args.npz"), **out)


if __name__ == "__main__":
    main()
