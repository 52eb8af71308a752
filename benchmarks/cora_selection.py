"""GRACE vs CSGCL on Cora with the training length and CSGCL's feature masking chosen on VALIDATION accuracy.

The CSGCL issue asks for CSGCL's test accuracy >= GRACE's under one protocol. Comparing a tuned CSGCL with GRACE at
its paper's settings is unfair when the tuning changed something GRACE would profit from too (it did: 400 instead
of 200 epochs). Here each model gets the same selection: among its candidate runs (``reproduce.py`` entries, 5
seeds each, same probe, splits and seeds) the one with the highest mean *validation* accuracy of the probe is
selected, and only then are the selected runs' *test* accuracies compared. Candidates:

* GRACE: 200 and 400 epochs (``grace-cora``, ``grace-cora-400``), and at 400 epochs the edge drop rates
  0.4 / 0.6, 0.5 / 0.7 and 0.6 / 0.8 instead of the paper's 0.2 / 0.4 (``grace-cora-400-de46`` ...);
* CSGCL: 200 and 400 epochs, each with CAV or with uniform feature masking (``csgcl-cora-200``,
  ``csgcl-cora``, ``csgcl-cora-200-no-cav``, ``csgcl-cora-no-cav``), and at 400 epochs the same edge drop
  grid as GRACE (as CED's mean rates; with CAV, and for 0.4 / 0.6 and 0.5 / 0.7 also with uniform masking) --
  CAV vs uniform masking is a setting of CSGCL's augmentation, GRACE has no counterpart.

A seed's validation accuracy is read from its run folder's ``results.json`` (``val_acc``, recorded since the probe reports
it); for runs made before that, it is recomputed from the seed's final checkpoint (``last.pt``) with the same
probe and seed. The recomputed *test* accuracy must match the recorded one (exactly for runs of the current code;
within 1 point for runs made before the sparse GCN path, whose float rounding differs and can flip the probe's
choice of C), and the selection then
uses the recomputed pair, so validation and test numbers always belong to the same embeddings; the largest
deviation is reported.

It reads the candidates' run folders in ``benchmarks/_work/`` (not committed; ``csgcl_seedwise.py <entry>
--seeds 0 1 2 3 4`` makes them, about 3 min per seed on one core). A candidate whose folders are absent keeps
the row of the previous ``cora_selection.json`` (marked with the commit that computed it), so the grid can grow
without re-running every earlier candidate; a candidate in neither place is an error naming the command.

    python benchmarks/cora_selection.py        # writes benchmarks/results/cora_selection.json
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from graphcl.config import default_config, split_config
from graphcl.data import load_dataset
from graphcl.eval import linear_probe
from graphcl.eval.summary import summarize
from graphcl.experiment import build_model
from graphcl.train import environment_info, git_commit

CANDIDATES = {
    "grace": ["grace-cora", "grace-cora-400", "grace-cora-400-de46", "grace-cora-400-de57", "grace-cora-400-de68"],
    "csgcl": ["csgcl-cora-200", "csgcl-cora", "csgcl-cora-200-no-cav", "csgcl-cora-no-cav", "csgcl-cora-de46",
              "csgcl-cora-de46-no-cav", "csgcl-cora-de57", "csgcl-cora-de57-no-cav", "csgcl-cora-de68"],
}
SEEDS = [0, 1, 2, 3, 4]
TOLERANCE = 0.01  # largest accepted |recomputed - recorded| test accuracy of a checkpoint (1 point)
ROOT = HERE.parent.parent / "shared" / "data" / "planetoid"


def seed_scores(entry: str, seed: int, data) -> dict[str, float]:
    """``{"val_acc", "test_acc"}`` of one seed of a ``csgcl_seedwise.py`` run (recomputed if not recorded)."""
    folder = HERE / "_work" / entry / f"seed-{seed}"
    if not folder.is_dir():
        raise SystemExit(f"{folder} is missing: run `python benchmarks/csgcl_seedwise.py {entry} --seeds "
                         f"{' '.join(map(str, SEEDS))}` first (the run folders are not committed)")
    if (folder / "results.json").is_file():
        results = json.loads((folder / "results.json").read_text())
        recorded = {k: results["metrics"][k]["mean"] for k in ("val_acc", "test_acc") if k in results["metrics"]}
    else:  # one multi-seed run (``graphcl train --seeds 5 --run-dir``): per-seed values in the top-level file
        results = json.loads((folder.parent / "results.json").read_text())
        i = results["protocol"]["seeds"].index(seed)
        recorded = {k: results["metrics"][k]["values"][i] for k in ("val_acc", "test_acc") if k in results["metrics"]}
    if "val_acc" in recorded:
        return recorded
    # Keys added to the model since the run was made take their defaults (which reproduce the old behaviour).
    cfg = {**default_config(results["config"]["model"], "cora"), **results["config"]}
    model = build_model(cfg, data.num_features)
    model.load_state_dict(torch.load(folder / "last.pt", weights_only=True)["model"])
    model.eval()
    with torch.no_grad():
        z = model.embed(data)
    _, _, ev = split_config(cfg)
    probe = linear_probe(z, data.y, train_ratio=ev["train_ratio"], val_ratio=ev["val_ratio"],
                         repeats=ev["probe_repeats"], seed=seed)
    test = probe["test_acc"]["mean"]
    # Runs made before the sparse GCN path embed with other float rounding; that can flip the probe's choice of C
    # on the validation split and move test accuracy by a few tenths. More than a point means the checkpoint is
    # not the recorded run's.
    if abs(test - recorded["test_acc"]) > TOLERANCE:
        raise SystemExit(f"{folder}: recomputed test_acc {test:.6f} != recorded {recorded['test_acc']:.6f}; the "
                         "checkpoint does not belong to the recorded result, its val_acc cannot be used")
    return {"val_acc": probe["val_acc"]["mean"], "test_acc": test, "recorded_test_acc": recorded["test_acc"]}


def main() -> None:
    torch.set_num_threads(1)
    data = load_dataset("cora", root=ROOT)
    path = HERE / "results" / "cora_selection.json"
    previous = json.loads(path.read_text()) if path.is_file() else {"rows": []}
    recorded_rows = {r["entry"]: r | {"from_commit": r.get("from_commit", previous.get("commit"))}
                     for r in previous["rows"]}
    rows, selected = [], {}
    for model, entries in CANDIDATES.items():
        for entry in entries:
            if not (HERE / "_work" / entry).is_dir() and entry in recorded_rows:
                rows.append({k: v for k, v in recorded_rows[entry].items() if k != "selected"})
                continue
            scores = [seed_scores(entry, seed, data) for seed in SEEDS]
            cfg = json.loads(next((HERE / "_work" / entry).glob("**/results.json")).read_text())["config"]
            rows.append({"model": model, "entry": entry, "epochs": cfg["epochs"], "cav": cfg.get("cav"),
                         "drop_edge": [cfg["drop_edge_1"], cfg["drop_edge_2"]],
                         "val_acc": summarize([s["val_acc"] for s in scores]),
                         "test_acc": summarize([s["test_acc"] for s in scores]),
                         "max_recompute_deviation": max(abs(s["test_acc"] - s.get("recorded_test_acc", s["test_acc"]))
                                                        for s in scores)})
        mine = [r for r in rows if r["model"] == model]
        best = max(mine, key=lambda r: r["val_acc"]["mean"])
        best["selected"] = True
        selected[model] = best
    grace, csgcl = selected["grace"]["test_acc"], selected["csgcl"]["test_acc"]
    paired = [c - g for c, g in zip(csgcl["values"], grace["values"])]
    out = {
        "benchmark": "cora_selection",
        "protocol": "per model, the candidate run with the highest mean validation accuracy (probe's val split, "
        "5 seeds x 5 random 10/10/80 splits) is selected; test accuracy of the selected runs compared",
        "seeds": SEEDS,
        "rows": rows,
        "selected": {m: r["entry"] for m, r in selected.items()},
        "csgcl_minus_grace_test": summarize(paired),
        "csgcl_wins_seeds": sum(d > 0 for d in paired),
        "command": "python benchmarks/cora_selection.py",
        "commit": git_commit(),
        "environment": environment_info(),
    }
    path.write_text(json.dumps(out, indent=2) + "\n")
    for r in rows:
        print(f"{r['entry']:24s} val {100 * r['val_acc']['mean']:.2f} ± {100 * r['val_acc']['std']:.2f}  "
              f"test {100 * r['test_acc']['mean']:.2f} ± {100 * r['test_acc']['std']:.2f}"
              + ("  <- selected" if r.get("selected") else ""))
    print("wrote", path)


if __name__ == "__main__":
    main()
