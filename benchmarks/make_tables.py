"""Generate ``benchmarks/RESULTS.md`` and the README's results table from ``benchmarks/results/*.json``.

Two kinds of files are read:

* experiment results (the ``results.json`` schema of ``graphcl train``, plus ``command`` and ``paper``);
* benchmark files with ``"benchmark": "<name>"``: the perf suite's ``perf-<name>.json`` (rendered by
  :func:`benchmarks.perf.harness.render_markdown`) and a few diagnostics with their own tables.

Usage::

    python benchmarks/make_tables.py            # rewrites RESULTS.md and the README block
    python benchmarks/make_tables.py --check    # exit 1 if either is out of date (used by the tests)
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the perf suite's renderer: benchmarks.perf.harness
RESULTS = HERE / "results"
README = HERE.parent / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"

METRIC_ORDER = ["test_acc", "val_acc", "acc", "nmi", "ari", "f1", "auc", "ap"]
METRIC_ORDER += [f"{m}@{k}" for m in ("hr", "ndcg", "mrr") for k in (5, 10, 20)]  # recsys ranking metrics


def _first_metrics(names: Iterable[str], count: int = 6) -> list[str]:
    """The first ``count`` of ``names`` in the tables' metric order (:data:`METRIC_ORDER`, others after)."""
    return sorted(names, key=lambda m: METRIC_ORDER.index(m) if m in METRIC_ORDER else 99)[:count]


def _pct(mean: float, std: float | None = None, seeds: int | None = None) -> str:
    """``83.27 ± 0.41`` for several seeds, ``83.27 (1 seed)`` for one (a single run has no spread)."""
    if seeds == 1 or std is None:
        return f"{100 * mean:.2f}" + (" (1 seed)" if seeds == 1 else "")
    return f"{100 * mean:.2f} ± {100 * std:.2f}"


def load_results() -> tuple[list[dict], list[dict]]:
    experiments, kernels = [], []
    for path in sorted(RESULTS.glob("*.json")):
        content = json.loads(path.read_text())
        content["_file"] = path.name
        if "benchmark" in content:
            kernels.append(content)
        elif "metrics" in content:
            experiments.append(content)
    return experiments, kernels


_KIND = {"paper": "paper", "other-paper": "another paper", "authors-code-here": "authors' code, this machine",
         "none": "—"}


def _reference_cell(res: dict, metric: str) -> str:
    ref = res.get("reference") or {}
    value = (ref.get("metrics") or {}).get(metric)
    if not value:
        return "—"
    std = value.get("std")
    return f"{_pct(value['mean'], std)} ({_KIND.get(ref.get('kind'), ref.get('kind'))})"


def _budget_cell(res: dict) -> str:
    budget = res.get("budget", "full")
    return "full" if budget == "full" else "reduced"


def _time_cell(res: dict) -> str:
    minutes = res["time_s"] / 60
    return f"{minutes:.1f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def headline_rows(experiments: list[dict]) -> list[str]:
    """One row per method x dataset: the cells tagged ``headline`` in the suites."""
    rows = [res for res in experiments if "headline" in (res.get("tags") or [])]
    rows.sort(key=lambda r: (SUITE_ORDER.index(r.get("suite")) if r.get("suite") in SUITE_ORDER else 99,
                             r["dataset"], r.get("method", r["model"])))
    lines = ["| method | dataset | metric | ours (%, mean ± std) | seeds | reference (%) | budget | time |",
             "|---|---|---|---|---|---|---|---|"]
    for res in rows:
        metric = res["headline"]
        s = res["metrics"][metric]
        seeds = len(res["protocol"]["seeds"])
        lines.append(f"| {res.get('method', res['model'])} | {res['dataset']} | {metric} | "
                     f"{_pct(s['mean'], s['std'], seeds)} | {seeds} | {_reference_cell(res, metric)} | "
                     f"{_budget_cell(res)} | {_time_cell(res)} |")
    return lines


SUITE_ORDER = ["graph-cora", "graph-baselines", "graph-generated", "graph-clustering", "hetero", "recsys-beauty-full",
               "recsys-ml100k-sracl", "recsys-baselines", "recsys-reduced"]


def reference_sources(experiments: list[dict]) -> list[str]:
    sources: dict[str, str] = {}
    for res in experiments:
        if "headline" in (res.get("tags") or []):
            ref = res.get("reference") or {}
            if ref.get("kind", "none") != "none":
                sources.setdefault(ref["source"], _KIND.get(ref.get("kind"), ""))
    return [f"- {source} ({kind})" for source, kind in sources.items()]


def suite_details(experiments: list[dict]) -> list[str]:
    out: list[str] = []
    by_suite: dict[str, list[dict]] = {}
    for res in experiments:
        by_suite.setdefault(res.get("suite") or "other", []).append(res)
    for suite in sorted(by_suite, key=lambda n: SUITE_ORDER.index(n) if n in SUITE_ORDER else 99):
        rows = by_suite[suite]
        out += [f"### {suite}", ""]
        out += ["| cell | method | dataset | metrics (%) | seeds | budget | reference |", "|---|---|---|---|---|---|---|"]
        for res in rows:
            seeds = len(res["protocol"]["seeds"])
            shown = res.get("table_metrics") or [m for m in res["metrics"] if not m.endswith("_max_epoch")]
            shown = _first_metrics(shown)
            metrics = ", ".join(f"{m} {_pct(res['metrics'][m]['mean'], res['metrics'][m]['std'], seeds)}"
                                for m in shown if m in res["metrics"])
            ref = res.get("reference") or {}
            out.append(f"| `{res['_file'].removesuffix('.json')}` | {res.get('method', res['model'])} | "
                       f"{res['dataset']} | {metrics} | {seeds} | {res.get('budget', 'full')} | "
                       f"{ref.get('source', '—')} |")
        out.append("")
        for res in rows:
            if res.get("note") or res.get("command"):
                out.append(f"- `{res['_file'].removesuffix('.json')}`: `{res.get('command', '?')}`"
                           + (f" — {res['note']}" if res.get("note") else "") + _run_info_cell(res))
        out.append("")
    return out


#: Per-seed keys every training run records; the others in ``runs`` come from the model's ``run_info``.
_TRAINING_KEYS = {"seed", "best_epoch", "epochs_run", "stopped_early", "mean_epoch_time_s"}


def _run_info_cell(res: dict) -> str:
    """`` — recorded: key value, ...``: the plain values a model's ``run_info`` recorded per seed (one value when
    every seed agrees, else one per seed), e.g. SRA-CL's ``neighbour_grad`` and ``same_user_neighbour_share``."""
    runs = [run for run in res.get("runs") or [] if isinstance(run, dict)]
    keys = [key for key in (runs[0] if runs else {}) if key not in _TRAINING_KEYS
            and all(isinstance(run.get(key), (bool, int, float, str)) for run in runs)]
    if not keys:
        return ""
    parts = []
    for key in keys:
        values = [run[key] for run in runs]
        shown = [str(v).lower() if isinstance(v, bool) else str(v) for v in values]
        parts.append(f"{key} {shown[0] if len(set(shown)) == 1 else ' / '.join(shown)}")
    return " — recorded: " + ", ".join(parts)


def in_progress() -> list[str]:
    """One line per cell trained seed by seed whose seeds are not all recorded yet (``results/seeds/<cell>/``):
    how many are, each recorded seed's test metrics, and the command that goes on. Not a result: the cell's row
    appears under its suite once every seed is recorded and merged."""
    from graphcl.bench import PROGRAMS, SEED_RECORDS, bench_command, load_suite

    folders = sorted({path.parent for path in (RESULTS / SEED_RECORDS).glob("*/seed-*.json")})
    if not folders:
        return []
    # Paths as the repository root sees them, for the command that goes on.
    suites = [replace(load_suite(path), path=path.relative_to(HERE.parent))
              for path in sorted((HERE / "suites").glob("*.yaml"))]
    out = ["Cells trained seed by seed with some of their seeds recorded (`benchmarks/results/seeds/`); a cell gets "
           "its row under its suite once all its seeds are.", ""]
    for folder in folders:
        suite = next((suite for suite in suites if folder.name in suite.cells), None)
        seeds = []
        for path in sorted(folder.glob("seed-*.json")):
            record = json.loads(path.read_text())
            shown = _first_metrics(record["metrics"])
            values = ", ".join(f"{m} {_pct(record['metrics'][m]['mean'])}" for m in shown)
            seeds.append(f"seed {record['protocol']['seeds'][0]}: {values}")
        recorded = f"{len(seeds)} seed{'' if len(seeds) == 1 else 's'} recorded"
        if suite is not None:
            recorded = (f"{len(seeds)} of {len(suite.cells[folder.name].seeds)} seeds recorded; goes on with "
                        f"`{bench_command(PROGRAMS[suite.task], suite, folder.name)}`")
        out.append(f"- `{folder.name}`: {recorded} ({'; '.join(seeds)})")
    return [*out, ""]


def plots() -> list[str]:
    found = sorted((HERE / "plots").glob("*.png"))
    out = []
    for path in found:
        out += [f"![{path.stem}](plots/{path.name})", ""]
    return out


def gradient_table(kernels: list[dict]) -> list[str]:
    """Gradient ratios of the contrastive recommenders' loss parts (``python -m recsys.diagnostics``)."""
    rows = [k for k in kernels if k["benchmark"] == "gradient_ratio"]
    if not rows:
        return []
    out = ["### Loss-part gradients on the encoder, first training steps (`gradient-ratio-*.json`)", "",
           "Per step, the L2 norm of each weighted loss part's gradient on the encoder divided by the cross-entropy's, "
           "and the cosine between the two; means over the first and the last fifth of the steps.", "",
           "| model | data | steps | part | ratio, first fifth | ratio, last fifth | cosine, first | cosine, last |",
           "|---|---|---|---|---|---|---|---|"]
    for k in rows:
        summary = k["summary"]
        for key in summary:
            if key.endswith("_ratio"):
                part = key.removesuffix("_ratio")
                cos = summary.get(f"{part}_cos", {})
                out.append(f"| {k['model']} | {k['dataset']} | {k['batches']} | {part} | "
                           f"{summary[key]['first_fifth_mean']:.2f} | {summary[key]['last_fifth_mean']:.2f} | "
                           f"{cos.get('first_fifth_mean', float('nan')):.3f} | {cos.get('last_fifth_mean', float('nan')):.3f} |")
    out.append("")
    out += [f"- `{k['command']}`" for k in rows]
    return out + [""]


def kernel_tables(kernels: list[dict]) -> list[str]:
    """Diagnostics outside the perf suite (``gradient_ratio`` files of ``python -m recsys.diagnostics``); the perf
    suite's ``perf-*.json`` files are rendered by :func:`perf_tables`."""
    return gradient_table(kernels)


def selection_tables() -> list[str]:
    """Model selections on validation (``"selection"`` files written by ``graphcl bench`` / ``recsys bench``)."""
    out = []
    for path in sorted(RESULTS.glob("*.json")):
        k = json.loads(path.read_text())
        if "selection" not in k:
            continue
        out += [f"### {k['selection']} (`{path.name}`)", "", f"- command: `{k['command']}`; rule: {k['rule']}",
                f"- selected: `{k['selected']}`", "", f"| cell | {k['metric']} | test metrics |", "|---|---|---|"]
        for row in k["candidates"]:
            mark = " **(selected)**" if row["cell"] == k["selected"] else ""
            tests = ", ".join(f"{m} {_pct(v['mean'], v['std'], len(row['seeds']))}" for m, v in row["metrics"].items()
                              if m in ("test_acc", "nmi", "hr@20", "macro_f1@20"))
            out.append(f"| `{row['cell']}`{mark} | {100 * row[k['metric']]:.2f} | {tests} |")
        out.append("")
    return out


def perf_tables(kernels: list[dict]) -> list[str]:
    """The perf suite's files (``perf-<name>.json``, schema ``perf/1``), each in the suite's one table format."""
    from benchmarks.perf.harness import SCHEMA, render_markdown

    out = ["Regenerated by `python -m benchmarks.perf NAME` (the command in each file; `python -m benchmarks.perf` "
           "lists them). Ratios compare variants timed alternately in one process; absolute times depend on the "
           "machine's load, which each section states.", ""]
    for k in kernels:
        if k.get("schema") == SCHEMA:
            out += render_markdown(k, k["_file"])
    return out


def render() -> tuple[str, str]:
    experiments, kernels = load_results()
    headline = headline_rows(experiments)
    legend = ("Metrics in percent: mean ± std over seeds (each seed the mean of its repeats); one seed is marked "
              "'(1 seed)'. Reference kinds: *paper* = the method's own paper, *another paper* = a number the method's "
              "paper did not report (e.g. HeCo's for MEOW), *authors' code, this machine* = the authors' code run here. "
              "Budget *reduced*: fewer steps than the paper's protocol (the file's `budget` says what was cut). "
              "Every number is regenerated by the command in its file (`graphcl bench` / `recsys bench`).")
    results_md = "\n".join(
        [
            "# Benchmark results",
            "",
            "Generated by `python benchmarks/make_tables.py` from `benchmarks/results/*.json`; do not edit by hand. "
            "Measured on the project's standard machine (2 CPU cores, torch CPU) unless a file says otherwise.",
            "",
            "## Headline",
            "",
            *headline,
            "",
            legend,
            "",
            "References:",
            "",
            *reference_sources(experiments),
            "",
            "## Plots",
            "",
            *plots(),
            "## Suites",
            "",
            *suite_details(experiments),
            *(["## In progress", "", *progress] if (progress := in_progress()) else []),
            "## Model selection on validation",
            "",
            *selection_tables(),
            "## Performance",
            "",
            *perf_tables(kernels),
            *kernel_tables(kernels),
        ]
    ).rstrip() + "\n"
    readme_block = "\n".join([START, *headline, "", legend, "",
                              "Every cell, its protocol, notes and plots: [benchmarks/RESULTS.md](benchmarks/RESULTS.md).",
                              END])
    return results_md, readme_block


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    results_md, block = render()
    readme = README.read_text()
    if START not in readme or END not in readme:
        print(f"README.md lacks the {START} ... {END} markers", file=sys.stderr)
        return 1
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    new_readme = head + block + tail
    target = HERE / "RESULTS.md"
    if args.check:
        stale = [p.name for p, new in ((target, results_md), (README, new_readme))
                 if not p.exists() or p.read_text() != new]
        if stale:
            print(f"out of date: {', '.join(stale)}; run python benchmarks/make_tables.py", file=sys.stderr)
            return 1
        return 0
    target.write_text(results_md)
    README.write_text(new_readme)
    print(f"wrote {target} and the README results block")
    return 0


if __name__ == "__main__":
    sys.exit(main())
