"""Variable-length sequences as the Keras masking guide handles them: pad_sequences, then
Embedding(mask_zero=True) so the padding is masked through a Bidirectional LSTM; the task is to
say whether a sequence's first token is larger than its last (padding must be ignored)."""
import numpy as np
from tinydl import keras
from tinydl.keras import layers

rng = np.random.default_rng(0)
raw = [list(rng.integers(1, 20, size=rng.integers(3, 12))) for _ in range(800)]
labels = np.array([float(s[0] > s[-1]) for s in raw])
padded = keras.utils.pad_sequences(raw, padding="post")
print("padded shape", padded.shape)

model = keras.Sequential([
    keras.Input(shape=(None,), dtype="int32"),
    layers.Embedding(input_dim=20, output_dim=16, mask_zero=True),
    layers.Bidirectional(layers.LSTM(16)),
    layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(padded, labels, epochs=12, batch_size=32, verbose=0)
print("accuracy", round(history.history["accuracy"][-1], 3))
assert history.history["accuracy"][-1] > 0.85

# the mask makes the padding irrelevant: more trailing zeros give the same prediction
one = keras.utils.pad_sequences(raw[:4], maxlen=12, padding="post")
longer = keras.utils.pad_sequences(raw[:4], maxlen=20, padding="post")
np.testing.assert_allclose(model.predict(one, verbose=0), model.predict(longer, verbose=0), rtol=1e-5, atol=1e-6)
