"""Text classification from scratch (the Keras guide's model, on a tiny made-up corpus):
TextVectorization -> Embedding -> Conv1D -> GlobalMaxPooling1D -> Dense.
Only the imports differ from Keras: ``from tinydl import keras``."""
import numpy as np
from tinydl import keras
from tinydl.keras import layers

keras.utils.set_random_seed(7)

positive = ["a wonderful film, truly great", "great acting and a great story", "I loved it, wonderful!",
            "what a delight, loved every minute", "brilliant and moving", "a great, great movie"]
negative = ["a terrible film, truly awful", "awful acting and a boring story", "I hated it, terrible!",
            "what a bore, hated every minute", "dull and lifeless", "an awful, awful movie"]
texts = np.array(positive * 4 + negative * 4)
labels = np.array([1] * 24 + [0] * 24, dtype="float32")
order = np.random.default_rng(0).permutation(len(texts))
texts, labels = texts[order], labels[order]

max_features = 100
sequence_length = 8

vectorize_layer = layers.TextVectorization(
    max_tokens=max_features,
    output_mode="int",
    output_sequence_length=sequence_length,
)
vectorize_layer.adapt(texts)
print("vocabulary:", vectorize_layer.get_vocabulary()[:8])

x = vectorize_layer(texts)

inputs = keras.Input(shape=(None,), dtype="int64")
h = layers.Embedding(max_features, 16)(inputs)
h = layers.Dropout(0.2)(h)
h = layers.Conv1D(16, 3, padding="valid", activation="relu", strides=1)(h)
h = layers.GlobalMaxPooling1D()(h)
h = layers.Dense(16, activation="relu")(h)
predictions = layers.Dense(1, activation="sigmoid", name="predictions")(h)

model = keras.Model(inputs, predictions)
model.compile(loss="binary_crossentropy", optimizer="adam",
              metrics=["accuracy", keras.metrics.AUC(name="auc")])
model.summary()
history = model.fit(x, labels, batch_size=8, epochs=25, validation_split=0.25, verbose=0)
loss, accuracy, auc = model.evaluate(x, labels, verbose=0)
print(f"loss={loss:.3f} accuracy={accuracy:.3f} auc={auc:.3f}")

probe = vectorize_layer(np.array(["a great and wonderful story", "an awful and boring film"]))
scores = model.predict(probe, verbose=0)
print("scores:", scores.ravel().round(3))
assert scores[0, 0] > scores[1, 0]
assert accuracy > 0.9
