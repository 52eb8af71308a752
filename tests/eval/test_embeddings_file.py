"""``graphcl eval``: embeddings made elsewhere, read without running code and scored as ``graphcl train`` does."""
from __future__ import annotations

import json
import os
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from graphcl.cli import main
from graphcl.errors import DataError
from graphcl.eval.embeddings import read_embeddings
from graphcl.safe_load import UnsafeFileError
from tests.data.test_heco_cli import write_small_heco_folder


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_every_format_reads_the_same_matrix(tmp_path: Path) -> None:
    z = np.random.default_rng(0).normal(size=(7, 3)).astype(np.float64)
    np.save(tmp_path / "z.npy", z)
    torch.save(torch.from_numpy(z), tmp_path / "z.pt")
    torch.save({"embeddings": torch.from_numpy(z), "y": torch.zeros(7)}, tmp_path / "dict.pth")
    with open(tmp_path / "z.pkl", "wb") as handle:
        pickle.dump(z, handle)
    for name in ("z.npy", "z.pt", "dict.pth", "z.pkl"):
        read = read_embeddings(tmp_path / name, num_nodes=7)
        assert read.dtype == torch.float32 and torch.allclose(read, torch.from_numpy(z).float())


def test_bad_files_give_one_line_errors_and_hostile_pickles_run_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    with open(tmp_path / "evil.pkl", "wb") as handle:
        pickle.dump(_Payload(marker), handle)
    with pytest.raises(UnsafeFileError, match="evil.pkl"):
        read_embeddings(tmp_path / "evil.pkl")
    assert not marker.exists()
    np.save(tmp_path / "z.npy", np.ones((5, 2)))
    with pytest.raises(DataError, match="5 rows of embeddings, but the graph has 6 nodes"):
        read_embeddings(tmp_path / "z.npy", num_nodes=6)
    np.save(tmp_path / "flat.npy", np.ones(5))
    with pytest.raises(DataError, match=r"\[num_nodes, dim\] matrix.*\(5,\)"):
        read_embeddings(tmp_path / "flat.npy")
    np.save(tmp_path / "nan.npy", np.array([[1.0, np.nan], [0.0, 1.0]]))
    with pytest.raises(DataError, match="1 of 2 rows hold NaN"):
        read_embeddings(tmp_path / "nan.npy")
    np.save(tmp_path / "text.npy", np.array([["a", "b"]]))
    with pytest.raises(DataError, match="numeric matrix"):
        read_embeddings(tmp_path / "text.npy")
    torch.save({"z": torch.ones(2, 2)}, tmp_path / "other.pt")
    with pytest.raises(DataError, match="without an 'embeddings' entry"):
        read_embeddings(tmp_path / "other.pt")
    (tmp_path / "z.csv").write_text("1,2\n")
    with pytest.raises(DataError, match="unknown embeddings format '.csv'"):
        read_embeddings(tmp_path / "z.csv")


def test_eval_scores_embeddings_as_train_does_on_the_generated_graph(tmp_path: Path, capsys) -> None:
    from graphcl.config import resolve_config, split_config
    from graphcl.data import load_dataset
    from graphcl.experiment import embedding_metrics

    data = load_dataset("generated")
    labels = torch.nn.functional.one_hot(data.y).float()
    informative = labels + 0.1 * torch.randn(labels.shape, generator=torch.Generator().manual_seed(0))
    np.save(tmp_path / "good.npy", informative.numpy())
    np.save(tmp_path / "noise.npy", torch.randn(data.num_nodes, 8).numpy())
    out = tmp_path / "metrics" / "good.json"
    args = ["tasks=[node,clustering]", "probe_repeats=2", "cluster_repeats=1"]
    assert main(["eval", "--embeddings", str(tmp_path / "good.npy"), "--out", str(out), *args]) == 0
    line = capsys.readouterr().out
    assert "evaluated as grace" in line and "test_acc" in line and "nmi" in line
    record = json.loads(out.read_text())
    assert record["model"] == "grace" and record["dataset"] == "generated"
    assert record["metrics"]["test_acc"]["mean"] > 0.95 and record["metrics"]["nmi"]["mean"] > 0.9
    ev = split_config(resolve_config("grace", "generated", overrides={"probe_repeats": 2, "cluster_repeats": 1,
                                                                       "tasks": ["node", "clustering"]}))[2]
    assert record["metrics"] == json.loads(json.dumps(embedding_metrics(informative, data, ev, seed=0)))
    assert main(["eval", "--embeddings", str(tmp_path / "noise.npy"), "--out", str(out), *args]) == 0
    assert json.loads(out.read_text())["metrics"]["test_acc"]["mean"] < 0.5
    assert main(["eval", "--embeddings", str(tmp_path / "good.npy"), "tasks=[link]"]) == 2
    assert "link prediction" in capsys.readouterr().err
    np.save(tmp_path / "short.npy", np.ones((10, 2)))
    assert main(["eval", "--embeddings", str(tmp_path / "short.npy")]) == 2
    err = capsys.readouterr().err
    assert "short.npy: 10 rows" in err and "Traceback" not in err


def test_eval_of_a_heco_folder_uses_its_label_rate_splits(tmp_path: Path, capsys) -> None:
    sizes = write_small_heco_folder(tmp_path / "data", "acm")
    n = sizes["paper"]
    np.save(tmp_path / "z.npy", np.random.default_rng(0).normal(size=(n, 4)))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*loading it as a subset")
        code = main(["eval", "--embeddings", str(tmp_path / "z.npy"), "--model", "meow", "--dataset", "acm",
                     "--root", str(tmp_path / "data"), "probe_repeats=1", "probe_iterations=2",
                     "cluster_repeats=1"])
    assert code == 0
    line = capsys.readouterr().out
    assert "evaluated as meow" in line and "macro_f1@20" in line and "auc@60" in line and "nmi" in line
