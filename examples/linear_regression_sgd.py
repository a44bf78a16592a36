"""The seed's two-feature linear regression (one Dense unit, SGD, mean squared error, 100 epochs).

Seed program 4 (/work/shared/seed-programs/linear_regression_sgd_keras.py) fits
``y = w1*x1 + w2*x2 + b`` ("house prices") but leaves the data undefined, and reports
"loss 0.0214 -> 0.0017 over 100 epochs, Test loss: 0.0014 - Test accuracy: 0.9999".

The data here: two standardized features x1, x2 ~ N(0, 1) and a target
``y = 3*x1 - 2*x2 + 1 + noise`` with noise ~ N(0, 0.1^2), standardized with the training set's
mean and standard deviation (as one would standardize a price). 800 training and 200 test
examples. A perfect fit leaves the noise: its variance in standardized units, 0.01 / Var(y)
(about 0.0008), is the floor no model can beat, and it is printed next to the losses.
(The seed's "accuracy" is meaningless for a regression, so it is not computed.)

    python examples/linear_regression_sgd.py            # 100 epochs, as the seed
    python examples/linear_regression_sgd.py --epochs 20
"""
import argparse

import numpy as np

import tinydl.tf as tf
from tinydl.keras import layers


def make_data(n_train=800, n_test=200, noise=0.1, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_train + n_test, 2))
    y = 3 * x[:, 0] - 2 * x[:, 1] + 1 + noise * rng.normal(size=n_train + n_test)
    mean, std = y[:n_train].mean(), y[:n_train].std()
    y = ((y - mean) / std).reshape(-1, 1)
    floor = noise ** 2 / std ** 2
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:]), floor, (mean, std)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100, help="training epochs (the seed's value: 100)")
    parser.add_argument("--seed", type=int, default=0, help="data and tinydl seed")
    parser.add_argument("--verbose", type=int, default=2, help="fit's verbosity (0, 1 or 2)")
    args = parser.parse_args(argv)
    tf.random.set_seed(args.seed)
    (x_train, y_train), (x_test, y_test), floor, (mean, std) = make_data(seed=args.seed)

    # ---- the seed program (epochs and verbosity from the flags) ----
    model = tf.keras.Sequential([
        layers.Dense(units=1, input_shape=[2])
    ])

    model.compile(optimizer='sgd', loss='mean_squared_error')

    history = model.fit(x_train, y_train, epochs=args.epochs, verbose=args.verbose)

    test_loss = model.evaluate(x_test, y_test, verbose=args.verbose)
    # ---- end of the seed program ----

    losses = history.history["loss"]
    kernel, bias = model.get_weights()
    w = kernel[:, 0] * std  # back to the target's units
    b = float(bias[0]) * std + mean
    result = {"first_epoch_loss": losses[0], "final_loss": losses[-1], "test_loss": test_loss,
              "noise_floor": floor, "w": w.tolist(), "b": b}
    print(f"measured: loss {losses[0]:.4f} (epoch 1) -> {losses[-1]:.4f} (epoch {len(losses)}); "
          f"test loss {test_loss:.4f}; noise floor {floor:.4f}")
    print(f"measured: learned y = {w[0]:.3f}*x1 + {w[1]:.3f}*x2 + {b:.3f} (true: 3, -2, 1); "
          "the seed claims loss 0.0214 -> 0.0017 and test loss 0.0014 on data it does not define")
    return result


if __name__ == "__main__":
    main()
