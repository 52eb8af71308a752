"""Training step of SASRec and MCLRec on Beauty with each encoder speed lever on and off; NT-Xent dense vs chunked.

Every variant is the same model (same seed, the papers' Beauty settings: max_len 50, d 64, 2 layers, 2 heads,
dropout 0.5, batch 256) with the encoder's documented switches set (``SASRecEncoder(readout_only=...,
uniform_dropout=...)``): ``before`` (last layer at every position in training, torch's ``bernoulli_`` dropout
masks and attention dropout inside ``scaled_dot_product_attention``: the code before the speed work),
``readout_only``, ``uniform_dropout``, ``after`` (both: the default) and ``after+bf16`` (``after`` under CPU
bf16 autocast; measured, not adopted).
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
    "(`harness.time_calls`). `before` = `readout_only=False, uniform_dropout=False` (the code before the speed "
    "work), `after` = both levers (the default). `nt_xent` rows: MCLRec's NT-Xent forward + backward at batch 256 "
    "(2N = 512 rows, d 64), dense against the streaming (chunked) log-sum-exp.")
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "seqrec"
VARIANTS: dict[str, dict[str, bool]] = {
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
            model.encoder.readout_only = flags["readout_only"]
            model.encoder.uniform_dropout = flags["uniform_dropout"]
            steps[variant] = _step_fn(model.train(), batches, flags.get("bf16", False))
        rows += harness.time_calls(steps, repeats=rounds, warmup=2, case=name)
    a, b = torch.randn(2, batch_size, 64, generator=generator)
    rows += harness.time_calls({"dense": _nt_xent_fn(a, b, None), "chunked": _nt_xent_fn(a, b, 128)},
                               repeats=5 * rounds, warmup=2, case="nt_xent")
    summary = [harness.summary_item(f"{case}: {variant} / before (median step)",
                                    harness.ratio(rows, variant, "before", case=case), "x")
               for case in options.models for variant in VARIANTS if variant != "before"]
    summary.append(harness.summary_item("nt_xent: dense / chunked (median forward + backward)",
                                        harness.ratio(rows, "dense", "chunked", case="nt_xent"), "x"))
    return {"rows": rows, "summary": summary, "columns": ["case", "variant", "time_s", "cpu_s", "min_s"],
            "settings": {"dataset": "generated" if options.quick else "beauty", "batch_size": batch_size,
                         "max_len": max_len, "rounds": rounds, "nt_xent_rows": 2 * batch_size, "models": options.models}}
