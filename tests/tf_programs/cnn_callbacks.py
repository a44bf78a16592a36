"""A small convnet in the style of the Keras guides: Conv2D/MaxPooling2D/Flatten/Dropout/Dense on
made-up 12x12 images (is the bright bar horizontal or vertical?), validation_split, EarlyStopping
with restore_best_weights and a ModelCheckpoint writing a .keras file that load_model reads back."""
import os
import tempfile

import numpy as np
from tinydl import keras
from tinydl.keras import layers

rng = np.random.default_rng(0)
n = 600
images = rng.normal(0, 0.3, (n, 12, 12, 1)).astype("float32")
labels = rng.integers(0, 2, n)
for i, (label, pos) in enumerate(zip(labels, rng.integers(2, 10, n))):
    if label:
        images[i, :, pos, 0] += 1.0
    else:
        images[i, pos, :, 0] += 1.0

model = keras.Sequential([
    keras.Input(shape=(12, 12, 1)),
    layers.Conv2D(8, 3, activation="relu"),
    layers.MaxPooling2D(2),
    layers.Conv2D(16, 3, activation="relu"),
    layers.Flatten(),
    layers.Dropout(0.25),
    layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy", metrics=["accuracy"])
with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "best.keras")
    callbacks = [keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True),
                 keras.callbacks.ModelCheckpoint(path, monitor="val_loss", save_best_only=True)]
    history = model.fit(images, labels, epochs=8, batch_size=32, validation_split=0.2,
                        callbacks=callbacks, verbose=0)
    print(sorted(history.history))
    restored = keras.models.load_model(path)
    loss, acc = restored.evaluate(images, labels, verbose=0)
print(f"epochs run {len(history.history['loss'])}, accuracy of the best checkpoint {acc:.3f}")
assert acc > 0.9, acc
