# Keras 3 style: a custom layer written with keras.ops, a subclassed model whose train_step calls
# optimizer.apply(grads, variables), trained with fit; the import rule applied.
import numpy as np
import tinydl.tf as tf
from tinydl.tf import keras
from tinydl.keras import ops

rng = np.random.default_rng(3)
x = rng.normal(size=(64, 4)).astype("float32")
y = (x[:, 0] - x[:, 1] > 0).astype("int32")


class RMSNormDense(keras.layers.Layer):
    """Dense on RMS-normalized inputs, all in keras.ops."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="zeros", name="kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, inputs):
        scale = ops.rsqrt(ops.mean(ops.square(inputs), axis=-1, keepdims=True) + 1e-6)
        return ops.add(ops.matmul(ops.multiply(inputs, scale), self.kernel), self.bias)


class Classifier(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = RMSNormDense(8)
        self.head = RMSNormDense(2)

    def call(self, inputs):
        return self.head(ops.gelu(self.hidden(inputs)))

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            logits = self(x, training=True)
            loss = ops.mean(ops.sparse_categorical_crossentropy(y, logits, from_logits=True))
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(grads, self.trainable_variables)
        return {"loss": loss}


model = Classifier()
model(x[:1])
init = np.random.default_rng(4)
model.set_weights([init.normal(size=w.shape).astype("float32") * 0.5 for w in model.get_weights()])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.5))
model.fit(x, y, batch_size=16, epochs=4, shuffle=False, verbose=0)

logits = model.predict(x, verbose=0)
final_loss = float(ops.mean(ops.sparse_categorical_crossentropy(y, logits, from_logits=True)))
accuracy = float(ops.mean(ops.cast(ops.equal(ops.argmax(logits, axis=-1), y), "float32")))
print("final loss", round(final_loss, 5), "accuracy", accuracy)
# the numbers Keras 3.15.1 on TensorFlow 2.21.0 prints for this program
assert abs(final_loss - 0.08898) < 1e-4 and accuracy == 0.984375, (final_loss, accuracy)
