"""The processed cache of HeCo datasets: keyed on the raw files' SHA-256, read back without unpickling objects."""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import torch

import graphcl.data.heco as heco
from graphcl.data.heco import load_heco
from tests.data.test_heco_cli import write_small_heco_folder


def _assert_same_graph(a, b) -> None:
    assert a.node_types == b.node_types and sorted(a.edge_types) == sorted(b.edge_types)
    for node_type in a.node_types:
        assert set(a[node_type].keys()) == set(b[node_type].keys())
        for name, value in a[node_type].items():
            other = b[node_type][name]
            if isinstance(value, torch.Tensor):
                assert value.layout == other.layout and value.dtype == other.dtype
                assert torch.equal(value.to_dense(), other.to_dense())
            else:
                assert value == other
    for edge_type in a.edge_types:
        for name, value in a[edge_type].items():
            assert torch.equal(value, b[edge_type][name]) and value.dtype == b[edge_type][name].dtype
    assert a.metapath_specs == b.metapath_specs and a.target_type == b.target_type


@pytest.fixture
def parses(monkeypatch) -> list[str]:
    calls: list[str] = []
    original = heco._parse

    def counting(description, *args, **kwargs):
        calls.append(description.name)
        return original(description, *args, **kwargs)

    monkeypatch.setattr(heco, "_parse", counting)
    return calls


@pytest.mark.parametrize("name", ["acm", "dblp"])
def test_second_load_reads_the_processed_file(tmp_path: Path, name: str, parses: list[str]) -> None:
    write_small_heco_folder(tmp_path, name)
    first = load_heco(name, tmp_path)
    cached = list((tmp_path / name / "processed").glob("heco-*.pt"))
    assert len(cached) == 1 and parses == [name]
    second = load_heco(name, tmp_path)
    assert parses == [name]  # not parsed again
    _assert_same_graph(first, second)
    load_heco(name, tmp_path, cache=False)
    assert parses == [name, name]


def test_a_changed_raw_file_gives_a_new_key(tmp_path: Path, parses: list[str]) -> None:
    write_small_heco_folder(tmp_path, "aminer")
    load_heco("aminer", tmp_path)
    with open(tmp_path / "aminer" / "pa.txt", "a") as handle:
        handle.write("0 29\n")  # one more paper-author link
    changed = load_heco("aminer", tmp_path)
    assert parses == ["aminer", "aminer"]
    assert len(list((tmp_path / "aminer" / "processed").glob("heco-*.pt"))) == 2
    _assert_same_graph(changed, load_heco("aminer", tmp_path, cache=False))
    # Other options are other processed files too.
    load_heco("aminer", tmp_path, compute_metapaths=False)
    assert parses[-2:] == ["aminer", "aminer"]


class _Exploit:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("kind", ["garbage", "hostile", "foreign"])
def test_a_corrupt_or_hostile_processed_file_is_rebuilt_never_unpickled(tmp_path: Path, kind: str,
                                                                      parses: list[str]) -> None:
    write_small_heco_folder(tmp_path / "data", "freebase")
    first = load_heco("freebase", tmp_path / "data")
    (path,) = (tmp_path / "data" / "freebase" / "processed").glob("heco-*.pt")
    marker = tmp_path / "executed"
    if kind == "garbage":
        path.write_bytes(b"\x80\x04not a torch file" + bytes(range(256)))
    elif kind == "hostile":
        with open(path, "wb") as handle:
            pickle.dump({"format": 1, "nodes": _Exploit(marker)}, handle)
    else:  # a valid torch file with the wrong content
        torch.save({"format": 1, "key": "0" * 64, "nodes": {}, "edges": []}, path)
    rebuilt = load_heco("freebase", tmp_path / "data")
    assert not marker.exists()
    assert parses == ["freebase", "freebase"]
    _assert_same_graph(first, rebuilt)
    assert load_heco("freebase", tmp_path / "data") is not None and parses == ["freebase", "freebase"]


def test_a_read_only_folder_is_cached_under_the_data_root(tmp_path: Path, monkeypatch, parses: list[str]) -> None:
    write_small_heco_folder(tmp_path / "data", "acm")
    monkeypatch.setenv("GRAPHCL_DATA", str(tmp_path / "root"))
    folder = tmp_path / "data" / "acm"
    for path in [folder, *folder.iterdir()]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        load_heco("acm", tmp_path / "data")
        load_heco("acm", tmp_path / "data")
    finally:
        folder.chmod(0o755)
    assert parses == ["acm"] and not (folder / "processed").exists()
    assert len(list((tmp_path / "root" / "_processed" / "heco").glob("heco-acm-*.pt"))) == 1
