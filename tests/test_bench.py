"""Benchmark suites: manifests, skipping finished cells, resuming interrupted ones, selection on validation."""
from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import warnings
from pathlib import Path

import pytest
import yaml

from graphcl.bench import load_suite, train_argv
from graphcl.cli import main as graphcl_main
from graphcl.errors import ConfigError
from graphcl.plots import run_curves
from graphcl.train import loop
from recsys.cli import main as recsys_main
from tests.processes import held_by_another_process

GRAPH_OVERRIDES = {"epochs": 3, "checkpoint_every": 1, "tasks": ["node"], "probe_repeats": 1}


def _suite(tmp_path: Path, task: str, cells: dict, selections: dict | None = None) -> Path:
    path = tmp_path / "suite.yaml"
    manifest = {"suite": "tiny", "task": task, "description": "test suite", "cells": cells}
    if selections:
        manifest["selections"] = selections
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    return path


def _graph_cells() -> dict:
    reference = {"metrics": {"test_acc": {"mean": 0.5}}, "source": "a made-up number", "kind": "other-paper"}
    return {
        "grace-a": {"model": "grace", "dataset": "generated", "overrides": GRAPH_OVERRIDES, "seeds": 2,
                    "headline": "test_acc", "reference": reference, "method": "GRACE"},
        "grace-b": {"model": "grace", "dataset": "generated", "overrides": {**GRAPH_OVERRIDES, "lr": 0.01},
                    "seeds": [3], "budget": {"reduced": "3 epochs instead of 200"}},
    }


def _args(suite: Path, tmp_path: Path, *extra: str) -> list[str]:
    return ["bench", str(suite), "--results", str(tmp_path / "results"), "--work-dir", str(tmp_path / "work"),
            "--quiet", *extra]


def test_a_suite_runs_skips_finished_cells_and_resumes_an_interrupted_one(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch,
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    suite = _suite(tmp_path, "graph", _graph_cells(), {"best": {"metric": "val_acc",
                                                                "candidates": ["grace-a", "grace-b"]}})
    # The second cell is interrupted after its second epoch: Ctrl-C stops the suite.
    save = loop.save_checkpoint

    def interrupt_b(path, model, optimizer, epoch, **extra):
        written = save(path, model, optimizer, epoch, **extra)
        if "grace-b" in str(path) and epoch == 2 and Path(path).name == "last.pt":
            raise KeyboardInterrupt
        return written

    with monkeypatch.context() as patch:
        patch.setattr(loop, "save_checkpoint", interrupt_b)
        assert graphcl_main(_args(suite, tmp_path)) == 130
    results = tmp_path / "results"
    assert (results / "grace-a.json").is_file() and not (results / "grace-b.json").exists()
    first = (results / "grace-a.json").read_text()

    capsys.readouterr()
    assert graphcl_main(_args(suite, tmp_path, "--dry-run")) == 0
    listing = capsys.readouterr().out
    assert "grace-a" in listing and "finished" in listing and "resumable" in listing and "--resume" in listing

    assert graphcl_main(_args(suite, tmp_path)) == 0
    out = capsys.readouterr().out
    assert "grace-a: finished" in out and "skipped" in out and "grace-b: resuming" in out
    assert (results / "grace-a.json").read_text() == first  # never rerun
    b = json.loads((results / "grace-b.json").read_text())
    assert b["invocations"] == 2 and b["budget"] == "reduced: 3 epochs instead of 200"
    assert b["command"] == f"graphcl bench {suite.as_posix()} --only grace-b"
    assert b["protocol"]["seeds"] == [3] and b["config"]["lr"] == 0.01 and b["config"]["epochs"] == 3
    a = json.loads(first)
    assert a["reference"]["kind"] == "other-paper" and a["method"] == "GRACE" and a["protocol"]["seeds"] == [0, 1]
    # Each seed's training curve stays in the results file (the run folder may not survive) and plots from there.
    assert sorted(a["curves"]) == ["seed-0", "seed-1"] and [r["epoch"] for r in a["curves"]["seed-0"]] == [1, 2, 3]
    assert [r["epoch"] for r in b["curves"]["grace-b"]] == [1, 2, 3]  # resumed: one curve over both invocations
    pytest.importorskip("matplotlib")
    assert graphcl_main(["plot", "curves", str(results / "grace-a.json"), "--out", str(tmp_path / "a.png")]) == 0
    assert (tmp_path / "a.png").is_file()

    # The interrupted-and-resumed cell equals a straight run of its command.
    straight = tmp_path / "straight"
    assert graphcl_main(["train", "--run-dir", str(straight), "--seed-offset", "3", "--quiet", "lr=0.01",
                         *[f"{k}={v}" for k, v in GRAPH_OVERRIDES.items() if k != "tasks"], "tasks=[node]"]) == 0
    assert json.loads((straight / "results.json").read_text())["metrics"] == b["metrics"]

    selection = json.loads((results / "best.json").read_text())
    values = {row["cell"]: row["val_acc"] for row in selection["candidates"]}
    assert selection["selected"] == max(values, key=values.get)


def test_a_cell_another_process_trains_is_listed_as_running_and_skipped(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    suite = _suite(tmp_path, "graph", _graph_cells())
    held = tmp_path / "work" / "grace-b"
    with held_by_another_process(held):
        assert graphcl_main(_args(suite, tmp_path, "--dry-run")) == 0
        listing = capsys.readouterr().out.splitlines()
        assert [line.split()[:2] for line in listing] == [["grace-a", "new"], ["grace-b", "running"]]
        assert "(pid" in listing[1] and "graphcl train" not in listing[1]
        assert graphcl_main(_args(suite, tmp_path)) == 0  # grace-a trains, grace-b is left to its holder
        out = capsys.readouterr().out
        assert "grace-b: another process trains it now (pid" in out and "failed" not in out
    assert (tmp_path / "results" / "grace-a.json").is_file() and not (tmp_path / "results" / "grace-b.json").exists()
    assert not (held / "config.yaml").exists()
    assert graphcl_main(_args(suite, tmp_path, "--dry-run")) == 0  # released: a new cell again
    assert capsys.readouterr().out.splitlines()[1].split()[:2] == ["grace-b", "new"]


def test_refresh_rewrites_descriptions_and_refuses_a_cell_whose_training_changed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cells = {"grace-a": {**_graph_cells()["grace-a"], "seeds": 1}}
    suite = _suite(tmp_path, "graph", cells)
    assert graphcl_main(_args(suite, tmp_path)) == 0
    path = tmp_path / "results" / "grace-a.json"
    before = json.loads(path.read_text())
    assert graphcl_main(_args(suite, tmp_path, "--refresh")) == 0
    assert "1 unchanged" in capsys.readouterr().out and json.loads(path.read_text()) == before

    # The suite's description changes after the run: the file follows, the measurements stay.
    cells["grace-a"].update(note="a note written later", tags=["headline", "new"], method="GRACE (ours)",
                            overrides={**GRAPH_OVERRIDES, "checkpoint_every": 2})  # how the run is kept only
    suite = _suite(tmp_path, "graph", cells)
    assert graphcl_main(_args(suite, tmp_path, "--refresh")) == 0
    assert "grace-a: refreshed method, note, tags" in capsys.readouterr().out
    after = json.loads(path.read_text())
    assert (after["note"], after["tags"], after["method"]) == ("a note written later", ["headline", "new"],
                                                               "GRACE (ours)")
    assert {k: v for k, v in after.items() if k not in ("note", "tags", "method")} == \
        {k: v for k, v in before.items() if k not in ("note", "tags", "method")}

    # A cell that would now train something else is left alone and reported.
    for change, reason in (({"overrides": {**GRAPH_OVERRIDES, "lr": 0.01}}, "lr was 0.0005, now 0.01"),
                           ({"seeds": 2}, "it ran seeds [0], the cell has [0, 1]")):
        suite = _suite(tmp_path, "graph", {"grace-a": {**cells["grace-a"], **change}})
        assert graphcl_main(_args(suite, tmp_path, "--refresh")) == 1
        out = capsys.readouterr().out
        assert f"grace-a: stale, a rerun would train something else ({reason})" in out and "1 stale" in out
        assert json.loads(path.read_text()) == after
    assert graphcl_main(_args(suite, tmp_path, "--refresh", "--only", "nope")) == 2
    assert "no cell named nope" in capsys.readouterr().err


def test_recsys_bench_runs_a_recsys_suite_and_refuses_a_graph_one(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    cells = {"sasrec-tiny": {"model": "sasrec", "data": "generated", "headline": "hr@20",
                             "overrides": {"hidden_size": 16, "inner_size": 16, "num_layers": 1, "max_len": 10,
                                           "epochs": 1, "batch_size": 128, "max_batches_per_epoch": 2},
                             "dataset_options": {"num_users": 150}}}
    suite = _suite(tmp_path, "recsys", cells)
    assert recsys_main(_args(suite, tmp_path)) == 0
    result = json.loads((tmp_path / "results" / "sasrec-tiny.json").read_text())
    assert result["protocol"]["seeds"] == [2020] and "hr@20" in result["metrics"]
    # dataset_options reach the loader as --dataset-option and are recorded with the run
    assert "--dataset-option num_users=150" in result["train_command"]
    run = json.loads((tmp_path / "work" / "sasrec-tiny" / "run.json").read_text())
    assert run["data"]["options"] == {"num_users": 150}
    assert graphcl_main(_args(suite, tmp_path)) == 2
    assert "is a recsys suite; run it with 'recsys bench'" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("recsys") is None, reason="the recsys entry point is not installed")
def test_concurrent_script_runs_each_cell_in_its_own_process(tmp_path: Path) -> None:
    tiny = {"model": "sasrec", "data": "generated", "headline": "hr@20",
            "overrides": {"hidden_size": 16, "inner_size": 16, "num_layers": 1, "max_len": 10, "epochs": 1,
                          "batch_size": 128, "max_batches_per_epoch": 2}}
    suite = _suite(tmp_path, "recsys", {"tiny-a": tiny, "tiny-b": {**tiny, "seeds": [7]}})
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "concurrent.sh"
    out = subprocess.run(["bash", str(script), "recsys", str(suite)], cwd=tmp_path, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "tiny-a: done" in out.stdout and "tiny-b: done" in out.stdout
    results = tmp_path / "benchmarks" / "results"
    assert json.loads((results / "tiny-b.json").read_text())["protocol"]["seeds"] == [7]
    assert (tmp_path / "benchmarks" / "_work" / "tiny-a.log").is_file()
    bad = subprocess.run(["bash", str(script), "recsys"], cwd=tmp_path, capture_output=True, text=True)
    assert bad.returncode == 2 and "usage" in bad.stderr


RECSYS_TINY = {"hidden_size": 16, "inner_size": 16, "num_layers": 1, "max_len": 10, "epochs": 2, "batch_size": 128,
               "max_batches_per_epoch": 2}


@pytest.mark.parametrize("task", ["graph", "recsys"])
def test_seeds_train_seed_by_seed_in_parallel_and_survive_the_loss_of_their_run_folders(
        task: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main = graphcl_main if task == "graph" else recsys_main
    cell = {"model": "grace", "dataset": "generated", "overrides": GRAPH_OVERRIDES, "seeds": 2} if task == "graph" \
        else {"model": "sasrec", "data": "generated", "overrides": RECSYS_TINY, "seeds": 2,
              "dataset_options": {"num_users": 150}}
    suite = _suite(tmp_path, task, {"tiny": {**cell, "headline": "test_acc" if task == "graph" else "hr@20"}})
    seeds = [0, 1] if task == "graph" else [2020, 2021]

    # The reference: the cell's train command, every seed in one run.
    loaded = load_suite(suite, first_seed=seeds[0])
    argv = train_argv(loaded, loaded.cells["tiny"], tmp_path / "together", root=None, resume=False)
    assert main(argv) == 0
    together = json.loads((tmp_path / "together" / "results.json").read_text())
    together["curves"] = dict(run_curves(tmp_path / "together"))

    def same_training(a: dict, b: dict) -> None:
        for key in ("metrics", "validation", "protocol", "config", "model", "dataset"):
            assert a.get(key) == b.get(key), key
        assert sorted(a["curves"]) == sorted(b["curves"]) == [f"seed-{s}" for s in seeds]
        assert [row["loss"] for row in a["curves"][f"seed-{seeds[1]}"]] == \
            [row["loss"] for row in b["curves"][f"seed-{seeds[1]}"]]

    assert main(["bench", str(suite), "--results", str(tmp_path / "parallel"), "--work-dir",
                 str(tmp_path / "parallel-work"), "--quiet", "--seed-jobs", "2"]) == 0  # each seed its own process
    parallel = json.loads((tmp_path / "parallel" / "tiny.json").read_text())
    same_training(parallel, together)
    assert parallel["train_command"] == shlex.join(["graphcl" if task == "graph" else "recsys", *argv]).replace(
        str(tmp_path / "together"), str(tmp_path / "parallel-work" / "tiny"))
    assert not (tmp_path / "parallel" / "seeds").exists()  # the seed records were merged and removed
    assert (tmp_path / "parallel-work" / "tiny" / f"seed-{seeds[0]}" / "config.yaml").is_file()

    # One seed is trained by another process: the other is trained and recorded at once, the cell is not finished.
    results, work = tmp_path / "results", tmp_path / "work"
    with held_by_another_process(work / "tiny" / f"seed-{seeds[1]}"):
        assert main(_args(suite, tmp_path)) == 0
        assert f"another process trains seed {seeds[1]} now (pid" in capsys.readouterr().out
    assert (results / "seeds" / "tiny" / f"seed-{seeds[0]}.json").is_file() and not (results / "tiny.json").exists()
    # The machine is lost with every run folder: the recorded seed is not trained again, and the cell ends with the
    # same numbers.
    shutil.rmtree(work)
    assert main(_args(suite, tmp_path, "--dry-run")) == 0
    assert f"resumable  1 of 2 seeds recorded; next: {'graphcl' if task == 'graph' else 'recsys'} train " \
           f"--model" in capsys.readouterr().out
    assert main(_args(suite, tmp_path)) == 0
    assert not (work / "tiny" / f"seed-{seeds[0]}").exists()
    same_training(json.loads((results / "tiny.json").read_text()), together)
    assert main(_args(suite, tmp_path, "--seed-jobs", "0")) == 2
    assert "seed_jobs must be a positive number of processes, got 0" in capsys.readouterr().err


def test_bad_manifests_name_the_file_and_the_cell(tmp_path: Path) -> None:
    cells = _graph_cells()
    cells["grace-a"]["budget"] = "small"
    with pytest.raises(ConfigError, match=r"suite\.yaml: cell grace-a: budget must be 'full' or"):
        load_suite(_suite(tmp_path, "graph", cells))
    cells = _graph_cells()
    cells["grace-a"]["refrence"] = {}
    with pytest.raises(ConfigError, match="cell grace-a: unknown key"):
        load_suite(_suite(tmp_path, "graph", cells))
    cells = _graph_cells()
    cells["grace-a"]["reference"] = {"metrics": {"test_acc": {"mean": 0.8}}}
    with pytest.raises(ConfigError, match="reference needs a 'source'"):
        load_suite(_suite(tmp_path, "graph", cells))
    cells = _graph_cells()
    cells["grace-a"]["dataset_options"] = ["num_nodes=100"]
    with pytest.raises(ConfigError, match="cell grace-a: dataset_options must be a mapping"):
        load_suite(_suite(tmp_path, "graph", cells))
    with pytest.raises(ConfigError, match="candidates must name cells"):
        load_suite(_suite(tmp_path, "graph", _graph_cells(), {"s": {"metric": "val_acc", "candidates": ["nope"]}}))
    with pytest.raises(ConfigError, match="no cell or selection named nope"):
        suite = load_suite(_suite(tmp_path, "graph", _graph_cells()))
        from graphcl.bench import run_suite

        run_suite(suite, graphcl_main, prog="graphcl", only=["nope"], dry_run=True)


def test_the_committed_suites_load() -> None:
    suites = sorted((Path(__file__).resolve().parents[1] / "benchmarks" / "suites").glob("*.yaml"))
    assert suites
    for path in suites:
        suite = load_suite(path)
        for cell in suite.cells.values():
            assert cell.reference["source"], f"{path}: {cell.name} has no reference source"


def test_heterogeneous_cells_are_selected_on_their_validation_macro_f1(tmp_path: Path) -> None:
    from tests.data.test_heco_cli import write_small_heco_folder

    write_small_heco_folder(tmp_path / "data", "dblp")
    small = {"epochs": 2, "hidden_channels": 8, "embed_channels": 8, "proj_channels": 8, "topk": [5],
             "edge_mask": [0.2], "num_clusters": [3, 5], "kmeans_n_init": 1, "kmeans_iter": 3, "probe_repeats": 2,
             "probe_iterations": 5, "tasks": ["node"], "checkpoint_every": 0}
    cells = {name: {"model": "meow", "dataset": "dblp", "overrides": {**small, "tau": tau}, "seeds": 1}
             for name, tau in (("meow-a", 0.5), ("meow-b", 0.9))}
    suite = _suite(tmp_path, "graph", cells, {"pick": {"metric": "val_macro_f1@20",
                                                       "candidates": ["meow-a", "meow-b"]}})
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*loading it as a subset")
        assert graphcl_main(_args(suite, tmp_path, "--root", str(tmp_path / "data"))) == 0
    selection = json.loads((tmp_path / "results" / "pick.json").read_text())
    values = {row["cell"]: row["val_macro_f1@20"] for row in selection["candidates"]}
    assert selection["selected"] == max(values, key=values.get) and all(0 <= v <= 1 for v in values.values())
