"""Image classification with data augmentation (after the Keras guide "Image classification from
scratch"), on tiny made-up images: RandomFlip/RandomRotation/RandomZoom, Rescaling,
SeparableConv2D; then a small convolutional autoencoder with UpSampling2D.
Only the imports differ from Keras."""
import numpy as np
from tinydl import keras
from tinydl.keras import layers

keras.utils.set_random_seed(3)
rng = np.random.default_rng(3)

# two classes: a bright square in the top half, or in the bottom half
n = 64
images = rng.uniform(0, 60, size=(n, 16, 16, 3)).astype("float32")
labels = np.arange(n) % 2
for i in range(n):
    row = rng.integers(1, 5) + (8 if labels[i] else 0)
    col = rng.integers(2, 10)
    images[i, row:row + 4, col:col + 4, :] = 240.0

data_augmentation = keras.Sequential([
    layers.RandomFlip("horizontal"),
    layers.RandomRotation(0.03),
    layers.RandomZoom(0.05),
])
augmented = data_augmentation(images[:4], training=True)
print("augmented batch:", augmented.shape)


def make_model(input_shape, num_classes):
    inputs = keras.Input(shape=input_shape)
    x = data_augmentation(inputs)
    x = layers.Rescaling(1.0 / 255)(x)
    x = layers.Conv2D(8, 3, strides=2, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.SeparableConv2D(16, 3, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("swish")(x)
    x = layers.MaxPooling2D(2, padding="same")(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.25)(x)
    units = 1 if num_classes == 2 else num_classes
    outputs = layers.Dense(units, activation=None)(x)
    return keras.Model(inputs, outputs)


model = make_model(input_shape=(16, 16, 3), num_classes=2)
model.compile(
    optimizer=keras.optimizers.Adam(3e-3),
    loss=keras.losses.BinaryCrossentropy(from_logits=True),
    metrics=[keras.metrics.BinaryAccuracy(name="acc", threshold=0.0)],
)
model.fit(images, labels, epochs=12, batch_size=16, verbose=0)
loss, acc = model.evaluate(images, labels, verbose=0)
print(f"classifier: loss={loss:.3f} acc={acc:.3f}")
assert acc > 0.8

# a small convolutional autoencoder
encoder_input = keras.Input(shape=(16, 16, 3))
x = layers.Rescaling(1.0 / 255)(encoder_input)
x = layers.Conv2D(8, 3, activation="relu", padding="same")(x)
x = layers.MaxPooling2D(2)(x)
x = layers.Conv2D(4, 3, activation="relu", padding="same")(x)
encoded = layers.MaxPooling2D(2)(x)
x = layers.UpSampling2D(2)(encoded)
x = layers.Conv2D(8, 3, activation="relu", padding="same")(x)
x = layers.UpSampling2D(2, interpolation="bilinear")(x)
x = layers.ZeroPadding2D(1)(x)
x = layers.Cropping2D(1)(x)
decoded = layers.Conv2D(3, 3, activation="sigmoid", padding="same")(x)
autoencoder = keras.Model(encoder_input, decoded)
autoencoder.compile(optimizer="adam", loss="mse")
targets = images / 255.0
before = autoencoder.evaluate(images, targets, verbose=0)
autoencoder.fit(images, targets, epochs=8, batch_size=16, verbose=0)
after = autoencoder.evaluate(images, targets, verbose=0)
print(f"autoencoder: mse {before:.4f} -> {after:.4f}")
assert autoencoder.output_shape == (None, 16, 16, 3)
assert after < before
