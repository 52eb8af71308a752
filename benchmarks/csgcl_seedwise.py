"""Run a ``benchmarks/reproduce.py`` entry one seed at a time and merge whatever seeds have finished.

On a shared machine a 5-seed reproduction can take longer than the time available; run seed by seed, each seed
is a complete ``graphcl train --seeds 1 --seed-offset s`` run in ``benchmarks/_work/<name>/seed-<s>/``, and
``--merge`` writes ``benchmarks/results/<name>.json`` (the ``results.json`` schema plus ``command`` and
``paper``) from the seeds that completed, with ``protocol.seeds`` listing exactly those. A seed whose folder
exists is skipped (finished, or being run by another process), so several processes can share one list.

Usage::

    python benchmarks/csgcl_seedwise.py csgcl-generated --seeds 0 1 2 3 4     # run (skips finished seeds), merge
    python benchmarks/csgcl_seedwise.py csgcl-generated --merge-only
"""
from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

from reproduce import ENTRIES, HERE, REPO, SHARED

from graphcl.config import default_config
from graphcl.eval.summary import merge_summaries
from graphcl.experiment import protocol


def seed_dir(name: str, seed: int) -> Path:
    return HERE / "_work" / name / f"seed-{seed}"


def run_seed(name: str, seed: int) -> None:
    out = seed_dir(name, seed)
    try:
        # The folder doubles as a lock: several processes can work through the same list of seeds.
        out.mkdir(parents=True)
    except FileExistsError:
        state = "done" if (out / "results.json").is_file() else "started elsewhere (delete the folder to rerun)"
        print(f"{name} seed {seed}: {state}; skipped", flush=True)
        return
    # The entry's command minus its seed count, then exactly this seed.
    full = shlex.split(ENTRIES[name]["command"])[1:]
    if "--seeds" in full:
        i = full.index("--seeds")
        full = full[:i] + full[i + 2:]
    cli = "recsys.cli" if ENTRIES[name]["command"].startswith("recsys ") else "graphcl.cli"
    cmd = [sys.executable, "-m", cli, *full, "--seeds", "1", "--seed-offset", str(seed), "--run-dir", str(out)]
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=REPO)


def merge(name: str) -> Path | None:
    runs = sorted((p for p in (HERE / "_work" / name).glob("seed-*/results.json")),
                  key=lambda p: int(p.parent.name.split("-")[1]))
    if not runs:
        print(f"{name}: no finished seed")
        return None
    per_seed = [json.loads(p.read_text()) for p in runs]
    seeds = [r["protocol"]["seeds"][0] for r in per_seed]
    # A seed run before a model option was added stored no value for it: it ran with the option's default.
    configs = [default_config(r["model"], r["dataset"]) | r["config"] for r in per_seed]
    for seed, cfg in zip(seeds[1:], configs[1:]):
        diff = sorted(k for k in cfg.keys() | configs[0].keys() if cfg.get(k) != configs[0].get(k))
        if diff:
            raise SystemExit(f"{name}: seed {seed} ran with other settings than seed {seeds[0]} ({', '.join(diff)}); "
                             f"delete the stale seed folders under {HERE / '_work' / name}")
    metrics = merge_summaries(r["metrics"] for r in per_seed)  # one value per seed: each seed's mean
    first = per_seed[0]
    results = {
        "model": first["model"],
        "dataset": first["dataset"],
        "metrics": metrics,
        "protocol": protocol(configs[0], seeds) | {"note": "seeds run one at a time and merged "
                                                        "(benchmarks/csgcl_seedwise.py)"},
        "config": configs[0],
        "time_s": sum(r["time_s"] for r in per_seed),
        "peak_mem_mb": max(r["peak_mem_mb"] for r in per_seed),
        "commit": first["commit"],
        "command": ENTRIES[name]["command"].replace(str(SHARED), "../shared/data"),
        "paper": ENTRIES[name]["paper"],
    }
    if "note" in ENTRIES[name]:
        results["note"] = ENTRIES[name]["note"]
    if "table_metrics" in ENTRIES[name]:  # the metrics make_tables lists (recsys entries)
        results["table_metrics"] = ENTRIES[name]["table_metrics"]
    out = HERE / "results" / f"{name}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out} ({len(seeds)} seeds: {seeds})")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", choices=sorted(ENTRIES))
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2, 3, 4])
    parser.add_argument("--merge-only", action="store_true")
    args = parser.parse_args()
    if not args.merge_only:
        for seed in args.seeds:
            run_seed(args.name, seed)
            merge(args.name)
    merge(args.name)


if __name__ == "__main__":
    main()
