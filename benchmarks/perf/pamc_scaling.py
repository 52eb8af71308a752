"""Forward + backward time and peak memory of PamC's meta-node loss versus the exact all-pairs loss.

Implementations (all on the same embeddings ``z`` [N, d] and the same sparse positive graph):

* ``pamc``    — :class:`graphcl.losses.PamCLoss` (authors' uniform form), K meta-nodes from the planted
                communities: ``O(nnz·d + N·d + K²·d)``.
* ``pamc_size`` — the cluster-size-weighted form (same cost).
* ``chunked`` — the exact loss :func:`graphcl.losses.ncontrast_loss` with the streaming log-sum-exp
                (``chunk_size=1024``): ``O(N² d)`` time, ``O(chunk · N)`` memory.
* ``dense``   — the same exact loss on the materialised ``N x N`` matrix (``chunk_size=None``), i.e. the
                dense InfoNCE-style computation of the authors' SCGC code.

Graphs: planted communities (K = 100 equal blocks, each node with 4 random in-block and 1 random out-of-block
neighbours, symmetrised) and the first-order influence matrix ``D⁻¹(A + I)``; ``z`` = community centre + noise.
Every (implementation, N) runs in a fresh subprocess so that its peak RSS is its own; memory = peak RSS minus
the RSS after the inputs were built. Times are the median of ``repeats`` forward + backward passes after one
warm-up. Usage::

    python benchmarks/perf/pamc_scaling.py            # writes benchmarks/results/pamc_scaling.json
    python benchmarks/perf/pamc_scaling.py --quick
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "results"
LIMITS = {"pamc": 1_000_000, "pamc_size": 1_000_000, "chunked": 20_000, "dense": 20_000}


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def make_inputs(n: int, d: int, k: int, seed: int = 0):
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
    index, weight = influence_matrix(torch.stack([src, dst]), n, 1)
    centres = torch.randn(k, d, generator=g)
    z = (centres[labels] + 0.7 * torch.randn(n, d, generator=g)).requires_grad_()
    return z, index, weight, labels


def worker(impl: str, n: int, d: int, k: int, repeats: int, threads: int) -> dict:
    import torch

    from graphcl.losses import ncontrast_loss, pamc_loss
    from graphcl.train import peak_memory_mb

    torch.set_num_threads(threads)
    z, index, weight, labels = make_inputs(n, d, k)
    base = _rss_mb()

    def step() -> float:
        z.grad = None
        start = time.perf_counter()
        if impl == "pamc":
            loss = pamc_loss(z, index, labels, weight, tau=1.0, num_clusters=k)
        elif impl == "pamc_size":
            loss = pamc_loss(z, index, labels, weight, tau=1.0, num_clusters=k, weighting="size")
        elif impl == "chunked":
            loss = ncontrast_loss(z, index, weight, tau=1.0, chunk_size=1024)
        else:
            loss = ncontrast_loss(z, index, weight, tau=1.0, chunk_size=None)
        loss.backward()
        return time.perf_counter() - start

    times = [step() for _ in range(1 + repeats)][1:]
    return {
        "impl": impl, "n": n, "d": d, "k": k, "nnz": int(index.size(1)),
        "time_s": statistics.median(times), "times_s": times,
        "peak_mem_mb": max(0.0, peak_memory_mb() - base),
    }


def fit_slope(rows: list[dict], impl: str, n_min: int) -> float | None:
    pts = [(math.log(r["n"]), math.log(r["time_s"])) for r in rows if r["impl"] == impl and r["n"] >= n_min]
    if len(pts) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sum((x - mx) ** 2 for x, _ in pts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N up to 10^4 only")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="*", help="override the list of N")
    parser.add_argument("--impls", nargs="*", default=["pamc", "pamc_size", "chunked", "dense"])
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
            if n > LIMITS[impl] or (impl, n) in done:
                continue
            out = subprocess.run(
                [sys.executable, __file__, "--worker", impl, str(n), str(d), str(k),
                 "--repeats", str(args.repeats), "--threads", str(args.threads)],
                capture_output=True, text=True,
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
        "slope_chunked_exact": fit_slope(ok, "chunked", 2_000),
        "slope_dense_exact": fit_slope(ok, "dense", 2_000),
    }
    if "pamc" in at and "dense" in at:
        summary["n20k_speedup_pamc_vs_dense"] = at["dense"]["time_s"] / at["pamc"]["time_s"]
        summary["n20k_memory_ratio_pamc_over_dense"] = at["pamc"]["peak_mem_mb"] / max(at["dense"]["peak_mem_mb"], 1e-9)
    if "pamc" in at and "chunked" in at:
        summary["n20k_speedup_pamc_vs_chunked"] = at["chunked"]["time_s"] / at["pamc"]["time_s"]
    result = {
        "benchmark": "pamc_scaling",
        "command": "python benchmarks/perf/pamc_scaling.py" + (" --quick" if args.quick else "")
        + (" (N <= 10^5, all impls) + --sizes 200000 500000 --impls pamc pamc_size --repeats 1 (resumed)"
           if args.resume_log else ""),
        "settings": {"d": d, "K": k, "tau": 1.0, "threads": args.threads, "repeats": args.repeats,
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
