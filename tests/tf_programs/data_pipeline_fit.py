# A tf.data input pipeline fed to Model.fit (tf.data guide style), with the import rule applied.
import numpy as np
import tinydl.tf as tf
from tinydl.tf import keras

rng = np.random.default_rng(3)
features = rng.normal(size=(300, 8)).astype("float32")
labels = (features @ rng.normal(size=(8,)) > 0).astype("int64")


def normalize(x, y):
    return tf.cast(x, tf.float32) / 2.0, y


dataset = tf.data.Dataset.from_tensor_slices((features, labels))
train_ds = dataset.take(240).map(normalize, num_parallel_calls=tf.data.AUTOTUNE).cache()
train_ds = train_ds.shuffle(240).batch(32).prefetch(tf.data.AUTOTUNE)
val_ds = dataset.skip(240).map(normalize).batch(32)

model = keras.Sequential([
    keras.Input(shape=(8,)),
    keras.layers.Dense(16, activation="relu"),
    keras.layers.Dense(2, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(train_ds, validation_data=val_ds, epochs=15, verbose=0)
print(sorted(history.history), history.history["val_accuracy"][-1])
assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
assert history.history["accuracy"][-1] > 0.75
print("cardinality", int(train_ds.cardinality()), int(val_ds.cardinality()))
