"""Epoch time of GRACE with exact InfoNCE negatives versus PamC meta-node negatives (``negatives="pamc"``).

Both models are built with the same seed and trained alternately, epoch by epoch, in one process (so load on a
shared machine hits both alike); the figure of merit is the ratio of the medians. The PamC variant refreshes its
k-means meta-nodes every 10 steps, so its mean epoch (also recorded) includes that cost and its median mostly
does not. Graphs: Cora (N = 2,708) and the generated community graph at N = 20,000 (where the O(N²) negatives
dominate); the planted communities are dropped, so the meta-nodes come from k-means.
"""
from __future__ import annotations

import argparse
import statistics
from pathlib import Path
from typing import Any

import torch

from benchmarks.perf import harness

TITLE = "GRACE epoch: exact InfoNCE vs PamC meta-node negatives"
DESCRIPTION = (
    "GRACE (`GRACE.build` defaults, Cora settings) with exact InfoNCE negatives and with PamC meta-node negatives "
    "(`negatives=\"pamc\"`, 100 k-means meta-nodes refreshed every 10 steps), same seed, alternating epoch by "
    "epoch in one process; median epoch, and the mean, which includes the k-means refreshes.")
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", default=str(SHARED / "planetoid"), help="Planetoid data root (Cora)")
    parser.add_argument("--epochs", type=int, default=10, help="timed epochs per model (default: 10)")
    parser.add_argument("--large", type=int, default=20_000, help="N of the generated graph (0: skip)")


def train_epoch(model: torch.nn.Module, graph: Any, optimizer: torch.optim.Optimizer) -> None:
    optimizer.zero_grad()
    model(graph).backward()
    optimizer.step()


def run(options: argparse.Namespace) -> dict[str, Any]:
    from graphcl.data import load_dataset
    from graphcl.data.generated import make_community_graph
    from graphcl.models import GRACE
    from graphcl.utils import seed_everything

    if options.quick:
        graphs = {"generated-300": make_community_graph(num_nodes=300, num_communities=6, num_features=50, seed=0)}
    else:
        graphs = {"cora": load_dataset("cora", root=options.root)}
        if options.large:
            graphs[f"generated-{options.large}"] = load_dataset("generated", num_nodes=options.large)
    rows: list[dict[str, Any]] = []
    summary = []
    for name, data in graphs.items():
        if "community" in data:
            del data.community  # meta-nodes from k-means, as on a graph without planted communities
        models, optimizers, prepared = {}, {}, {}
        for negatives in ("infonce", "pamc"):
            seed_everything(0)
            models[negatives] = GRACE.build(data.num_features, negatives=negatives, num_meta_nodes=10 if options.quick
                                            else 100, meta_refresh=10)
            prepared[negatives] = models[negatives].prepare(data)
            optimizers[negatives] = torch.optim.Adam(models[negatives].parameters(), lr=5e-4)

        timed = harness.time_calls({v: (lambda m=models[v], g=prepared[v], o=optimizers[v]: train_epoch(m, g, o))
                                    for v in models},
                                   repeats=2 if options.quick else options.epochs, warmup=1, case=name,
                                   n=int(data.num_nodes))
        for row in timed:
            row["mean_s"] = statistics.fmean(row["times_s"])
        rows += timed
        summary.append(harness.summary_item(f"{name}: InfoNCE / PamC negatives, median epoch",
                                            harness.ratio(timed, "infonce", "pamc"), "x"))
        summary.append(harness.summary_item(f"{name}: InfoNCE / PamC negatives, mean epoch",
                                            harness.ratio(timed, "infonce", "pamc", key="mean_s"), "x"))
    return {"rows": rows, "summary": summary, "columns": ["case", "n", "variant", "time_s", "mean_s", "cpu_s"],
            "settings": {"model": "GRACE.build defaults (Cora settings)", "num_meta_nodes": 100, "meta_refresh": 10,
                         "lr": 5e-4, "epochs": options.epochs, "graphs": list(graphs)}}
