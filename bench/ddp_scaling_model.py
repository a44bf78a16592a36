"""Predict data-parallel efficiency at larger scale from bench_ddp.py's measurements (alpha-beta).

    python bench/ddp_scaling_model.py bench/results/dev-2core/bench_ddp.json

A ring all-reduce of n bytes over p processes sends 2 (p - 1) messages per process and moves
2 (p - 1) / p * n bytes through each link:

    T_ring(p, n) = k * 2 (p - 1) alpha + 2 (p - 1) / p * n * beta        (k buckets)

A two-level (hierarchical) all-reduce reduces inside each node of g processes first (shared
memory, cheap), runs the ring over the p / g node leaders, and broadcasts back inside the node:

    T_hier(p, n) = k * 2 (p / g - 1) alpha + 2 (p / g - 1) / (p / g) * n * beta + T_node

Efficiency = t_compute / (t_compute + T - overlap), where t_compute is the measured
1-process step time and ``overlap`` the part of the all-reduce hidden behind backward. Only
buckets that start before backward ends can hide, so with k buckets at most (k - 1) / k of T
overlaps (and no more than backward's share of the step, taken as 2/3). E >= 0.8 needs
t_compute >= 4 (T - overlap): the last column. Not modelled: stragglers (the slowest rank sets
the pace), contention between jobs, and the reduction arithmetic.

Besides the measured CPU step times, the CNN is also modelled with the README's H100 step time
(30,786 images/s at batch 128 = 4.2 ms per step), where compute is 6x shorter.
"""
import json
import sys

LINKS = {  # name: (alpha seconds, beta seconds per byte)
    "25 Gb/s Ethernet (alpha 15 us)": (15e-6, 8 / 25e9),
    "100 Gb/s InfiniBand (alpha 2 us)": (2e-6, 8 / 100e9),
}
PROCS = (8, 64, 512)
PER_NODE = 8          # processes per node for the hierarchical variant
H100_CNN_STEP_S = 128 / 30786  # README, "Performance": the seed CNN at batch 128 on an H100
BUCKET_BYTES_FIRST, BUCKET_BYTES = 1 << 20, 25 << 20


def buckets(n_bytes):
    """How many buckets DDP's defaults make (first 1 MB, then 25 MB)."""
    if n_bytes <= BUCKET_BYTES_FIRST:
        return 1
    return 1 + -(-(n_bytes - BUCKET_BYTES_FIRST) // BUCKET_BYTES)


def ring(p, n, alpha, beta, k):
    return k * 2 * (p - 1) * alpha + 2 * (p - 1) / p * n * beta


def hierarchical(p, n, alpha, beta, k, node_time):
    nodes = max(p // PER_NODE, 1)
    return ring(nodes, n, alpha, beta, k) + node_time


def exposed(t_compute, t_comm, k, overlap):
    hidden = min(t_comm * (k - 1) / k, 2 * t_compute / 3) if overlap else 0.0
    return t_comm - hidden


def efficiency(t_compute, t_comm, k, overlap):
    return t_compute / (t_compute + exposed(t_compute, t_comm, k, overlap))


def predict(results):
    rows = []
    two = {r["model"]: r for r in results if r["procs"] == 2}
    cases = [(r["model"], "measured, 1 CPU thread", r["step_time_s"]) for r in results if r["procs"] == 1]
    if any(m == "cnn" for m, _, _ in cases):
        cases.append(("cnn", "README's H100 step", H100_CNN_STEP_S))
    for model, source, t in cases:
        n = two[model]["grad_bytes"]
        k = buckets(n)
        # inside a node: the measured 2-process shared-memory all-reduce of the gradients, scaled
        # by the ring's 2 (g - 1) / g bandwidth factor for g processes per node
        node = two[model]["allreduce_s"]["gradients"] * (2 * (PER_NODE - 1) / PER_NODE)
        for link, (alpha, beta) in LINKS.items():
            for p in PROCS:
                flat = ring(p, n, alpha, beta, k)
                hier = hierarchical(p, n, alpha, beta, k, node)
                rows.append({"model": model, "source": source, "link": link, "procs": p,
                             "grad_bytes": n, "buckets": k, "compute_s": t, "ring_s": flat,
                             "hier_s": hier,
                             "eff_ring_no_overlap": efficiency(t, flat, k, False),
                             "eff_ring_overlap": efficiency(t, flat, k, True),
                             "eff_hier_overlap": efficiency(t, hier, k, True),
                             "compute_for_80_s": 4 * exposed(t, flat, k, True)})
    return rows


def table(rows):
    lines = ["| model (gradients, compute per step) | link | processes | ring all-reduce (ms) | "
             "efficiency, no overlap | with bucket overlap | hierarchical (8 per node) | "
             "compute per step for 80% (ms) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        name = "seed CNN" if r["model"] == "cnn" else "tiny GPT"
        lines.append(f"| {name} ({r['grad_bytes'] / 1e6:.2f} MB in {r['buckets']} bucket(s), "
                     f"{1e3 * r['compute_s']:.1f} ms: {r['source']}) | {r['link']} | {r['procs']} | "
                     f"{1e3 * r['ring_s']:.2f} | {r['eff_ring_no_overlap']:.2f} | {r['eff_ring_overlap']:.2f} | "
                     f"{r['eff_hier_overlap']:.2f} | {1e3 * r['compute_for_80_s']:.1f} |")
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    with open(argv[0]) as f:
        results = json.load(f)["results"]
    print(table(predict(results)))


if __name__ == "__main__":
    main()
