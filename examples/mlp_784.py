"""The seed's Sequential MLP for 784-pixel inputs: Dense(64, relu) -> Dense(10, softmax), on MNIST.

Seed program 3 (/work/shared/seed-programs/mlp_784_keras.py) leaves the data undefined. Here:
MNIST flattened to 784 values in [0, 1] with one-hot labels; ``x_val, y_val`` are the last 10,000
training images, ``x_test, y_test`` the test set. The model, compile, fit (10 epochs, batch 64)
and evaluate lines are the seed's. The seed prints no number; this script reports the
validation and test accuracy it measured.

    TINYDL_DATA=../shared/data python examples/mlp_784.py
    TINYDL_DATA=../shared/data python examples/mlp_784.py --epochs 2 --limit 10000
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tinydl.tf as tf  # noqa: E402
from tinydl.keras.models import Sequential  # noqa: E402
from tinydl.keras.layers import Dense, Activation  # noqa: E402,F401

from mlp_functional import load_flat_mnist  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="training epochs (the seed's value: 10)")
    parser.add_argument("--limit", type=int, default=None, help="train on the first N images (default: 50,000)")
    parser.add_argument("--seed", type=int, default=0, help="tinydl's random seed")
    parser.add_argument("--verbose", type=int, default=1, help="fit's verbosity (0, 1 or 2)")
    args = parser.parse_args(argv)
    tf.random.set_seed(args.seed)
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = load_flat_mnist(args.limit)

    # ---- the seed program (epochs and verbosity from the flags) ----
    model = Sequential()
    model.add(Dense(units=64, activation='relu', input_shape=(784,)))
    model.add(Dense(units=10, activation='softmax'))

    model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])

    t0 = time.perf_counter()
    history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=64, validation_data=(x_val, y_val),
                        verbose=args.verbose)
    seconds = time.perf_counter() - t0

    test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=args.verbose)
    # ---- end of the seed program ----

    result = {"train_images": len(x_train), "epochs": args.epochs,
              "val_accuracy": history.history["val_accuracy"][-1], "test_loss": test_loss,
              "test_accuracy": test_accuracy, "seconds_per_epoch": seconds / max(args.epochs, 1)}
    print(f"measured: {len(x_train)} training images, {args.epochs} epochs, val_accuracy "
          f"{result['val_accuracy']:.4f}, test accuracy {test_accuracy:.4f}, test loss {test_loss:.4f}, "
          f"{result['seconds_per_epoch']:.1f} s per epoch")
    return result


if __name__ == "__main__":
    main()
