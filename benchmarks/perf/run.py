"""Run one benchmark of the perf suite: ``python -m benchmarks.perf NAME [--quick]`` (or
``python benchmarks/perf/run.py NAME``); without a name, list them.

Every module ``benchmarks/perf/<name>.py`` other than the helpers is a benchmark named ``<name>`` with ``_`` written
``-``. It defines ``TITLE``, ``DESCRIPTION``, optionally ``add_arguments(parser)``, and ``run(options) -> dict`` with
the ``rows`` (and optionally ``summary``, ``settings``, ``note``, ``columns``) of :func:`harness.write_record`;
this runner sets the threads, records the environment and the load averages around the run, and writes
``benchmarks/results/perf-<name>.json`` (with ``--quick``: tiny sizes, written to a temporary folder unless
``--out`` is given).
"""
from __future__ import annotations

import argparse
import ast
import importlib
import sys
import tempfile
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
if __name__ == "__main__" and str(HERE.parents[1]) not in sys.path:
    sys.path.insert(0, str(HERE.parents[1]))  # run as a script: make the checkout importable

HELPERS = {"__init__", "__main__", "harness", "run"}


def available() -> dict[str, str]:
    """Benchmark name -> the first line of its module docstring, for every module that follows the suite's
    interface (a top-level ``TITLE`` and ``def run``); other scripts in the folder are not listed."""
    found = {}
    for path in sorted(HERE.glob("*.py")):
        if path.stem in HELPERS or path.stem.startswith("_"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets
                 if isinstance(t, ast.Name)} | {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
        if {"TITLE", "DESCRIPTION", "run"} <= names:
            doc = (ast.get_docstring(tree) or "").strip()
            found[path.stem.replace("_", "-")] = doc.splitlines()[0] if doc else ""
    return found


def load(name: str) -> ModuleType:
    """The module of benchmark ``name``."""
    if name not in available():
        raise SystemExit(f"unknown perf benchmark {name!r}; choose one of: {', '.join(available())}")
    return importlib.import_module(f"benchmarks.perf.{name.replace('-', '_')}")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-") and argv[0] in ("-h", "--help", "--list"):
        print(__doc__.strip().splitlines()[0] + "\n\nbenchmarks:")
        for name, line in available().items():
            print(f"  {name:<20} {line}")
        return 0
    name = argv[0]
    module = load(name)
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks.perf {name}", description=module.DESCRIPTION)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a few seconds (the suite's test)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    parser.add_argument("--device", default="cpu", help="cpu | cuda (where the benchmark supports it)")
    parser.add_argument("--out", default=None,
                        help="results folder (default: benchmarks/results; with --quick a temporary folder)")
    if hasattr(module, "add_arguments"):
        module.add_arguments(parser)
    options = parser.parse_args(argv[1:])

    import torch

    from benchmarks.perf import harness

    torch.set_num_threads(options.threads)
    before = harness.load_average()
    measured = module.run(options)
    after = harness.load_average()
    out_dir = options.out or (Path(tempfile.gettempdir()) / "graphcl-perf-quick" if options.quick
                              else harness.RESULTS)
    note = measured.get("note", "")
    path = harness.write_record(
        name, title=module.TITLE, description=module.DESCRIPTION, command="python -m benchmarks.perf " + " ".join(argv),
        rows=measured["rows"], summary=measured.get("summary", ()), columns=measured.get("columns", ()),
        settings=measured.get("settings"), note=note, environment=harness.environment(options.threads),
        load_average={"before": before, "after": after}, out_dir=out_dir,
    )
    print("\n".join(harness.render_markdown(__import__("json").loads(path.read_text()), path.name)))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
