"""Forward + backward time and peak memory of PamC's meta-node loss versus the exact all-pairs loss.

Implementations (all on the same embeddings ``z`` [N, d] and the same sparse positive graph):

* ``pamc``       — :func:`graphcl.losses.pamc_loss` (authors' uniform form), K meta-nodes from the planted
                   communities: ``O(nnz·d + N·d + K²·d)``.
* ``pamc_size``  — the cluster-size-weighted form (same cost).
* ``pamc_local`` — ``pamc`` on the same graph with the nodes renumbered so that every community is a contiguous
                   id range (an isomorphic graph, same loss value): a probe of memory locality (N ≥ 10^4 only).
* ``chunked``    — the exact loss :func:`graphcl.losses.ncontrast_loss` with the streaming log-sum-exp
                   (``chunk_size=1024``): ``O(N² d)`` time, ``O(chunk · N)`` memory (N ≤ 20,000).
* ``dense``      — the same exact loss on the materialised ``N x N`` matrix (``chunk_size=None``), the dense
                   computation of the authors' SCGC code (N ≤ 20,000).

Graph: planted communities (K = 100 equal blocks, each node with 4 random in-block and 1 random out-of-block
neighbours, symmetrised) and the first-order influence matrix ``D⁻¹(A + I)``; ``z`` = community centre + noise.
At every N the implementations alternate in one process (median of the passes after one warm-up; wall and
process CPU time — on a shared machine the CPU time of a single-threaded process is the less contended measure,
so slopes are fitted on both); the peak memory of each (implementation, N) is measured in a fresh process.
"""
from __future__ import annotations

import argparse
from typing import Any

import torch

from benchmarks.perf import harness

TITLE = "PamC loss vs the exact loss, forward + backward, d = 64, K = 100"
DESCRIPTION = (
    "pamc = authors' meta-node form; pamc_size = cluster-size-weighted form; pamc_local = pamc on the same graph "
    "renumbered community by community (memory-locality probe); chunked = exact loss with the streaming "
    "log-sum-exp; dense = exact loss on the materialised N×N matrix. Time: median of the passes (wall, and process "
    "CPU time), the implementations alternating at each N in one process; memory: peak RSS during a pass above the "
    "RSS before it, each (implementation, N) in a fresh process.")
LIMITS = {"pamc": 1_000_000, "pamc_size": 1_000_000, "pamc_local": 1_000_000, "chunked": 20_000, "dense": 20_000}
SMALLEST = {"pamc_local": 10_000}  # the locality probe matters only where z outgrows the caches
SIZES = [1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000]
QUICK_SIZES = [500, 1_000]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help=f"N values (default: {SIZES})")
    parser.add_argument("--impls", nargs="+", default=list(LIMITS), choices=list(LIMITS))
    parser.add_argument("--repeats", type=int, default=3, help="timed passes for N <= 10^5 (default: 3)")
    parser.add_argument("--repeats-large", type=int, default=1, help="timed passes for N > 10^5 (default: 1)")


def make_inputs(n: int, d: int = 64, k: int = 100, seed: int = 0, contiguous: bool = False):
    """Planted-community graph, its influence matrix and embeddings; ``contiguous`` renumbers the nodes so that
    each community occupies consecutive ids (same graph up to isomorphism, same rows of ``z``)."""
    from graphcl.functional import influence_matrix

    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % k
    src = torch.arange(n).repeat_interleave(5)
    offsets = torch.randint(0, max(1, n // k), (n, 4), generator=g) * k
    inside = (labels.unsqueeze(1) + offsets) % n  # in-block neighbours: same residue mod k
    outside = torch.randint(0, n, (n, 1), generator=g)
    dst = torch.cat([inside, outside], 1).reshape(-1)
    centres = torch.randn(k, d, generator=g)
    z = centres[labels] + 0.7 * torch.randn(n, d, generator=g)
    if contiguous:
        new_id = torch.argsort(labels * n + torch.arange(n))  # old id at each new position
        old_to_new = torch.empty_like(new_id)
        old_to_new[new_id] = torch.arange(n)
        src, dst, z, labels = old_to_new[src], old_to_new[dst], z[new_id], labels[new_id]
    index, weight = influence_matrix(torch.stack([src, dst]), n, 1)
    return z.requires_grad_(), index, weight, labels


def loss_pass(impl: str, inputs: tuple, k: int = 100) -> None:
    from graphcl.losses import ncontrast_loss, pamc_loss

    z, index, weight, labels = inputs
    z.grad = None
    if impl in ("pamc", "pamc_local"):
        loss = pamc_loss(z, index, labels, weight, tau=1.0, num_clusters=k)
    elif impl == "pamc_size":
        loss = pamc_loss(z, index, labels, weight, tau=1.0, num_clusters=k, weighting="size")
    else:
        loss = ncontrast_loss(z, index, weight, tau=1.0, chunk_size=1024 if impl == "chunked" else None)
    loss.backward()


def memory_child(impl: str, n: int) -> float:
    """Peak memory (MiB) of one pass of ``impl`` at ``n`` in this (fresh) process, above the inputs."""
    import graphcl.losses  # noqa: F401 - imported before the measurement, which must see the pass only

    inputs = make_inputs(n, contiguous=impl == "pamc_local")
    with harness.PeakMemory() as memory:
        loss_pass(impl, inputs)
    return memory.peak_mb


def run(options: argparse.Namespace) -> dict[str, Any]:
    from graphcl.plots import growth_exponent

    sizes = options.sizes or (QUICK_SIZES if options.quick else SIZES)
    rows: list[dict[str, Any]] = []
    for n in sizes:
        impls = [i for i in options.impls if SMALLEST.get(i, 0) <= n <= LIMITS[i]]
        shared = make_inputs(n)
        inputs = {i: make_inputs(n, contiguous=True) if i == "pamc_local" else shared for i in impls}
        repeats = 1 if options.quick else (options.repeats if n <= 100_000 else options.repeats_large)
        timed = harness.time_calls({i: (lambda i=i, x=inputs[i]: loss_pass(i, x)) for i in impls},
                                   repeats=repeats, warmup=1, n=n, nnz=int(shared[1].size(1)))
        for row in timed:
            row["peak_mem_mb"] = (memory_child(row["variant"], n) if options.quick else
                                  harness.isolated(memory_child, row["variant"], n, threads=options.threads))
            row["bytes_per_edge"] = row["peak_mem_mb"] * 2**20 / row["nnz"]
            print({k: v for k, v in row.items() if not k.endswith("times_s")}, flush=True)
        rows += timed
        del inputs, shared

    def slope(impl: str, key: str, n_min: float) -> float | None:
        return growth_exponent([(r["n"], r[key]) for r in rows if r["variant"] == impl], from_x=n_min)

    summary = []
    for impl, n_min in (("pamc", 1e4), ("pamc_size", 1e4), ("pamc_local", 1e4), ("pamc", 1e5), ("chunked", 2e3),
                        ("dense", 2e3)):
        if any(r["variant"] == impl for r in rows):
            summary.append(harness.summary_item(f"{impl}: growth exponent of CPU time from N = {n_min:,.0f}",
                                                slope(impl, "cpu_s", n_min),
                                                **({"target": "≤ 1.1"} if impl == "pamc" and n_min == 1e4 else {})))
            summary.append(harness.summary_item(f"{impl}: growth exponent of wall time from N = {n_min:,.0f}",
                                                slope(impl, "time_s", n_min)))
    per_edge = [r["bytes_per_edge"] for r in rows if r["variant"] == "pamc" and r["n"] >= 100_000]
    if per_edge:
        summary.append(harness.summary_item("pamc: largest memory per edge at N ≥ 10^5", max(per_edge), "B"))
    at = {r["variant"]: r for r in rows if r["n"] == 20_000}
    if "pamc" in at:
        for other in ("dense", "chunked"):
            if other in at:
                summary.append(harness.summary_item(f"N = 20,000: {other} / pamc CPU time",
                                                    at[other]["cpu_s"] / at["pamc"]["cpu_s"], "x",
                                                    **({"target": "≥ 20"} if other == "dense" else {})))
        if "dense" in at:
            summary.append(harness.summary_item("N = 20,000: pamc / dense peak memory",
                                                at["pamc"]["peak_mem_mb"] / max(at["dense"]["peak_mem_mb"], 1e-9),
                                                "x", target="≤ 0.1"))
    return {"rows": rows, "summary": summary, "columns": ["n", "nnz", "variant", "time_s", "cpu_s", "peak_mem_mb"],
            "settings": {"d": 64, "K": 100, "tau": 1.0, "repeats": options.repeats,
                         "repeats_above_1e5": options.repeats_large, "sizes": sizes,
                         "graph": "planted communities (100 blocks, 4 in-block + 1 random neighbour), influence r=1"}}
