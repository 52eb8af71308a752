"""Per-epoch training time and peak memory of GRACE on Cora in the CSGCL authors' harness settings.

TARGETS.md measured the CSGCL authors' ``train.py`` on this machine with GRACE-style uniform augmentation
(lr 0.01, hidden 256 with a 512-wide first layer, projection 32, PReLU, edge drop 0.3/0.4, feature drop
0.1/0.0, τ 0.4): 552 ms per epoch, 1.45 GB peak RSS (their CSGCL: 535 ms). This script times the same model
here, full-batch, forward + backward + Adam step, after warm-up epochs. The reference cannot be re-run in the
same process (the authors' code is not part of this repository), so compare the ratio with caution on a noisy
machine.

Usage::

    python benchmarks/epoch_time.py --root ../shared/data/planetoid     # writes results/grace_epoch_time.json
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from graphcl.data import load_dataset
from graphcl.models import GRACE
from graphcl.train import peak_memory_mb
from graphcl.utils import seed_everything

HERE = Path(__file__).resolve().parent
REFERENCE_MS = 552.0
REFERENCE_RSS_GB = 1.45


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=str(HERE.parent.parent / "shared" / "data" / "planetoid"))
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(HERE / "results" / "grace_epoch_time.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = load_dataset("cora", root=args.root)
    seed_everything(0)
    settings = dict(hidden_channels=256, proj_channels=32, activation="prelu", drop_edge_1=0.3, drop_edge_2=0.4,
                    drop_feature_1=0.1, drop_feature_2=0.0, tau=0.4)
    model = GRACE.build(data.num_features, **settings)
    opt = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-5)
    times = []
    for epoch in range(args.warmup + args.epochs):
        start = time.perf_counter()
        opt.zero_grad()
        loss = model(data)
        loss.backward()
        opt.step()
        if epoch >= args.warmup:
            times.append(time.perf_counter() - start)
    median_ms = 1000 * statistics.median(times)
    peak_gb = peak_memory_mb() / 2**10
    result = {
        "benchmark": "grace_epoch_time",
        "command": "python benchmarks/epoch_time.py",
        "machine": {"platform": platform.platform(), "threads": args.threads},
        "settings": settings | {"lr": 0.01, "dataset": "cora", "chunk_size": 1024},
        "median_epoch_ms": median_ms,
        "mean_epoch_ms": 1000 * statistics.mean(times),
        "peak_rss_gb": peak_gb,
        "reference": {"epoch_ms": REFERENCE_MS, "peak_rss_gb": REFERENCE_RSS_GB,
                      "source": "TARGETS.md: the CSGCL authors' train.py with uniform drop (GRACE), same machine"},
        "ratio_time": median_ms / REFERENCE_MS,
        "ratio_memory": peak_gb / REFERENCE_RSS_GB,
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
