"""MCLRec training speed per batch and full-ranking validation throughput on Beauty.

TARGETS.md measured the MCLRec authors' code on this machine (run_seq defaults: 2 layers, 2 heads, d 64, dropout
0.5, the 3-step meta loop): 2.00 s per batch of 256, and 4.45 s for one full-ranking validation pass (22,363
users x 12,101 items). The authors' code (a vendored RecBole) is not part of this repository, so the reference
measured *in the same run* is our own encoder with ``length_buckets=False``, which does RecBole's computation
(every row on the full 50-wide window); the ratio ours / that reference is the robust number on a noisy machine,
the absolute seconds are a hint only.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/recsys_speed.py --root ../shared/data/seqrec   # results/recsys_speed.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch

from graphcl.train import peak_memory_mb
from graphcl.utils import seed_everything
from recsys.data import leave_one_out, load_sequences
from recsys.eval import evaluate_ranking
from recsys.models import MCLRec

HERE = Path(__file__).resolve().parent
AUTHORS_BATCH_S = 2.00
AUTHORS_EVAL_S = 4.45


def time_batches(model: MCLRec, split, batches: int, warmup: int, seed: int) -> list[float]:
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    times = []
    for step in range(warmup + batches):
        index = torch.randint(0, len(split.train), (256,), generator=generator)
        batch = split.train[index]
        start = time.perf_counter()
        model.training_step(batch, optimizer)
        if step >= warmup:
            times.append(time.perf_counter() - start)
    return times


def time_eval(model: MCLRec, split, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        evaluate_ranking(model, split.valid, split="valid")
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=str(HERE.parent.parent / "shared" / "data" / "seqrec"))
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--eval-repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(HERE / "results" / "recsys_speed.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    split = leave_one_out(load_sequences("beauty", root=args.root), max_len=50)
    rows = {}
    for name, buckets in (("ours", True), ("reference_full_window", False)):
        seed_everything(2020)
        model = MCLRec.build(split.num_items)  # Beauty config: lmd 0, beta 0.05, dropout 0.5
        model.encoder.length_buckets = buckets
        batch_times = time_batches(model, split, args.batches, args.warmup, seed=0)
        eval_times = time_eval(model, split, args.eval_repeats)
        rows[name] = {
            "median_batch_s": statistics.median(batch_times),
            "batch_times_s": batch_times,
            "median_eval_s": statistics.median(eval_times),
            "eval_times_s": eval_times,
            "eval_users_per_s": len(split.valid) / statistics.median(eval_times),
        }
        print(name, json.dumps({k: v for k, v in rows[name].items() if not k.endswith("times_s")}), flush=True)
    ours, ref = rows["ours"], rows["reference_full_window"]
    out = {
        "benchmark": "recsys_speed",
        "command": f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '?')} python benchmarks/recsys_speed.py "
                   f"--threads {args.threads} --batches {args.batches}",
        "machine": {"threads": args.threads, "platform": platform.platform(), "cpu_count": os.cpu_count(),
                    "load_average": os.getloadavg()},
        "settings": "MCLRec, Beauty, batch 256, max_len 50, d 64, 2 layers, 2 heads, dropout 0.5, theta/phi/theta "
                    "per batch; validation = full ranking of 22,363 users x 12,101 items, chunks of 2048 users",
        "rows": rows,
        "ratio_batch_vs_reference": ours["median_batch_s"] / ref["median_batch_s"],
        "ratio_eval_vs_reference": ours["median_eval_s"] / ref["median_eval_s"],
        "authors": {"batch_s": AUTHORS_BATCH_S, "eval_s": AUTHORS_EVAL_S,
                    "source": "TARGETS.md: the MCLRec authors' code on the standard machine (2 threads, idle)"},
        "targets": {"batch_s": 1.0, "eval_s": 1.5},
        "peak_mem_mb": peak_memory_mb(),
        "note": "measured while ~6 other jobs shared the 2 cores (see load_average): absolute times are inflated; "
                "compare the ratios to the full-window reference measured in the same run",
    }
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
