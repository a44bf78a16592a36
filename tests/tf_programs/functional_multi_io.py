"""The functional API with two inputs and two outputs, as in the Keras guide's ticket example:
a title (token ids) and tags (multi-hot) in; a priority score (regression) and a department
(classification) out, with losses and loss_weights given as dicts keyed by output name."""
import numpy as np
from tinydl import keras
from tinydl.keras import layers

num_tags, num_words, num_departments = 12, 100, 4
title_input = keras.Input(shape=(8,), name="title")
tags_input = keras.Input(shape=(num_tags,), name="tags")
title_features = layers.GlobalAveragePooling1D()(layers.Embedding(num_words, 16)(title_input))
x = layers.concatenate([title_features, tags_input])
x = layers.Dense(32, activation="relu")(x)
priority_pred = layers.Dense(1, name="priority")(x)
department_pred = layers.Dense(num_departments, name="department")(x)
model = keras.Model(inputs=[title_input, tags_input], outputs=[priority_pred, department_pred])

model.compile(
    optimizer=keras.optimizers.RMSprop(1e-2),
    loss={"priority": keras.losses.MeanSquaredError(),
          "department": keras.losses.SparseCategoricalCrossentropy(from_logits=True)},
    loss_weights={"priority": 1.0, "department": 0.5},
    metrics={"department": ["accuracy"]},
)
rng = np.random.default_rng(0)
title_data = rng.integers(0, num_words, size=(512, 8))
tags_data = rng.integers(0, 2, size=(512, num_tags)).astype("float32")
priority_targets = tags_data[:, :3].sum(axis=1, keepdims=True) / 3
dept_targets = tags_data[:, 3:5] @ np.array([1, 2])  # 0..3, from two of the tags
history = model.fit({"title": title_data, "tags": tags_data},
                    {"priority": priority_targets, "department": dept_targets},
                    epochs=15, batch_size=32, verbose=0)
print(sorted(history.history))
assert {"loss", "priority_loss", "department_loss", "department_accuracy"} <= set(history.history)
print({k: round(v[-1], 4) for k, v in history.history.items()})
assert history.history["department_accuracy"][-1] > 0.9
assert history.history["priority_loss"][-1] < history.history["priority_loss"][0] / 3
