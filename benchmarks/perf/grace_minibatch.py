"""Mini-batch GRACE on the generated graph from 10^4 to 10^6 nodes: step and estimated epoch time, memory.

Graph: :func:`graphcl.data.make_community_graph` with ``N`` nodes, 100 planted communities, expected degree 10
(about ``10 N`` directed edges: 9.9 million at ``N = 10^6``) and 500 binary features, the same seed at every size.
Training: GRACE with the library's ``generated`` configuration (2-layer GCN 500-256-128, projection 128, τ = 0.4,
chunked InfoNCE) on neighbourhood mini-batches (:func:`graphcl.data.sampling.neighbor_loader`: ``batch_size``
random roots, fan-outs ``[10, 10]``, the loss over the roots), one Adam step per batch:

* ``infonce`` — InfoNCE over the batch's roots (chunked);
* ``pamc``    — ``negatives="pamc"``: PamC's meta-node negatives, the roots' planted communities as meta-nodes.

At every ``N`` both variants run in one fresh process on the same graph and alternate step by step
(:func:`harness.time_calls`; a step = drawing the next batch + forward + backward + Adam), then each embeds every
node with the streaming layer-wise inference (:meth:`graphcl.nn.GCNEncoder.inference`, 65,536 rows per chunk).
An epoch is ``ceil(N / batch_size)`` such steps; it is *estimated* as that count times the median step unless
``N <= --epoch-max``, where one whole epoch is also timed. Memory: per (variant, ``N``) in another fresh process,
the peak RSS of the whole process (graph generation included), and the peaks above the level before the training
steps and before the inference (:class:`harness.PeakMemory`).
"""
from __future__ import annotations

import argparse
import math
from typing import Any

import torch

from benchmarks.perf import harness

TITLE = "Mini-batch GRACE on the generated graph vs N (batch of random roots, fan-outs [10, 10])"
DESCRIPTION = (
    "GRACE (generated config: GCN 500-256-128, chunked InfoNCE) on neighbourhood mini-batches of "
    "make_community_graph(N, 100 communities, degree 10, 500 features); infonce = InfoNCE over the batch's roots, "
    "pamc = PamC meta-node negatives (the roots' planted communities). time = median training step (next batch + "
    "forward + backward + Adam), both variants alternating in one fresh process per N; epoch_est = ceil(N / batch) "
    "x the median step, epoch_est_cpu = the same with its median process CPU time, epoch = a whole epoch timed "
    "(small N only); inference = streaming embeddings of all N nodes in 65,536-row chunks. Memory per (variant, N) "
    "in a fresh process: setup_rss = RSS after generating the graph and building model and loader (interpreter "
    "included); peak RSS of the process (graph generation included); train_peak / inference_peak = peak RSS above "
    "the level before the steps / the inference.")
SIZES = [10_000, 100_000, 1_000_000]
QUICK_SIZES = [600, 1_200]
VARIANTS = ("infonce", "pamc")
INFERENCE_CHUNK = 65_536


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help=f"N values (default: {SIZES})")
    parser.add_argument("--batch-size", type=int, default=1024, help="roots per step (default: 1024)")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per variant and N (default: 3)")
    parser.add_argument("--epoch-max", type=int, default=10_000,
                        help="also time one whole epoch for N up to this (default: 10,000)")
    parser.add_argument("--features", type=int, default=500, help="feature dimension (default: 500)")


def make_graph(n: int, features: int = 500):
    """The generated graph of the benchmark (fixed seed)."""
    from graphcl.data import make_community_graph

    return make_community_graph(n, num_communities=min(100, max(2, n // 20)), num_classes=6,
                                num_features=features, avg_degree=10.0, seed=0)


def build(variant: str, data, batch_size: int, quick: bool = False):
    """``(model, optimizer, loader)`` for one variant; GRACE's ``generated`` configuration (smaller with quick)."""
    from graphcl.config import resolve_config
    from graphcl.data.sampling import neighbor_loader
    from graphcl.experiment import build_model

    overrides: dict[str, Any] = {"batch_size": batch_size, "num_neighbors": [10, 10], "negatives": variant}
    if quick:
        overrides.update(hidden_channels=16, proj_channels=16)
    cfg = resolve_config("grace", "generated", overrides=overrides)
    torch.manual_seed(0)
    model = build_model(cfg, data.num_features)
    data = model.prepare(data)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    return model, optimizer, neighbor_loader(data, batch_size, [10, 10])


class Stepper:
    """One training step per call, cycling through the loader's epochs; records the nodes of every batch."""

    def __init__(self, model, optimizer, loader) -> None:
        self.model, self.optimizer, self.loader = model, optimizer, loader
        self.batches = iter(loader)
        self.batch_nodes: list[int] = []

    def __call__(self) -> float:
        try:
            batch = next(self.batches)
        except StopIteration:
            self.batches = iter(self.loader)
            batch = next(self.batches)
        self.batch_nodes.append(int(batch.num_nodes))
        self.optimizer.zero_grad()
        loss = self.model(batch)
        loss.backward()
        self.optimizer.step()
        return float(loss.detach())


def embed_everything(model, data) -> torch.Tensor:
    """All ``N`` embeddings through the streaming inference."""
    return model.embed_chunked(data, INFERENCE_CHUNK)


def time_child(n: int, batch_size: int, steps: int, epoch_max: int, features: int, quick: bool) -> list[dict]:
    """Rows (one per variant) of the timings at ``n``, measured in this (fresh) process."""
    data, gen = harness.time_once(lambda: make_graph(n, features))
    steppers = {v: Stepper(*build(v, data, batch_size, quick)) for v in VARIANTS}
    rows = harness.time_calls(steppers, repeats=steps, warmup=1, n=n, edges=int(data.edge_index.size(1)))
    per_epoch = math.ceil(n / batch_size)
    for row in rows:
        stepper = steppers[row["variant"]]
        row["generate_s"] = gen["time_s"]
        row["batch_nodes"] = round(sum(stepper.batch_nodes) / len(stepper.batch_nodes))
        row["steps_per_epoch"] = per_epoch
        row["epoch_est_s"] = per_epoch * row["time_s"]
        row["epoch_est_cpu_s"] = per_epoch * row["cpu_s"]  # the less contended measure on a shared machine
        if n <= epoch_max:
            stepper.batches = iter(stepper.loader)
            _, epoch = harness.time_once(lambda s=stepper: [s() for _ in range(len(s.loader))])
            row["epoch_s"], row["epoch_cpu_s"] = epoch["time_s"], epoch["cpu_s"]
            row["epoch_peak_rss_mb"] = harness.process_peak_rss_mb()  # both variants' models and the graph
        z, inference = harness.time_once(lambda s=stepper: embed_everything(s.model, data))
        row["inference_s"] = inference["time_s"]
        row["finite"] = bool(torch.isfinite(z).all())
    return rows


def _rss_mb() -> float:
    """This process's current resident set size in MiB (Linux; 0 elsewhere)."""
    import os

    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        return 0.0


def memory_child(variant: str, n: int, batch_size: int, features: int, quick: bool) -> dict[str, float]:
    """Memory (MiB) of ``variant`` at ``n`` in this (fresh) process: the RSS after the set-up (interpreter and
    imports, the graph, the model and its loader); the peaks above the level before two training steps and before
    the inference of all embeddings; and the process's peak RSS over all of it (graph generation included)."""
    data = make_graph(n, features)
    stepper = Stepper(*build(variant, data, batch_size, quick))
    graph_mb, peaks = _rss_mb(), [harness.process_peak_rss_mb()]  # the high-water mark before PeakMemory resets it
    with harness.PeakMemory() as train:
        for _ in range(2):
            stepper()
    peaks.append(harness.process_peak_rss_mb())
    with harness.PeakMemory() as inference:
        embed_everything(stepper.model, data)
    peaks.append(harness.process_peak_rss_mb())
    return {"setup_rss_mb": graph_mb, "train_peak_mb": train.peak_mb, "inference_peak_mb": inference.peak_mb,
            "peak_rss_mb": max(peaks)}


def run(options: argparse.Namespace) -> dict[str, Any]:
    from graphcl.plots import growth_exponent

    sizes = options.sizes or (QUICK_SIZES if options.quick else SIZES)
    batch_size = min(options.batch_size, 256) if options.quick else options.batch_size
    steps = 1 if options.quick else options.steps
    rows: list[dict[str, Any]] = []
    for n in sizes:
        args = (n, batch_size, steps, options.epoch_max, options.features, options.quick)
        timed = time_child(*args) if options.quick else harness.isolated(time_child, *args, threads=options.threads)
        for row in timed:
            margs = (row["variant"], n, batch_size, options.features, options.quick)
            row.update(memory_child(*margs) if options.quick
                       else harness.isolated(memory_child, *margs, threads=options.threads))
            print({k: v for k, v in row.items() if not k.endswith("times_s")}, flush=True)
        rows += timed

    def slope(variant: str, key: str, from_x: float = 1e4) -> float | None:
        return growth_exponent([(r["n"], r[key]) for r in rows if r["variant"] == variant], from_x=from_x)

    bound = batch_size * (1 + 10 + 100)  # roots, their <= 10 neighbours, and <= 10 of each of those

    summary = []
    for variant in VARIANTS:
        summary.append(harness.summary_item(f"{variant}: growth exponent of the estimated epoch time from N = 10^4",
                                            slope(variant, "epoch_est_s")))
        summary.append(harness.summary_item(f"{variant}: growth exponent of the estimated epoch CPU time from "
                                            f"N = 10^4", slope(variant, "epoch_est_cpu_s")))
        if any(r["n"] >= 1e5 for r in rows):
            summary.append(harness.summary_item(f"{variant}: growth exponent of the estimated epoch CPU time from "
                                                f"N = 10^5", slope(variant, "epoch_est_cpu_s", 1e5)))
        summary.append(harness.summary_item(f"{variant}: growth exponent of the peak RSS from N = 10^4",
                                            slope(variant, "peak_rss_mb"), target="≤ 1 (never N²)"))
        timed = [r for r in rows if r["variant"] == variant and "epoch_s" in r]
        if any(r["n"] >= 1e5 for r in timed):
            summary.append(harness.summary_item(f"{variant}: growth exponent of the timed epoch CPU time from "
                                                f"N = 10^4", slope(variant, "epoch_cpu_s")))
            biggest = max(timed, key=lambda r: r["n"])
            summary.append(harness.summary_item(f"{variant}: timed epoch at N = {biggest['n']:,} (CPU time)",
                                                biggest["epoch_cpu_s"] / 60, "min"))
            summary.append(harness.summary_item(f"{variant}: peak RSS of the process timing both variants' epochs "
                                                f"at N = {biggest['n']:,}", biggest["epoch_peak_rss_mb"] / 1024,
                                                "GiB", target="≤ 24"))
        largest = max((r for r in rows if r["variant"] == variant), key=lambda r: r["n"])
        summary.append(harness.summary_item(f"{variant}: peak RSS at N = {largest['n']:,}",
                                            largest["peak_rss_mb"] / 1024, "GiB", target="≤ 24"))
    summary.append(harness.summary_item(f"largest batch (nodes; at most {bound:,} = batch x (1 + 10 + 100))",
                                        max(r["batch_nodes"] for r in rows), target=f"≤ {bound:,}"))
    return {"rows": rows, "summary": summary,
            "columns": ["n", "edges", "variant", "time_s", "cpu_s", "batch_nodes", "steps_per_epoch", "epoch_est_s",
                        "epoch_est_cpu_s", "epoch_s", "epoch_cpu_s", "epoch_peak_rss_mb", "inference_s", "setup_rss_mb", "train_peak_mb",
                        "inference_peak_mb", "peak_rss_mb"],
            "settings": {"sizes": sizes, "batch_size": batch_size, "num_neighbors": [10, 10], "steps": steps,
                         "epoch_max": options.epoch_max, "features": options.features, "avg_degree": 10,
                         "communities": 100, "inference_chunk": INFERENCE_CHUNK},
            "note": ("The epoch time above --epoch-max is an estimate (steps per epoch x the median step), not a "
                     "timed epoch; epoch_s / epoch_cpu_s are whole epochs timed, one variant after the other. A step's cost is bounded by its batch, at most batch x (1 + 10 + 100) nodes "
                     "whatever N; while N is small the batch's 2-hop neighbourhood is most of the graph and grows "
                     "with N, so the epoch time grows faster than N until the batch saturates, and linearly after. "
                     "Memory is the graph plus one batch (and two [N, 256] matrices during the inference).")}
