"""Forward + backward time and peak memory of PamC's meta-node loss versus the exact all-pairs loss.

Implementations (all on the same embeddings ``z`` [N, d] and the same sparse positive graph):

* ``pamc``    — :class:`graphcl.losses.PamCLoss` (authors' uniform form), K meta-nodes from the planted
                communities: ``O(nnz·d + N·d + K²·d)``.
* ``pamc_size`` — the cluster-size-weighted form (same cost).
* ``pamc_local`` — ``pamc`` on the same graph with the nodes renumbered so that every community is a
                contiguous id range (an isomorphic graph, same embeddings and loss value): a probe of memory
                locality. In the default numbering (node ``i`` in community ``i mod K``) a node's neighbours are
                spread over all ``N`` rows, so once ``z`` outgrows the last-level cache every gathered row is a
                DRAM miss.
* ``chunked`` — the exact loss :func:`graphcl.losses.ncontrast_loss` with the streaming log-sum-exp
                (``chunk_size=1024``): ``O(N² d)`` time, ``O(chunk · N)`` memory.
* ``dense``   — the same exact loss on the materialised ``N x N`` matrix (``chunk_size=None``), i.e. the
                dense InfoNCE-style computation of the authors' SCGC code.

Graphs: planted communities (K = 100 equal blocks, each node with 4 random in-block and 1 random out-of-block
neighbours, symmetrised) and the first-order influence matrix ``D⁻¹(A + I)``; ``z`` = community centre + noise.
Every (implementation, N) runs in a fresh subprocess; after the inputs are built the kernel's peak-RSS counter
is reset (``/proc/self/clear_refs``), so memory = peak RSS during the loss passes minus the RSS before them.
Times are the median of ``repeats`` forward + backward passes after one warm-up (``--repeats-large`` above
N = 10^5), both wall-clock and process CPU time: on a shared machine the CPU time of this single-threaded
process is the less contended measure, so slopes are fitted on both. ``os.getloadavg()`` is recorded around
every worker. Usage::

    python benchmarks/perf/pamc_scaling.py            # writes benchmarks/results/pamc_scaling.json
    python benchmarks/perf/pamc_scaling.py --quick
"""
from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "results"
LIMITS = {"pamc": 1_000_000, "pamc_size": 1_000_000, "pamc_local": 1_000_000, "chunked": 20_000, "dense": 20_000}
SMALLEST = {"pamc_local": 10_000}  # the locality probe matters only where z outgrows the caches


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS counter (VmHWM) of this process; False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def make_inputs(n: int, d: int, k: int, seed: int = 0, contiguous: bool = False):
    """Planted-community graph, its influence matrix and embeddings; ``contiguous`` renumbers the nodes so that
    each community occupies consecutive ids (same graph up to isomorphism, same rows of ``z``)."""
    import torch

    from graphcl.functional import influence_matrix

    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % k
    # in-block neighbours: random members of the same community (same residue mod k)
    src = torch.arange(n).repeat_interleave(5)
    offsets = torch.randint(0, max(1, n // k), (n, 4), generator=g) * k
    inside = (labels.unsqueeze(1) + offsets) % n
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


def worker(impl: str, n: int, d: int, k: int, repeats: int, threads: int) -> dict:
    import torch

    from graphcl.losses import ncontrast_loss, pamc_loss
    from graphcl.train import peak_memory_mb

    torch.set_num_threads(threads)
    load_before = os.getloadavg()
    z, index, weight, labels = make_inputs(n, d, k, contiguous=impl == "pamc_local")
    gc.collect()
    reset = _reset_peak_rss()
    base = _status_mb("VmRSS")

    def step() -> tuple[float, float]:
        z.grad = None
        start, cpu = time.perf_counter(), time.process_time()
        if impl in ("pamc", "pamc_local"):
            loss = pamc_loss(z, index, labels, weight, tau=1.0, num_clusters=k)
        elif impl == "pamc_size":
            loss = pamc_loss(z, index, labels, weight, tau=1.0, num_clusters=k, weighting="size")
        elif impl == "chunked":
            loss = ncontrast_loss(z, index, weight, tau=1.0, chunk_size=1024)
        else:
            loss = ncontrast_loss(z, index, weight, tau=1.0, chunk_size=None)
        loss.backward()
        return time.perf_counter() - start, time.process_time() - cpu

    measured = [step() for _ in range(1 + repeats)][1:]
    times, cpu_times = [t for t, _ in measured], [c for _, c in measured]
    peak = _status_mb("VmHWM") if reset else peak_memory_mb()
    return {
        "impl": impl, "n": n, "d": d, "k": k, "nnz": int(index.size(1)),
        "time_s": statistics.median(times), "times_s": times,
        "cpu_s": statistics.median(cpu_times), "cpu_times_s": cpu_times,
        "peak_mem_mb": max(0.0, peak - base),
        "bytes_per_edge": max(0.0, peak - base) * 2**20 / int(index.size(1)),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
    }


def fit_slope(rows: list[dict], impl: str, n_min: int, key: str = "time_s") -> float | None:
    """Least-squares slope of log(time) on log(N) over the rows of ``impl`` with ``N >= n_min``."""
    pts = [(math.log(r["n"]), math.log(r[key])) for r in rows if r["impl"] == impl and r["n"] >= n_min and key in r]
    if len(pts) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sum((x - mx) ** 2 for x, _ in pts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N up to 10^4 only")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3, help="timed passes for N <= 10^5")
    parser.add_argument("--repeats-large", type=int, default=1, help="timed passes for N > 10^5")
    parser.add_argument("--note", default="", help="free-text note stored in the JSON")
    parser.add_argument("--sizes", type=int, nargs="*", help="override the list of N")
    parser.add_argument("--impls", nargs="*", default=["pamc", "pamc_size", "pamc_local", "chunked", "dense"],
                        choices=sorted(LIMITS))
    parser.add_argument("--resume-log", type=Path, help="reuse rows printed by an earlier (interrupted) run")
    parser.add_argument("--worker", nargs=4, metavar=("IMPL", "N", "D", "K"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        impl, n, d, k = args.worker
        print(json.dumps(worker(impl, int(n), int(d), int(k), args.repeats, args.threads)))
        return
    sizes = [1_000, 2_000, 5_000, 10_000] if args.quick else [
        1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000]
    if args.sizes:
        sizes = args.sizes
    d, k = 64, 100
    rows = []
    if args.resume_log:
        import ast

        rows = [ast.literal_eval(line) for line in args.resume_log.read_text().splitlines() if line.startswith("{'impl'")]
    done = {(r["impl"], r["n"]) for r in rows}
    for n in sizes:
        for impl in args.impls:
            if n > LIMITS[impl] or n < SMALLEST.get(impl, 0) or (impl, n) in done:
                continue
            out = subprocess.run(
                [sys.executable, __file__, "--worker", impl, str(n), str(d), str(k),
                 "--repeats", str(args.repeats if n <= 100_000 else args.repeats_large),
                 "--threads", str(args.threads)],
                capture_output=True, text=True, check=False,
            )
            if out.returncode != 0:
                rows.append({"impl": impl, "n": n, "error": out.stderr.strip().splitlines()[-1:]})
            else:
                rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(rows[-1], flush=True)
    ok = [r for r in rows if "error" not in r]
    at = {r["impl"]: r for r in ok if r["n"] == 20_000}
    summary = {
        "slope_pamc_1e4_to_max": fit_slope(ok, "pamc", 10_000),
        "slope_pamc_size_1e4_to_max": fit_slope(ok, "pamc_size", 10_000),
        "slope_pamc_1e4_to_max_cpu": fit_slope(ok, "pamc", 10_000, "cpu_s"),
        "slope_pamc_size_1e4_to_max_cpu": fit_slope(ok, "pamc_size", 10_000, "cpu_s"),
        "slope_pamc_local_1e4_to_max_cpu": fit_slope(ok, "pamc_local", 10_000, "cpu_s"),
        "slope_pamc_1e5_to_max_cpu": fit_slope(ok, "pamc", 100_000, "cpu_s"),
        "slope_pamc_local_1e5_to_max_cpu": fit_slope(ok, "pamc_local", 100_000, "cpu_s"),
        "slope_chunked_exact": fit_slope(ok, "chunked", 2_000),
        "slope_dense_exact": fit_slope(ok, "dense", 2_000),
        "slope_chunked_exact_cpu": fit_slope(ok, "chunked", 2_000, "cpu_s"),
        "slope_dense_exact_cpu": fit_slope(ok, "dense", 2_000, "cpu_s"),
        "max_n_pamc": max((r["n"] for r in ok if r["impl"] == "pamc"), default=None),
    }
    per_edge = [r["bytes_per_edge"] for r in ok if r["impl"] == "pamc" and r["n"] >= 100_000 and "bytes_per_edge" in r]
    if per_edge:
        summary["pamc_bytes_per_edge_n_ge_1e5"] = max(per_edge)
    if "pamc" in at and "dense" in at:
        summary["n20k_speedup_pamc_vs_dense"] = at["dense"]["time_s"] / at["pamc"]["time_s"]
        summary["n20k_memory_ratio_pamc_over_dense"] = at["pamc"]["peak_mem_mb"] / max(at["dense"]["peak_mem_mb"], 1e-9)
    if "pamc" in at and "chunked" in at:
        summary["n20k_speedup_pamc_vs_chunked"] = at["chunked"]["time_s"] / at["pamc"]["time_s"]
    for other in ("dense", "chunked"):
        if "pamc" in at and other in at and "cpu_s" in at["pamc"] and "cpu_s" in at[other]:
            summary[f"n20k_speedup_pamc_vs_{other}_cpu"] = at[other]["cpu_s"] / at["pamc"]["cpu_s"]
    result = {
        "benchmark": "pamc_scaling",
        "command": "python " + " ".join(["benchmarks/perf/pamc_scaling.py", *sys.argv[1:]]),
        "note": args.note,
        "settings": {"d": d, "K": k, "tau": 1.0, "threads": args.threads, "repeats": args.repeats,
                     "repeats_above_1e5": args.repeats_large,
                     "graph": "planted communities (100 blocks, 4 in-block + 1 random neighbour), influence r=1"},
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "targets": {"pamc_slope_max": 1.1, "n20k_speedup_vs_dense_min": 20, "n20k_memory_ratio_max": 0.1},
        "summary": summary,
        "rows": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "pamc_scaling.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
