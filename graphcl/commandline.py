"""Command-line plumbing shared by the ``graphcl`` and ``recsys`` console scripts.

Argument parsing with ``key=value`` overrides anywhere on the line, the run-folder options every training
command has (``--run-dir``, ``--resume``, ``--overwrite``, ``--seeds``), resuming a run from its own folder, and
the exit-code policy: a bad input is one line ``<prog>: error: ...`` with exit status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphcl.config import ConfigResolver
from graphcl.errors import ConfigError, GraphCLError
from graphcl.train.run import RESUMABLE_KEYS


def parse_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse, accepting ``key=value`` overrides anywhere on the line (before, between or after options)."""
    args, extra = parser.parse_known_args(argv)
    unknown = [w for w in extra if w.startswith("-") or "=" not in w]
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if extra:
        if not hasattr(args, "overrides"):
            parser.error(f"the {args.command!r} command takes no key=value overrides: {' '.join(extra)}")
        args.overrides = list(args.overrides) + extra
    return args


def add_run_options(parser: argparse.ArgumentParser, *, first_seed: int) -> None:
    """``--seeds``, ``--seed-offset``, ``--run-dir``, ``--resume``, ``--overwrite``, ``--quiet`` and ``--logger``."""
    parser.add_argument("--seeds", type=int, default=None,
                        help="number of seeds N: trains seeds OFFSET .. OFFSET+N-1 (default: 1; with --resume, the "
                             "run's own)")
    parser.add_argument("--seed-offset", type=int, default=None, metavar="OFFSET",
                        help=f"first seed (default: {first_seed}; with --resume, the run's own)")
    parser.add_argument("--run-dir", default=None,
                        help="exact run folder (default: runs/<model>-<dataset>-<time>); a folder that holds a run "
                             "needs --resume or --overwrite")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --run-dir with its own config.yaml, seeds and data (only "
                             f"{' and '.join(RESUMABLE_KEYS)} may change, e.g. epochs=300)")
    parser.add_argument("--overwrite", action="store_true", help="replace the run already in --run-dir")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--logger", default=None, metavar="NAMES",
                        help="comma-separated loggers: csv, jsonl, tensorboard (the 'logger' config key; default: "
                             "csv,jsonl)")


@dataclass
class RunRequest:
    """What a ``train`` command will run, after ``--resume`` has been resolved against the run folder.

    Attributes:
        config: The resolved configuration.
        seeds: The seeds to train.
        data: The run's recorded data source (``run.json``'s ``data``), ``{}`` for a new run.
        changes: Settings a resume changes, ``{key: (old, new)}``.
        finished: The resumed run has its ``results.json`` and nothing changes: there is nothing to train.
    """

    config: dict[str, Any]
    seeds: list[int]
    data: dict[str, Any] = field(default_factory=dict)
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    finished: bool = False


def _seeds(args: argparse.Namespace, first_seed: int) -> list[int] | None:
    if args.seeds is None and args.seed_offset is None:
        return None
    count = 1 if args.seeds is None else args.seeds
    if count < 1:
        raise ConfigError(f"--seeds must be >= 1, got {count}")
    offset = first_seed if args.seed_offset is None else args.seed_offset
    return list(range(offset, offset + count))


def run_request(
    args: argparse.Namespace,
    *,
    model: str,
    dataset: str,
    overrides: Mapping[str, Any],
    resolve: ConfigResolver,
    first_seed: int,
) -> RunRequest:
    """The configuration and seeds of ``train``: from the command line, or from the run folder with ``--resume``.

    A resumed run keeps its own ``config.yaml``, seeds and data: ``--config`` cannot be given, ``--model`` /
    ``--dataset`` / ``--seeds`` must agree with the run when given, and overrides may only change
    :data:`RESUMABLE_KEYS` (each change is returned, to be printed and recorded).

    Args:
        args: Parsed arguments (``model``/``dataset`` as given, ``None`` when absent).
        model, dataset: The model and dataset a new run would use.
        overrides: ``key=value`` overrides from the command line (with ``--resume``, repeating the run's own
            values is allowed).
        resolve: ``resolve_config`` of the calling package (a resumed run's ``config.yaml`` is read with
            ``recorded=True``: keys it lacks keep the values the run had, see :func:`graphcl.config.previous_defaults`).
        first_seed: The default first seed of the package.

    Raises:
        ConfigError: Any disagreement with the run being resumed, naming the option and the run's value.
    """
    from graphcl.config import read_yaml
    from graphcl.train import check_run_dir, read_run_record

    check_run_dir(args.run_dir, resume=args.resume, overwrite=args.overwrite)
    if getattr(args, "logger", None) is not None:  # --logger is the 'logger' config key
        overrides = {**overrides, "logger": args.logger}
    seeds = _seeds(args, first_seed)
    if not args.resume:
        return RunRequest(resolve(model, dataset, args.config, overrides), seeds or [first_seed])
    run_dir = Path(args.run_dir)
    if args.config is not None:
        raise ConfigError(f"--config cannot be combined with --resume: the run's own {run_dir / 'config.yaml'} is used")
    stored = read_yaml(run_dir / "config.yaml")
    record = read_run_record(run_dir)
    for flag, given, key in (("--model", args.model, "model"), ("--dataset", getattr(args, "dataset", None),
                                                                 "dataset")):
        if given is not None and key in stored and str(given).lower() != str(stored[key]).lower():
            raise ConfigError(f"{flag} {given} differs from the run's {key} {stored[key]!r} in {run_dir}; "
                              f"drop {flag} to resume it")
    if "model" not in stored or "dataset" not in stored:
        raise ConfigError(f"{run_dir / 'config.yaml'} names no model and dataset; was it written by a train command?")
    cfg = resolve(str(stored["model"]), str(stored["dataset"]), run_dir / "config.yaml", overrides, recorded=True)
    original = resolve(str(stored["model"]), str(stored["dataset"]), run_dir / "config.yaml", {}, recorded=True)
    changed = [key for key in cfg if cfg[key] != original[key]]
    refused = [key for key in changed if key not in RESUMABLE_KEYS]
    if refused:
        listed = "; ".join(f"{key}: {original[key]!r} -> {cfg[key]!r}" for key in refused)
        raise ConfigError(
            f"cannot resume {run_dir} with other settings than it was started with ({listed}); only "
            f"{' and '.join(RESUMABLE_KEYS)} may change: start a new run (another --run-dir) to change the others"
        )
    changes = {key: (original[key], cfg[key]) for key in changed}
    recorded = record.get("seeds")
    if seeds is not None and recorded and seeds != recorded:
        raise ConfigError(f"--seeds / --seed-offset give seeds {seeds}, but the run in {run_dir} trains {recorded}; "
                          f"drop them to resume it")
    finished = (run_dir / "results.json").is_file() and not changes
    return RunRequest(cfg, recorded or seeds or [first_seed], dict(record.get("data") or {}), changes, finished)


def report_resume(run_dir: str | Path, changes: Mapping[str, tuple[Any, Any]]) -> None:
    """Print what a resume changes and append it to the run's ``run.json``."""
    from graphcl.train import record_resume

    if changes:
        listed = ", ".join(f"{key} {old} -> {new}" for key, (old, new) in changes.items())
        print(f"resuming {run_dir} with {listed} (recorded in run.json)")
    record_resume(run_dir, changes)


def dispatch(prog: str, handlers: Mapping[str, Callable[[argparse.Namespace], int]], args: argparse.Namespace) -> int:
    """Run ``handlers[args.command]`` with the exit-code policy of every console script of the library:
    library errors, missing optional packages, non-finite losses and unreadable files print one line
    ``<prog>: error: ...`` and exit 2 (no traceback); Ctrl-C exits 130."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        return handlers[args.command](args)
    except (GraphCLError, ImportError, FloatingPointError, OSError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


def add_bench_parser(sub: Any, prog: str) -> None:
    """The ``bench`` sub-command: run a benchmark suite (see :mod:`graphcl.bench`)."""
    bench = sub.add_parser("bench", help="run a benchmark suite (benchmarks/suites/*.yaml), resumable")
    bench.add_argument("suite", help="the suite manifest, e.g. benchmarks/suites/graph-cora.yaml")
    bench.add_argument("--only", default=None, help="comma-separated cells or selections to run (default: all)")
    bench.add_argument("--dry-run", action="store_true", help="list each cell's status and command, run nothing")
    bench.add_argument("--root", default=None, help="data root of the cells (default: the suite's 'root')")
    bench.add_argument("--results", default="benchmarks/results", help="folder of the <cell>.json results files "
                       "(default: benchmarks/results)")
    bench.add_argument("--work-dir", default="benchmarks/_work", help="parent of the cells' run folders "
                       "(default: benchmarks/_work)")
    bench.add_argument("--quiet", action="store_true", help="no progress bar over the cells")
    bench.add_argument("--seed-jobs", type=int, default=1, metavar="N",
                       help="train N seeds of a cell at once, each in its own process (default: 1); every seed is "
                            "recorded in <results>/seeds/ as soon as it finishes. Set OMP_NUM_THREADS so that N "
                            "processes share the cores")
    bench.add_argument("--refresh", action="store_true",
                       help="train nothing: rewrite the finished cells' results files with the suite's current names, "
                            "budgets, references, notes and tags (a cell whose rerun would train something else is "
                            "reported stale)")


def run_bench(args: argparse.Namespace, *, prog: str, task: str, main: Callable[[list[str]], int],
              first_seed: int) -> int:
    """``<prog> bench``: load the suite, check it is this package's, run it; exit 1 when a cell failed."""
    from graphcl.bench import PROGRAMS, load_suite, refresh_results, run_suite

    suite = load_suite(args.suite, first_seed=first_seed)
    if suite.task != task:
        raise ConfigError(f"{args.suite} is a {suite.task} suite; run it with '{PROGRAMS[suite.task]} bench'")
    only = [name.strip() for name in args.only.split(",") if name.strip()] if args.only else None
    if args.refresh:
        if task == "graph":
            from graphcl.config import previous_defaults, resolve_config
        else:
            from recsys.config import previous_defaults, resolve_config
        refreshed = refresh_results(suite, prog=prog, resolve=resolve_config, previous_defaults=previous_defaults,
                                    only=only, results_dir=args.results)
        counts = Counter(refreshed.values())
        print(f"{prog} bench --refresh: " + ", ".join(f"{n} {status}" for status, n in counts.items()))
        return 1 if "stale" in counts else 0
    statuses = run_suite(suite, main, prog=prog, only=only, root=args.root, results_dir=args.results,
                         work_dir=args.work_dir, dry_run=args.dry_run, show_progress=not args.quiet,
                         seed_jobs=args.seed_jobs)
    failed = [name for name, status in statuses.items() if status.startswith("failed")]
    if failed:
        print(f"{prog} bench: {len(failed)} cell(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
