"""Benchmark suites: YAML manifests of cells, run as one resumable command (``graphcl bench`` / ``recsys bench``).

A suite is data, not code. ``benchmarks/suites/<name>.yaml``::

    suite: graph-cora
    task: graph                      # graph (graphcl bench) or recsys (recsys bench)
    description: GRACE and CSGCL on Cora under GRACE's protocol
    root: ../shared/data/planetoid   # data root of every cell (relative to the working directory)
    cells:
      grace-cora:
        method: GRACE                # row label of the headline table
        model: grace
        dataset: cora                # recsys suites: data (a name under root, or a file)
        overrides: {tasks: [node, clustering, link]}
        dataset_options: {}          # loader arguments (train's --dataset-option), e.g. {num_nodes: 100000}
        seeds: 5                     # or a list of seeds
        budget: full                 # or {reduced: what was cut, e.g. "800 batches instead of 100 epochs"}
        headline: test_acc           # the metric of the headline table
        reference:                   # the number to compare with, and where it comes from
          metrics: {test_acc: {mean: 0.833, std: 0.004}}
          source: GRACE (Zhu et al., 2020), Table 2, Cora
          kind: paper                # paper | other-paper | authors-code-here | none
        note: free text
    selections:                      # model selection on validation, among finished cells
      grace-cora-selected: {metric: val_acc, candidates: [grace-cora, grace-cora-400]}

Each cell trains through the package's own ``train`` command in the run folder ``<work_dir>/<cell>``; its
``results.json``, with the cell's budget, reference, note and the command that regenerates it, becomes
``<results_dir>/<cell>.json``, together with each seed's training curves from ``metrics.csv`` (``curves``: at most
200 rows per seed, so ``graphcl plot curves <cell>.json`` draws them after the run folder is gone). A cell whose
results file exists is finished and never rerun (delete the file to run
it again); a cell whose run folder exists continues from its ``last.pt`` files (``--resume``), so a long
full-protocol cell can be carried over several invocations.

A cell of several seeds trains **seed by seed**: each seed is a run of its own in ``<work_dir>/<cell>/seed-<s>``, up
to ``seed_jobs`` of them at once in parallel processes (``bench --seed-jobs N``), and a seed another process trains is
left to it. Each finished seed is recorded at once in ``<results_dir>/seeds/<cell>/seed-<s>.json`` (its results,
curves and command), so that the seeds already finished survive the loss of the run folders; once every seed is
recorded, the records are merged into ``<cell>.json`` (the same metrics as one run over all the seeds: every seed
starts from its own seed alone) and removed. A run folder begun with all seeds in one run goes on as one run.
"""
from __future__ import annotations

import json
import math
import multiprocessing
import os
import shlex
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from graphcl.config import ConfigResolver
from graphcl.errors import ConfigError
from graphcl.eval.summary import summarize
from graphcl.plots import run_curves, thin_rows
from graphcl.train.run import run_dir_holder

__all__ = ["Cell", "Selection", "Suite", "cell_status", "load_suite", "merge_seed_runs", "refresh_results", "run_suite",
           "select"]

TASKS = ("graph", "recsys")
PROGRAMS = {"graph": "graphcl", "recsys": "recsys"}  # the command that runs a suite of each task
#: Configuration keys that change how a run is kept, not what it trains.
_RUN_KEEPING = ("checkpoint_every", "logger")
CURVE_ROWS = 200  # rows per seed of the training curves kept in a cell's results file
SEED_RECORDS = "seeds"  # <results_dir>/seeds/<cell>/seed-<s>.json: the finished seeds of a cell trained seed by seed
REFERENCE_KINDS = ("paper", "other-paper", "authors-code-here", "none")
_CELL_KEYS = {"method", "model", "dataset", "data", "root", "overrides", "dataset_options", "seeds", "seed_offset",
              "budget", "headline", "reference", "note", "tags"}
_SUITE_KEYS = {"suite", "task", "description", "root", "cells", "selections", "notes"}


@dataclass(frozen=True)
class Cell:
    """One benchmark cell: one model on one dataset with one configuration, over several seeds.

    Attributes:
        name: Unique name within the suite; also the results file's stem.
        model: Model name of the package.
        dataset: Dataset name (graph) or data name / file (recsys).
        overrides: Config overrides (``key: value``).
        seeds: The seeds.
        budget: ``"full"`` or ``"reduced: <what was cut>"``.
        headline: The metric of the headline table.
        reference: The reference number and its source (``metrics``, ``source``, ``kind``).
        method: Row label (default: the model name).
        note: Free text kept with the results.
        tags: Labels; ``headline`` puts the cell in the headline table.
        root: Data root of this cell when it differs from the suite's.
        dataset_options: Loader arguments (``key: value``), passed as ``train --dataset-option key=value``.
    """

    name: str
    model: str
    dataset: str
    overrides: Mapping[str, Any]
    seeds: tuple[int, ...]
    budget: str
    headline: str | None
    reference: Mapping[str, Any]
    method: str
    note: str = ""
    tags: tuple[str, ...] = ()
    root: str | None = None
    dataset_options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Selection:
    """Model selection on a validation metric among finished cells (the best mean wins)."""

    name: str
    metric: str
    candidates: tuple[str, ...]
    higher_is_better: bool = True


@dataclass(frozen=True)
class Suite:
    """A parsed suite manifest (see the module docstring)."""

    name: str
    task: str
    path: Path
    description: str
    root: str | None
    cells: Mapping[str, Cell]
    selections: Mapping[str, Selection] = field(default_factory=dict)


def _fail(path: Path, where: str, message: str) -> ConfigError:
    return ConfigError(f"{path}: {where}: {message}")


def _seeds(path: Path, name: str, raw: Mapping[str, Any], first_seed: int) -> tuple[int, ...]:
    seeds = raw.get("seeds", 1)
    offset = raw.get("seed_offset", first_seed)
    if isinstance(seeds, bool) or not isinstance(offset, int) or isinstance(offset, bool):
        raise _fail(path, f"cell {name}", "seeds must be a count or a list of ints, seed_offset an int")
    if isinstance(seeds, int):
        if seeds < 1:
            raise _fail(path, f"cell {name}", f"seeds must be >= 1, got {seeds}")
        return tuple(range(offset, offset + seeds))
    if isinstance(seeds, list) and seeds and all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        if seeds != list(range(seeds[0], seeds[0] + len(seeds))):
            raise _fail(path, f"cell {name}", f"a seed list must be consecutive (train's --seeds/--seed-offset), "
                                              f"got {seeds}")
        return tuple(seeds)
    raise _fail(path, f"cell {name}", f"seeds must be a count or a list of ints, got {seeds!r}")


def _budget(path: Path, name: str, raw: Any) -> str:
    if raw in (None, "full"):
        return "full"
    if isinstance(raw, Mapping) and set(raw) == {"reduced"} and isinstance(raw["reduced"], str) and raw["reduced"]:
        return f"reduced: {raw['reduced']}"
    raise _fail(path, f"cell {name}", f"budget must be 'full' or {{reduced: <what was cut>}}, got {raw!r}")


def _reference(path: Path, name: str, raw: Any) -> dict[str, Any]:
    if raw is None:
        return {"kind": "none", "source": "no reference number"}
    if not isinstance(raw, Mapping) or not isinstance(raw.get("source"), str):
        raise _fail(path, f"cell {name}", "reference needs a 'source' (paper, table, row — or where else it is from)")
    kind = raw.get("kind", "paper")
    if kind not in REFERENCE_KINDS:
        raise _fail(path, f"cell {name}", f"reference kind must be one of {', '.join(REFERENCE_KINDS)}, got {kind!r}")
    metrics = raw.get("metrics", {})
    if not isinstance(metrics, Mapping) or not all(isinstance(v, Mapping) and "mean" in v for v in metrics.values()):
        raise _fail(path, f"cell {name}", "reference metrics must map names to {mean: ..., std: ...}")
    return {"metrics": {k: dict(v) for k, v in metrics.items()}, "source": raw["source"], "kind": kind}


def load_suite(path: str | os.PathLike[str], *, first_seed: int = 0) -> Suite:
    """Read and validate a suite manifest; every error names the file and the cell or key.

    Args:
        path: The YAML manifest.
        first_seed: First seed of a cell that gives a seed count only (0 for graphs, 2020 for recsys).

    Raises:
        ConfigError: Unreadable YAML, unknown keys, a cell without model / dataset, bad seeds, budget or
            reference, a selection naming unknown cells.
    """
    from graphcl.config import read_yaml

    path = Path(path)
    raw = read_yaml(path)
    unknown = sorted(set(raw) - _SUITE_KEYS)
    if unknown:
        raise _fail(path, "suite", f"unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_SUITE_KEYS))}")
    task = raw.get("task")
    if task not in TASKS:
        raise _fail(path, "suite", f"task must be one of {', '.join(TASKS)}, got {task!r}")
    cells_raw = raw.get("cells")
    if not isinstance(cells_raw, Mapping) or not cells_raw:
        raise _fail(path, "suite", "needs a non-empty 'cells' mapping")
    data_key = "dataset" if task == "graph" else "data"
    cells: dict[str, Cell] = {}
    for name, spec in cells_raw.items():
        if not isinstance(spec, Mapping):
            raise _fail(path, f"cell {name}", "must be a mapping")
        bad = sorted(set(spec) - _CELL_KEYS)
        if bad:
            raise _fail(path, f"cell {name}", f"unknown key(s) {', '.join(bad)}; known: {', '.join(sorted(_CELL_KEYS))}")
        if not isinstance(spec.get("model"), str) or not isinstance(spec.get(data_key), str):
            raise _fail(path, f"cell {name}", f"needs 'model' and '{data_key}'")
        overrides = spec.get("overrides") or {}
        if not isinstance(overrides, Mapping):
            raise _fail(path, f"cell {name}", "overrides must be a mapping of config keys")
        dataset_options = spec.get("dataset_options") or {}
        if not isinstance(dataset_options, Mapping):
            raise _fail(path, f"cell {name}", "dataset_options must be a mapping of loader arguments")
        cells[str(name)] = Cell(
            name=str(name), model=spec["model"], dataset=spec[data_key], overrides=dict(overrides),
            seeds=_seeds(path, name, spec, first_seed), budget=_budget(path, name, spec.get("budget")),
            headline=spec.get("headline"), reference=_reference(path, name, spec.get("reference")),
            method=str(spec.get("method") or spec["model"]), note=str(spec.get("note") or ""),
            tags=tuple(spec.get("tags") or ()), root=spec.get("root"), dataset_options=dict(dataset_options),
        )
    selections: dict[str, Selection] = {}
    for name, spec in (raw.get("selections") or {}).items():
        if not isinstance(spec, Mapping) or not isinstance(spec.get("metric"), str):
            raise _fail(path, f"selection {name}", "needs a 'metric' and 'candidates'")
        candidates = tuple(spec.get("candidates") or ())
        missing = [c for c in candidates if c not in cells]
        if not candidates or missing:
            raise _fail(path, f"selection {name}", f"candidates must name cells of the suite; unknown: {missing}")
        selections[str(name)] = Selection(str(name), spec["metric"], candidates, bool(spec.get("higher_is_better",
                                                                                                True)))
    return Suite(name=str(raw.get("suite") or path.stem), task=task, path=path,
                 description=str(raw.get("description") or ""), root=raw.get("root"), cells=cells,
                 selections=selections)


def _override_word(key: str, value: Any) -> str:
    if isinstance(value, (list, dict)):
        text = yaml.safe_dump(value, default_flow_style=True, width=10**6).strip()
        return f"{key}={text.replace(', ', ',')}"
    if value is None:
        return f"{key}=null"
    if isinstance(value, bool):
        return f"{key}={'true' if value else 'false'}"
    return f"{key}={value}"


def train_argv(suite: Suite, cell: Cell, run_dir: Path, *, root: str | None, resume: bool,
               seeds: Sequence[int] | None = None) -> list[str]:
    """The ``train`` command line of ``cell`` (without the program name), for its seeds or the consecutive ``seeds``."""
    seeds = cell.seeds if seeds is None else seeds
    data_flag = "--dataset" if suite.task == "graph" else "--data"
    argv = ["train", "--model", cell.model, data_flag, cell.dataset]
    root = cell.root if cell.root is not None else root
    if root is not None:
        argv += ["--root", root]
    argv += ["--seeds", str(len(seeds)), "--seed-offset", str(seeds[0]), "--run-dir", str(run_dir), "--quiet"]
    for key, value in cell.dataset_options.items():
        argv += ["--dataset-option", _override_word(key, value)]
    argv += [_override_word(k, v) for k, v in cell.overrides.items()]
    if resume:
        argv.append("--resume")
    return argv


def cell_status(cell: Cell, results_dir: Path, work_dir: Path) -> str:
    """``"finished"`` (its results file exists), ``"running (pid N on host)"`` (another process trains in its run
    folder now), ``"resumable"`` (its run folder holds a run) or ``"new"``."""
    if (results_dir / f"{cell.name}.json").is_file():
        return "finished"
    run_dir = work_dir / cell.name
    for folder in (run_dir, *_seed_dirs(cell, run_dir)):
        holder = run_dir_holder(folder)
        if holder is not None:
            return f"running ({holder})"
    if (run_dir / "config.yaml").is_file() or _begun_seed_by_seed(cell, run_dir, results_dir):
        return "resumable"
    return "new"


def _seed_dirs(cell: Cell, run_dir: Path) -> list[Path]:
    return [run_dir / f"seed-{seed}" for seed in cell.seeds] if len(cell.seeds) > 1 else []


def _seed_records(results_dir: Path, cell: Cell) -> Path:
    return results_dir / SEED_RECORDS / cell.name


def _begun_seed_by_seed(cell: Cell, run_dir: Path, results_dir: Path) -> bool:
    """Whether ``cell`` was begun seed by seed: a seed's own run folder, or a finished seed's record."""
    return _seed_records(results_dir, cell).is_dir() or any(
        (seed_dir / "config.yaml").is_file() for seed_dir in _seed_dirs(cell, run_dir))


def _trains_seed_by_seed(cell: Cell, run_dir: Path) -> bool:
    """Whether ``cell`` trains seed by seed (see the module docstring): several seeds, not begun in one run folder."""
    return len(cell.seeds) > 1 and not (run_dir / "config.yaml").is_file()


def bench_command(prog: str, suite: Suite, cell_name: str) -> str:
    return f"{prog} bench {suite.path.as_posix()} --only {cell_name}"


def _description(suite: Suite, cell: Cell, prog: str) -> dict[str, Any]:
    """What a results file takes from the suite rather than from the run: names, budget, reference, note, tags."""
    return {"suite": suite.name, "cell": cell.name, "method": cell.method,
            "command": bench_command(prog, suite, cell.name), "budget": cell.budget, "headline": cell.headline,
            "reference": dict(cell.reference), "note": cell.note, "tags": list(cell.tags)}


def _run_results(run_dir: Path, prog: str, argv: Sequence[str], wall_s: float | None) -> dict[str, Any]:
    """A finished run folder's ``results.json`` with the command that trained it, its wall time (``None``: not
    timed here, its training time stands in), its number of invocations and its thinned training curves."""
    results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    if wall_s is None:
        wall_s = results["time_s"]
    resumes = json.loads((run_dir / "run.json").read_text(encoding="utf-8")).get("resumes", []) \
        if (run_dir / "run.json").is_file() else []
    curves = {label: thin_rows(rows, CURVE_ROWS) for label, rows in run_curves(run_dir)} \
        if _has_metrics(run_dir) else {}
    return {**results, "train_command": shlex.join([prog, *argv]), "bench_wall_s": wall_s,
            "invocations": 1 + len(resumes), "curves": curves}


def _cell_record(suite: Suite, cell: Cell, prog: str, run: Mapping[str, Any]) -> dict[str, Any]:
    """The cell's results file: its names, then the run's results, the suite's description, then how it ran."""
    how = ("train_command", "bench_wall_s", "invocations", "curves")
    record = {"suite": suite.name, "cell": cell.name, "method": cell.method,
              **{key: value for key, value in run.items() if key not in how}}
    record.update(_description(suite, cell, prog))
    record.update({key: run[key] for key in how})
    return record


def merge_seed_runs(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One record of several seeds from the records of runs of one seed each (:func:`_run_results`), as one run over
    all of them writes it: the metric summaries over the seeds' values, the seeds, per-seed details and curves
    side by side, times and invocations summed, the peak memory the largest, distinct commits listed.

    Raises:
        ConfigError: The runs trained different configurations.
    """
    first = runs[0]
    for run in runs[1:]:
        if _json_values(run["config"]) != _json_values(first["config"]):
            raise ConfigError(f"seed {run['protocol']['seeds']} was trained with another configuration than seed "
                              f"{first['protocol']['seeds']}; remove its run and record to train it again")
    merged: dict[str, Any] = {}
    for key, value in first.items():
        if key in ("metrics", "validation"):
            names = [name for name in value if all(name in run.get(key, {}) for run in runs)]
            merged[key] = {name: summarize([v for run in runs for v in run[key][name]["values"]]) for name in names}
        elif key == "protocol":
            merged[key] = {**value, "seeds": [seed for run in runs for seed in run[key]["seeds"]]}
        elif key == "runs":
            merged[key] = [info for run in runs for info in run.get(key, [])]
        elif key == "curves":
            merged[key] = {label: rows for run in runs for label, rows in run[key].items()}
        elif key in ("time_s", "bench_wall_s", "invocations"):
            merged[key] = sum(run[key] for run in runs)
        elif key == "peak_mem_mb":
            peaks = [run[key] for run in runs if run.get(key) is not None]
            merged[key] = max(peaks) if peaks else None
        elif key == "commit":
            merged[key] = ", ".join(dict.fromkeys(str(run[key]) for run in runs if run.get(key))) or None
        else:
            merged[key] = value
    return merged


def refresh_results(
    suite: Suite,
    *,
    prog: str,
    resolve: ConfigResolver,
    previous_defaults: Callable[[str], Mapping[str, Any]],
    only: Iterable[str] | None = None,
    results_dir: str | os.PathLike[str] = "benchmarks/results",
    echo: Callable[[str], None] = print,
) -> dict[str, str]:
    """Bring the finished cells' results files up to date with the suite's descriptions, without training.

    A suite's method names, budgets, references, notes and tags may change after its cells ran; the results files
    copied them when they were written. This rewrites those fields (see :func:`_description`) in every finished
    cell's file and leaves the measurements alone. A cell whose rerun would train something else (another model,
    data or seeds, or a configuration value that differs from the recorded one: ``resolve`` is the package's
    configuration resolver, ``previous_defaults`` its :func:`graphcl.config.previous_defaults`, which supplies the
    values of options the record predates) is left as it is and reported ``stale``, to be rerun after removing its
    file.

    Returns:
        ``{cell: status}``: ``refreshed``, ``unchanged``, ``stale`` or ``not run``.

    Raises:
        ConfigError: ``only`` names no cell of the suite.
    """
    results_dir = Path(results_dir)
    names = list(only) if only else list(suite.cells)
    unknown = [name for name in names if name not in suite.cells]
    if unknown:
        raise ConfigError(f"{suite.path}: no cell named {', '.join(unknown)}; the suite has {', '.join(suite.cells)}")
    statuses: dict[str, str] = {}
    for name in names:
        cell, path = suite.cells[name], results_dir / f"{name}.json"
        if not path.is_file():
            statuses[name] = "not run"
            continue
        record = json.loads(path.read_text(encoding="utf-8"))
        reason = _stale_because(record, suite, cell, resolve, previous_defaults)
        if reason is not None:
            statuses[name] = "stale"
            echo(f"{name}: stale, a rerun would train something else ({reason}); remove {path} and rerun the cell "
                 f"to measure it again")
            continue
        description = _description(suite, cell, prog)
        if all(record.get(key) == value for key, value in description.items()):
            statuses[name] = "unchanged"
            continue
        changed = [key for key, value in description.items() if record.get(key) != value]
        _write_json(path, {**record, **description})
        statuses[name] = "refreshed"
        echo(f"{name}: refreshed {', '.join(changed)}")
    return statuses


def _stale_because(record: Mapping[str, Any], suite: Suite, cell: Cell, resolve: ConfigResolver,
                   previous_defaults: Callable[[str], Mapping[str, Any]]) -> str | None:
    """Why a rerun of ``cell`` would train something else than the run ``record`` holds, or ``None``: another model,
    data, data options or seeds, or a configuration value that differs. An option the record predates counts with
    its ``previous_defaults`` value when it has one (its introduction changed behaviour); other keys present in only
    one of the two are options added or removed without changing what trains, not compared."""
    if (record.get("model"), record.get("dataset")) != (cell.model, cell.dataset):
        return f"it ran {record.get('model')} on {record.get('dataset')}"
    seeds = (record.get("protocol") or {}).get("seeds")
    if seeds != list(cell.seeds):
        return f"it ran seeds {seeds}, the cell has {list(cell.seeds)}"
    recorded_options = sorted(_option_values(shlex.split(record.get("train_command", "")), "--dataset-option"))
    options = sorted(_option_values(train_argv(suite, cell, Path("_"), root=None, resume=False), "--dataset-option"))
    if recorded_options != options:
        return f"it ran with dataset options {recorded_options}, the cell has {options}"
    config = _json_values(resolve(cell.model, cell.dataset, None, dict(cell.overrides)))
    ran = _json_values({**previous_defaults(cell.model), **(record.get("config") or {})})
    changed = [key for key in config if key in ran and config[key] != ran[key] and key not in _RUN_KEEPING]
    if changed:
        return "; ".join(f"{key} was {ran[key]!r}, now {config[key]!r}" for key in changed)
    return None


def _option_values(argv: Sequence[str], option: str) -> list[str]:
    return [value for word, value in zip(argv, argv[1:]) if word == option]


def _json_values(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` as it reads back from JSON (tuples become lists, paths strings), for comparison."""
    return json.loads(json.dumps(dict(config), default=str))


def _has_metrics(run_dir: Path) -> bool:
    return (run_dir / "metrics.csv").is_file() or any(run_dir.glob("seed-*/metrics.csv"))


def run_suite(
    suite: Suite,
    train: Callable[[list[str]], int],
    *,
    prog: str,
    only: Iterable[str] | None = None,
    root: str | None = None,
    results_dir: str | os.PathLike[str] = "benchmarks/results",
    work_dir: str | os.PathLike[str] = "benchmarks/_work",
    dry_run: bool = False,
    show_progress: bool = True,
    seed_jobs: int = 1,
    echo: Callable[[str], None] = print,
) -> dict[str, str]:
    """Run the unfinished cells of ``suite`` (finished ones are skipped, interrupted ones resumed), then its
    selections.

    Args:
        suite: From :func:`load_suite`.
        train: The package's command-line entry point, called with a ``train`` argument list; returns an exit code.
        prog: The program name recorded in the commands (``graphcl`` / ``recsys``).
        only: Cell or selection names to run (default: all).
        root: Data root (default: the suite's ``root``; a cell's own ``root`` wins).
        results_dir: Where ``<cell>.json`` files go.
        work_dir: Parent of the cells' run folders.
        dry_run: Only report each cell's status and command.
        show_progress: A progress bar over the cells.
        seed_jobs: How many seeds of a cell train at once, each in its own process (see the module docstring);
            above 1, ``train`` must be a module-level function (it runs in spawned processes).
        echo: Where status lines go.

    Returns:
        ``{cell: status}`` after the run: ``finished``, ``failed (exit N)``, ``running (pid N on host)`` (skipped:
        another process trains it), or for a dry run the status found (:func:`cell_status`).

    Raises:
        ConfigError: ``only`` names no cell or selection of the suite, or ``seed_jobs`` < 1.
    """
    from tqdm import tqdm

    if isinstance(seed_jobs, bool) or not isinstance(seed_jobs, int) or seed_jobs < 1:
        raise ConfigError(f"seed_jobs must be a positive number of processes, got {seed_jobs!r}")

    results_dir, work_dir = Path(results_dir), Path(work_dir)
    wanted = list(only) if only else list(suite.cells) + list(suite.selections)
    unknown = [name for name in wanted if name not in suite.cells and name not in suite.selections]
    if unknown:
        raise ConfigError(f"{suite.path}: no cell or selection named {', '.join(unknown)}; the suite has "
                          f"{', '.join([*suite.cells, *suite.selections])}")
    cells = [suite.cells[name] for name in wanted if name in suite.cells]
    for name in wanted:  # a selection runs its candidates first
        if name in suite.selections:
            cells += [suite.cells[c] for c in suite.selections[name].candidates if suite.cells[c] not in cells]
    root = root if root is not None else suite.root
    statuses = {cell.name: cell_status(cell, results_dir, work_dir) for cell in cells}
    if dry_run:
        for cell in cells:
            status, run_dir = statuses[cell.name], work_dir / cell.name
            argv = train_argv(suite, cell, run_dir, root=root, resume=status == "resumable")
            command = shlex.join([prog, *argv]) if status in ("new", "resumable") else ""
            if status != "finished" and _trains_seed_by_seed(cell, run_dir):
                command = _next_seed_command(suite, cell, run_dir, results_dir, root=root, prog=prog)
            echo(f"{cell.name:32s} {status:10s} {command}".rstrip())
        return statuses
    pending = [cell for cell in cells if statuses[cell.name] != "finished"]
    for cell in cells:
        if statuses[cell.name] == "finished":
            echo(f"{cell.name}: finished ({results_dir / (cell.name + '.json')}), skipped")
    results_dir.mkdir(parents=True, exist_ok=True)
    bar = tqdm(pending, desc=f"bench {suite.name}", unit="cell", disable=not show_progress or not pending)
    for cell in bar:
        bar.set_postfix_str(cell.name)
        run_dir = work_dir / cell.name
        status = cell_status(cell, results_dir, work_dir)  # again at its turn: earlier cells may take hours
        if status == "finished":
            statuses[cell.name] = status
            echo(f"{cell.name}: finished meanwhile by another process, skipped")
            continue
        if _trains_seed_by_seed(cell, run_dir):
            statuses[cell.name] = _run_seed_by_seed(suite, cell, train, prog=prog, root=root, run_dir=run_dir,
                                                    results_dir=results_dir, seed_jobs=seed_jobs, echo=echo)
            continue
        if status.startswith("running"):
            statuses[cell.name] = status
            echo(f"{cell.name}: another process trains it now {status[len('running '):]}, skipped; rerun the "
                 f"command when it ends")
            continue
        resume = status == "resumable"
        argv = train_argv(suite, cell, run_dir, root=root, resume=resume)
        echo(f"{cell.name}: {'resuming' if resume else 'starting'}: {shlex.join([prog, *argv])}")
        started = time.perf_counter()
        code = train(argv)
        if code == 130:  # Ctrl-C inside the cell: stop the suite; the cell resumes on the next invocation
            raise KeyboardInterrupt
        if code != 0 or not (run_dir / "results.json").is_file():
            statuses[cell.name] = f"failed (exit {code})"
            echo(f"{cell.name}: failed (exit {code}); rerun the same command to resume it")
            continue
        run = _run_results(run_dir, prog, argv, time.perf_counter() - started)
        _write_json(results_dir / f"{cell.name}.json", _cell_record(suite, cell, prog, run))
        statuses[cell.name] = "finished"
    for name in wanted:
        if name in suite.selections:
            outcome = select(suite, suite.selections[name], results_dir, prog=prog)
            statuses[name] = outcome
            echo(f"{name}: {outcome}")
    return statuses


def _run_seed_by_seed(suite: Suite, cell: Cell, train: Callable[[list[str]], int], *, prog: str, root: str | None,
                      run_dir: Path, results_dir: Path, seed_jobs: int, echo: Callable[[str], None]) -> str:
    """Train the unrecorded seeds of ``cell`` in their own run folders, ``seed_jobs`` at once; record each finished
    seed; merge the records into the cell's results file once every seed has one.

    Returns:
        The cell's status: ``finished``, ``failed (exit N)`` or ``running (...)`` (a seed is left to another process).
    """
    records = _seed_records(results_dir, cell)
    jobs: list[tuple[int, list[str]]] = []
    held: list[str] = []
    for seed in _unrecorded_seeds(records, cell):
        seed_dir = run_dir / f"seed-{seed}"
        holder = run_dir_holder(seed_dir)
        if holder is not None:
            held.append(holder)
            echo(f"{cell.name}: another process trains seed {seed} now ({holder}), skipped")
        elif (seed_dir / "results.json").is_file():  # finished by a train command of its own: record it
            _record_seed(records, seed_dir, _run_results(seed_dir, prog, train_argv(
                suite, cell, seed_dir, root=root, resume=False, seeds=[seed]), None))
        else:
            jobs.append((seed, _seed_train_argv(suite, cell, seed, seed_dir, root=root)))
    failed = []
    for seed, argv, code, wall_s in _train_each(train, jobs, seed_jobs, prog=prog, cell=cell.name, echo=echo):
        seed_dir = run_dir / f"seed-{seed}"
        if code == 130:
            raise KeyboardInterrupt
        if code != 0 or not (seed_dir / "results.json").is_file():
            failed.append(code)
            echo(f"{cell.name}: seed {seed} failed (exit {code}); rerun the same command to resume it")
            continue
        _record_seed(records, seed_dir, _run_results(seed_dir, prog, argv, wall_s))
    if failed:
        return f"failed (exit {failed[0]})"
    if held:
        return f"running ({held[0]})"
    runs = [json.loads((records / f"seed-{seed}.json").read_text(encoding="utf-8")) for seed in cell.seeds]
    merged = {**merge_seed_runs(runs), "train_command": shlex.join([prog, *train_argv(
        suite, cell, run_dir, root=root, resume=False)])}
    _write_json(results_dir / f"{cell.name}.json", _cell_record(suite, cell, prog, merged))
    for path in records.glob("seed-*.json"):
        path.unlink()
    records.rmdir()
    if not any(records.parent.iterdir()):
        records.parent.rmdir()
    return "finished"


def _next_seed_command(suite: Suite, cell: Cell, run_dir: Path, results_dir: Path, *, root: str | None,
                       prog: str) -> str:
    """``"1 of 3 seeds recorded; next: <train command of the next seed>"``, for a dry run."""
    records = _seed_records(results_dir, cell)
    pending = _unrecorded_seeds(records, cell)
    done = f"{len(cell.seeds) - len(pending)} of {len(cell.seeds)} seeds recorded"
    if not pending:
        return f"{done}; the next run merges them"
    argv = _seed_train_argv(suite, cell, pending[0], run_dir / f"seed-{pending[0]}", root=root)
    return f"{done}; next: {shlex.join([prog, *argv])}"


def _unrecorded_seeds(records: Path, cell: Cell) -> list[int]:
    """The seeds of ``cell`` without a record in ``records`` yet, in order."""
    return [seed for seed in cell.seeds if not (records / f"seed-{seed}.json").is_file()]


def _seed_train_argv(suite: Suite, cell: Cell, seed: int, seed_dir: Path, *, root: str | None) -> list[str]:
    """The train command of one seed of ``cell`` in ``seed_dir``: resumed when that folder holds a begun run."""
    return train_argv(suite, cell, seed_dir, root=root, resume=(seed_dir / "config.yaml").is_file(), seeds=[seed])


def _record_seed(records: Path, seed_dir: Path, run: Mapping[str, Any]) -> None:
    records.mkdir(parents=True, exist_ok=True)
    _write_json(records / f"{seed_dir.name}.json", run)


def _train_each(train: Callable[[list[str]], int], jobs: Sequence[tuple[int, list[str]]], processes: int, *,
                prog: str, cell: str, echo: Callable[[str], None]) -> Iterable[tuple[int, list[str], int, float]]:
    """``(seed, argv, exit code, wall seconds)`` of each ``train(argv)`` as it ends: in this process one after the
    other, or in up to ``processes`` spawned processes at once."""
    def starting(seed: int, argv: list[str]) -> None:
        echo(f"{cell}: seed {seed}: {'resuming' if '--resume' in argv else 'starting'}: {shlex.join([prog, *argv])}")

    if processes == 1 or len(jobs) <= 1:
        for seed, argv in jobs:
            starting(seed, argv)
            started = time.perf_counter()
            yield seed, argv, train(argv), time.perf_counter() - started
        return
    context = multiprocessing.get_context("spawn")  # no fork of a process holding threads and open run folders
    with ProcessPoolExecutor(max_workers=min(processes, len(jobs)), mp_context=context) as pool:
        started = time.perf_counter()
        futures = {}
        for seed, argv in jobs:
            starting(seed, argv)
            futures[pool.submit(_timed, train, argv)] = (seed, argv)
        for future in as_completed(futures):
            seed, argv = futures[future]
            try:
                code, wall_s = future.result()
            except Exception as exc:  # a worker that died (killed, out of memory) fails its seed
                echo(f"{cell}: seed {seed}: its process ended without an exit code ({type(exc).__name__})")
                code, wall_s = 1, time.perf_counter() - started
            yield seed, argv, code, wall_s


def _timed(train: Callable[[list[str]], int], argv: list[str]) -> tuple[int, float]:
    started = time.perf_counter()
    return train(argv), time.perf_counter() - started


def _write_json(path: Path, value: Mapping[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(value, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def metric_value(results: Mapping[str, Any], metric: str) -> float | None:
    """The mean of ``metric`` in a results record: ``val_acc`` (in ``metrics``) or ``validation.mrr@10``."""
    section, _, name = metric.rpartition(".")
    table = results.get(section or "metrics") or {}
    value = table.get(name)
    if not isinstance(value, Mapping) or value.get("mean") is None:
        return None
    return float(value["mean"])


def select(suite: Suite, selection: Selection, results_dir: str | os.PathLike[str], *, prog: str) -> str:
    """Pick the candidate with the best validation ``metric`` and write ``<results_dir>/<selection>.json``.

    Returns:
        A status line: the selected cell, or why nothing was selected (unfinished candidates).
    """
    results_dir = Path(results_dir)
    rows = []
    for name in selection.candidates:
        path = results_dir / f"{name}.json"
        if not path.is_file():
            return f"not selected: candidate {name} is not finished"
        results = json.loads(path.read_text(encoding="utf-8"))
        value = metric_value(results, selection.metric)
        if value is None or not math.isfinite(value):
            return f"not selected: {path} has no {selection.metric}"
        rows.append({"cell": name, selection.metric: value, "metrics": results["metrics"],
                     "seeds": results["protocol"]["seeds"]})
    best = (max if selection.higher_is_better else min)(rows, key=lambda row: row[selection.metric])
    record = {
        "suite": suite.name, "selection": selection.name, "metric": selection.metric,
        "rule": f"{'highest' if selection.higher_is_better else 'lowest'} mean {selection.metric} among the "
                "candidates (validation only; test metrics are reported, never used to select)",
        "selected": best["cell"], "candidates": rows,
        "command": f"{prog} bench {suite.path.as_posix()} --only {selection.name}",
    }
    _write_json(results_dir / f"{selection.name}.json", record)
    return f"selected {best['cell']} ({selection.metric} {best[selection.metric]:.4f})"
