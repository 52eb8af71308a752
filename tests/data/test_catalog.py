"""The catalog: names, layouts checked against the installed PyG classes, checksums, README."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch_geometric.datasets
from torch_geometric.data import InMemoryDataset

from graphcl.data import DATASETS, dataset_names, get_entry, make_community_graph
from graphcl.errors import DataError

REPO = Path(__file__).resolve().parents[2]
PYG_ENTRIES = [entry for entry in DATASETS.values() if entry.pyg_class is not None]


def test_names_are_lower_case_keys_and_cover_the_standard_benchmarks() -> None:
    assert dataset_names() == list(DATASETS)
    for key, entry in DATASETS.items():
        assert key == entry.name == entry.name.lower()
    assert {"cora", "citeseer", "pubmed", "amazon-computers", "amazon-photo", "coauthor-cs",
            "coauthor-physics", "wikics", "generated"} <= set(DATASETS)
    cora = DATASETS["cora"].stats
    assert (cora.num_nodes, cora.num_edges, cora.num_features, cora.num_classes) == (2708, 10556, 1433, 7)


@pytest.mark.parametrize("entry", PYG_ENTRIES, ids=lambda entry: entry.name)
def test_raw_layout_and_url_match_the_installed_pyg_class(
    entry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Run the real constructor with I/O stubbed out, then ask PyG where it would read from.
    cls = getattr(torch_geometric.datasets, entry.pyg_class)
    monkeypatch.setattr(cls, "download", lambda self: None)
    monkeypatch.setattr(cls, "process", lambda self: None)
    monkeypatch.setattr(InMemoryDataset, "load", lambda self, path, data_cls=None: None)
    dataset = cls(root=str(tmp_path), **entry.pyg_kwargs)
    pyg_raw = sorted(Path(path).relative_to(tmp_path).as_posix() for path in dataset.raw_paths)
    assert pyg_raw == sorted(entry.raw_files)
    assert Path(dataset.processed_dir) == tmp_path / entry.dataset_dir / "processed"
    assert cls.url.rstrip("/") == entry.source_url.rstrip("/")


def test_lookup_is_forgiving_about_case_separators_and_aliases() -> None:
    assert get_entry(" Cora ").name == "cora"
    assert get_entry("Amazon_Photo").name == "amazon-photo"
    assert get_entry("photo").name == "amazon-photo"
    assert get_entry("wiki-cs").name == "wikics"


def test_unknown_name_suggests_the_closest_and_lists_all() -> None:
    with pytest.raises(DataError, match="Did you mean 'citeseer'") as excinfo:
        get_entry("citeseeer")
    for name in DATASETS:
        assert name in str(excinfo.value)
    with pytest.raises(DataError, match="Unknown dataset 'zzzz'"):
        get_entry("zzzz")


@pytest.mark.parametrize("name", ["generated", "generated-uneven"])
def test_generated_stats_match_the_defaults(name: str) -> None:
    data = make_community_graph(**DATASETS[name].pyg_kwargs)
    stats = DATASETS[name].stats
    assert (data.num_nodes, data.edge_index.size(1), data.x.size(1), int(data.y.max()) + 1) == (
        stats.num_nodes, stats.num_edges, stats.num_features, stats.num_classes)


@pytest.mark.data
def test_staged_cora_matches_the_catalog_checksums(planetoid_root: Path) -> None:
    entry = DATASETS["cora"]
    assert set(entry.sha256) == set(entry.raw_files)
    for relative, expected in entry.sha256.items():
        assert hashlib.sha256((planetoid_root / relative).read_bytes()).hexdigest() == expected


def test_readme_documents_every_catalog_entry() -> None:
    readme = (REPO / "datasets" / "README.md").read_text(encoding="utf-8")
    for entry in DATASETS.values():
        assert f"`{entry.name}`" in readme
        assert f"{entry.stats.num_nodes:,}" in readme and f"{entry.stats.num_edges:,}" in readme
        for relative in entry.raw_files:
            folder = relative.rsplit("/", 1)[0]
            assert folder in readme
