"""The SRA-CL ML-100K suite: its cells are valid ``recsys train`` commands, and one of them runs end to end through
``recsys bench`` at a tiny budget on a small dataset, recording the retrieval policy and the same-user share."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from graphcl.bench import load_suite
from recsys.cli import main as recsys_main
from recsys.config import resolve_config
from recsys.data import make_sequence_dataset, write_txt

SUITE = Path(__file__).resolve().parents[2] / "benchmarks" / "suites" / "recsys-ml100k-sracl.yaml"
TINY = {"epochs": 1, "max_batches_per_epoch": 2, "batch_size": 32, "hidden_size": 16, "inner_size": 16,
        "num_layers": 1, "max_len": 8, "k_items": 3, "k_windows": 3, "semantic_cache": "none", "checkpoint_every": 0}


def test_the_suite_has_the_full_protocol_cells_with_valid_configs(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    suite = load_suite(SUITE, first_seed=2020)
    assert list(suite.cells) == ["sasrec-ml100k", "sracl-dot-ml100k", "sracl-cos-ml100k", "sracl-xuser-ml100k"]
    for cell in suite.cells.values():
        seeds = (2020,) if cell.name == "sracl-xuser-ml100k" else (2020, 2021, 2022)  # the diagnostic: one seed
        assert cell.budget == "full" and cell.seeds == seeds and cell.dataset == "ml-100k"
        cfg = resolve_config(cell.model, "ml-100k", overrides=cell.overrides)
        assert (cfg["epochs"], cfg["stopping_step"], cfg["valid_metric"]) == (100, 10, "mrr@10")
        assert (cfg["max_len"], cfg["padding"], cfg["max_batches_per_epoch"]) == (20, "left", None)
        assert cell.reference["kind"] == "none" and "no ML-100K numbers" in cell.reference["source"] \
            or cell.model == "sasrec"
    forms = {name: resolve_config("sracl", "ml-100k", overrides=suite.cells[name].overrides)
             for name in ("sracl-dot-ml100k", "sracl-cos-ml100k", "sracl-xuser-ml100k")}
    assert (forms["sracl-dot-ml100k"]["similarity"], forms["sracl-dot-ml100k"]["tau"]) == ("dot", 1.0)
    assert (forms["sracl-cos-ml100k"]["similarity"], forms["sracl-cos-ml100k"]["tau"]) == ("cos", 0.2)
    assert all(cfg["neighbour_grad"] and cfg["semantics"] == "text" and cfg["backbone"] == "sasrec"
               for cfg in forms.values())
    assert [cfg["exclude_same_user"] for cfg in forms.values()] == [False, False, True]

    assert recsys_main(["bench", str(SUITE), "--dry-run", "--results", str(tmp_path / "r"),
                        "--work-dir", str(tmp_path / "w")]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert len(listing) == 4 and all(" new " in line for line in listing)
    assert "0 of 3 seeds recorded; next: recsys train --model sracl --data ml-100k --root ../shared/data/seqrec " \
           "--seeds 1 --seed-offset 2020 --run-dir" in listing[1]
    assert not (tmp_path / "r").exists() and not (tmp_path / "w").exists()  # a dry run writes nothing


def test_a_cell_runs_through_the_harness_at_a_tiny_budget(tmp_path: Path) -> None:
    """The committed same-user-excluded cell, on a small ``.txt`` with an attribute file beside it (the text
    encoder is an optional extra), at 2 batches: the result records how SRA-CL retrieved."""
    dataset = make_sequence_dataset(num_users=60, num_items=30, num_clusters=3, seed=4)
    write_txt(dataset, tmp_path / "Tiny.txt")
    attributes = {str(item): [f"cluster{item % 3}"] for item in range(1, dataset.num_items + 1)}
    (tmp_path / "Tiny_item2attributes.json").write_text(json.dumps(attributes))
    cell = dict(yaml.safe_load(SUITE.read_text())["cells"]["sracl-xuser-ml100k"])
    cell.update(data="Tiny.txt", seeds=2, overrides={**cell["overrides"], **TINY, "semantics": "attributes"})
    suite = tmp_path / "suite.yaml"
    suite.write_text(yaml.safe_dump({"suite": "tiny-sracl", "task": "recsys", "root": str(tmp_path),
                                     "cells": {"sracl-xuser-tiny": cell}}))
    args = ["bench", str(suite), "--results", str(tmp_path / "results"), "--work-dir", str(tmp_path / "work"),
            "--quiet"]
    assert recsys_main(args) == 0
    result = json.loads((tmp_path / "results" / "sracl-xuser-tiny.json").read_text())
    assert result["model"] == "sracl" and result["budget"] == "full" and result["protocol"]["seeds"] == [2020, 2021]
    assert result["command"] == f"recsys bench {suite.as_posix()} --only sracl-xuser-tiny"
    for run in result["runs"]:
        assert run["neighbour_grad"] is True and run["exclude_same_user"] is True
        assert run["semantic_source"] == "attributes" and run["same_user_neighbour_share"] == 0.0
        assert run["semantic_index"]["semantics"]["source"] == "attributes"
    assert result["config"]["similarity"] == "dot" and result["config"]["tau"] == 1.0
