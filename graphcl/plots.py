"""Pictures of runs and benchmarks (PNG, needs the ``plot`` extra): training curves, accuracy against time across
a suite, and scaling curves of the perf benchmarks. The t-SNE picture of embeddings is
:func:`graphcl.eval.tsne.plot_tsne`.

Every function reads the files the library writes (``metrics.csv`` of a run folder, ``<cell>.json`` results,
``"benchmark"`` perf files) and returns the path of the PNG it saved.
"""
from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from graphcl.errors import DataError
from graphcl.utils import require

__all__ = ["growth_exponent", "plot_scaling", "plot_suite_tradeoff", "plot_training_curves", "read_metrics_csv",
           "run_curves", "thin_rows"]


def _pyplot() -> Any:
    require("matplotlib", "plot", "plots")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(figure: Any, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110, bbox_inches="tight")
    _pyplot().close(figure)
    return path


def read_metrics_csv(path: str | Path) -> list[dict[str, float]]:
    """The rows of a run's ``metrics.csv`` as numbers (empty cells skipped).

    Raises:
        DataError: The file is missing or has no rows.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no metrics.csv (is this a run folder of graphcl / recsys train?)")
    with open(path, newline="", encoding="utf-8") as handle:
        rows = [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(handle)]
    if not rows:
        raise DataError(f"{path}: no rows")
    return rows


def run_curves(run_dir: str | Path) -> list[tuple[str, list[dict[str, float]]]]:
    """``(label, rows)`` per seed of a run folder (a multi-seed run has ``seed-<s>/metrics.csv`` files), or of a
    benchmark cell's results file (its ``curves``, kept there by ``graphcl bench`` / ``recsys bench``).

    Raises:
        DataError: No ``metrics.csv`` in the folder or its ``seed-*`` folders; a results file without curves.
    """
    run_dir = Path(run_dir)
    if run_dir.suffix == ".json" and run_dir.is_file():
        curves = json.loads(run_dir.read_text(encoding="utf-8")).get("curves")
        if not curves:
            raise DataError(f"{run_dir}: no 'curves' in this results file (cells finished before they were kept)")
        return [(label, rows) for label, rows in curves.items()]
    if (run_dir / "metrics.csv").is_file():
        return [(run_dir.name, read_metrics_csv(run_dir / "metrics.csv"))]
    seeds = sorted(run_dir.glob("seed-*/metrics.csv"))
    if not seeds:
        raise DataError(f"{run_dir}: no metrics.csv here or in seed-*/ folders")
    return [(path.parent.name, read_metrics_csv(path)) for path in seeds]


def thin_rows(rows: Sequence[dict[str, float]], max_rows: int = 200) -> list[dict[str, float]]:
    """At most ``max_rows`` evenly spaced rows of a curve, the first and the last always kept."""
    if max_rows < 2:
        raise ValueError(f"max_rows must be >= 2, got {max_rows}")
    if len(rows) <= max_rows:
        return list(rows)
    step = (len(rows) - 1) / (max_rows - 1)
    return [rows[round(i * step)] for i in range(max_rows)]


def _curve_label(run: Path, label: str) -> str:
    """A curve's legend entry when several runs share a figure: ``run/seed`` (``sasrec-ml100k/seed-2020``), with
    a results file named by its stem, and a seed folder or a cell's seed record (``seed-<s>.json``, kept by
    :mod:`graphcl.bench` in a folder named after the cell) by the folder it lies in."""
    name = run.stem if run.suffix == ".json" else run.name
    if name.startswith("seed-"):
        return f"{run.parent.name}/{label}"
    return name if label == name else f"{name}/{label}"  # a single-seed run folder: its name alone


def plot_training_curves(run_dirs: Sequence[str | Path], path: str | Path, *,
                         metrics: Sequence[str] | None = None, title: str | None = None) -> Path:
    """Loss and validation metrics against epochs, one line per run (and seed).

    Args:
        run_dirs: Run folders (or seed folders) with ``metrics.csv``, or benchmark cells' results files.
        path: Output PNG.
        metrics: Validation columns to draw beside the loss (default: every ``valid_*@20`` / ``val_*`` column).
            A column no run has is an error, not an empty panel.
        title: Figure title.
    """
    plt = _pyplot()
    curves = [(_curve_label(Path(d), label) if len(run_dirs) > 1 else label, rows)
              for d in run_dirs for label, rows in run_curves(d)]
    present = {k for _, rows in curves for row in rows for k in row}
    if metrics:
        missing = [m for m in metrics if m not in present]
        if missing:
            raise DataError(f"no column {', '.join(missing)} in {', '.join(map(str, run_dirs))}; "
                            f"columns: {', '.join(sorted(present))}")
        columns = list(metrics)
    else:
        columns = sorted(k for k in present if (k.startswith("valid_") and k.endswith("@20")) or k.startswith("val_"))
    panels = 1 + (1 if columns else 0)
    figure, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 3.8), squeeze=False, layout="constrained")
    for label, rows in curves:
        epochs = [row.get("epoch", i + 1) for i, row in enumerate(rows)]
        axes[0][0].plot(epochs, [row.get("loss", math.nan) for row in rows], label=label)
        for column in columns:
            points = [(e, row[column]) for e, row in zip(epochs, rows) if column in row]
            if points:
                axes[0][1].plot(*zip(*points), marker=".", label=f"{label} {column}")
    axes[0][0].set(xlabel="epoch", ylabel="training loss", title="loss")
    if columns:
        axes[0][1].set(xlabel="epoch", ylabel="validation", title=columns[0] if len(columns) == 1
                       else "validation metrics")
    for axis in axes[0]:
        _legend(axis)
    if title:
        figure.suptitle(title)
    return _save(figure, path)


def _legend(axis: Any, inside_up_to: int = 6) -> None:
    """A small legend inside the axes, or beside them when it has more entries than would leave the lines
    readable."""
    entries = len(axis.get_legend_handles_labels()[1])
    if entries > inside_up_to:
        axis.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    elif entries:
        axis.legend(fontsize=7)


def _headline_value(results: dict[str, Any]) -> float | None:
    metric = results.get("headline")
    value = (results.get("metrics") or {}).get(metric) if metric else None
    return None if value is None else 100 * float(value["mean"])


def plot_suite_tradeoff(result_files: Iterable[str | Path], path: str | Path, *, title: str | None = None) -> Path:
    """Each cell's headline metric against its training time (log scale): what accuracy costs.

    Args:
        result_files: ``<cell>.json`` files written by ``graphcl bench`` / ``recsys bench``.
        path: Output PNG.
        title: Figure title.
    """
    plt = _pyplot()
    points = []
    for file in result_files:
        results = json.loads(Path(file).read_text(encoding="utf-8"))
        value = _headline_value(results)
        if value is not None and results.get("time_s"):
            points.append((results["time_s"] / 60, value, Path(file).stem, results["headline"]))
    if not points:
        raise DataError("no results with a headline metric and a time to plot")
    figure, axis = plt.subplots(figsize=(7, 4.5))
    for minutes, value, name, _ in points:
        axis.scatter(minutes, value, s=18)
        axis.annotate(name, (minutes, value), fontsize=6, xytext=(3, 2), textcoords="offset points")
    metrics = sorted({metric for *_, metric in points})
    axis.set(xscale="log", xlabel="training + evaluation time (min, all seeds)",
             ylabel=f"{' / '.join(metrics)} (%)", title=title or "accuracy against time")
    axis.grid(alpha=0.3)
    return _save(figure, path)


def growth_exponent(points: Sequence[tuple[float, float]], *, from_x: float = 1e4) -> float | None:
    """Least-squares slope of ``log y`` on ``log x`` over the points with ``x >= from_x`` (small sizes are dominated
    by fixed costs), or over all points when fewer than two are that large; ``None`` for fewer than two points."""
    chosen = [p for p in points if p[0] >= from_x]
    chosen = chosen if len(chosen) >= 2 else list(points)
    if len(chosen) < 2:
        return None
    lx = [math.log(px) for px, _ in chosen]
    ly = [math.log(py) for _, py in chosen]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    var = sum((v - mx) ** 2 for v in lx)
    return None if var == 0 else sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / var


def plot_scaling(perf_file: str | Path, path: str | Path, *, x: str = "n", y: str = "time_s",
                 group: str = "variant", title: str | None = None) -> Path:
    """Log-log scaling curves of a perf suite file (``benchmarks/results/perf-<name>.json``: ``rows`` with ``n``,
    ``time_s`` and a ``variant`` column), one curve per variant with its growth exponent (:func:`growth_exponent`,
    from ``n = 10^4`` on) in the legend.

    Args:
        perf_file: The perf results file.
        path: Output PNG.
        x: Row key of the size axis (default: ``"n"``).
        y: Row key to plot (default: ``"time_s"``; e.g. ``"cpu_s"`` or ``"peak_mem_mb"``).
        group: Row key naming the curve (default: ``"variant"``).
        title: Figure title (default: the file's ``title``).
    """
    plt = _pyplot()
    content = json.loads(Path(perf_file).read_text(encoding="utf-8"))
    rows = content.get("rows")
    if not isinstance(rows, list) or not rows or x not in rows[0] or y not in rows[0]:
        raise DataError(f"{perf_file}: expected 'rows' with '{x}' and '{y}' columns")
    series: dict[str, list[tuple[float, float]]] = {}
    for row in rows:
        if row.get(x) and row.get(y) and "error" not in row:
            series.setdefault(str(row.get(group, "")), []).append((float(row[x]), float(row[y])))
    figure, axis = plt.subplots(figsize=(6, 4.2))
    for name, pts in series.items():
        pts.sort()
        xs, ys = zip(*pts)
        slope = growth_exponent(pts)
        label = name if slope is None else f"{name} (slope {slope:.2f})"
        axis.plot(xs, ys, marker="o", label=label)
    axis.set(xscale="log", yscale="log", xlabel=x, ylabel=y,
             title=title or content.get("title") or content.get("benchmark", Path(perf_file).stem))
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3, which="both")
    return _save(figure, path)
