"""Run under mpiexec: Keras-style fit under MultiWorkerMirroredStrategy.

usage: keras_fit.py OUT_DIR
Trains 3 epochs (global batch 24 on 100 samples: a short last batch of 4) with a ModelCheckpoint
and a CSVLogger. Rank 0 saves the final weights to OUT_DIR/final.npz; every rank writes its
history to OUT_DIR/history_<rank>.json.
"""
import json
import pathlib
import sys

import numpy as np

import tinydl
from tinydl import keras
from tinydl.keras.distribute import MultiWorkerMirroredStrategy


def make_data(n=100):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(n, 5)).astype(np.float32)
    y = (x @ rng.normal(size=5) > 0).astype(np.int64)
    return x, y


def make_model():
    model = keras.Sequential([keras.layers.Dense(8, activation="tanh", input_shape=(5,),
                                                 kernel_regularizer=keras.regularizers.L2(1e-3)),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def main(out_dir):
    out_dir = pathlib.Path(out_dir)
    strategy = MultiWorkerMirroredStrategy()
    tinydl.manual_seed(strategy.rank)  # different initial weights and shuffles: fit must sync them
    with strategy.scope():
        model = make_model()
    x, y = make_data()
    history = model.fit(x, y, batch_size=24, epochs=3, verbose=2, shuffle=False,
                        callbacks=[keras.callbacks.ModelCheckpoint(str(out_dir / f"ckpt_{strategy.rank}.npz")),
                                   keras.callbacks.CSVLogger(str(out_dir / f"log_{strategy.rank}.csv"))])
    (out_dir / f"history_{strategy.rank}.json").write_text(json.dumps(history.history))
    if strategy.is_chief:
        np.savez(out_dir / "final.npz", *model.get_weights())
    # shuffled fit: ranks must still agree
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    w = np.concatenate([a.ravel() for a in model.get_weights()])
    t = tinydl.Tensor(w.copy())
    tinydl.distributed.broadcast(t, 0)
    assert np.array_equal(t.detach().numpy(), w), "weights differ between ranks after a shuffled fit"
    print(f"rank {strategy.rank}: done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
