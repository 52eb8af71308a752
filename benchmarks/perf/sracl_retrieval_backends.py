"""SRA-CL's window-neighbour search: the exact torch path against the optional faiss backends (flat, IVF, HNSW).

SRA-CL's semantic index (``recsys.semantic.build_semantic_index``) retrieves, for every training window, the
``k`` most similar other training windows; on Beauty (131,413 windows) that search is the slow step of the
index build. The vectors are built as the index builds them (leave-one-out split, ``max_len`` 20, left padding,
attribute TF-IDF item vectors, recency-weighted window means, ``pool="train"``, the anchor excluded by index)
before the timing; only ``window_neighbours`` is timed, the backends alternately in one process
(``harness.time_calls``; the faiss index build is inside each call). Agreement with the exact path:
``rows_identical`` (share of anchors whose ``k`` neighbours are the same, in the same order) and ``recall`` (share
of the exact neighbour sets recovered). ``--anchors N`` times N anchors (evenly spaced) against the full pool.
The faiss variants need ``pip install faiss-cpu``; without it only ``exact`` runs and the note says so.
"""
from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path
from typing import Any

import torch

from benchmarks.perf import harness

TITLE = "SRA-CL window-neighbour search: exact torch path vs faiss"
DESCRIPTION = (
    "Retrieval of the k = 10 nearest training windows of every training window (SRA-CL's semantic index, pool "
    "train, the anchor excluded) from attribute TF-IDF window vectors: the exact torch path (default) against the "
    "optional faiss backends, IndexFlatIP (exact), IVF (nprobe 16) and HNSW (M 32, efSearch 128), each faiss index "
    "built inside the timed call. rows_identical and recall compare every backend's neighbours with the exact "
    "path's.")
DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "seqrec"
NAMES = {"beauty": "Beauty", "sports": "Sports_and_Outdoors"}
BACKENDS = ("exact", "faiss", "ivf", "hnsw")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", default="beauty", choices=sorted(NAMES), help="S3-Rec dataset (default beauty)")
    parser.add_argument("--root", default=str(DATA), help="folder holding <Name>.txt and its item2attributes.json")
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS,
                        help="variants (default: all; the faiss ones need faiss-cpu)")
    parser.add_argument("--anchors", type=int, default=None, help="time this many anchors (default: all)")
    parser.add_argument("--k", type=int, default=10, help="neighbours per window (default 10)")
    parser.add_argument("--repeats", type=int, default=1, help="timed rounds (default 1: minutes per call)")


def _settings(name: str, threads: int) -> Any:
    from recsys.semantic import FaissSearch

    return {"exact": "exact", "faiss": FaissSearch(threads=threads),
            "ivf": FaissSearch(index="ivf", nprobe=16, threads=threads),
            "hnsw": FaissSearch(index="hnsw", hnsw_m=32, ef_construction=80, ef_search=128, threads=threads)}[name]


def _vectors(options: argparse.Namespace) -> tuple[str, torch.Tensor]:
    from recsys.data import leave_one_out, load_sequences, make_sequence_dataset
    from recsys.semantic import AttributeSource

    if options.quick:  # a small generated dataset whose items carry their latent cluster as the one attribute
        data = make_sequence_dataset(num_users=300, num_items=120, num_clusters=6, seed=0)
        attributes = {item: [f"c{item % 6}", f"d{item % 4}"] for item in range(1, data.num_items + 1)}
        name = "generated-300"
    else:
        data = load_sequences(options.dataset, root=options.root)
        attributes = Path(options.root) / f"{NAMES[options.dataset]}_item2attributes.json"
        name = options.dataset
    split = leave_one_out(data, max_len=20, padding="left")
    source = AttributeSource(attributes)
    source.item_vectors(split.num_items)
    vectors = source.window_vectors(split.train.item_seq, split.train.user, num_items=split.num_items,
                                    user_ids=split.user_ids)
    return name, vectors


def run(options: argparse.Namespace) -> dict[str, Any]:
    from recsys.semantic import window_neighbours
    from recsys.semantic.retrieval import describe_backend

    name, vectors = _vectors(options)
    pool = vectors.size(0)
    queries = (torch.arange(pool) if not options.anchors or options.anchors >= pool
               else torch.linspace(0, pool - 1, options.anchors).long())
    has_faiss = importlib.util.find_spec("faiss") is not None
    names = [b for b in options.backends if b == "exact" or has_faiss]
    skipped = [b for b in options.backends if b not in names]
    results: dict[str, torch.Tensor] = {}

    def call(variant: str) -> None:
        results[variant] = window_neighbours(vectors[queries], vectors, options.k, query_in_pool=queries,
                                             backend=_settings(variant, options.threads))

    case = f"{name}: {queries.numel():,} anchors x {pool:,} windows, d {vectors.size(1)}"
    rows = harness.time_calls({v: (lambda v=v: call(v)) for v in names},
                              repeats=1 if options.quick else options.repeats, warmup=0, case=case)
    reference = results.get("exact")
    for row in rows:
        row["settings"] = describe_backend(_settings(row["variant"], options.threads))
        if reference is not None:
            got = results[row["variant"]]
            row["rows_identical"] = float((got == reference).all(1).float().mean())
            hits = sum(len(set(a) & set(b)) for a, b in zip(got.tolist(), reference.tolist()))
            row["recall"] = hits / reference.numel()
    summary = [harness.summary_item(f"exact / {v} ({key})", harness.ratio(rows, "exact", v, key=key), "x")
               for v in names if v != "exact" and "exact" in names for key in ("time_s", "cpu_s")]
    note = f"faiss is not installed (pip install faiss-cpu): {', '.join(skipped)} not run." if skipped else ""
    return {"rows": rows, "summary": summary, "note": note,
            "columns": ["case", "variant", "time_s", "cpu_s", "rows_identical", "recall"],
            "settings": {"dataset": name, "anchors": int(queries.numel()), "pool": pool, "dim": int(vectors.size(1)),
                         "k": options.k, "max_len": 20, "padding": "left", "pool_policy": "train"}}
