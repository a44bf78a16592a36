"""A tiny GPT: a small causal transformer language model over the characters of tinyshakespeare.

Token embedding + learned positions -> ``--layers`` pre-norm transformer blocks (``--heads``
heads, causal self-attention, GELU MLP) -> LayerNorm -> Dense, trained with AdamW on random
windows of ``--block`` characters. Every epoch (``--steps`` training steps) it prints the
validation loss in nats per character (the last 10% of the text, ``--eval-batches`` fixed
windows) and a sample; at the end the CPU time used.

    TINYDL_DATA=../shared/data python examples/tiny_gpt.py --minutes 5
    python examples/tiny_gpt.py --data path/to/input.txt --limit 200000 --steps 50 --epochs 2
"""
import argparse
import json
import os
import sys
import time


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=None, help="input.txt or its folder (default: $TINYDL_DATA/tinyshakespeare)")
    p.add_argument("--limit", type=int, default=None, help="use only the first N characters")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--steps", type=int, default=200, help="training steps per epoch")
    p.add_argument("--minutes", type=float, default=None, help="CPU-time budget for training")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--block", type=int, default=64, help="context length")
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--eval-batches", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sample", type=int, default=300)
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--threads", type=int, default=None, help="BLAS threads (set before numpy loads)")
    p.add_argument("--save", default=None)
    p.add_argument("--json", default=None, help="write the metrics to this JSON file")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)
    import numpy as np
    import tinydl
    from tinydl import nn, optim
    from tinydl.nn.layers.transformer import TransformerLM
    from tinydl.text import CharTokenizer, generate, load_tinyshakespeare, random_windows, split_ids

    tinydl.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    text = load_tinyshakespeare(args.data, args.limit)
    tok = CharTokenizer(text)
    train_ids, val_ids = split_ids(tok.encode(text), 0.1)
    print(f"{len(text):,} characters, vocabulary {tok.vocab_size}; train {len(train_ids):,}, "
          f"validation {len(val_ids):,}")
    model = TransformerLM(tok.vocab_size, args.block, dim=args.dim, num_heads=args.heads, num_layers=args.layers,
                          dropout=args.dropout)
    params = list(model.parameters())
    print(f"model: {args.layers} layers, {args.heads} heads, dim {args.dim}, block {args.block}; "
          f"{sum(p.numel() for p in params):,} parameters")
    opt = optim.AdamW(params, lr=args.lr, weight_decay=args.weight_decay)
    val_rng = np.random.default_rng(12345)
    val_set = [random_windows(val_ids, args.batch, args.block, val_rng) for _ in range(args.eval_batches)]

    def loss_of(x, y):
        logits = model(x)
        return nn.functional.cross_entropy(logits.reshape(-1, tok.vocab_size), y.reshape(-1))

    def validate():
        model.eval()
        with tinydl.no_grad():
            v = float(np.mean([loss_of(x, y).item() for x, y in val_set]))
        model.train()
        return v

    cpu0, wall0 = time.process_time(), time.perf_counter()
    budget = args.minutes * 60 if args.minutes else None
    history, step, first_loss, out_of_time, s = [], 0, None, False, None
    val0 = validate()
    print(f"epoch 0: validation {val0:.4f} nats/char (untrained)")
    for epoch in range(1, args.epochs + 1):
        losses = []
        for _ in range(args.steps):
            x, y = random_windows(train_ids, args.batch, args.block, rng)
            opt.zero_grad()
            loss = loss_of(x, y)
            loss.backward()
            optim.clip_grad_norm_(params, args.clip)
            opt.step()
            losses.append(loss.item())
            first_loss = losses[0] if first_loss is None else first_loss
            step += 1
            if budget and time.process_time() - cpu0 > budget:
                out_of_time = True
                break
        val = validate()
        cpu = time.process_time() - cpu0
        history.append({"epoch": epoch, "steps": step, "train_loss": float(np.mean(losses[-50:])),
                        "val_loss": val, "cpu_s": cpu})
        print(f"epoch {epoch}: {step} steps, train {np.mean(losses[-50:]):.4f}, validation {val:.4f} nats/char, "
              f"CPU {cpu:.0f} s, wall {time.perf_counter() - wall0:.0f} s")
        if args.sample:
            s = generate(model, tok, "ROMEO:\n", args.sample, temperature=args.temperature, rng=rng)
            print("sample: " + s.replace("\n", "\n        ") + "\n")
        if out_of_time:
            break
    cpu = time.process_time() - cpu0
    print(f"CPU time used: {cpu:.1f} s ({cpu / 60:.1f} min); final validation {history[-1]['val_loss']:.4f} nats/char")
    result = {"val_loss_initial": val0, "first_train_loss": first_loss, "history": history, "cpu_s": cpu,
              "steps": step, "sample": s}
    if args.save:
        np.savez(args.save + ".npz", **model.state_dict())
        tok.save(args.save + ".tokenizer.json")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
