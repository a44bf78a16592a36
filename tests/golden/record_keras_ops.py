"""Record Keras 3 (TensorFlow 2.21 backend) golden values for tests/test_keras_ops.py: every call in
keras_ops_cases.CASES (values and dtypes), the gradients of GRAD_CASES under tf.GradientTape, the
result dtype of ops.add for every pair of DTYPES and Python scalars, and the result dtypes of a
few unary ops per input dtype.

Run from the repository root under the oracle extra: ``python tests/golden/record_keras_ops.py``.
Needs TensorFlow, Keras and NumPy only; writes tests/golden/keras_ops.npz and keras_ops.json.
"""
import json
import os
import sys

import numpy as np
import tensorflow as tf
import keras
from keras import ops

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from keras_ops_cases import (BINARY_DTYPE_OPS, CASES, DTYPES, GRAD_CASES, SCALARS, UNARY_DTYPE_OPS,  # noqa: E402
                             binary_call, inputs, parts)


def main():
    x = inputs()
    out = {f"in_{k}": v for k, v in x.items()}
    meta = {"__version__": {"tensorflow": tf.__version__, "keras": keras.__version__}, "cases": {},
            "add_dtypes": {}, "binary_dtypes": {}, "unary_dtypes": {}}
    for name, fn in CASES.items():
        try:
            got = parts(ops, fn(ops, x))
        except Exception as e:  # noqa: BLE001 - recorded: tinydl must refuse too
            meta["cases"][name] = f"error:{type(e).__name__}"
            print(name, "error", type(e).__name__, str(e)[:300])
            continue
        meta["cases"][name] = [[d, kind] for _, d, kind in got]
        for i, (arr, _, _) in enumerate(got):
            out[f"{name}__{i}"] = arr
    rng = np.random.default_rng(7)
    for name, (key, fn) in GRAD_CASES.items():
        v = tf.Variable(x[key])
        w = rng.normal(size=fn(ops, tf.constant(x[key])).shape).astype(np.float32)
        with tf.GradientTape() as tape:
            loss = ops.sum(ops.multiply(fn(ops, tf.convert_to_tensor(v)), w))
        out[f"grad_{name}__w"] = w
        out[f"grad_{name}"] = tape.gradient(loss, v).numpy()
    operands = {d: np.ones((2,), d) for d in DTYPES}
    operands.update(SCALARS)
    for a_name, a in operands.items():
        for b_name, b in operands.items():
            if a_name in SCALARS and b_name in SCALARS:
                continue
            try:
                meta["add_dtypes"][f"{a_name}+{b_name}"] = keras.backend.standardize_dtype(ops.add(a, b).dtype)
            except Exception as e:  # noqa: BLE001 - recorded: tinydl must refuse too
                meta["add_dtypes"][f"{a_name}+{b_name}"] = f"error:{type(e).__name__}"
    for op in BINARY_DTYPE_OPS:
        for a_name, a in operands.items():
            for b_name, b in operands.items():
                if a_name in SCALARS and b_name in SCALARS:
                    continue
                if op in ("concatenate", "stack", "hstack") and (a_name in SCALARS or b_name in SCALARS):
                    continue
                try:
                    dt = keras.backend.standardize_dtype(binary_call(ops, op, a, b).dtype)
                except Exception as e:  # noqa: BLE001
                    dt = f"error:{type(e).__name__}"
                meta["binary_dtypes"][f"{op}:{a_name}+{b_name}"] = dt
    for op in UNARY_DTYPE_OPS:
        for d in DTYPES:
            try:
                meta["unary_dtypes"][f"{op}:{d}"] = keras.backend.standardize_dtype(
                    getattr(ops, op)(np.ones((2, 2), d)).dtype)
            except Exception as e:  # noqa: BLE001
                meta["unary_dtypes"][f"{op}:{d}"] = f"error:{type(e).__name__}"
    np.savez_compressed(os.path.join(HERE, "keras_ops.npz"), **out)
    with open(os.path.join(HERE, "keras_ops.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
