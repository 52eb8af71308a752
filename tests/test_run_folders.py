"""Run folders of both command lines: resume with only ``--run-dir R --resume``, no silent reuse, data found again."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import graphcl.train.loop as loop
from graphcl.cli import main as graphcl_main
from recsys.cli import main as recsys_main
from tests.processes import held_by_another_process

GRAPH = ["--quiet", "epochs=4", "checkpoint_every=1", "tasks=[node]", "probe_repeats=1", "lr=0.002"]
REC = ["--quiet", "hidden_size=16", "inner_size=16", "num_layers=1", "max_len=10", "epochs=3", "batch_size=128",
       "max_batches_per_epoch=3", "checkpoint_every=1"]


def _interrupt_after(monkeypatch: pytest.MonkeyPatch, epoch: int) -> None:
    """Ctrl-C right after the checkpoint of ``epoch`` is written (the process dies between two epochs)."""
    save = loop.save_checkpoint

    def save_then_interrupt(path, model, optimizer, saved_epoch, **extra):
        written = save(path, model, optimizer, saved_epoch, **extra)
        if saved_epoch == epoch and Path(path).name == "last.pt":
            raise KeyboardInterrupt
        return written

    monkeypatch.setattr(loop, "save_checkpoint", save_then_interrupt)


def _metrics(run: Path) -> dict:
    return json.loads((run / "results.json").read_text())["metrics"]


@pytest.mark.parametrize("main, common, seeds", [(graphcl_main, GRAPH, "--seed-offset=3"),
                                                 (recsys_main, REC, "--seed-offset=7")], ids=["graphcl", "recsys"])
def test_resume_with_only_the_run_folder_keeps_the_runs_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str], main, common,
                                                                 seeds) -> None:
    straight, interrupted = tmp_path / "straight", tmp_path / "interrupted"
    assert main(["train", "--run-dir", str(straight), seeds, *common]) == 0
    with monkeypatch.context() as patch:
        _interrupt_after(patch, 2)
        assert main(["train", "--run-dir", str(interrupted), seeds, *common]) == 130
    config = (interrupted / "config.yaml").read_text()
    assert not (interrupted / "results.json").exists()
    capsys.readouterr()

    # Interrupted: continues with its own epochs, seed and settings (the defaults would differ in all three).
    assert main(["train", "--run-dir", str(interrupted), "--resume", "--quiet"]) == 0
    assert (interrupted / "config.yaml").read_text() == config
    assert _metrics(interrupted) == _metrics(straight)
    epochs, seed = (4, 3) if main is graphcl_main else (3, 7)
    a = torch.load(straight / "last.pt", weights_only=True)
    b = torch.load(interrupted / "last.pt", weights_only=True)
    assert a["epoch"] == b["epoch"] == epochs
    record = json.loads((interrupted / "run.json").read_text())
    assert record["seeds"] == [seed]
    assert record["resumes"] == [{"time": record["resumes"][0]["time"], "changes": {}}]

    # Finished: nothing to train, nothing rewritten.
    results = (straight / "results.json").read_text()
    capsys.readouterr()
    assert main(["train", "--run-dir", str(straight), "--resume", "--quiet"]) == 0
    assert "has finished; nothing to resume" in capsys.readouterr().out
    assert (straight / "results.json").read_text() == results

    # More epochs is the one kind of change a resume takes; it is printed and recorded.
    assert main(["train", "--run-dir", str(straight), "--resume", "epochs=5", "--quiet"]) == 0
    assert f"epochs {epochs} -> 5" in capsys.readouterr().out
    assert json.loads((straight / "run.json").read_text())["resumes"][-1]["changes"]["epochs"][1] == 5


@pytest.mark.parametrize("main, common", [(graphcl_main, GRAPH), (recsys_main, REC)], ids=["graphcl", "recsys"])
def test_run_folders_are_never_reused_or_invented_silently(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           main, common) -> None:
    run = tmp_path / "run"
    assert main(["train", "--run-dir", str(run), *common, "epochs=1"]) == 0
    results = (run / "results.json").read_text()
    capsys.readouterr()
    assert main(["train", "--run-dir", str(run), *common, "epochs=1"]) == 2
    err = capsys.readouterr().err
    assert "already holds a run; continue it with --resume or replace it with --overwrite" in err
    assert (run / "results.json").read_text() == results
    assert main(["train", "--run-dir", str(tmp_path / "nowhere"), "--resume", "--quiet"]) == 2
    assert "does not exist; drop --resume" in capsys.readouterr().err
    assert not (tmp_path / "nowhere").exists()
    assert main(["train", "--run-dir", str(run), "--resume", "--overwrite", "--quiet"]) == 2
    assert "exclude each other" in capsys.readouterr().err
    assert main(["train", "--run-dir", str(run), "--overwrite", *common, "epochs=2"]) == 0
    assert json.loads((run / "results.json").read_text())["config"]["epochs"] == 2


def test_resume_refuses_another_model_dataset_seed_or_config(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    assert graphcl_main(["train", "--run-dir", str(run), *GRAPH, "epochs=1"]) == 0
    capsys.readouterr()
    for extra, message in ((["--model", "csgcl"], "--model csgcl differs from the run's model 'grace'"),
                           (["--dataset", "cora"], "--dataset cora differs from the run's dataset 'generated'"),
                           (["--seeds", "2"], "but the run in"),
                           (["--config", str(run / "config.yaml")], "--config cannot be combined with --resume")):
        assert graphcl_main(["train", "--run-dir", str(run), "--resume", "--quiet", *extra]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1


@pytest.mark.data
def test_a_real_data_run_records_its_root_for_embed_and_resume(tmp_path: Path, planetoid_root: Path,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GRAPHCL_DATA", str(tmp_path / "empty-default"))  # the default root has no Cora
    run = tmp_path / "cora"
    assert graphcl_main(["train", "--dataset", "cora", "--root", str(planetoid_root), "--run-dir", str(run),
                         "--quiet", "epochs=2", "tasks=[node]", "probe_repeats=1", "checkpoint_every=1"]) == 0
    assert json.loads((run / "run.json").read_text())["data"] == {"dataset": "cora", "root": str(planetoid_root)}
    out = tmp_path / "z.pt"
    assert graphcl_main(["embed", "--checkpoint", str(run / "last.pt"), "--out", str(out)]) == 0  # no --root
    assert torch.load(out, weights_only=True)["embeddings"].shape[0] == 2708
    assert graphcl_main(["train", "--run-dir", str(run), "--resume", "epochs=3", "--quiet"]) == 0


def test_a_missing_dataset_names_the_root_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GRAPHCL_DATA", str(tmp_path / "empty"))

    def offline(url: str, folder: str, *args: object, **kwargs: object) -> str:
        raise OSError("offline")

    monkeypatch.setattr("torch_geometric.data.download_url", offline)
    assert graphcl_main(["train", "--dataset", "cora", "--quiet", "epochs=1"]) == 2
    assert "--root" in capsys.readouterr().err


@pytest.mark.parametrize("main, common", [(graphcl_main, GRAPH), (recsys_main, REC)], ids=["graphcl", "recsys"])
def test_a_run_folder_another_process_trains_in_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          main, common) -> None:
    run = tmp_path / "run"
    with held_by_another_process(run):
        assert main(["train", "--run-dir", str(run), *common, "epochs=1"]) == 2
        err = capsys.readouterr().err
        assert "is in use by another run (pid" in err and len(err.strip().splitlines()) == 1
    assert not (run / "config.yaml").exists()  # nothing was written into the held folder
    assert main(["train", "--run-dir", str(run), *common, "epochs=1"]) == 0  # free again; .lock is not "a file"
    record = (run / "run.json").read_text()
    with held_by_another_process(run):
        assert main(["train", "--run-dir", str(run), "--resume", *common, "epochs=2"]) == 2
        assert main(["train", "--run-dir", str(run), "--overwrite", *common, "epochs=1"]) == 2
    assert (run / "run.json").read_text() == record  # the refused resume recorded nothing
    assert main(["train", "--run-dir", str(run), "--resume", *common, "epochs=2"]) == 0
    assert "epochs" in json.loads((run / "run.json").read_text())["resumes"][-1]["changes"]
