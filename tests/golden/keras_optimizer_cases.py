"""The Keras optimizer runs that tests/golden/record_keras_optimizers.py records under Keras 3 and
tests/test_keras_optimizers_golden.py replays under tinydl.keras: one definition of each case."""
import numpy as np

# (name, optimizer class, keyword arguments)
CASES = [
    ("sgd", "SGD", dict(learning_rate=0.1)),
    ("sgd_momentum", "SGD", dict(learning_rate=0.05, momentum=0.9)),
    ("sgd_nesterov", "SGD", dict(learning_rate=0.05, momentum=0.9, nesterov=True)),
    ("sgd_weight_decay", "SGD", dict(learning_rate=0.05, weight_decay=0.1)),
    ("sgd_momentum_weight_decay", "SGD", dict(learning_rate=0.05, momentum=0.9, weight_decay=0.1)),
    ("adam", "Adam", dict(learning_rate=0.01)),
    ("adam_amsgrad", "Adam", dict(learning_rate=0.01, amsgrad=True)),
    ("adam_weight_decay", "Adam", dict(learning_rate=0.01, weight_decay=0.1)),
    ("adam_eps", "Adam", dict(learning_rate=0.01, epsilon=1e-3, beta_1=0.8, beta_2=0.99)),
    ("adamw", "AdamW", dict(learning_rate=0.01)),
    ("rmsprop", "RMSprop", dict(learning_rate=0.01)),
    ("rmsprop_momentum_centered", "RMSprop", dict(learning_rate=0.01, momentum=0.9, centered=True)),
    ("adagrad", "Adagrad", dict(learning_rate=0.1)),
    ("adamax", "Adamax", dict(learning_rate=0.01)),
    ("nadam", "Nadam", dict(learning_rate=0.01)),
    # learning_rate "decay": ExponentialDecay(initial, decay_steps=3, decay_rate=0.5), built by the caller
    ("sgd_momentum_schedule", "SGD", dict(learning_rate=("decay", 0.1), momentum=0.9)),
    ("sgd_nesterov_schedule_weight_decay", "SGD", dict(learning_rate=("decay", 0.1), momentum=0.9, nesterov=True,
                                                       weight_decay=0.05)),
    ("adam_schedule_weight_decay", "Adam", dict(learning_rate=("decay", 0.01), weight_decay=0.1)),
    ("rmsprop_schedule", "RMSprop", dict(learning_rate=("decay", 0.01), momentum=0.5)),
]


def build_kwargs(kwargs, schedules):
    """``kwargs`` with a ("decay", lr) learning rate made by ``schedules.ExponentialDecay``."""
    out = dict(kwargs)
    if isinstance(out.get("learning_rate"), tuple):
        out["learning_rate"] = schedules.ExponentialDecay(out["learning_rate"][1], decay_steps=3, decay_rate=0.5)
    return out

STEPS = 12


def gradients(seed=0):
    """Gradients over many scales (1e-7 .. 1), where the placement of epsilon matters."""
    rng = np.random.default_rng(seed)
    scales = 10.0 ** rng.integers(-7, 1, size=STEPS)
    return [(rng.normal(size=(2, 3)) * s).astype(np.float32) for s in scales]


def initial_weights(seed=1):
    return np.random.default_rng(seed).normal(size=(2, 3)).astype(np.float32)
