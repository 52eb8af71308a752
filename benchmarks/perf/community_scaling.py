"""CSGCL's one-time preparation on large graphs: community detection (Leiden, Louvain) and strengths, 10^4 to 10^6 nodes.

CSGCL (Chen et al., IJCAI 2023) detects communities once per graph before training
(:class:`graphcl.transforms.AddCommunities`). On the generated planted-community graph (mean degree 10, 100
planted communities, 32 features), each backend at each N runs in a fresh process that builds the graph and then

* ``detect``: :func:`graphcl.functional.detect_communities` (seeded; Leiden from the ``community`` extra,
  networkx's Louvain otherwise) — wall and process CPU time, once (a seeded detection is deterministic);
* ``strength``: the rest of the preparation, :class:`AddCommunities` given that partition (community strengths,
  per-node strength);
* ``peak_mem_mb``: the peak resident memory of detection and strength above the graph already built.

The partition found is compared with the planted one (NMI) and its community count recorded. Louvain (pure
Python) runs up to 10^5 nodes by default; Leiden only where ``leidenalg`` and ``igraph`` are installed.
"""
from __future__ import annotations

import argparse
from typing import Any

from benchmarks.perf import harness

TITLE = "CSGCL preparation vs N: community detection (Leiden, Louvain) and strengths on the generated graph"
DESCRIPTION = (
    "Generated planted-community graph (mean degree 10, 100 planted communities). Each backend at each N in a "
    "fresh process: seeded detection (wall and process CPU time, once: it is deterministic), then the rest of "
    "AddCommunities given that partition (strengths); peak RSS of both above the built graph; NMI of the found "
    "partition against the planted one.")
LIMITS = {"leiden": 1_000_000, "louvain": 100_000}
SIZES = [10_000, 100_000, 1_000_000]
QUICK_SIZES = [500, 1_000]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help=f"N values (default: {SIZES})")
    parser.add_argument("--backends", nargs="+", default=list(LIMITS), choices=list(LIMITS))
    parser.add_argument("--louvain-max", type=int, default=LIMITS["louvain"],
                        help=f"largest N for networkx's Louvain (default: {LIMITS['louvain']:,})")


def make_graph(n: int):
    """The benchmark's graph (fixed seed)."""
    from graphcl.data import make_community_graph

    return make_community_graph(n, num_communities=min(100, max(2, n // 20)), num_classes=6, num_features=32,
                                avg_degree=10.0, seed=0)


def prepare(backend: str, n: int) -> dict[str, Any]:
    """Detection and strengths of ``backend`` at ``n`` in this (fresh) process; the timings and the partition's
    quality."""
    from sklearn.metrics import normalized_mutual_info_score

    from graphcl.functional import detect_communities
    from graphcl.transforms import AddCommunities

    data = make_graph(n)
    with harness.PeakMemory() as memory:
        community, detect = harness.time_once(lambda: detect_communities(data.edge_index, n, backend, seed=0))
        _, strength = harness.time_once(lambda: AddCommunities(partition=community)(data))
    return {"n": n, "edges": int(data.edge_index.size(1)), "variant": backend, "time_s": detect["time_s"],
            "cpu_s": detect["cpu_s"], "strength_s": strength["time_s"], "peak_mem_mb": memory.peak_mb,
            "communities": int(community.max()) + 1,
            "nmi_planted": float(normalized_mutual_info_score(data.community.numpy(), community.numpy()))}


def run(options: argparse.Namespace) -> dict[str, Any]:
    from graphcl.functional.community import leiden_available
    from graphcl.plots import growth_exponent

    sizes = options.sizes or (QUICK_SIZES if options.quick else SIZES)
    limits = {**LIMITS, "louvain": options.louvain_max}
    backends = [b for b in options.backends if b != "leiden" or leiden_available()]
    rows: list[dict[str, Any]] = []
    for n in sizes:
        for backend in backends:
            if n > limits[backend]:
                continue
            row = prepare(backend, n) if options.quick else harness.isolated(prepare, backend, n,
                                                                               threads=options.threads)
            print(row, flush=True)
            rows.append(row)

    summary = []
    for backend in backends:
        points = [(r["n"], r["cpu_s"]) for r in rows if r["variant"] == backend]
        if len(points) > 1:
            summary.append(harness.summary_item(f"{backend}: growth exponent of detection CPU time",
                                                growth_exponent(points, from_x=points[0][0])))
        largest = max((r for r in rows if r["variant"] == backend), key=lambda r: r["n"], default=None)
        if largest is not None:
            summary.append(harness.summary_item(
                f"{backend}: detection + strengths at N = {largest['n']:,} (wall)",
                largest["time_s"] + largest["strength_s"], "s"))
    both = {(r["n"], r["variant"]): r for r in rows}
    common = [n for n in sizes if (n, "leiden") in both and (n, "louvain") in both]
    if common:
        n = max(common)
        summary.append(harness.summary_item(f"N = {n:,}: Louvain / Leiden detection CPU time",
                                            both[n, "louvain"]["cpu_s"] / both[n, "leiden"]["cpu_s"], "x"))
    return {"rows": rows, "summary": summary,
            "columns": ["n", "edges", "variant", "time_s", "cpu_s", "strength_s", "peak_mem_mb", "communities",
                        "nmi_planted"],
            "settings": {"sizes": sizes, "louvain_max": limits["louvain"], "seed": 0,
                         "graph": "make_community_graph(n, min(100, n // 20) communities, 6 classes, 32 features, "
                                  "mean degree 10, seed 0)"}}
