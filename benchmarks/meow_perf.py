"""MEOW on DBLP: epoch time, peak memory and the size of the sparse views against the reference's dense ones.

Reads a finished ``graphcl train --model meow --dataset dblp`` run folder (``metrics.csv`` with per-epoch
``time_s``, ``results.json`` with ``peak_mem_mb``) and rebuilds the views once to count their non-zeros. The
reference code stores every propagation matrix (Â_m, Â'_m per meta-path and Ā) as a dense float32 N × N tensor;
the same-run comparison is the memory those dense matrices would take against our CSR operators.

Usage::

    python benchmarks/meow_perf.py benchmarks/_work/meow-dblp   # writes benchmarks/results/meow_dblp_perf.json
"""
from __future__ import annotations

import csv
import json
import os
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data"


def main(run_dir: Path) -> Path:
    from graphcl.config import resolve_config
    from graphcl.data.heco import load_heco
    from graphcl.nn.metapath import MetaPathInputs
    from graphcl.transforms.metapath import MetaPathContexts, MetaPathViews

    results = json.loads((run_dir / "results.json").read_text())
    with open(run_dir / "metrics.csv", newline="") as handle:
        times = [float(row["time_s"]) for row in csv.DictReader(handle)]
    cfg = resolve_config("meow", "dblp")
    data = load_heco("dblp", SHARED / "heco")
    views = MetaPathContexts()(MetaPathViews(cfg["topk"], cfg["edge_mask"], cfg["feature_mask"], seed=0)(data))
    inputs = MetaPathInputs.from_data(views)
    n = data["author"].num_nodes
    propagation = inputs.views + inputs.augmented + [inputs.coarse]
    nnz_propagation = sum(op.nnz() for op in propagation)
    nnz_context = sum(op.nnz() for contexts in inputs.contexts for op, _ in contexts.values())
    csr_bytes = lambda nnz, rows: nnz * (4 + 8) + (rows + 1) * 8
    ours_mb = sum(csr_bytes(op.nnz(), op.shape[0]) for op in propagation) / 2**20
    dense_mb = len(propagation) * n * n * 4 / 2**20
    out = {
        "benchmark": "meow_dblp_perf",
        "command": f"python benchmarks/meow_perf.py {run_dir.relative_to(HERE.parent) if run_dir.is_absolute() else run_dir}",
        "run_command": "graphcl train --model meow --dataset dblp " + " ".join(
            f"{k}={results['config'][k]}" for k in ("epochs", "kmeans_n_init")),
        "machine": {"threads": int(os.environ.get("OMP_NUM_THREADS", "0") or 0), "cpus": os.cpu_count(),
                    "load_average_at_write": os.getloadavg()[0],
                    "note": "2 CPU cores shared by ~6 concurrent jobs: absolute times are inflated"},
        "epochs": len(times),
        "median_epoch_s": statistics.median(times[1:] if len(times) > 1 else times),
        "min_epoch_s": min(times),
        "first_epoch_s": times[0],
        "train_and_eval_time_s": results["time_s"],
        "peak_mem_mb": results["peak_mem_mb"],
        "propagation_matrices": len(propagation),
        "nnz_propagation": nnz_propagation,
        "nnz_context_operators": nnz_context,
        "sparse_propagation_mb": ours_mb,
        "dense_reference_propagation_mb": dense_mb,
        "ratio_sparse_to_dense": ours_mb / dense_mb,
    }
    path = HERE / "results" / "meow_dblp_perf.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return path


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else HERE / "_work" / "meow-dblp"))
