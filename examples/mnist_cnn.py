"""The seed's Keras CNN on MNIST, run by tinydl: only the import lines are changed.

Seed program 1 (/work/shared/seed-programs/cnn_mnist_keras.py). Below the flag handling, the code
is the seed's, statement for statement, except that the number of epochs comes from ``EPOCHS``
(default 5, the seed's value) and one added line keeps the first ``LIMIT`` training images
(default: all 60,000). The seed reports training accuracies 0.9587 ... 0.9927 and
"test accuracy 0.99270"; this script reports what tinydl measured, and the time per epoch.

    TINYDL_DATA=../shared/data python examples/mnist_cnn.py              # the seed's run
    TINYDL_DATA=../shared/data python examples/mnist_cnn.py --epochs 2 --limit 5000
"""
import argparse
import sys
import time

_parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
_parser.add_argument("--epochs", type=int, default=5, help="training epochs (the seed's value: 5)")
_parser.add_argument("--limit", type=int, default=None, help="train on the first N images only (default: all)")
_parser.add_argument("--seed", type=int, default=0, help="tinydl's random seed (init, shuffling)")
_args = _parser.parse_args(sys.argv[1:])
EPOCHS, LIMIT = _args.epochs, _args.limit
_t_start = time.perf_counter()
__import__("tinydl").manual_seed(_args.seed)

# ---- the seed program, with `tensorflow` -> `tinydl` in the imports ---------------------------
import tinydl.tf as tf
from tinydl.keras import layers, models
import numpy as np

# load the data set
(x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
x_train, y_train = x_train[:LIMIT], y_train[:LIMIT]  # (added: --limit; None keeps everything)

# preprocessing
x_train = x_train.astype('float32') / 255
x_test = x_test.astype('float32') / 255
x_train = np.expand_dims(x_train, -1)
x_test = np.expand_dims(x_test, -1)

# build the model
model = models.Sequential()
model.add(layers.Conv2D(32, (3, 3), activation='relu', input_shape=(28, 28, 1)))
model.add(layers.MaxPooling2D((2, 2)))
model.add(layers.Conv2D(64, (3, 3), activation='relu'))
model.add(layers.MaxPooling2D((2, 2)))
model.add(layers.Conv2D(64, (3, 3), activation='relu'))
model.add(layers.Flatten())
model.add(layers.Dense(64, activation='relu'))
model.add(layers.Dense(10, activation='softmax'))

# compile
model.compile(optimizer='adam',
              loss='sparse_categorical_crossentropy',
              metrics=['accuracy'])

# train
model.fit(x_train, y_train, epochs=EPOCHS)

# evaluate
test_loss, test_acc = model.evaluate(x_test, y_test)
print(f'test accuracy: {test_acc:.2f}')
# ---- end of the seed program ------------------------------------------------------------------

epoch_seconds = model.history.epoch_seconds
train_accuracy = model.history.history["accuracy"]
print(f"measured: {len(x_train)} training images, {len(epoch_seconds)} epochs, "
      f"training accuracy per epoch {[round(a, 4) for a in train_accuracy]}")
print(f"measured: test accuracy {test_acc:.4f} (seed claims 0.99270), test loss {test_loss:.4f}")
print(f"measured: {sum(epoch_seconds) / max(len(epoch_seconds), 1):.1f} s per epoch "
      f"(total run {time.perf_counter() - _t_start:.1f} s)")
