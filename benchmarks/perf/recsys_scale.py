"""Recommendation at scale: data preparation, one SASRec training epoch and full ranking from 10^4 to 10^6 users.

Every size runs in a fresh process (``harness.isolated``), so each peak memory is that size's own. Rows:

* ``data``: ``make_sequence_dataset`` (titles off) + ``leave_one_out``: time, peak memory above the process's
  level before, bytes per interaction, and the bytes the samples keep (32 per sample: they are gathered per batch);
  ``all windows`` materialises every ``[N, L]`` training window (``split.train.item_seq``) for comparison; the
  ``beauty`` row reads the real Beauty file.
* ``epoch``: ``recsys.train.train_recommender`` for one epoch of SASRec over every training sample (batch 256,
  the validation ranking at the end of the epoch included, as the trainer always runs it); ``valid_s`` is that
  validation timed again on its own, ``train_s`` the difference.
* ``ranking``: ``evaluate_ranking`` of an untrained SASRec on the test split (one sample per user) over a large
  catalogue, items chunked (the default protocol) and, at the smallest size, whole rows (``item_chunk_size=None``).
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

from benchmarks.perf import harness

TITLE = "Recommendation at scale: data preparation, SASRec epoch and full ranking from 10^4 to 10^6 users"
DESCRIPTION = (
    "Generated sequence data (`make_sequence_dataset`, mean length 12) prepared by `leave_one_out`, one epoch of "
    "SASRec through the recommendation trainer (`train_recommender`, batch 256, every training sample, the "
    "end-of-epoch validation ranking included), and full ranking of the test split over a large catalogue, "
    "items chunked (`RankingProtocol(item_chunk_size=4096)`, the default) and whole rows (`item_chunk_size=None`). "
    "Every size runs in a fresh process; peak memory is the resident set above the process's level before the "
    "step (`harness.PeakMemory`). The samples keep 32 bytes each (user, end of the input in the flat item tensor, "
    "length, target) and gather their `[B, L]` windows per batch; `all windows` is what materialising them costs.")
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "seqrec"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="users (default 10^4 10^5 10^6)")
    parser.add_argument("--train-items", type=int, default=2000, help="catalogue of the training data (2000)")
    parser.add_argument("--catalogue", type=int, default=100_000, help="catalogue of the ranking rows (10^5)")
    parser.add_argument("--large-catalogue", type=int, default=1_000_000,
                        help="catalogue ranked at the smallest size only, chunked and whole rows (10^6)")
    parser.add_argument("--max-len", type=int, default=50)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--item-chunk-size", type=int, default=4096)
    parser.add_argument("--materialise-up-to", type=int, default=100_000,
                        help="largest size whose [N, L] windows are materialised for comparison")
    parser.add_argument("--skip-epoch-above", type=int, default=None, help="no epoch above this many users")
    parser.add_argument("--root", default=str(SHARED), help="folder with Beauty.txt (its row is skipped without)")


def _data(n: int, items: int, max_len: int, seed: int = 0) -> tuple[Any, Any, dict[str, Any]]:
    from recsys.data import leave_one_out, make_sequence_dataset

    with harness.PeakMemory() as memory:
        dataset, generate = harness.time_once(lambda: make_sequence_dataset(
            num_users=n, num_items=items, seed=seed, titles=False))
        split, prepare = harness.time_once(lambda: leave_one_out(dataset, max_len=max_len))
    kept = sum(part.nbytes for part in (split.train, split.valid, split.test))
    row = {"case": "data", "variant": "generate + split", "n": n, "time_s": generate["time_s"] + prepare["time_s"],
           "cpu_s": generate["cpu_s"] + prepare["cpu_s"], "generate_s": generate["time_s"],
           "split_s": prepare["time_s"], "peak_mem_mb": memory.peak_mb, "interactions": dataset.num_interactions,
           "train_samples": len(split.train), "bytes_per_interaction": memory.peak_mb * 2**20 / dataset.num_interactions,
           "samples_mb": kept / 2**20, "bytes_per_sample": split.train.nbytes / len(split.train),
           "dataset_mb": (dataset.items.numel() + dataset.offsets.numel()) * 8 / 2**20}
    return dataset, split, row


def prepare_and_train(n: int, settings: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``data`` row of ``n`` users, the ``all windows`` row (small sizes) and the ``epoch`` row."""
    import torch

    from graphcl.utils import seed_everything
    from recsys.eval import RankingProtocol, evaluate_ranking
    from recsys.models import SASRec
    from recsys.train import train_recommender

    dataset, split, data_row = _data(n, settings["train_items"], settings["max_len"])
    rows = [data_row]
    if n <= settings["materialise_up_to"]:
        with harness.PeakMemory() as memory:
            windows, timing = harness.time_once(lambda: split.train.item_seq)
        rows.append({"case": "data", "variant": "all windows", "n": n, **timing, "peak_mem_mb": memory.peak_mb,
                     "samples_mb": windows.numel() * 8 / 2**20, "bytes_per_sample": windows.size(1) * 8.0})
        del windows
    if settings["skip_epoch_above"] is not None and n > settings["skip_epoch_above"]:
        return rows
    seed_everything(0)
    model = SASRec.build(split.num_items, max_len=settings["max_len"], hidden_size=settings["hidden"],
                         inner_size=4 * settings["hidden"])
    protocol = RankingProtocol(item_chunk_size=settings["item_chunk_size"])
    with harness.PeakMemory() as memory:
        fitted, timing = harness.time_once(lambda: train_recommender(
            model, split, epochs=1, batch_size=256, stopping_step=None, protocol=protocol, show_progress=False))
    steps = -(-len(split.train) // 256)
    valid, valid_timing = harness.time_once(lambda: evaluate_ranking(model, split.valid, protocol, split="valid"))
    train_s = timing["time_s"] - valid_timing["time_s"]
    rows.append({"case": "epoch", "variant": "sasrec", "n": n, **timing, "train_s": train_s,
                 "valid_s": valid_timing["time_s"], "steps": steps, "step_s": train_s / steps,
                 "peak_mem_mb": memory.peak_mb, "peak_rss_mb": harness.process_peak_rss_mb(),
                 "loss": float(fitted.history[-1]["loss"]), "valid_mrr10": valid.metrics["mrr@10"],
                 "threads": torch.get_num_threads()})
    return rows


def rank(n: int, catalogue: int, item_chunk_size: int | None, settings: dict[str, Any]) -> dict[str, Any]:
    """One ``ranking`` row: an untrained SASRec ranks ``catalogue`` items for the test samples of ``n`` users."""
    from graphcl.utils import seed_everything
    from recsys.data import leave_one_out, make_sequence_dataset
    from recsys.eval import RankingProtocol, evaluate_ranking
    from recsys.models import SASRec

    split = leave_one_out(make_sequence_dataset(num_users=n, num_items=catalogue, seed=1, titles=False),
                          max_len=settings["max_len"])
    seed_everything(0)
    model = SASRec.build(catalogue, max_len=settings["max_len"], hidden_size=settings["hidden"],
                         inner_size=4 * settings["hidden"])
    protocol = RankingProtocol(item_chunk_size=item_chunk_size)
    with harness.PeakMemory() as memory:
        result, timing = harness.time_once(lambda: evaluate_ranking(model, split.test, protocol))
    variant = f"{'whole rows' if item_chunk_size is None else 'item-chunked'}, {catalogue:,} items"
    return {"case": "ranking", "variant": variant, "n": n, **timing, "peak_mem_mb": memory.peak_mb,
            "items": catalogue, "user_items_per_s": n * catalogue / timing["time_s"],
            "hr20": result.metrics["hr@20"], "mrr10": result.metrics["mrr@10"]}


def beauty(root: str, max_len: int) -> dict[str, Any] | None:
    """The ``data`` row of the real Beauty file (``None`` when it is not there)."""
    from recsys.data import leave_one_out, load_sequences

    path = Path(root) / "Beauty.txt"
    if not path.is_file():
        return None
    with harness.PeakMemory() as memory:
        dataset, read = harness.time_once(lambda: load_sequences(path))
        split, prepare = harness.time_once(lambda: leave_one_out(dataset, max_len=max_len))
    return {"case": "data", "variant": "beauty (read + split)", "n": dataset.num_users,
            "time_s": read["time_s"] + prepare["time_s"], "cpu_s": read["cpu_s"] + prepare["cpu_s"],
            "split_s": prepare["time_s"], "peak_mem_mb": memory.peak_mb, "interactions": dataset.num_interactions,
            "train_samples": len(split.train),
            "bytes_per_interaction": memory.peak_mb * 2**20 / dataset.num_interactions,
            "samples_mb": sum(p.nbytes for p in (split.train, split.valid, split.test)) / 2**20,
            "bytes_per_sample": split.train.nbytes / len(split.train)}


def run(options: argparse.Namespace) -> dict[str, Any]:
    from graphcl.plots import growth_exponent

    quick = options.quick
    sizes = options.sizes or ([300, 1000] if quick else [10_000, 100_000, 1_000_000])
    settings = {"train_items": 200 if quick else options.train_items, "max_len": 10 if quick else options.max_len,
                "hidden": 16 if quick else options.hidden, "item_chunk_size": 512 if quick else options.item_chunk_size,
                "materialise_up_to": options.materialise_up_to, "skip_epoch_above": options.skip_epoch_above}
    catalogue, large = (3000, 6000) if quick else (options.catalogue, options.large_catalogue)

    def call(fn, *args):  # a fresh process per measurement, except for the seconds-long --quick run
        return fn(*args) if quick else harness.isolated(fn, *args, threads=options.threads)

    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    beauty_row = None if quick else call(beauty, options.root, settings["max_len"])
    rows += [beauty_row] if beauty_row else []
    for n in sizes:
        rows += call(prepare_and_train, n, settings)
        print(f"[recsys-scale] {n:,} users: data + epoch done at {time.perf_counter() - started:.0f} s", flush=True)
    for n in sizes:
        rows.append(call(rank, n, catalogue, settings["item_chunk_size"], settings))
    smallest = sizes[0]
    for items in (catalogue, large):
        if items != catalogue:
            rows.append(call(rank, smallest, items, settings["item_chunk_size"], settings))
        rows.append(call(rank, smallest, items, None, settings))
    print(f"[recsys-scale] ranking done at {time.perf_counter() - started:.0f} s", flush=True)

    def pick(case: str, variant: str) -> list[dict[str, Any]]:
        return [r for r in rows if r["case"] == case and r["variant"] == variant]

    epochs = pick("epoch", "sasrec")
    data = pick("data", "generate + split")
    summary = [
        harness.summary_item("epoch: growth exponent of train_s over users", growth_exponent(
            [(r["n"], r["train_s"]) for r in epochs if r["train_s"] > 0])),
        harness.summary_item("epoch: growth exponent of peak memory over users", growth_exponent(
            [(r["n"], r["peak_mem_mb"]) for r in epochs if r["peak_mem_mb"] > 0])),
        harness.summary_item(f"data: bytes per interaction (peak of generate + split) at {data[-1]['n']:,} users",
                             data[-1]["bytes_per_interaction"], "B"),
        harness.summary_item("data: bytes kept per training sample", data[-1]["bytes_per_sample"], "B"),
    ]
    for items in (catalogue, large):
        chunked = pick("ranking", f"item-chunked, {items:,} items")[0]
        whole = pick("ranking", f"whole rows, {items:,} items")[0]
        summary.append(harness.summary_item(f"ranking {items:,} items, {smallest:,} users: whole rows / item-chunked "
                                            f"(CPU time)", whole["cpu_s"] / chunked["cpu_s"], "x"))
        summary.append(harness.summary_item(f"ranking {items:,} items: item-chunked metrics = whole-row metrics",
                                            float(chunked["hr20"] == whole["hr20"] and chunked["mrr10"] == whole["mrr10"])))
    full = pick("ranking", f"item-chunked, {catalogue:,} items")[-1]
    extrapolated = sizes[-1] * large / full["user_items_per_s"]
    note = (f"Settings: training catalogue {settings['train_items']:,} items, SASRec max_len {settings['max_len']}, "
            f"hidden {settings['hidden']}, 2 layers, 2 heads, batch 256; ranking catalogue {catalogue:,} items "
            f"(and {large:,} at {smallest:,} users). A ranking of {large:,} items for {sizes[-1]:,} users was not run: "
            f"at the measured {full['user_items_per_s']:.3g} user-items per second ({full['n']:,} users x "
            f"{catalogue:,} items) it would take about {extrapolated / 60:.0f} min on this thread. Peak memory is the "
            f"resident set under the C library's allocator as configured (MALLOC_MMAP_THRESHOLD_ "
            f"{os.environ.get('MALLOC_MMAP_THRESHOLD_') or 'unset'}): glibc's default heap grows under large blocks of "
            f"varying size and keeps the pages (the validation's activation blocks at the end of the epoch, the "
            f"whole-row score blocks), so those peaks exceed what the tensors themselves hold; the data path keeps "
            f"32 bytes per sample plus an 8-byte permutation entry during an epoch.")
    return {"rows": rows, "summary": summary, "note": note,
            "columns": ["case", "variant", "n", "time_s", "cpu_s", "peak_mem_mb", "bytes_per_interaction",
                        "bytes_per_sample", "step_s", "valid_s"],
            "settings": {"sizes": sizes, **settings, "catalogue": catalogue, "large_catalogue": large,
                         "batch_size": 256, "model": "sasrec", "epochs": 1,
                         "malloc_mmap_threshold": os.environ.get("MALLOC_MMAP_THRESHOLD_")}}
