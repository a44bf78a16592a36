"""A learning-rate schedule and a custom callback, as in the Keras guides: Adam with an
ExponentialDecay schedule, a Callback subclass that records the logs and the optimizer's current
learning rate at the end of each epoch, and a LearningRateScheduler on a second model."""
import numpy as np
from tinydl import keras
from tinydl.keras import layers

rng = np.random.default_rng(0)
x = rng.normal(size=(256, 4)).astype("float32")
y = x @ np.array([[1.0], [-2.0], [0.5], [3.0]], dtype="float32") + 0.1


class Recorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seen = []

    def on_epoch_end(self, epoch, logs=None):
        lr = float(self.model.optimizer.learning_rate)
        self.seen.append((epoch, round(logs["loss"], 5), lr))


schedule = keras.optimizers.schedules.ExponentialDecay(0.05, decay_steps=8, decay_rate=0.5)
model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(1)])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=schedule), loss="mse")
recorder = Recorder()
model.fit(x, y, epochs=4, batch_size=32, callbacks=[recorder], verbose=0)
for row in recorder.seen:
    print(row)
lrs = [r[2] for r in recorder.seen]
np.testing.assert_allclose(lrs, [0.05 * 0.5 ** (8 * (e + 1) / 8) for e in range(4)], rtol=1e-5)
assert recorder.seen[-1][1] < recorder.seen[0][1]

model2 = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(1)])
model2.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
history = model2.fit(x, y, epochs=3, verbose=0,
                     callbacks=[keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5)])
print("learning_rate per epoch", history.history["learning_rate"])
np.testing.assert_allclose(history.history["learning_rate"], [0.05, 0.025, 0.0125], rtol=1e-6)
