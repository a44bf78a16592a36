"""Transfer learning as the Keras guide does it: a base with BatchNormalization is trained, then
frozen (base.trainable = False) under a new head and called with training=False; fitting the head
leaves the base's weights and BatchNorm's moving statistics untouched; then the base is unfrozen
and the whole model recompiled with a low learning rate for fine-tuning."""
import numpy as np
from tinydl import keras
from tinydl.keras import layers

rng = np.random.default_rng(0)
x_a = rng.normal(size=(400, 10)).astype("float32")
y_a = (x_a[:, :5].sum(axis=1) > 0).astype("float32")
x_b = rng.normal(loc=0.5, size=(200, 10)).astype("float32")
y_b = (x_b[:, :5].sum(axis=1) > 2.5).astype("float32")  # a shifted version of the first task

base = keras.Sequential([keras.Input(shape=(10,)), layers.Dense(32, activation="relu"),
                         layers.BatchNormalization(), layers.Dense(16, activation="relu")])
pretrain = keras.Sequential([base, layers.Dense(1, activation="sigmoid")])
pretrain.compile(optimizer="adam", loss="binary_crossentropy")
pretrain.fit(x_a, y_a, epochs=10, verbose=0)

base.trainable = False
inputs = keras.Input(shape=(10,))
features = base(inputs, training=False)
outputs = layers.Dense(1, activation="sigmoid")(features)
model = keras.Model(inputs, outputs)
print("trainable weights:", len(model.trainable_weights), "non-trainable:", len(model.non_trainable_weights))
assert len(model.trainable_weights) == 2
before = [w.copy() for w in base.get_weights()]
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy", metrics=["accuracy"])
head_history = model.fit(x_b, y_b, epochs=10, verbose=0)
print("head accuracy", round(head_history.history["accuracy"][-1], 3))
assert head_history.history["accuracy"][-1] > 0.7
after = base.get_weights()
assert all(np.array_equal(a, b) for a, b in zip(before, after)), "the frozen base changed"

base.trainable = True
model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(x_b, y_b, epochs=3, verbose=0)
assert not all(np.array_equal(a, b) for a, b in zip(before, base.get_weights()))
print("fine-tuned accuracy", round(history.history["accuracy"][-1], 3))
assert history.history["accuracy"][-1] > 0.65
