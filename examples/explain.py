"""What the models look at: saliency, SmoothGrad and Grad-CAM for the seed CNN on MNIST, and
the attention weights of the digit-reversal transformer, written as PNG files.

CNN: the seed's Keras CNN is trained briefly, then for ``--images`` test digits the script
draws one row each: the digit, |saliency| (the input gradient of the predicted class's logit),
|SmoothGrad| (25 noisy copies), and Grad-CAM of the second convolution (11x11, upsampled)
over the digit. It prints how much of each map's mass lies on the digit's ink (pixels > 0.3)
next to the ink's share of the image, a number to check the pictures against.

Attention: the reversal model of ``reverse_digits.py`` (2 transformer blocks) is trained until
it reverses held-out sequences; the weights of every head (``return_attention_scores``) for one
sequence are drawn as heatmaps (queries down, keys across). Reversal needs output position i
to read input position L-1-i, so some head should put its weight on the anti-diagonal; the
script prints the largest anti-diagonal share of any head in each block.

    TINYDL_DATA=../shared/data python examples/explain.py            # writes docs/explain/*.png
    TINYDL_DATA=../shared/data python examples/explain.py --quick    # < 1 min
"""
import argparse
import os
import sys
import time

import numpy as np


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--limit", type=int, default=20000, help="CNN training images")
    p.add_argument("--images", type=int, default=6)
    p.add_argument("--length", type=int, default=12, help="digits to reverse")
    p.add_argument("--steps", type=int, default=600, help="maximum reversal training steps")
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "explain"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="a small run for the tests (< 1 min)")
    args = p.parse_args(argv)
    if args.quick:
        args.limit, args.images, args.steps = 2000, 3, 150
    return args


def cnn_part(args):
    import tinydl
    from tinydl.data.png import write_png
    from tinydl.explain import grad_cam, normalize, overlay, panel, saliency, smoothgrad
    from tinydl.keras import layers, models

    (x_train, y_train), (x_test, y_test) = tinydl.keras.datasets.mnist.load_data()
    x_train = x_train[:args.limit].astype("float32")[..., None] / 255
    x_test = x_test.astype("float32")[..., None] / 255
    tinydl.manual_seed(args.seed)
    model = models.Sequential([
        layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)), layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu", name="conv2"), layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"), layers.Flatten(),
        layers.Dense(64, activation="relu"), layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    t = time.perf_counter()
    model.fit(x_train, y_train[:args.limit], epochs=1, batch_size=32, verbose=0)
    _, acc = model.evaluate(x_test[:2000], y_test[:2000], verbose=0)
    print(f"CNN: trained on {len(x_train)} images ({time.perf_counter() - t:.1f} s), test accuracy {acc:.4f}")

    x = x_test[:args.images]
    sal, target = saliency(model, x)
    sg, _ = smoothgrad(model, x, target=target, n=25)
    cam, _, _ = grad_cam(model, x, "conv2", target=target)
    ink = x[..., 0] > 0.3
    tiles, shares = [], {"saliency": [], "smoothgrad": [], "grad_cam": []}
    for i in range(len(x)):
        s_map, g_map = normalize(np.abs(sal[i, ..., 0])), normalize(np.abs(sg[i, ..., 0]))
        for name, m in (("saliency", s_map), ("smoothgrad", g_map), ("grad_cam", cam[i])):
            shares[name].append(m[ink[i]].sum() / max(m.sum(), 1e-12))
        img = x[i, ..., 0]
        tiles += [overlay(img, np.zeros_like(img), alpha=0, scale=4), overlay(np.zeros_like(img), s_map, 1, 4),
                  overlay(np.zeros_like(img), g_map, 1, 4), overlay(img, cam[i], 0.5, 4)]
    path = os.path.join(args.out, "cnn_attribution.png")
    write_png(path, panel(tiles, ncol=4))
    print(f"predicted {target.tolist()}, true {y_test[:args.images].tolist()}; wrote {path} "
          "(columns: digit, |saliency|, |SmoothGrad|, Grad-CAM of conv2 over the digit)")
    ink_share = float(ink.mean())
    print("| map | share of the map's mass on the digit's ink | ink's share of the image |")
    print("|---|---|---|")
    for name, v in shares.items():
        print(f"| {name} | {np.mean(v):.3f} | {ink_share:.3f} |")
    return {"accuracy": float(acc), "ink_share": ink_share, **{k: float(np.mean(v)) for k, v in shares.items()}}


def attention_part(args):
    import tinydl
    from tinydl import nn, optim
    from tinydl.data.png import write_png
    from tinydl.explain import capture_attention, heatmap, panel
    from tinydl.nn.layers import KerasEmbedding as Embedding
    from tinydl.nn.layers import LayerNormalization, PositionalEmbedding, TransformerBlock

    class Reverser(nn.Module):  # the model of examples/reverse_digits.py
        def __init__(self, length, dim=64, heads=4, layers=2):
            super().__init__()
            self.tok, self.pos = Embedding(10, dim), PositionalEmbedding(length, dim)
            self.blocks = nn.Sequential(*[TransformerBlock(dim, heads, causal=False) for _ in range(layers)])
            self.ln, self.head = LayerNormalization(epsilon=1e-5), nn.Dense(10)

        def forward(self, digits):
            x = self.blocks(self.pos(self.tok(digits)))
            n, t, d = x.shape
            return self.head(self.ln(x).reshape(n * t, d)).reshape(n, t, 10)

    tinydl.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    L = args.length
    model = Reverser(L)
    test = np.random.default_rng(1000 + args.seed).integers(0, 10, (500, L))
    model(test[:2])
    opt = optim.Adam(model.parameters(), lr=2e-3)
    t, acc, step = time.perf_counter(), 0.0, 0
    for step in range(1, args.steps + 1):
        xb = rng.integers(0, 10, (64, L))
        opt.zero_grad()
        nn.functional.cross_entropy(model(xb).reshape(-1, 10), xb[:, ::-1].reshape(-1)).backward()
        opt.step()
        if step % 50 == 0:
            model.eval()
            with tinydl.no_grad():
                acc = float((model(test).detach().numpy().argmax(-1) == test[:, ::-1]).all(axis=1).mean())
            model.train()
            if acc >= 0.99:
                break
    print(f"\nreversal: {L} digits, {step} steps ({time.perf_counter() - t:.1f} s), held-out sequence accuracy {acc:.3f}")
    model.eval()
    with capture_attention(model) as rec, tinydl.no_grad():
        model(test[:1])
    tiles, anti = [], {}
    for name, calls in rec.items():
        w = calls[0][0]  # (heads, L, L) for the one sequence
        shares = [float(np.mean([w[h, i, L - 1 - i] for i in range(L)])) for h in range(w.shape[0])]
        anti[name] = max(shares)
        tiles += [heatmap(w[h], cell=10) for h in range(w.shape[0])]
    path = os.path.join(args.out, "reverse_attention.png")
    write_png(path, panel(tiles, ncol=len(tiles) // len(rec)))
    print(f"wrote {path} (one row per block, one heatmap per head; queries down, keys across) "
          f"for the input {''.join(map(str, test[0]))}")
    print("| block | largest mean weight of a head on the anti-diagonal (key L-1-i) | uniform would be |")
    print("|---|---|---|")
    for name, v in anti.items():
        print(f"| {name} | {v:.3f} | {1 / L:.3f} |")
    return {"reverse_accuracy": acc, "anti_diagonal": anti}


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    return {"cnn": cnn_part(args), "attention": attention_part(args)}


if __name__ == "__main__":
    main(sys.argv[1:])
