"""Keras layer arguments checked against Keras 3 (tests/golden/record_keras_layer_args.py records,
tests/test_keras_layer_args.py replays): grouped convolution, activity regularizers, weight
constraints under training, channels-first Flatten, BatchNormalization's initializers. Each case
is ``fn(keras, layers, np) -> dict of arrays``, written once for both frameworks."""
import numpy as np

RNG = np.random.default_rng(77)
X_IMG = RNG.normal(size=(2, 5, 5, 4)).astype(np.float32)
K_GROUPS = RNG.normal(size=(3, 3, 2, 6)).astype(np.float32)
B_GROUPS = RNG.normal(size=(6,)).astype(np.float32)
X_VEC = RNG.normal(size=(8, 3)).astype(np.float32)
Y_VEC = RNG.normal(size=(8, 2)).astype(np.float32)
W_DENSE = (RNG.normal(size=(3, 2)) * 2).astype(np.float32)
IDS = np.array([[1, 2, 0], [3, 1, 2]], np.int32)
E_TABLE = RNG.normal(size=(4, 2)).astype(np.float32)


def conv_groups(keras, layers, np):
    conv = layers.Conv2D(6, 3, padding="same", groups=2, activation="relu")
    conv(X_IMG)
    conv.set_weights([K_GROUPS, B_GROUPS])
    return {"out": np.asarray(conv(X_IMG))}


def conv1d_groups(keras, layers, np):
    x = X_IMG.reshape(2, 25, 4)
    conv = layers.Conv1D(6, 3, strides=2, padding="causal", groups=2, activation="tanh")
    conv(x)
    conv.set_weights([K_GROUPS[1], B_GROUPS])
    return {"out": np.asarray(conv(x))}


def activity_regularizer(keras, layers, np):
    dense = layers.Dense(2, activity_regularizer=keras.regularizers.L1L2(l1=0.1, l2=0.5))
    dense(X_VEC)
    dense.set_weights([W_DENSE, np.zeros(2, np.float32)])
    dense(X_VEC)
    inp = keras.Input(shape=(3,))
    model = keras.Model(inp, layers.Dense(2, activity_regularizer="l2", name="d")(inp))
    model.get_layer("d").set_weights([W_DENSE, np.zeros(2, np.float32)])
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    history = model.fit(X_VEC, Y_VEC, batch_size=4, epochs=1, shuffle=False, verbose=0)
    return {"losses": np.array([float(v) for v in dense.losses]),
            "fit_loss": np.array(history.history["loss"][0])}


def constraints_in_training(keras, layers, np):
    inp = keras.Input(shape=(3,))
    ids = keras.Input(shape=(3,), dtype="int32")
    h = layers.Dense(2, kernel_constraint=keras.constraints.MaxNorm(1.0), bias_constraint="non_neg", name="d")(inp)
    e = layers.Embedding(4, 2, embeddings_constraint=keras.constraints.NonNeg(), name="e")(ids)
    out = layers.Add()([h, layers.GlobalAveragePooling1D()(e)])
    model = keras.Model([inp, ids], out)
    model.get_layer("d").set_weights([W_DENSE, np.array([0.05, -0.05], np.float32)])
    model.get_layer("e").set_weights([E_TABLE])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    x_ids = np.tile(IDS, (4, 1))
    model.fit([X_VEC, x_ids], Y_VEC, batch_size=8, epochs=3, shuffle=False, verbose=0)
    d_k, d_b = model.get_layer("d").get_weights()
    return {"kernel": d_k, "bias": d_b, "table": model.get_layer("e").get_weights()[0]}


def flatten_channels_first(keras, layers, np):
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2)
    return {"out": np.asarray(layers.Flatten(data_format="channels_first")(x))}


def batchnorm_initializers(keras, layers, np):
    bn = layers.BatchNormalization(gamma_initializer=keras.initializers.Constant(2.0), beta_initializer="ones",
                                   moving_mean_initializer=keras.initializers.Constant(0.5),
                                   moving_variance_initializer=keras.initializers.Constant(4.0))
    return {"out": np.asarray(bn(X_VEC, training=False)),
            "weights": np.stack([np.asarray(w) for w in bn.get_weights()])}


CASES = {f.__name__: f for f in (conv_groups, conv1d_groups, activity_regularizer, constraints_in_training, flatten_channels_first,
                                  batchnorm_initializers)}
