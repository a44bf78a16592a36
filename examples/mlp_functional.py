"""The seed's functional-API MLP (Input -> Dense(128, relu) -> Dense(10, softmax)) on MNIST.

Seed program 2 (/work/shared/seed-programs/mlp_keras_functional.py) leaves ``input_shape``,
``output_shape`` and the data undefined. Here: MNIST images flattened to 784 values in [0, 1],
``output_shape = 10`` classes with one-hot labels, the last 10,000 training images as the
validation data (``x_val, y_val``) and the 10,000 test images as ``x_test``. The model, compile
and fit lines are the seed's (Adam, categorical cross-entropy, batch 64, 10 epochs).
The seed prints no accuracy; this script reports the validation and test accuracy it measured.

    TINYDL_DATA=../shared/data python examples/mlp_functional.py
    TINYDL_DATA=../shared/data python examples/mlp_functional.py --epochs 2 --limit 10000
"""
import argparse
import time

import numpy as np

import tinydl.tf as tf
from tinydl.keras.layers import Dense, Input
from tinydl.keras.models import Model


def load_flat_mnist(limit=None, validation=10_000):
    """MNIST as (x_train, y_train), (x_val, y_val), (x_test, y_test): (n, 784) float32 in [0, 1],
    one-hot float32 labels; the validation images are the last ``validation`` training images."""
    (x_all, y_all), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
    x_all = x_all.reshape(len(x_all), -1).astype("float32") / 255
    x_test = x_test.reshape(len(x_test), -1).astype("float32") / 255
    y_all = tf.keras.utils.to_categorical(y_all, 10)
    y_test = tf.keras.utils.to_categorical(y_test, 10)
    x_train, y_train = x_all[:-validation], y_all[:-validation]
    x_val, y_val = x_all[-validation:], y_all[-validation:]
    if limit is not None:
        x_train, y_train = x_train[:limit], y_train[:limit]
    return (x_train, y_train), (x_val, y_val), (x_test, y_test)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="training epochs (the seed's value: 10)")
    parser.add_argument("--limit", type=int, default=None, help="train on the first N images (default: 50,000)")
    parser.add_argument("--seed", type=int, default=0, help="tinydl's random seed")
    parser.add_argument("--verbose", type=int, default=1, help="fit's verbosity (0, 1 or 2)")
    args = parser.parse_args(argv)
    tf.random.set_seed(args.seed)
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = load_flat_mnist(args.limit)
    input_shape, output_shape = x_train.shape[1], y_train.shape[1]

    # ---- the seed program (epochs and verbosity from the flags) ----
    # build the model
    input_layer = Input(shape=(input_shape,))
    hidden_layer = Dense(units=128, activation='relu')(input_layer)
    output_layer = Dense(units=output_shape, activation='softmax')(hidden_layer)

    model = Model(inputs=input_layer, outputs=output_layer)

    # compile
    model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])

    # train
    t0 = time.perf_counter()
    history = model.fit(x_train, y_train, batch_size=64, epochs=args.epochs, validation_data=(x_val, y_val),
                        verbose=args.verbose)
    seconds = time.perf_counter() - t0

    # predict
    predictions = model.predict(x_test)
    # ---- end of the seed program ----

    test_accuracy = float(np.mean(predictions.argmax(axis=1) == y_test.argmax(axis=1)))
    result = {"train_images": len(x_train), "epochs": args.epochs,
              "val_accuracy": history.history["val_accuracy"][-1],
              "test_accuracy": test_accuracy, "seconds_per_epoch": seconds / max(args.epochs, 1)}
    print(f"measured: {len(x_train)} training images, {args.epochs} epochs, "
          f"val_accuracy {result['val_accuracy']:.4f}, test accuracy (from predict) {test_accuracy:.4f}, "
          f"{result['seconds_per_epoch']:.1f} s per epoch")
    return result


if __name__ == "__main__":
    main()
