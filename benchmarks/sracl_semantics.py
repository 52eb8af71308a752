"""SRA-CL offline semantics: build (and cache) item / window neighbour indexes, report the build times.

Embedding and neighbour-list construction is a one-off preprocessing step, reported separately from training
(`benchmarks/results/sracl_semantic_build.json`). The indexes are cached under `benchmarks/_work/sracl_cache`
so that `benchmarks/sracl_compare.py` reuses them.

    OMP_NUM_THREADS=2 python benchmarks/sracl_semantics.py --datasets ml-100k beauty
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from graphcl.train import environment_info
from recsys.data import leave_one_out, load_sequences
from recsys.data.movielens import read_movielens_100k, read_movielens_genres
from recsys.semantic import (
    AttributeSource,
    TextEncoder,
    TextSource,
    build_semantic_index,
)

DATA = REPO.parent / "shared" / "data" / "seqrec"
CACHE = REPO / "benchmarks" / "_work" / "sracl_cache"
MAX_LEN = 20  # SRA-CL's window (left padding, most recent item last)
SOURCES = {"ml-100k": ("text", "attributes"), "beauty": ("attributes",), "sports": ("attributes",)}


def load(dataset: str):
    if dataset == "ml-100k":
        return read_movielens_100k(DATA / "ml-100k")
    return load_sequences(dataset, root=DATA)


def make_source(dataset: str, kind: str, data):
    if kind == "text":
        return TextSource(data.item_titles, TextEncoder(cache_dir=CACHE / "embeddings", show_progress=False))
    if dataset == "ml-100k":
        return AttributeSource(read_movielens_genres(data, DATA / "ml-100k"))
    name = {"beauty": "Beauty", "sports": "Sports_and_Outdoors"}[dataset]
    return AttributeSource(DATA / f"{name}_item2attributes.json")


def build(dataset: str, kind: str, data=None, split=None, **policy):
    """The cached index of ``dataset`` with semantic source ``kind`` (``text`` / ``attributes``)."""
    data = data if data is not None else load(dataset)
    split = split if split is not None else leave_one_out(data, max_len=MAX_LEN, padding="left")
    return build_semantic_index(make_source(dataset, kind, data), split, cache_dir=CACHE / "neighbours", **policy)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["ml-100k", "beauty"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sources", nargs="+", default=None, help="subset of the dataset's semantic sources")
    parser.add_argument("--exclude-same-user", action="store_true", help="build the same-user-excluded policy")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out_path = REPO / "benchmarks" / "results" / "sracl_semantic_build.json"
    # Rows of other datasets / sources and the file's notes are kept; each row names the command that built it.
    previous = json.loads(out_path.read_text()) if out_path.is_file() else {}
    rows = previous.get("rows", [])
    command = "OMP_NUM_THREADS=1 python benchmarks/sracl_semantics.py " + " ".join(sys.argv[1:])
    for dataset in args.datasets:
        data = load(dataset)
        split = leave_one_out(data, max_len=MAX_LEN, padding="left")
        for kind in args.sources or SOURCES[dataset]:
            start = time.perf_counter()
            index = build(dataset, kind, data, split, exclude_same_user=args.exclude_same_user)
            row = {"dataset": dataset, "source": kind, "command": command,
                   "total_s": round(time.perf_counter() - start, 2),
                   "loadavg": [round(x, 2) for x in os.getloadavg()],
                   **{k: v for k, v in index.info.items() if k != "semantics"},
                   "semantics": index.info["semantics"]}
            print(json.dumps(row), flush=True)
            same = (dataset, kind, args.exclude_same_user)
            rows = [r for r in rows if (r["dataset"], r["source"], r.get("exclude_same_user", False)) != same]
            rows.append(row)
            out_path.write_text(json.dumps({
                **previous,
                "benchmark": "sracl_semantic_build",
                "command": command,
                "note": previous.get("note", "exact window retrieval, 2 shared CPU cores; a cached re-run shows "
                                             "window_neighbours_cached"),
                "environment": environment_info(),
                "rows": rows,
            }, indent=2) + "\n")


if __name__ == "__main__":
    main()
