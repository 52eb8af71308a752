"""Paper reproductions: run ``graphcl train`` for each entry and commit its ``results.json``.

Each entry names the command, the paper's number and where it comes from. Results are copied to
``benchmarks/results/<name>.json`` with the exact command and the paper reference added; then
``python benchmarks/make_tables.py`` regenerates ``benchmarks/RESULTS.md`` and the README table.

Usage::

    python benchmarks/reproduce.py grace-cora          # one entry
    python benchmarks/reproduce.py --list
"""
from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED = REPO.parent / "shared" / "data"

ENTRIES = {
    "grace-cora": {
        "command": f"graphcl train --model grace --dataset cora --root {SHARED / 'planetoid'} --seeds 5 --quiet "
        "tasks=[node,clustering,link]",
        "paper": {
            "test_acc": {"mean": 0.833, "std": 0.004},
            "source": "GRACE (Zhu et al., 2020, arXiv:2006.04131), Table 2, Cora, random 10/10/80 splits",
        },
    },
    "grace-generated": {
        "command": "graphcl train --model grace --dataset generated --seeds 5 --quiet",
        "paper": {"source": "no paper number: the generated community graph is this library's own default"},
    },
    "csgcl-cora": {
        "command": f"graphcl train --model csgcl --dataset cora --root {SHARED / 'planetoid'} --seeds 5 --quiet "
        "tasks=[node,clustering,link]",
        "paper": {
            "test_acc": {"mean": 0.7966},
            "source": "CSGCL (Chen et al., IJCAI 2023) reports no Cora number; 79.66 % is the authors' code run on "
            "this machine (TARGETS.md: train.py defaults, 500 epochs, one run, its own probe). Target: GRACE's "
            "83.3 ± 0.4 (and our grace-cora.json) under the same protocol",
        },
    },
    "csgcl-generated": {
        "command": "graphcl train --model csgcl --dataset generated --seeds 5 --quiet",
        "paper": {"source": "no paper number: compare with grace-generated.json (same protocol and base settings)"},
    },
    "csgcl-generated-no-ced": {
        "command": "graphcl train --model csgcl --dataset generated --seeds 5 --quiet ced=false",
        "paper": {"source": "ablation: uniform edge dropping instead of CED (no paper number)"},
    },
    "csgcl-generated-no-cav": {
        "command": "graphcl train --model csgcl --dataset generated --seeds 5 --quiet cav=false",
        "paper": {"source": "ablation: uniform feature masking instead of CAV (no paper number)"},
    },
    "csgcl-generated-no-teamup": {
        "command": "graphcl train --model csgcl --dataset generated --seeds 5 --quiet team_up=false",
        "paper": {"source": "ablation: GRACE's loss instead of Team-up (no paper number)"},
    },
}


def run(name: str) -> Path:
    entry = ENTRIES[name]
    work = HERE / "_work" / name
    argv = shlex.split(entry["command"]) + ["--run-dir", str(work)]
    print("$", entry["command"], flush=True)
    subprocess.run([sys.executable, "-m", "graphcl.cli", *argv[1:]], check=True, cwd=REPO)
    results = json.loads((work / "results.json").read_text())
    results["command"] = entry["command"].replace(str(SHARED), "../shared/data")
    results["paper"] = entry["paper"]
    out = HERE / "results" / f"{name}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    if args.list or not args.names:
        for name, e in ENTRIES.items():
            print(f"{name:20s} {e['command']}")
        return
    for name in args.names:
        if name not in ENTRIES:
            raise SystemExit(f"unknown entry {name!r}; choose from {', '.join(ENTRIES)}")
        run(name)


if __name__ == "__main__":
    main()
