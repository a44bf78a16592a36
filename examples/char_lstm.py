"""A character-level LSTM language model on tinyshakespeare.

Embedding -> LSTM (stateful: truncated backpropagation through time over 32 parallel streams of
the text) -> Dense over the characters, trained with Adam and gradient clipping. After every
epoch it prints the validation loss in nats per character (the last 10% of the text) and a
sample; at the end the CPU time used.

    TINYDL_DATA=../shared/data python examples/char_lstm.py --minutes 5
    python examples/char_lstm.py --data path/to/input.txt --limit 200000 --steps 100

``--steps`` is the number of training steps per epoch (default: one pass over the text),
``--epochs`` the number of epochs, ``--minutes`` a CPU-time budget that ends training early,
``--limit`` uses only the first N characters, ``--threads`` sets the BLAS thread count.
``--save PATH`` writes PATH.npz (the weights) and PATH.tokenizer.json.
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
    p.add_argument("--steps", type=int, default=None, help="training steps per epoch (default: a full pass)")
    p.add_argument("--minutes", type=float, default=None, help="CPU-time budget for training")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seq", type=int, default=64, help="truncated-BPTT length")
    p.add_argument("--embed", type=int, default=64)
    p.add_argument("--units", type=int, default=256)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--clip", type=float, default=5.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sample", type=int, default=300, help="characters to generate after each epoch")
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
    from tinydl.nn.layers import KerasEmbedding as Embedding
    from tinydl.nn.layers import KerasLSTM as LSTM
    from tinydl.text import CharTokenizer, generate, load_tinyshakespeare, split_ids, stream_batches

    class CharLSTM(nn.Module):
        def __init__(self, vocab, embed, units):
            super().__init__()
            self.vocab = vocab
            self.emb = Embedding(vocab, embed)
            self.lstm = LSTM(units, return_sequences=True, stateful=True)
            self.head = nn.Dense(vocab)

        def forward(self, ids):
            h = self.lstm(self.emb(ids))
            n, t, u = h.shape
            return self.head(h.reshape(n * t, u)).reshape(n, t, self.vocab)

        def reset_states(self):
            self.lstm.reset_states()

    tinydl.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    text = load_tinyshakespeare(args.data, args.limit)
    tok = CharTokenizer(text)
    train_ids, val_ids = split_ids(tok.encode(text), 0.1)
    val_batch = max(1, min(args.batch, (len(val_ids) - 1) // args.seq))
    print(f"{len(text):,} characters, vocabulary {tok.vocab_size}; train {len(train_ids):,}, "
          f"validation {len(val_ids):,}")
    model = CharLSTM(tok.vocab_size, args.embed, args.units)
    model(np.zeros((args.batch, 1), np.int64))  # build the layers
    model.reset_states()
    params = list(model.parameters())
    print(f"model: Embedding({tok.vocab_size}, {args.embed}) -> LSTM({args.units}) -> Dense({tok.vocab_size}); "
          f"{sum(p.numel() for p in params):,} parameters")
    opt = optim.Adam(params, lr=args.lr)

    def loss_of(x, y):
        logits = model(x)
        return nn.functional.cross_entropy(logits.reshape(-1, tok.vocab_size), y.reshape(-1))

    def validate():
        model.eval()
        model.reset_states()
        total, count = 0.0, 0
        with tinydl.no_grad():
            for x, y in stream_batches(val_ids, val_batch, args.seq):
                total += loss_of(x, y).item() * y.size
                count += y.size
        model.reset_states()
        model.train()
        return total / max(count, 1)

    # The model learns with carried states (it rarely sees a zero state), so it is primed with the
    # validation text before a paragraph break, then prompted; only the prompt and its continuation print.
    val_text = tok.decode(val_ids)
    brk = val_text.find("\n\n", 400)
    priming = val_text[max(0, brk - 400):brk + 2] if brk > 0 else ""

    def sample(n):
        prompt = "ROMEO:\n"
        out = generate(model, tok, priming + prompt, n, temperature=args.temperature, rng=rng, stateful=True)
        return out[len(priming):]

    cpu0, wall0 = time.process_time(), time.perf_counter()
    budget = args.minutes * 60 if args.minutes else None
    history, step, first_loss, out_of_time = [], 0, None, False
    val0 = validate()
    print(f"epoch 0: validation {val0:.4f} nats/char (untrained; ln {tok.vocab_size} = {np.log(tok.vocab_size):.3f})")
    for epoch in range(1, args.epochs + 1):
        model.reset_states()
        losses, n = [], 0
        for x, y in stream_batches(train_ids, args.batch, args.seq):
            opt.zero_grad()
            loss = loss_of(x, y)
            loss.backward()
            optim.clip_grad_norm_(params, args.clip)
            opt.step()
            losses.append(loss.item())
            first_loss = losses[0] if first_loss is None else first_loss
            step += 1
            n += 1
            if args.steps and n >= args.steps:
                break
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
            s = sample(args.sample)
            print("sample: " + s.replace("\n", "\n        ") + "\n")
        if out_of_time:
            break
    cpu = time.process_time() - cpu0
    print(f"CPU time used: {cpu:.1f} s ({cpu / 60:.1f} min); final validation {history[-1]['val_loss']:.4f} nats/char")
    result = {"val_loss_initial": val0, "first_train_loss": first_loss, "history": history, "cpu_s": cpu,
              "steps": step, "sample": s if args.sample else None}
    if args.save:
        np.savez(args.save + ".npz", **model.state_dict())
        tok.save(args.save + ".tokenizer.json")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
