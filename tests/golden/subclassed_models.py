"""The subclassed Keras layer and models that tests/golden/record_keras_tf.py records under
TensorFlow and tests/test_keras_subclassing.py checks under tinydl.tf: one definition, given the
framework's ``tf``, ``keras`` and ``layers`` modules."""


def define(tf, keras, layers):
    """Returns the classes (Linear, Block, GuideModel) written against the given framework;
    GuideModel overrides train_step as Keras 3's "customizing fit" guide writes it."""

    class Linear(layers.Layer):
        def __init__(self, units=3):
            super().__init__()
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal",
                                     trainable=True)
            self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)

        def call(self, inputs):
            self.add_loss(0.01 * tf.reduce_sum(tf.square(self.w)))
            return tf.matmul(inputs, self.w) + self.b

    class Block(keras.Model):
        def __init__(self):
            super().__init__()
            self.lin = Linear(5)
            self.drop = layers.Dropout(0.5)
            self.out = layers.Dense(2)

        def call(self, inputs, training=None):
            h = tf.nn.relu(self.lin(inputs))
            h = self.drop(h, training=training)
            return self.out(h)

    class GuideModel(keras.Model):
        def train_step(self, data):
            x, y = data
            with tf.GradientTape() as tape:
                y_pred = self(x, training=True)
                loss = self.compute_loss(y=y, y_pred=y_pred)
            trainable_vars = self.trainable_variables
            gradients = tape.gradient(loss, trainable_vars)
            self.optimizer.apply_gradients(zip(gradients, trainable_vars))
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred)
            return {m.name: m.result() for m in self.metrics}

    return Linear, Block, GuideModel
