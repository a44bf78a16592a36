"""Pruning the seed CNN: sparsity vs test accuracy, and the speed-up of removing filters.

Train the seed's Keras CNN on MNIST, then for each target sparsity (fraction of the conv and
dense kernels' weights set to zero):

  one-shot, per layer      every kernel loses that fraction of its smallest |w|
  one-shot, global         one |w| threshold over all kernels
  global + fine-tune       then ``--finetune-steps`` steps of training with the masks held
  gradual (polynomial)     ``--finetune-steps`` steps during which the sparsity follows Zhu &
                           Gupta's cubic schedule from 0 to the target (global), pruning every
                           ``--frequency`` steps

Structured pruning removes the fraction of filters/units with the smallest L1 norm from every
layer but the last (the layers become smaller), fine-tunes, and times inference (batch 256,
median of ``--repeats``) of the original and the smaller network.

    TINYDL_DATA=../shared/data python examples/prune.py            # the full tables
    TINYDL_DATA=../shared/data python examples/prune.py --quick    # < 1 min
"""
import argparse
import statistics
import sys
import time

import numpy as np


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--limit", type=int, default=None, help="training images (default: all 60,000)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--sparsities", default="0.5,0.75,0.9,0.95")
    p.add_argument("--filter-fractions", default="0.25,0.5,0.75")
    p.add_argument("--finetune-steps", type=int, default=300)
    p.add_argument("--frequency", type=int, default=25, help="gradual pruning: steps between mask updates")
    p.add_argument("--test-limit", type=int, default=None)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="a small run for the tests (< 1 min)")
    args = p.parse_args(argv)
    if args.quick:
        args.limit, args.sparsities, args.filter_fractions = 2000, "0.5,0.9", "0.5"
        args.finetune_steps, args.frequency, args.test_limit, args.repeats = 20, 5, 1000, 2
    return args


def seed_cnn():
    from tinydl.keras import layers, models
    m = models.Sequential([
        layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)), layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"), layers.Flatten(),
        layers.Dense(64, activation="relu"), layers.Dense(10, activation="softmax")])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def inference_rate(model, x, repeats):
    import tinydl
    times = []
    with tinydl.no_grad():
        model(tinydl.Tensor(x[:256]))  # warm-up
        for _ in range(repeats):
            t = time.perf_counter()
            for s in range(0, len(x), 256):
                model(tinydl.Tensor(x[s:s + 256]))
            times.append(time.perf_counter() - t)
    return len(x) / statistics.median(times)


def main(argv=None):
    args = parse_args(argv)
    import os
    import tempfile
    import tinydl
    from tinydl.compress import (PolynomialSparsity, count_parameters, prepare_masks, prune_filters,
                                 prune_magnitude, sparsity_report)
    from tinydl.compress.keras_callbacks import GradualPruning

    (x_train, y_train), (x_test, y_test) = tinydl.keras.datasets.mnist.load_data()
    x_train = x_train[:args.limit].astype("float32")[..., None] / 255
    y_train = y_train[:args.limit]
    x_test = x_test[:args.test_limit].astype("float32")[..., None] / 255
    y_test = y_test[:args.test_limit]

    tinydl.manual_seed(args.seed)
    model = seed_cnn()
    t = time.perf_counter()
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=32, verbose=0)
    _, base_acc = model.evaluate(x_test, y_test, verbose=0)
    print(f"trained on {len(x_train)} images for {args.epochs} epoch(s) ({time.perf_counter() - t:.1f} s): "
          f"test accuracy {base_acc:.4f} on {len(x_test)} images")
    tmp = tempfile.mkdtemp()
    trained = os.path.join(tmp, "trained.npz")
    model.save_weights(trained)

    def fresh():
        m = seed_cnn()
        m.build((None, 28, 28, 1))
        m.load_weights(trained)
        return m

    rng = np.random.default_rng(args.seed)
    ft_idx = rng.permutation(len(x_train))[:args.finetune_steps * 32]
    xf, yf = x_train[ft_idx], y_train[ft_idx]

    rows = []
    for s in [float(v) for v in args.sparsities.split(",")]:
        row = {"sparsity": s}
        for key, scope in (("layer", "layer"), ("global", "global")):
            m = fresh()
            prune_magnitude(m, s, scope=scope)
            row[key] = m.evaluate(x_test, y_test, verbose=0)[1]
        m = fresh()
        prune_magnitude(m, s, scope="global")
        m.fit(xf, yf, epochs=1, batch_size=32, verbose=0)
        row["finetuned"] = m.evaluate(x_test, y_test, verbose=0)[1]
        row["finetuned_sparsity"] = sparsity_report(m)["total"]
        path = os.path.join(tmp, "pruned.npz")
        m.save_weights(path)
        reloaded = seed_cnn()
        reloaded.build((None, 28, 28, 1))
        prepare_masks(reloaded, path)
        reloaded.load_weights(path)
        row["reloaded_sparsity"] = sparsity_report(reloaded)["total"]
        m = fresh()
        schedule = PolynomialSparsity(0.0, s, begin_step=0, end_step=max(1, int(0.8 * args.finetune_steps)),
                                      frequency=args.frequency)
        m.fit(xf, yf, epochs=1, batch_size=32, verbose=0, callbacks=[GradualPruning(schedule, scope="global")])
        row["gradual"] = m.evaluate(x_test, y_test, verbose=0)[1]
        row["gradual_sparsity"] = sparsity_report(m)["total"]
        rows.append(row)
        print(f"  sparsity {s:.0%}: per-layer {row['layer']:.4f}, global {row['global']:.4f}, "
              f"global+fine-tune {row['finetuned']:.4f} (kept {row['finetuned_sparsity']:.1%}, after reload "
              f"{row['reloaded_sparsity']:.1%}), gradual {row['gradual']:.4f} ({row['gradual_sparsity']:.1%})",
              flush=True)

    base_rate = inference_rate(fresh(), x_test, args.repeats)
    srows = []
    for frac in [float(v) for v in args.filter_fractions.split(",")]:
        m = fresh()
        before = count_parameters(m)
        prune_filters(m, frac)
        acc0 = m.evaluate(x_test, y_test, verbose=0)[1]
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        m.fit(xf, yf, epochs=1, batch_size=32, verbose=0)
        acc1 = m.evaluate(x_test, y_test, verbose=0)[1]
        rate = inference_rate(m, x_test, args.repeats)
        shapes = "-".join(str(l.kernel.shape[-1]) for l in m.layers if hasattr(l, "kernel"))
        srows.append({"fraction": frac, "params": count_parameters(m), "params_before": before, "shapes": shapes,
                      "acc_pruned": acc0, "acc_finetuned": acc1, "rate": rate, "speedup": rate / base_rate})
        print(f"  filters -{frac:.0%}: widths {shapes}, {srows[-1]['params']:,} parameters, accuracy "
              f"{acc0:.4f} -> {acc1:.4f} after fine-tuning, {rate:,.0f} images/s ({rate / base_rate:.2f}x)", flush=True)

    print(f"\nUnstructured magnitude pruning of the seed CNN (baseline test accuracy {base_acc:.4f}; "
          f"fine-tuning: {args.finetune_steps} steps of batch 32)\n")
    print("| sparsity | one-shot, per layer | one-shot, global | global + fine-tune | gradual (polynomial) |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['sparsity']:.0%} | {r['layer']:.4f} | {r['global']:.4f} | {r['finetuned']:.4f} | "
              f"{r['gradual']:.4f} |")
    print(f"\nStructured pruning (filters/units removed by L1 norm, then fine-tuned); inference at batch 256 "
          f"on {len(x_test)} images, median of {args.repeats}; unpruned: {base_rate:,.0f} images/s\n")
    print("| filters removed | widths (conv-conv-conv-dense-out) | parameters | accuracy pruned | "
          "after fine-tune | images/s | speed-up |")
    print("|---|---|---|---|---|---|---|")
    print(f"| 0% | 32-64-64-64-10 | {srows[0]['params_before'] if srows else 0:,} | {base_acc:.4f} | — | "
          f"{base_rate:,.0f} | 1.00x |")
    for r in srows:
        print(f"| {r['fraction']:.0%} | {r['shapes']} | {r['params']:,} | {r['acc_pruned']:.4f} | "
              f"{r['acc_finetuned']:.4f} | {r['rate']:,.0f} | {r['speedup']:.2f}x |")
    return {"base_accuracy": float(base_acc), "unstructured": rows, "structured": srows, "base_rate": base_rate}


if __name__ == "__main__":
    main(sys.argv[1:])
