"""How strongly each loss term pulls on the shared encoder early in training.

Contrastive recommenders add terms to next-item cross-entropy (CL4SRec's NT-Xent, MCLRec's contrast and
regulariser, SRA-CL's L_CS / L_IS). When a term's gradient on the encoder is many times the cross-entropy's, the
encoder is first trained for the contrast, not for recommendation: a plausible reason why such models trail SASRec
at small budgets. :func:`gradient_ratios` measures it: for each of the first batches of ordinary training, the
L2 norm of every loss part's gradient with respect to the encoder's parameters, its ratio to the
recommendation term's, and the cosine between the two gradients.

    python -m recsys.diagnostics --model cl4srec --data beauty --root ../shared/data/seqrec --batches 50 \\
        --out benchmarks/results/gradient-ratio-cl4srec-beauty.json
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from graphcl.eval.summary import summarize
from recsys.data.loader import batch_loader
from recsys.data.split import SequenceSplit
from recsys.models.base import SequentialRecommender

__all__ = ["gradient_ratios"]

REFERENCE_PART = "rec"


def _flat_grad(loss: Tensor, params: Sequence[Tensor]) -> Tensor:
    grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
    return torch.cat([(g if g is not None else torch.zeros_like(p)).reshape(-1) for g, p in zip(grads, params)])


def gradient_ratios(model: SequentialRecommender, split: SequenceSplit, *, batches: int = 50,
                    batch_size: int = 256, lr: float = 1e-3) -> list[dict[str, Any]]:
    """Per batch of the first ``batches`` training steps: each loss part's gradient norm on the encoder, its ratio
    to the ``"rec"`` (cross-entropy) part's, and the cosine between the two.

    Training proceeds as usual between measurements (Adam at ``lr``, or the model's own ``training_step`` when it
    runs its optimiser steps itself), so the numbers follow the real early trajectory.

    Args:
        model: A recommender whose ``calculate_loss`` returns a dict with a ``"rec"`` part.
        split: The data (``split.train`` is batched).
        batches: Steps to measure.
        batch_size: Training batch size.
        lr: Adam learning rate.

    Returns:
        One record per step: ``{"step", "<part>_norm", "<part>_ratio", "<part>_cos"}`` for every non-``rec`` part.
    """
    params = [p for p in model.encoder.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loader = batch_loader(split.train, batch_size, shuffle=True, max_batches=batches)
    model.train()
    records = []
    for step, batch in enumerate(loader, start=1):
        parts = model.calculate_loss(batch)
        if not isinstance(parts, dict) or REFERENCE_PART not in parts:
            raise ValueError(f"{type(model).__name__}.calculate_loss must return a dict with a {REFERENCE_PART!r} part")
        reference = _flat_grad(parts[REFERENCE_PART], params)
        record: dict[str, Any] = {"step": step, f"{REFERENCE_PART}_norm": float(reference.norm())}
        for name, value in parts.items():
            if name == REFERENCE_PART or not value.requires_grad:
                continue
            grad = _flat_grad(value, params)
            record[f"{name}_norm"] = float(grad.norm())
            record[f"{name}_ratio"] = float(grad.norm() / reference.norm().clamp_min(1e-30))
            record[f"{name}_cos"] = float(torch.nn.functional.cosine_similarity(grad, reference, dim=0))
        records.append(record)
        if model.owns_optimizer_step:
            model.training_step(batch, optimizer)
        else:
            optimizer.zero_grad(set_to_none=True)
            sum(parts.values()).backward()
            optimizer.step()
    return records


def _summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    keys = [k for k in records[0] if k != "step"]
    out = {}
    for key in keys:
        values = [r[key] for r in records if key in r and math.isfinite(r[key])]
        if values:
            first, last = values[: len(values) // 5 or 1], values[-(len(values) // 5 or 1):]
            out[key] = {**summarize(values), "first_fifth_mean": sum(first) / len(first),
                        "last_fifth_mean": sum(last) / len(last)}
            out[key].pop("values")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m recsys.diagnostics``: measure and write one JSON file."""
    from graphcl.train import environment_info, git_commit
    from graphcl.utils import seed_everything
    from recsys.config import resolve_config
    from recsys.data import leave_one_out, load_sequences
    from recsys.train import build_recommender

    parser = argparse.ArgumentParser(prog="python -m recsys.diagnostics", description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", default="generated")
    parser.add_argument("--root", default=None)
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--out", required=True)
    parser.add_argument("overrides", nargs="*", metavar="key=value")
    args = parser.parse_args(argv)
    from graphcl.config import parse_overrides

    dataset = load_sequences(args.data, root=args.root)
    cfg = resolve_config(args.model, dataset.name, None, parse_overrides(args.overrides))
    split = leave_one_out(dataset, max_len=cfg["max_len"], padding=cfg["padding"])
    seed_everything(args.seed)
    model = build_recommender(cfg, dataset.num_items)
    model.prepare(dataset, split)
    records = gradient_ratios(model, split, batches=args.batches, batch_size=cfg["batch_size"], lr=cfg["lr"])
    result = {
        "benchmark": "gradient_ratio",
        "command": "python -m recsys.diagnostics " + " ".join(sys.argv[1:] if argv is None else argv),
        "model": args.model, "dataset": dataset.name, "seed": args.seed, "batches": args.batches,
        "what": "per training step: L2 norm of each weighted loss part's gradient on the encoder parameters, its "
                "ratio to the cross-entropy part's ('rec'), and the cosine between the two gradients",
        "summary": _summary(records), "rows": records, "config": cfg, "commit": git_commit(),
        "environment": environment_info(),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result["summary"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
