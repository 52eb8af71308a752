"""MEOW on DBLP: training-step time, peak memory, and the size of the sparse views against the reference's dense ones.

MEOW is built from its shipped DBLP configuration (``configs/meow/dblp.yaml``; ``kmeans_n_init`` 1 by default, as
in the committed run), prepared once (meta-path views, contexts: timed as ``prepare``) and trained ``--steps``
steps (forward + backward + Adam step; ``--warmup`` untimed first); the peak memory is that of preparation and
training above the level before them. The reference code stores every propagation matrix (Â_m, Â'_m per meta-path
and Ā) as a dense float32 N × N tensor; the comparison is the memory those dense matrices would take against our
CSR operators (values 4 B + column index 8 B per non-zero, row pointers 8 B per row).
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch

from benchmarks.perf import harness

TITLE = "MEOW on DBLP: training step, peak memory, sparse vs dense views"
DESCRIPTION = (
    "MEOW with its shipped DBLP configuration: one-time preparation (meta-path views and contexts), training steps "
    "(forward + backward + Adam, median), peak memory of both above the level before them, and the memory of the "
    "propagation operators as our CSR matrices against the dense float32 N × N matrices of the reference code.")
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", default=str(SHARED / "heco"), help="HeCo-format data root (DBLP)")
    parser.add_argument("--steps", type=int, default=10, help="timed training steps (default: 10)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps first (default: 1)")
    parser.add_argument("--kmeans-n-init", type=int, default=1, help="k-means restarts per step (default: 1)")


def _graph(options: argparse.Namespace) -> tuple[str, Any]:
    if options.quick:  # a small planted graph with declared meta-paths (the test suite's), no data files needed
        from tests.hetero_graphs import planted_hetero_graph

        return "planted-60", planted_hetero_graph()
    from graphcl.data.heco import load_heco

    return "dblp", load_heco("dblp", options.root)


def _csr_mb(operator: Any) -> float:
    return (operator.nnz() * (4 + 8) + (operator.shape[0] + 1) * 8) / 2**20


def run(options: argparse.Namespace) -> dict[str, Any]:
    from graphcl.config import resolve_config, split_config
    from graphcl.experiment import build_model
    from graphcl.utils import seed_everything

    name, data = _graph(options)
    overrides = {"kmeans_n_init": options.kmeans_n_init}
    if options.quick:
        overrides |= {"hidden_channels": 8, "embed_channels": 8, "proj_channels": 8, "topk": [5], "edge_mask": [0.1],
                      "num_clusters": [4, 6]}
    cfg = resolve_config("meow", "planted" if options.quick else "dblp", overrides=overrides)
    _, train_kw, _ = split_config(cfg)
    seed_everything(0)
    with harness.PeakMemory(options.device) as memory:
        model = build_model(cfg, data)
        prepared, prepare_time = harness.time_once(lambda: model.prepare(data))
        optimizer = torch.optim.Adam(model.parameters(), lr=train_kw["lr"], weight_decay=train_kw["weight_decay"])

        def step() -> None:
            optimizer.zero_grad()
            parts = model(prepared)
            sum(parts.values()).backward()
            optimizer.step()

        steps, warmup = (2, 1) if options.quick else (options.steps, options.warmup)
        rows = harness.time_calls({"meow": step}, repeats=steps, warmup=warmup, case=f"{name} training step")
    inputs = model.inputs
    n = inputs.views[0].shape[0]
    propagation = [*inputs.views, *inputs.augmented, inputs.coarse]
    sparse_mb = sum(_csr_mb(op) for op in propagation)
    dense_mb = len(propagation) * n * n * 4 / 2**20
    rows[0] |= {"peak_mem_mb": memory.peak_mb, "memory_method": memory.method}
    rows.insert(0, {"case": f"{name} preparation (views, contexts)", "variant": "meow", **prepare_time})
    summary = [
        harness.summary_item(f"propagation operators: {len(propagation)} matrices, "
                             f"{sum(op.nnz() for op in propagation):,} non-zeros, as CSR", sparse_mb, "MB"),
        harness.summary_item(f"the same as dense float32 {n:,} × {n:,} matrices (the reference code)", dense_mb, "MB"),
        harness.summary_item("sparse / dense", sparse_mb / dense_mb, "x"),
        harness.summary_item("non-zeros of the context operators",
                             sum(op.nnz() for contexts in inputs.contexts for op, _ in contexts.values())),
    ]
    return {"rows": rows, "summary": summary, "columns": ["case", "variant", "time_s", "min_s", "cpu_s", "peak_mem_mb"],
            "settings": {"config": f"configs/meow/{'dblp' if not options.quick else '(defaults)'}.yaml", **overrides, "steps": steps, "warmup": warmup,
                         "lr": train_kw["lr"]}}
