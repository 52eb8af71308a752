"""Training step of SASRec and MCLRec on Beauty with each encoder speed lever on and off; validation pass; NT-Xent.

Every variant is the same model (same seed, the papers' Beauty settings: max_len 50, d 64, 2 layers, 2 heads,
dropout 0.5, batch 256) with the encoder's documented switches set (``SASRecEncoder(length_buckets=...,
readout_only=..., uniform_dropout=...)``): ``full_window`` (RecBole's computation: every row on the full 50-wide
window, every position through every layer, torch's dropout), ``before`` (length buckets only: the code before
the training-step speed work), ``readout_only``, ``uniform_dropout``, ``after`` (all levers: the default) and
``after+bf16`` (``after`` under CPU bf16 autocast; measured, not adopted). The validation pass (full ranking of
every validation user over all items) is timed with and without length buckets; the metrics must agree.
"""
from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from benchmarks.perf import harness

TITLE = "SASRec / MCLRec training step: encoder speed levers side by side"
DESCRIPTION = (
    "One optimiser step per call (MCLRec: its θ/φ/θ schedule) on batches of 256 Beauty training sequences, the "
    "same pre-drawn batch for every variant in a round, variants alternating round by round in one process "
    "(`harness.time_calls`). `full_window` = `length_buckets=False` as well (RecBole's computation), `before` = "
    "`readout_only=False, uniform_dropout=False` (the code before the training-step speed work), `after` = every "
    "lever (the default). `nt_xent` rows: MCLRec's NT-Xent forward + backward at batch 256 "
    "(2N = 512 rows, d 64), dense against the streaming (chunked) log-sum-exp. `validation` rows: one full-ranking "
    "pass over the validation users (chunks of 2048 users) with and without length buckets. The MCLRec authors' "
    "code was measured on this machine kind (TARGETS.md: 2 threads, idle) at 2.00 s per batch and 4.45 s per "
    "validation pass.")
AUTHORS_SOURCE = "TARGETS.md: the MCLRec authors' code (QinHsiu/MCLRec run_seq defaults), 2 threads, idle machine"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "seqrec"
VARIANTS: dict[str, dict[str, bool]] = {
    "full_window": {"length_buckets": False, "readout_only": False, "uniform_dropout": False},
    "before": {"readout_only": False, "uniform_dropout": False},
    "readout_only": {"readout_only": True, "uniform_dropout": False},
    "uniform_dropout": {"readout_only": False, "uniform_dropout": True},
    "after": {"readout_only": True, "uniform_dropout": True},
    "after+bf16": {"readout_only": True, "uniform_dropout": True, "bf16": True},
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", default=str(SHARED), help="folder with beauty.txt (default: ../shared/data/seqrec)")
    parser.add_argument("--models", nargs="+", default=["sasrec", "mclrec"], choices=["sasrec", "mclrec"])
    parser.add_argument("--rounds", type=int, default=20, help="timed rounds (one batch per variant each)")


def _step_fn(model: Any, batches: list, bf16: bool) -> Callable[[], None]:
    """One optimiser step on the next pre-drawn batch per call (every variant walks the same list)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    position = iter(range(10**9))

    def step() -> None:
        batch = batches[next(position) % len(batches)]
        with torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext():
            if model.owns_optimizer_step:
                model.training_step(batch, optimizer)
                return
            optimizer.zero_grad(set_to_none=True)
            loss = model.calculate_loss(batch)
            (sum(loss.values()) if isinstance(loss, dict) else loss).backward()
            optimizer.step()
    return step


def _nt_xent_fn(a: torch.Tensor, b: torch.Tensor, chunk_size: int | None) -> Callable[[], None]:
    from recsys.losses import nt_xent

    def call() -> None:
        x, y = a.detach().requires_grad_(), b.detach().requires_grad_()
        nt_xent(x, y, 1.0, chunk_size=chunk_size).backward()
    return call


def _validation_rows(split: Any, model: Any, repeats: int) -> list[dict[str, Any]]:
    """One full-ranking validation pass with and without length buckets, alternating; the metrics must agree."""
    from recsys.eval import RankingProtocol, evaluate_ranking

    protocol, metrics = RankingProtocol(), {}

    def validate(buckets: bool) -> Callable[[], None]:
        def call() -> None:
            model.encoder.length_buckets = buckets
            with torch.no_grad():
                metrics[buckets] = evaluate_ranking(model, split.valid, protocol, split="valid").metrics
        return call
    rows = harness.time_calls({"length_buckets": validate(True), "full_window": validate(False)},
                              repeats=repeats, warmup=1, case="validation")
    for name, value in metrics[True].items():
        if abs(value - metrics[False][name]) > 1e-6:
            raise RuntimeError(f"validation {name} differs with and without length buckets: "
                               f"{value} vs {metrics[False][name]}")
    model.encoder.length_buckets = True
    return rows


def run(options: argparse.Namespace) -> dict[str, Any]:
    from graphcl.utils import seed_everything
    from recsys.data import leave_one_out, load_sequences, make_sequence_dataset
    from recsys.models import MCLRec, SASRec

    if options.quick:
        dataset, settings = make_sequence_dataset(num_users=300, num_items=80, seed=0), {"hidden_size": 16}
        rounds, batch_size, max_len = 2, 32, 20
    else:
        dataset, settings = load_sequences("beauty", root=options.root), {}
        rounds, batch_size, max_len = options.rounds, 256, 50
    split = leave_one_out(dataset, max_len=max_len)
    generator = torch.Generator().manual_seed(0)
    batches = [split.train[torch.randint(0, len(split.train), (batch_size,), generator=generator)]
               for _ in range(rounds + 2)]
    rows: list[dict[str, Any]] = []
    for name in options.models:
        cls = {"sasrec": SASRec, "mclrec": MCLRec}[name]
        steps = {}
        for variant, flags in VARIANTS.items():
            seed_everything(2020)
            model = cls.build(split.num_items, max_len=max_len, **settings)
            model.encoder.length_buckets = flags.get("length_buckets", True)
            model.encoder.readout_only = flags["readout_only"]
            model.encoder.uniform_dropout = flags["uniform_dropout"]
            steps[variant] = _step_fn(model.train(), batches, flags.get("bf16", False))
        rows += harness.time_calls(steps, repeats=rounds, warmup=2, case=name)
    rows += _validation_rows(split, MCLRec.build(split.num_items, max_len=max_len, **settings).eval(),
                             repeats=2 if options.quick else 5)
    a, b = torch.randn(2, batch_size, 64, generator=generator)
    rows += harness.time_calls({"dense": _nt_xent_fn(a, b, None), "chunked": _nt_xent_fn(a, b, 128)},
                               repeats=5 * rounds, warmup=2, case="nt_xent")
    # CPU time is the figure of merit for these single-threaded steps on a shared machine (wall time includes the
    # waits for a core); both are reported.
    summary = [harness.summary_item(f"{case}: {variant} / before (median step, {label})",
                                    harness.ratio(rows, variant, "before", key=key, case=case), "x")
               for case in options.models for variant in VARIANTS if variant != "before"
               for key, label in (("cpu_s", "CPU"), ("time_s", "wall"))]
    summary += [harness.summary_item(f"{case}: after / full_window (median step, CPU)",
                                     harness.ratio(rows, "after", "full_window", key="cpu_s", case=case), "x")
                for case in options.models]
    summary += [harness.summary_item("validation: length buckets / full window (median pass, CPU)",
                                     harness.ratio(rows, "length_buckets", "full_window", key="cpu_s",
                                                   case="validation"), "x")]
    if "mclrec" in options.models and not options.quick:
        summary += [harness.summary_item("MCLRec authors' code: s per batch", 2.00, "s", source=AUTHORS_SOURCE),
                    harness.summary_item("MCLRec authors' code: s per validation pass", 4.45, "s",
                                         source=AUTHORS_SOURCE)]
    summary += [harness.summary_item(f"nt_xent: dense / chunked (median forward + backward, {label})",
                                     harness.ratio(rows, "dense", "chunked", key=key, case="nt_xent"), "x")
                for key, label in (("cpu_s", "CPU"), ("time_s", "wall"))]
    return {"rows": rows, "summary": summary, "columns": ["case", "variant", "time_s", "cpu_s", "min_s"],
            "settings": {"dataset": "generated" if options.quick else "beauty", "batch_size": batch_size,
                         "max_len": max_len, "rounds": rounds, "nt_xent_rows": 2 * batch_size, "models": options.models}}
