"""The seed's Keras CNN on MNIST, trained data-parallel with MultiWorkerMirroredStrategy.

    TINYDL_DATA=../shared/data mpiexec -n 2 python examples/mnist_keras_distributed.py --epochs 1

The seed program with the model built and compiled inside ``strategy.scope()``. ``batch_size`` in
``fit`` is the global batch (as in TensorFlow): with 2 processes and 64, each trains on 32 images
per step. Rank 0 alone prints progress and writes the checkpoint (atomically, every epoch).
"""
import argparse
import time

import numpy as np

import tinydl.tf as tf
from tinydl.keras import layers, models

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--epochs", type=int, default=1)
parser.add_argument("--batch-size", type=int, default=64, help="the global batch")
parser.add_argument("--limit", type=int, default=None, help="train on the first N images")
parser.add_argument("--test-limit", type=int, default=None, help="evaluate on the first N test images")
parser.add_argument("--checkpoint", default="mnist_keras_distributed.weights.npz")
args = parser.parse_args()

strategy = tf.keras.distribute.MultiWorkerMirroredStrategy()
tf.random.set_seed(0)

(x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
x_train, y_train = x_train[:args.limit], y_train[:args.limit]
x_test, y_test = x_test[:args.test_limit], y_test[:args.test_limit]
x_train = np.expand_dims(x_train.astype('float32') / 255, -1)
x_test = np.expand_dims(x_test.astype('float32') / 255, -1)

with strategy.scope():
    model = models.Sequential()
    model.add(layers.Conv2D(32, (3, 3), activation='relu', input_shape=(28, 28, 1)))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation='relu'))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation='relu'))
    model.add(layers.Flatten())
    model.add(layers.Dense(64, activation='relu'))
    model.add(layers.Dense(10, activation='softmax'))
    model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])

start = time.perf_counter()
model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size, verbose=2,
          callbacks=[tf.keras.callbacks.ModelCheckpoint(args.checkpoint)])
elapsed = time.perf_counter() - start
test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0)
if strategy.is_chief:
    print(f"{strategy.num_replicas_in_sync} processes: {elapsed / args.epochs:.1f} s per epoch, "
          f"test accuracy {test_acc:.4f}")
