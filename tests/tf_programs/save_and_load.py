"""Save, serialize and reload models (after the Keras guide "Save, serialize, and export
models"): model.save / keras.models.load_model, a registered custom function, get_config /
from_config, to_json / model_from_json, clone_model. Only the imports differ from Keras."""
import os
import tempfile

import numpy as np
from tinydl import keras


@keras.saving.register_keras_serializable(package="my_package", name="custom_fn")
def custom_fn(x):
    return x**2


def get_model():
    # Create a simple model.
    inputs = keras.Input(shape=(32,))
    hidden = keras.layers.Dense(8, activation=custom_fn)(inputs)
    outputs = keras.layers.Dense(1)(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(), loss="mean_squared_error")
    return model


workdir = tempfile.mkdtemp()
model = get_model()

# Train the model.
test_input = np.random.random((128, 32))
test_target = np.random.random((128, 1))
model.fit(test_input, test_target, verbose=0)

# Calling `save('my_model.keras')` creates a zip archive `my_model.keras`.
path = os.path.join(workdir, "my_model.keras")
model.save(path)

# It can be used to reconstruct the model identically.
reconstructed_model = keras.models.load_model(path)

# Let's check:
np.testing.assert_allclose(model.predict(test_input, verbose=0), reconstructed_model.predict(test_input, verbose=0))

# The reconstructed model is already compiled and has retained the optimizer settings,
# so training can resume:
reconstructed_model.fit(test_input, test_target, verbose=0)

# Layer and model configurations
layer = keras.layers.Dense(3, activation="relu")
layer_config = layer.get_config()
new_layer = keras.layers.Dense.from_config(layer_config)
assert new_layer.get_config() == layer_config

sequential = keras.Sequential([keras.Input((32,)), keras.layers.Dense(1)])
config = sequential.get_config()
new_model = keras.Sequential.from_config(config)
assert new_model.count_params() == sequential.count_params()

json_config = model.to_json()
new_model = keras.models.model_from_json(json_config)
assert new_model.count_params() == model.count_params()

# clone_model: the same architecture, new weights
clone = keras.models.clone_model(model)
assert [w.shape for w in clone.get_weights()] == [w.shape for w in model.get_weights()]

# transferring weights between models with the same architecture
clone.set_weights(model.get_weights())
np.testing.assert_allclose(clone.predict(test_input, verbose=0), model.predict(test_input, verbose=0))
print("saved, reloaded, cloned: OK")
