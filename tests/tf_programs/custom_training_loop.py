# Writing a training loop from scratch (Keras guide), with the import rule applied.
import numpy as np
import tinydl.tf as tf
from tinydl.tf import keras
from tinydl.tf.keras import layers

rng = np.random.default_rng(1)
x_train = rng.normal(size=(512, 20)).astype("float32")
y_train = (x_train[:, :10].sum(axis=1) > 0).astype("int64")

inputs = keras.Input(shape=(20,), name="digits")
x1 = layers.Dense(32, activation="relu")(inputs)
x2 = layers.Dense(32, activation="relu")(x1)
outputs = layers.Dense(2, name="predictions")(x2)
model = keras.Model(inputs=inputs, outputs=outputs)

optimizer = keras.optimizers.SGD(learning_rate=1e-1)
loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
train_acc_metric = keras.metrics.SparseCategoricalAccuracy()

batch_size = 64
train_dataset = tf.data.Dataset.from_tensor_slices((x_train, y_train))
train_dataset = train_dataset.shuffle(buffer_size=1024).batch(batch_size)


@tf.function
def train_step(x, y):
    with tf.GradientTape() as tape:
        logits = model(x, training=True)
        loss_value = loss_fn(y, logits)
    grads = tape.gradient(loss_value, model.trainable_weights)
    optimizer.apply_gradients(zip(grads, model.trainable_weights))
    train_acc_metric.update_state(y, logits)
    return loss_value


losses = []
for epoch in range(6):
    for step, (x_batch_train, y_batch_train) in enumerate(train_dataset):
        loss_value = train_step(x_batch_train, y_batch_train)
    losses.append(float(loss_value))
    train_acc = train_acc_metric.result()
    train_acc_metric.reset_state()
print("losses", losses, "accuracy", float(train_acc))
assert float(train_acc) > 0.7
