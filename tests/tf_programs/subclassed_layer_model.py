# Making new layers and models via subclassing (Keras guide), with the import rule applied.
import numpy as np
import tinydl.tf as tf
from tinydl.tf import keras
from tinydl.tf.keras import layers


class Linear(keras.layers.Layer):
    def __init__(self, units=32):
        super().__init__()
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="random_normal", trainable=True)

    def call(self, inputs):
        return tf.matmul(inputs, self.w) + self.b


class ActivityRegularizationLayer(keras.layers.Layer):
    def __init__(self, rate=1e-2):
        super().__init__()
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * tf.reduce_sum(inputs))
        return inputs


class MLPBlock(keras.Model):
    def __init__(self):
        super().__init__()
        self.linear_1 = Linear(32)
        self.linear_2 = Linear(32)
        self.reg = ActivityRegularizationLayer()
        self.linear_3 = Linear(1)

    def call(self, inputs):
        x = self.linear_1(inputs)
        x = tf.nn.relu(x)
        x = self.linear_2(x)
        x = tf.nn.relu(self.reg(x))
        return self.linear_3(x)


mlp = MLPBlock()
y = mlp(tf.ones(shape=(3, 64)))
print("weights:", len(mlp.weights), "trainable weights:", len(mlp.trainable_weights), "losses:", len(mlp.losses))
assert len(mlp.weights) == 6 and len(mlp.trainable_weights) == 6 and len(mlp.losses) == 1
assert mlp.count_params() == 64 * 32 + 32 + 32 * 32 + 32 + 32 + 1

x = np.random.default_rng(2).normal(size=(128, 64)).astype("float32")
target = x[:, :1] * 0.5
mlp.compile(optimizer=keras.optimizers.Adam(1e-3), loss=keras.losses.MeanSquaredError())
history = mlp.fit(x, target, epochs=3, batch_size=32, verbose=0)
print(history.history["loss"])
assert history.history["loss"][-1] < history.history["loss"][0]
