"""The subclassed Keras layer and model that tests/golden/record_keras_tf.py records under
TensorFlow and tests/test_keras_subclassing.py checks under tinydl.tf: one definition, given the
framework's ``tf``, ``keras`` and ``layers`` modules."""


def define(tf, keras, layers):
    """Returns the classes (Linear, Block) written against the given framework."""

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

    return Linear, Block
