"""The one metric-summary shape every evaluation function and ``results.json`` uses."""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TypedDict


class MetricSummary(TypedDict):
    """``{"mean": float, "std": float, "values": [float, ...]}`` (population std, ``ddof=0``)."""

    mean: float
    std: float
    values: list[float]


def summarize(values: Iterable[float]) -> MetricSummary:
    """Mean, standard deviation (ddof=0) and the raw values of a list of scores.

    Args:
        values: Scores, one per repeat/seed. Must not be empty.
    """
    vals = [float(v) for v in values]
    if not vals:
        raise ValueError("summarize() needs at least one value")
    mean = math.fsum(vals) / len(vals)
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in vals) / len(vals))
    return {"mean": mean, "std": std, "values": vals}


def merge_summaries(runs: Iterable[Mapping[str, MetricSummary]]) -> dict[str, MetricSummary]:
    """Combine per-run summaries into one summary per metric whose values are the per-run means."""
    per_metric: dict[str, list[float]] = {}
    for run in runs:
        for name, summary in run.items():
            per_metric.setdefault(name, []).append(summary["mean"])
    return {name: summarize(vals) for name, vals in per_metric.items()}
