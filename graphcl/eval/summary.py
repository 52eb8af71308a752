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


def format_metrics(metrics: Mapping[str, MetricSummary], *, not_fractions: Iterable[str] = ()) -> str:
    """``"test_acc 83.27 ± 0.41 | nmi 51.02 ± 1.10"``: fractions as percentages, the other metrics (named in
    ``not_fractions``) as they are; a metric of one value has no ``±`` (one seed has no spread to show)."""
    plain = set(not_fractions)
    parts = []
    for name, s in metrics.items():
        scale, digits = (1.0, ".4g") if name in plain else (100.0, ".2f")
        text = f"{name} {scale * s['mean']:{digits}}"
        if len(s["values"]) > 1:
            text += f" ± {scale * s['std']:{digits}}"
        parts.append(text)
    return " | ".join(parts)


def seeds_label(count: int) -> str:
    """``"1 seed"`` / ``"5 seeds"``."""
    return f"{count} seed{'s' if count != 1 else ''}"
