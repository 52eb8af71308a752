from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from graphcl.errors import ConfigError
from graphcl.train import (
    git_commit,
    make_run_dir,
    open_run,
    peak_memory_mb,
    seed_run_dir,
    write_config,
    write_env,
    write_results,
)


def test_make_run_dir_is_unique_and_named(tmp_path: Path) -> None:
    first = make_run_dir(tmp_path / "runs", model="grace", dataset="cora")
    second = make_run_dir(tmp_path / "runs", model="grace", dataset="cora")
    assert first != second and first.is_dir() and second.is_dir()
    pattern = re.compile(r"^grace-cora-\d{8}-\d{6}(-\d+)?$")
    assert pattern.match(first.name) and pattern.match(second.name)
    odd = make_run_dir(tmp_path, model="my model", dataset="ogbn/arxiv")
    assert odd.name.startswith("my_model-ogbn_arxiv-")
    with pytest.raises(ValueError, match="dataset"):
        make_run_dir(tmp_path, model="grace", dataset="///")


def test_write_config_keeps_order_and_plain_values(tmp_path: Path) -> None:
    config = {"model": "grace", "lr": 1e-3, "root": tmp_path, "dims": (128, 64), "tau": np.float32(0.5)}
    path = write_config(tmp_path, config)
    text = path.read_text()
    assert text.index("model") < text.index("lr") < text.index("root")
    assert yaml.safe_load(text) == {"model": "grace", "lr": 1e-3, "root": str(tmp_path), "dims": [128, 64],
                                    "tau": 0.5}


def test_write_env_lists_versions(tmp_path: Path) -> None:
    text = write_env(tmp_path).read_text()
    for key in ("python", "platform", "torch", "torch_geometric", "numpy", "sklearn", "cuda_available",
                "cpu_count", "torch_threads", "git_commit"):
        assert re.search(rf"^{key}: .+$", text, re.MULTILINE), key
    assert f"torch: {torch.__version__}" in text


def test_git_commit_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    commit = git_commit()
    assert commit is None or re.fullmatch(r"[0-9a-f]{4,40}", commit)

    def no_git(*args, **kwargs):
        raise FileNotFoundError("git")

    monkeypatch.setattr(subprocess, "run", no_git)
    assert git_commit() is None


def test_git_commit_is_none_when_package_untracked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(subprocess, "run",
                        lambda *a, **k: subprocess.CompletedProcess(a, returncode=1, stdout="", stderr=""))
    assert git_commit() is None


def test_peak_memory_on_cpu_is_plausible() -> None:
    peak = peak_memory_mb("cpu")
    assert 10 < peak < 1_000_000  # this Python process with torch loaded uses tens of MiB at least


def test_write_results_is_strict_json(tmp_path: Path) -> None:
    results = {"acc": {"mean": np.float64(0.81), "std": 0.0, "values": [0.81]}, "loss": float("nan"),
               "emb": torch.tensor([1.0, 2.0]), "run_dir": tmp_path}
    path = write_results(tmp_path, results)
    text = path.read_text()
    assert "NaN" not in text and text.startswith("{\n  ")
    assert json.loads(text) == {"acc": {"mean": 0.81, "std": 0.0, "values": [0.81]}, "loss": None,
                                "emb": [1.0, 2.0], "run_dir": str(tmp_path)}


def test_open_run_checks_seeds_and_resume(tmp_path: Path) -> None:
    cfg = {"model": "grace", "dataset": "cora"}
    with pytest.raises(ConfigError, match="at least one seed"):
        open_run(cfg, tmp_path / "a", seeds=[])
    with pytest.raises(ConfigError, match="--run-dir"):
        open_run(cfg, None, tmp_path, resume=True)
    with pytest.raises(ConfigError, match="does not exist; drop --resume"):
        open_run(cfg, tmp_path / "b", seeds=[0, 1], resume=True)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()  # nothing written before the checks
    out = open_run(cfg, tmp_path / "b", seeds=[0, 1], data_source={"dataset": "cora", "root": "/data"})
    assert (out / "config.yaml").is_file() and (out / "env.txt").is_file()
    assert json.loads((out / "run.json").read_text()) == {"model": "grace", "dataset": "cora", "seeds": [0, 1],
                                                          "data": {"dataset": "cora", "root": "/data"}}
    with pytest.raises(ConfigError, match="already holds a run; continue it with --resume or replace it with "
                                          "--overwrite"):
        open_run(cfg, out, seeds=[0])
    (out / "seed-0").mkdir()
    (out / "results.json").write_text("{}")
    (out / "notes.txt").write_text("mine")
    again = open_run(cfg, out, seeds=[0], overwrite=True)
    assert sorted(p.name for p in again.iterdir()) == ["config.yaml", "env.txt", "notes.txt", "run.json"]
    with pytest.raises(ConfigError, match="not empty and is not a run folder"):
        open_run(cfg, _folder_with(tmp_path / "other", "data.csv"), seeds=[0], overwrite=True)


def _folder_with(folder: Path, name: str) -> Path:
    folder.mkdir()
    (folder / name).write_text("x")
    return folder


def test_seed_run_dir_nests_only_multi_seed_runs(tmp_path: Path) -> None:
    assert seed_run_dir(tmp_path, 3, [3]) == tmp_path
    assert seed_run_dir(tmp_path, 3, [1, 3]) == tmp_path / "seed-3"
