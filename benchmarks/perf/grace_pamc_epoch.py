"""Epoch time of GRACE with exact InfoNCE negatives versus PamC meta-node negatives (``negatives="pamc"``).

Both models are built with the same seed and trained in the same process, alternating blocks of epochs so that
load on a shared machine hits both alike; the figure of merit is the ratio. Graphs: Cora (N = 2,708) and the
generated community graph at N = 20,000 (where the O(N²) negatives dominate). Usage::

    python benchmarks/perf/grace_pamc_epoch.py      # writes benchmarks/results/grace-pamc_epoch_time.json
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from graphcl.data import load_dataset
from graphcl.models import GRACE

HERE = Path(__file__).resolve().parent
RESULTS = HERE.parent / "results"
SHARED = HERE.parents[2] / "shared" / "data"


def epoch_times(data, negatives: str, epochs: int, blocks: int) -> list[float]:
    torch.manual_seed(0)
    model = GRACE.build(data.num_features, negatives=negatives, num_meta_nodes=100, meta_refresh=10)
    opt = torch.optim.Adam(model.parameters(), lr=5e-4)
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        opt.zero_grad()
        model(data).backward()
        opt.step()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="epochs per block")
    parser.add_argument("--blocks", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--large", type=int, default=20_000, help="N of the generated graph (0: skip)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    graphs = {"cora": load_dataset("cora", root=SHARED / "planetoid")}
    if args.large:
        graphs[f"generated-{args.large}"] = load_dataset("generated", num_nodes=args.large)
    rows = {}
    for name, data in graphs.items():
        if "community" in data:
            del data.community  # meta-nodes from k-means, as on a graph without planted communities
        times = {"infonce": [], "pamc": []}
        for _ in range(args.blocks):
            for negatives in times:
                # first epoch of a block is a warm-up (and, for pamc, includes the k-means refresh cost later too)
                times[negatives] += epoch_times(data, negatives, args.epochs + 1, 1)[1:]
        med = {k: statistics.median(v) for k, v in times.items()}
        rows[name] = {
            "num_nodes": int(data.num_nodes),
            "epoch_time_s_median": med,
            "epoch_time_s_mean": {k: statistics.fmean(v) for k, v in times.items()},
            "speedup_pamc_over_infonce": med["infonce"] / med["pamc"],
        }
        print(name, rows[name], flush=True)
    out = {
        "benchmark": "grace_pamc_epoch_time",
        "command": "python benchmarks/perf/grace_pamc_epoch.py",
        "settings": {"threads": args.threads, "epochs_per_block": args.epochs, "blocks": args.blocks,
                     "model": "GRACE.build defaults (Cora settings), num_meta_nodes 100, meta_refresh 10"},
        "rows": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "grace-pamc_epoch_time.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
