# TensorFlow 2 quickstart for beginners, with the import rule applied (small random data).
import numpy as np
import tinydl.tf as tf

rng = np.random.default_rng(0)
x_train = rng.random((256, 28, 28)).astype("float32")
y_train = (x_train[:, :14].mean(axis=(1, 2)) > x_train[:, 14:].mean(axis=(1, 2))).astype("int64")
x_test, y_test = x_train[:64], y_train[:64]

model = tf.keras.models.Sequential([
    tf.keras.layers.Flatten(input_shape=(28, 28)),
    tf.keras.layers.Dense(128, activation='relu'),
    tf.keras.layers.Dropout(0.2),
    tf.keras.layers.Dense(10)
])

predictions = model(x_train[:1]).numpy()
probs = tf.nn.softmax(predictions).numpy()
loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
initial = loss_fn(y_train[:1], predictions).numpy()

model.compile(optimizer='adam', loss=loss_fn, metrics=['accuracy'])
model.fit(x_train, y_train, epochs=3, verbose=0)
loss, acc = model.evaluate(x_test, y_test, verbose=2)

probability_model = tf.keras.Sequential([model, tf.keras.layers.Softmax()])
out = probability_model(x_test[:5])
print("probs sum", float(np.sum(probs)), "initial loss", float(initial), "accuracy", acc, "out", out.shape)
assert abs(float(np.sum(probs)) - 1) < 1e-5 and acc > 0.6 and tuple(out.shape) == (5, 10)
