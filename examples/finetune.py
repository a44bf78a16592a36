"""Fine-tuning the seed CNN: pretrain on digits 0-4, adapt to digits 5-9 with few labels.

Pretrain the seed's Keras CNN on MNIST digits 0-4, then learn digits 5-9 (as five new classes,
with a new 5-way head) from only ``--per-class`` labelled images per class, five ways:

  (a) scratch      the same network from random weights
  (b) full         every pretrained weight trained, with param groups: body lr 1e-4, head 1e-2
  (c) frozen       the pretrained body frozen (Keras ``trainable = False``), a new head trained
                   (lr 1e-2)
  (d) lora r=R     the body frozen, LoRA adapters (ΔW = B·A of rank R, lr 3e-3) on every
                   conv/dense layer of the body, and the new head (lr 1e-2), trained

All with Adam, batch 32; the from-scratch network uses Keras's default lr 1e-3. A new head learns
slowly at 1e-3 from fixed features, hence 1e-2 for it (param groups in the other variants).

and print test accuracy on all test images of digits 5-9, trainable parameters and time.

    TINYDL_DATA=../shared/data python examples/finetune.py            # the full table
    TINYDL_DATA=../shared/data python examples/finetune.py --quick    # < 1 min
"""
import argparse
import sys
import time

import numpy as np


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--per-class", default="50,500", help="labelled images per class for the new task")
    p.add_argument("--pretrain-limit", type=int, default=None, help="pretraining images (default: all of 0-4)")
    p.add_argument("--pretrain-epochs", type=int, default=2)
    p.add_argument("--steps", type=int, default=150, help="training steps per variant (batch 32)")
    p.add_argument("--ranks", default="1,4", help="LoRA ranks")
    p.add_argument("--test-limit", type=int, default=None, help="test images of digits 5-9 (default: all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="a small run for the tests (< 1 min)")
    args = p.parse_args(argv)
    if args.quick:
        args.per_class, args.pretrain_limit, args.pretrain_epochs = "50", 2000, 1
        args.steps, args.ranks, args.test_limit = 30, "1,4", 500
    return args


def seed_cnn(outputs):
    from tinydl.keras import layers, models
    return models.Sequential([
        layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)), layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"), layers.Flatten(),
        layers.Dense(64, activation="relu"), layers.Dense(outputs, activation="softmax")])


def trainable_count(model):
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


def main(argv=None):
    args = parse_args(argv)
    import tinydl
    from tinydl import optim
    from tinydl.finetune import apply_lora

    (x_train, y_train), (x_test, y_test) = tinydl.keras.datasets.mnist.load_data()
    x_train = x_train.astype("float32")[..., None] / 255
    x_test = x_test.astype("float32")[..., None] / 255
    old_train = np.flatnonzero(y_train < 5)[:args.pretrain_limit]
    new_test = np.flatnonzero(y_test >= 5)[:args.test_limit]
    xt_new, yt_new = x_test[new_test], y_test[new_test] - 5

    tinydl.manual_seed(args.seed)
    t0 = time.perf_counter()
    base = seed_cnn(10)  # the seed's 10-way head; only classes 0-4 ever appear in pretraining
    base.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    base.fit(x_train[old_train], y_train[old_train], epochs=args.pretrain_epochs, batch_size=32, verbose=0)
    old_test = np.flatnonzero(y_test < 5)[:args.test_limit]
    _, base_acc = base.evaluate(x_test[old_test], y_test[old_test], verbose=0)
    print(f"pretrained on {len(old_train)} images of digits 0-4 for {args.pretrain_epochs} epoch(s): "
          f"test accuracy on 0-4 {base_acc:.4f} ({time.perf_counter() - t0:.1f} s)")
    body_weights = [layer.get_weights() for layer in base.layers[:-1]]

    def pretrained(outputs=5):
        m = seed_cnn(outputs)
        m.build((None, 28, 28, 1))
        for layer, w in zip(m.layers[:-1], body_weights):
            layer.set_weights(w)
        return m

    rows = []
    rng = np.random.default_rng(args.seed)
    for per_class in [int(v) for v in args.per_class.split(",")]:
        idx = np.concatenate([rng.choice(np.flatnonzero(y_train == d), per_class, replace=False) for d in range(5, 10)])
        xs, ys = x_train[idx], y_train[idx] - 5
        epochs = max(1, int(round(args.steps * 32 / len(xs))))
        variants = [("(a) scratch", "scratch", None), ("(b) full fine-tune", "full", None),
                    ("(c) frozen body + new head", "frozen", None)]
        variants += [(f"(d) LoRA r={r} + new head", "lora", int(r)) for r in args.ranks.split(",")]
        for label, kind, rank in variants:
            tinydl.manual_seed(args.seed + 1)
            if kind == "scratch":
                model = seed_cnn(5)
                model.build((None, 28, 28, 1))
                opt = "adam"
            else:
                model = pretrained()
                head, body = model.layers[-1], model.layers[:-1]
                if kind == "full":
                    body_params = [p for l in body for p in l.parameters()]
                    opt = optim.Adam([{"params": body_params, "lr": 1e-4}, {"params": head.parameters()}], lr=1e-2)
                elif kind == "frozen":
                    for l in body:
                        l.trainable = False
                    opt = optim.Adam(head.parameters(), lr=1e-2)
                else:
                    adapters = apply_lora(model, rank=rank, keep_trainable=[head.name])
                    lora_params = [p for a in adapters.values() for p in a.parameters()]
                    opt = optim.Adam([{"params": lora_params, "lr": 3e-3}, {"params": head.parameters()}], lr=1e-2)
            model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            t = time.perf_counter()
            model.fit(xs, ys, epochs=epochs, batch_size=32, verbose=0)
            seconds = time.perf_counter() - t  # wall clock: on a shared machine, compare within one run
            _, acc = model.evaluate(xt_new, yt_new, verbose=0)
            rows.append({"variant": label, "per_class": per_class, "accuracy": float(acc),
                         "trainable": trainable_count(model), "seconds": seconds, "epochs": epochs})
            print(f"  {label:28s} {per_class:4d}/class  acc {acc:.4f}  trainable {rows[-1]['trainable']:7,d}  "
                  f"{seconds:.1f} s", flush=True)

    print(f"\nDigits 5-9 after pretraining on 0-4; {len(xt_new)} test images; ~{args.steps} steps of batch 32 "
          "per variant\n")
    print("| variant | labels per class | test accuracy | trainable parameters | training time (s) |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['variant']} | {r['per_class']} | {r['accuracy']:.4f} | {r['trainable']:,} | {r['seconds']:.1f} |")
    return {"rows": rows, "base_accuracy": float(base_acc)}


if __name__ == "__main__":
    main(sys.argv[1:])
