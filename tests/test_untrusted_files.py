"""Hostile files: every entry point that reads a file refuses pickled code in one line and never runs it.

Each payload, when unpickled, would run ``touch <marker>``. The files come in every form a loader may meet:
a plain pickle, a legacy (pre-1.6) ``torch.save`` stream, a zip ``torch.save`` archive, a pickle renamed to
``.npy``, and Planetoid raw files. The tests feed them to both command lines and to the Python loaders and assert
that the marker never appears and that the error is one line naming the file.
"""
from __future__ import annotations

import os
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from graphcl.cli import main as graphcl_main
from graphcl.errors import DataError
from graphcl.safe_load import (
    UnsafeFileError,
    load_foreign_checkpoint,
    load_numpy,
    load_torch,
    unpickle_arrays,
)
from recsys.cli import main as recsys_main

FORMATS = ("plain", "legacy", "zip")


class _Payload:
    """Unpickling it runs ``touch marker`` (the attack the library must never let through)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    path = tmp_path / "PWNED"
    yield path
    assert not path.exists(), "a hostile file ran code"


def _write(path: Path, fmt: str, marker: Path, wrap: Callable[[object], object] = lambda p: {"model": p}) -> Path:
    obj = wrap(_Payload(marker))
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "plain":
        with open(path, "wb") as handle:
            pickle.dump(obj, handle, protocol=2)
    elif fmt == "legacy":
        torch.save(obj, path, _use_new_zipfile_serialization=False)
    else:
        torch.save(obj, path)
    return path


def _one_line_error(capsys: pytest.CaptureFixture[str], *names: str) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    for name in names:
        assert name in err, err
    return err


# --- the Python loaders ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_tensor_readers_refuse_every_format(tmp_path: Path, marker: Path, fmt: str) -> None:
    path = _write(tmp_path / f"{fmt}.pt", fmt, marker)
    with pytest.raises(DataError) as excinfo:
        load_torch(path, what="checkpoint")
    assert str(path) in str(excinfo.value) and "\n" not in str(excinfo.value)
    from graphcl.train import load_checkpoint

    with pytest.raises(DataError, match="refused|cannot read"):
        load_checkpoint(path)


@pytest.mark.parametrize("fmt", FORMATS)
def test_foreign_checkpoints_are_read_with_inert_placeholders(tmp_path: Path, marker: Path, fmt: str) -> None:
    """RecBole pickles its Config: such files are read, with every foreign object replaced, never run."""
    weights = torch.arange(6.0).view(2, 3)
    path = _write(tmp_path / f"{fmt}.pth", fmt, marker, wrap=lambda p: {"config": p, "state_dict": {"w": weights}})
    if fmt == "plain":  # not a torch.save file at all: refused, not parsed as one
        with pytest.raises(DataError):
            load_foreign_checkpoint(path)
        return
    value, replaced = load_foreign_checkpoint(path)
    assert torch.equal(value["state_dict"]["w"], weights)
    assert replaced == ["posix.system"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_recbole_import_never_runs_code(tmp_path: Path, marker: Path, fmt: str) -> None:
    from recsys.nn import load_recbole_sasrec

    path = _write(tmp_path / "model.pth", fmt, marker, wrap=lambda p: {"state_dict": p})
    with pytest.raises(DataError):
        load_recbole_sasrec(path)


def test_numpy_files_holding_pickles_are_refused(tmp_path: Path, marker: Path) -> None:
    renamed = _write(tmp_path / "labels.npy", "plain", marker, wrap=lambda p: p)
    with pytest.raises(UnsafeFileError, match=r"labels\.npy: refused to load this labels: it holds pickled"):
        load_numpy(renamed, what="labels")
    objects = tmp_path / "objects.npy"
    np.save(objects, np.array([_Payload(marker)], dtype=object), allow_pickle=True)
    with pytest.raises(UnsafeFileError):
        load_numpy(objects)
    (tmp_path / "text.npy").write_text("1 2 3")
    with pytest.raises(DataError, match="not a numpy .npy file"):
        load_numpy(tmp_path / "text.npy")


def test_pickled_arrays_reader_rebuilds_arrays_and_refuses_code(tmp_path: Path, marker: Path) -> None:
    import scipy.sparse as sp

    good = tmp_path / "good"
    matrix = sp.random(5, 4, density=0.5, format="csr", random_state=0)
    with open(good, "wb") as handle:
        pickle.dump({"x": matrix, "y": np.eye(3)}, handle, protocol=2)
    loaded = unpickle_arrays(good)
    assert (loaded["x"] != matrix).nnz == 0 and np.array_equal(loaded["y"], np.eye(3))
    bad = _write(tmp_path / "bad", "plain", marker, wrap=lambda p: p)
    with pytest.raises(UnsafeFileError, match="posix.system"):
        unpickle_arrays(bad)


def test_embedding_files_and_caches_never_run_code(tmp_path: Path, marker: Path) -> None:
    from graphcl.data import load_dataset
    from graphcl.transforms import AddCommunities
    from graphcl.transforms import community as community_module
    from recsys.semantic.cache import EmbeddingCache
    from recsys.semantic.precomputed import PrecomputedSource

    for fmt in FORMATS:
        source = PrecomputedSource(_write(tmp_path / f"items-{fmt}.pt", fmt, marker, wrap=lambda p: p))
        with pytest.raises(DataError):
            source._item_matrix(10)
    renamed = PrecomputedSource(_write(tmp_path / "items.npy", "plain", marker, wrap=lambda p: p))
    with pytest.raises(UnsafeFileError):
        renamed._item_matrix(10)

    cache = EmbeddingCache(tmp_path / "cache")
    _write(tmp_path / "cache" / "key.pt", "zip", marker, wrap=lambda p: p)
    assert cache.load("key") is None  # a cache miss, rebuilt; never unpickled

    data = load_dataset("generated", num_nodes=300, num_communities=6)
    expected = AddCommunities(backend="louvain", cache_dir=tmp_path / "communities")(data.clone()).community
    cached = list((tmp_path / "communities").glob("*.pt"))
    assert len(cached) == 1
    _write(cached[0], "legacy", marker, wrap=lambda p: p)
    community_module._MEMORY_CACHE.clear()  # make the transform read its disk cache
    again = AddCommunities(backend="louvain", cache_dir=tmp_path / "communities")(data.clone())
    assert torch.equal(again.community, expected)  # the hostile file was a cache miss, detected again


# --- raw dataset files ---------------------------------------------------------------------------------------

_PLANETOID_PARTS = ("x", "tx", "allx", "y", "ty", "ally", "graph")


def _hostile_planetoid(root: Path, name: str, folder: str, marker: Path) -> Path:
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    for part in _PLANETOID_PARTS:
        _write(raw / f"ind.{name}.{part}", "plain", marker, wrap=lambda p: p)
    (raw / f"ind.{name}.test.index").write_text("1\n2\n")
    return root


def test_planetoid_raw_files_without_a_checksum_are_read_without_running_code(tmp_path: Path,
                                                                              marker: Path) -> None:
    from graphcl.data import load_dataset

    root = _hostile_planetoid(tmp_path / "data", "citeseer", "CiteSeer", marker)
    with pytest.raises(UnsafeFileError, match=r"ind\.citeseer\.x: refused .*posix\.system"):
        load_dataset("citeseer", root=root, download=False)
    with pytest.raises(UnsafeFileError):
        load_dataset("citeseer", root=root, download=False, trust_raw_files=True)
    assert not (root / "CiteSeer" / "processed").exists()  # nothing was parsed, nothing was written


def test_planetoid_files_with_a_published_checksum_are_verified_before_parsing(
    tmp_path: Path, marker: Path, planetoid_root: Path,
) -> None:
    from graphcl.data import load_dataset

    root = tmp_path / "data"
    shutil.copytree(planetoid_root / "Cora" / "raw", root / "Cora" / "raw")
    _write(root / "Cora" / "raw" / "ind.cora.x", "plain", marker, wrap=lambda p: p)
    with pytest.raises(UnsafeFileError, match=r"ind\.cora\.x: SHA-256 [0-9a-f]{64} differs from the published"):
        load_dataset("cora", root=root)
    with pytest.raises(UnsafeFileError, match="posix.system"):  # opting in still never runs code
        load_dataset("cora", root=root, trust_raw_files=True)


def test_a_hostile_processed_file_is_refused_not_retried_unsafely(
    tmp_path: Path, marker: Path, planetoid_root: Path,
) -> None:
    """PyG retries a processed file that ``weights_only`` refuses with full unpickling; the loader refuses it."""
    from graphcl.data import load_dataset

    root = tmp_path / "data"
    shutil.copytree(planetoid_root / "Cora" / "raw", root / "Cora" / "raw")
    load_dataset("cora", root=root)
    processed = root / "Cora" / "processed" / "data.pt"
    assert processed.is_file()
    _write(processed, "zip", marker, wrap=lambda p: (p, None, None))
    with pytest.raises(UnsafeFileError, match=r"processed/data\.pt: refused .*delete it to rebuild it"):
        load_dataset("cora", root=root)


def test_heco_label_and_split_files_holding_pickles_are_refused(tmp_path: Path, marker: Path) -> None:
    from graphcl.data.heco import load_heco
    from tests.data.test_heco import _chain_folder

    description, folder = _chain_folder(tmp_path)
    _write(folder / "train_20.npy", "plain", marker, wrap=lambda p: p)
    with pytest.raises(UnsafeFileError, match=r"train_20\.npy"):
        load_heco(description, folder)
    _write(folder / "labels.npy", "plain", marker, wrap=lambda p: p)
    with pytest.raises(UnsafeFileError, match=r"labels\.npy"):
        load_heco(description, folder)


# --- the command lines -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_graphcl_embed_refuses_hostile_checkpoints_in_one_line(tmp_path: Path, marker: Path, fmt: str,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "last.pt", fmt, marker)
    assert graphcl_main(["embed", "--checkpoint", str(path)]) == 2
    _one_line_error(capsys, "graphcl: error:", str(path))


@pytest.mark.parametrize("fmt", FORMATS)
def test_recsys_eval_refuses_hostile_recbole_checkpoints_in_one_line(tmp_path: Path, marker: Path, fmt: str,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "model.pth", fmt, marker, wrap=lambda p: {"state_dict": p})
    assert recsys_main(["eval", "--recbole-checkpoint", str(path), "--data", "generated"]) == 2
    _one_line_error(capsys, "recsys: error:", str(path))


def test_resume_and_eval_with_a_hostile_checkpoint_in_the_run_folder(tmp_path: Path, marker: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    graph_run = tmp_path / "graph"
    assert graphcl_main(["train", "--run-dir", str(graph_run), "--quiet", "epochs=2", "checkpoint_every=1",
                         "tasks=[node]", "probe_repeats=1"]) == 0
    (graph_run / "results.json").unlink()  # as if interrupted
    _write(graph_run / "last.pt", "legacy", marker)
    capsys.readouterr()
    assert graphcl_main(["train", "--run-dir", str(graph_run), "--resume", "--quiet"]) == 2
    _one_line_error(capsys, str(graph_run / "last.pt"))

    rec_run = tmp_path / "rec"
    assert recsys_main(["train", "--run-dir", str(rec_run), "--quiet", "epochs=1", "checkpoint_every=1"]) == 0
    _write(rec_run / "best.pt", "zip", marker)
    capsys.readouterr()
    assert recsys_main(["eval", "--run-dir", str(rec_run)]) == 2
    _one_line_error(capsys, str(rec_run / "best.pt"))


@pytest.mark.parametrize("main", [graphcl_main, recsys_main], ids=["graphcl", "recsys"])
def test_binary_and_non_utf8_configs_are_one_line_errors(tmp_path: Path, marker: Path, main,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("epochs: 3  # réglage\n".encode("latin-1"))
    pickled = _write(tmp_path / "pickled.yaml", "plain", marker, wrap=lambda p: p)
    for path in (latin, pickled):
        assert main(["train", "--config", str(path), "--quiet"]) == 2
        _one_line_error(capsys, str(path))
    assert main(["train", "--config", str(tmp_path), "--quiet"]) == 2  # a folder
    _one_line_error(capsys, str(tmp_path))


def test_graphcl_train_refuses_hostile_planetoid_files_in_one_line(tmp_path: Path, marker: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    root = _hostile_planetoid(tmp_path / "data", "citeseer", "CiteSeer", marker)
    for extra in ([], ["--trust-raw-files"]):
        assert graphcl_main(["train", "--dataset", "citeseer", "--root", str(root), "--quiet", *extra]) == 2
        _one_line_error(capsys, "ind.citeseer.x")
    assert not list(tmp_path.glob("**/config.yaml"))  # no run folder was started
