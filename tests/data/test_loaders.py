"""load_dataset / default_data_root: offline Cora, read-only roots, missing files, bad arguments."""
from __future__ import annotations

import shutil
import stat
import urllib.error
from pathlib import Path

import pytest
import torch
from torch_geometric.datasets import Planetoid

import graphcl
from graphcl.data import default_data_root, load_dataset
from graphcl.errors import ConfigError, DataError
from graphcl.safe_load import UnsafeFileError

REPO = Path(__file__).resolve().parents[2]
CORA_FILES = [f"ind.cora.{part}" for part in
              ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")]


@pytest.fixture
def cache_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private default root, so no test writes into the checkout's datasets/ folder."""
    root = tmp_path / "cache"
    monkeypatch.setenv("GRAPHCL_DATA", str(root))
    return root


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Makes every Planetoid download fail at once, recording that one was attempted."""
    attempts: list[str] = []

    def fail(self: Planetoid) -> None:
        attempts.append(self.raw_dir)
        raise urllib.error.URLError("network disabled in tests")

    def fail_url(url: str, folder: str, *args: object, **kwargs: object) -> str:
        attempts.append(folder)
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(Planetoid, "download", fail)
    monkeypatch.setattr("torch_geometric.data.download_url", fail_url)
    return attempts


def _snapshot(folder: Path) -> dict[str, tuple[int, int, int]]:
    return {str(path.relative_to(folder)): (path.stat().st_mode, path.stat().st_size,
                                            path.stat().st_mtime_ns)
            for path in sorted(folder.rglob("*"))}


def _copy_cora(planetoid_root: Path, target: Path) -> Path:
    shutil.copytree(planetoid_root / "Cora" / "raw", target / "Cora" / "raw")
    return target


def _set_writable(folder: Path, writable: bool) -> None:
    for path in [folder, *folder.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode | stat.S_IWUSR if writable else mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


@pytest.mark.data
def test_real_cora_loads_offline_from_the_shared_folder_without_touching_it(
    planetoid_root: Path, cache_root: Path, no_network: list[str],
) -> None:
    before = _snapshot(planetoid_root)
    data = load_dataset("cora", root=planetoid_root)

    assert data.num_nodes == 2708
    assert data.edge_index.shape == (2, 10556)
    assert data.x.shape == (2708, 1433)
    assert int(data.y.max()) + 1 == 7
    assert int(data.train_mask.sum()) == 140 and int(data.test_mask.sum()) == 1000
    assert torch.allclose(data.x.sum(dim=1), torch.ones(2708))  # row-normalised
    assert no_network == []
    assert _snapshot(planetoid_root) == before
    # processed where the cache lives, not in the shared folder
    assert list(cache_root.glob("_mirrors/*/Cora/processed/data.pt"))


@pytest.mark.data
def test_the_parent_of_the_planetoid_folder_works_as_root(
    shared_data: Path, planetoid_root: Path, cache_root: Path, no_network: list[str],
) -> None:
    data = load_dataset("Cora", root=shared_data, normalize_features=False)
    assert data.num_nodes == 2708
    assert set(data.x.unique().tolist()) == {0.0, 1.0}  # raw binary bag of words


@pytest.mark.data
def test_read_only_copy_is_mirrored_and_never_written(
    planetoid_root: Path, tmp_path: Path, cache_root: Path, no_network: list[str],
) -> None:
    source = _copy_cora(planetoid_root, tmp_path / "readonly")
    _set_writable(source, False)
    try:
        before = _snapshot(source)
        first = load_dataset("cora", root=source)
        second = load_dataset("cora", root=source)  # reuses the mirror's processed/
        assert _snapshot(source) == before
        assert not (source / "Cora" / "processed").exists()
    finally:
        _set_writable(source, True)
    mirrors = list((cache_root / "_mirrors").iterdir())
    assert len(mirrors) == 1
    linked = mirrors[0] / "Cora" / "raw" / "ind.cora.x"
    assert linked.is_file() and linked.resolve() == (source / "Cora" / "raw" / "ind.cora.x").resolve()
    assert torch.equal(first.edge_index, second.edge_index)
    assert no_network == []


@pytest.mark.data
def test_writable_root_is_processed_in_place(
    planetoid_root: Path, tmp_path: Path, cache_root: Path, no_network: list[str],
) -> None:
    source = _copy_cora(planetoid_root, tmp_path / "writable")
    load_dataset("cora", root=source)
    assert (source / "Cora" / "processed" / "data.pt").is_file()
    assert not (cache_root / "_mirrors").exists()


def test_missing_files_and_failed_download_raise_a_data_error_listing_the_paths(
    tmp_path: Path, cache_root: Path, no_network: list[str],
) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    with pytest.raises(DataError) as excinfo:
        load_dataset("cora", root=root)
    message = str(excinfo.value)
    assert no_network, "PyG's download should have been attempted"
    for name in CORA_FILES:
        assert str(root / "Cora" / "raw" / name) in message
    assert "URLError" in message and "root=" in message
    assert excinfo.value.__context__ is None and excinfo.value.__cause__ is None  # no urllib traceback
    assert list(root.iterdir()) == []  # the empty folders the attempt made are gone


def test_default_root_is_used_when_no_root_is_given(cache_root: Path, no_network: list[str]) -> None:
    with pytest.raises(DataError, match="planetoid/Cora/raw/ind.cora.graph"):
        load_dataset("cora")
    assert no_network == [str(cache_root / "planetoid" / "Cora" / "raw")]


def test_download_false_never_attempts_a_download(tmp_path: Path, cache_root: Path,
                                                   no_network: list[str]) -> None:
    with pytest.raises(DataError, match="download=False"):
        load_dataset("citeseer", root=tmp_path, download=False)
    assert no_network == []


@pytest.mark.data
def test_incomplete_pubmed_names_the_one_missing_file(
    shared_data: Path, tmp_path: Path, cache_root: Path, no_network: list[str],
) -> None:
    staged = shared_data / "planetoid" / "_incomplete" / "PubMed"
    if not staged.is_dir():
        pytest.skip("partial PubMed not staged")
    shutil.copytree(staged, tmp_path / "PubMed")
    with pytest.raises(DataError) as excinfo:
        load_dataset("pubmed", root=tmp_path)
    missing = [line for line in str(excinfo.value).splitlines() if "<- missing" in line]
    assert len(missing) == 1 and "ind.pubmed.allx" in missing[0]


@pytest.mark.data
def test_corrupt_raw_file_is_a_data_error(
    planetoid_root: Path, tmp_path: Path, cache_root: Path, no_network: list[str],
) -> None:
    source = _copy_cora(planetoid_root, tmp_path / "corrupt")
    graph = source / "Cora" / "raw" / "ind.cora.graph"
    graph.write_bytes(b"not a pickle")
    # The catalog's checksums name the culprit before anything parses it ...
    with pytest.raises(UnsafeFileError, match="ind.cora.graph: SHA-256 [0-9a-f]{64} differs from the published "
                                              "58f13302") as excinfo:
        load_dataset("cora", root=source)
    assert "trust_raw_files=True" in str(excinfo.value) and "\n" not in str(excinfo.value)
    # ... and a deliberately different file is still read by the restricted reader only.
    with pytest.raises(DataError, match=f"{graph}: cannot read this cora raw file"):
        load_dataset("cora", root=source, trust_raw_files=True)


def test_unknown_name_and_unknown_argument(cache_root: Path) -> None:
    with pytest.raises(DataError, match="Did you mean 'pubmed'"):
        load_dataset("pubmd")
    with pytest.raises(ConfigError, match="'splits'"):
        load_dataset("cora", splits="full")
    with pytest.raises(ConfigError, match="'num_node'"):
        load_dataset("generated", num_node=100)
    # Out-of-range or mistyped arguments of the generator: a ConfigError naming the argument, as documented.
    with pytest.raises(ConfigError, match=r"Dataset 'generated': .*num_nodes \(10\) must be at least"):
        load_dataset("generated", num_nodes=10)
    with pytest.raises(ConfigError, match="num_nodes must be an int"):
        load_dataset("generated", num_nodes="10")


def test_generated_goes_through_the_loader(cache_root: Path) -> None:
    data = load_dataset("generated", seed=3, num_nodes=600, num_communities=12)
    again = load_dataset("GENERATED", seed=3, num_nodes=600, num_communities=12)
    assert data.num_nodes == 600 and torch.equal(data.x, again.x)
    row_sums = data.x.sum(dim=1)
    assert torch.allclose(row_sums[row_sums > 0], torch.ones(int((row_sums > 0).sum())))
    assert not cache_root.exists()  # needs no files


def test_generated_variant_passes_its_catalog_arguments(cache_root: Path) -> None:
    uneven = load_dataset("generated-uneven", num_nodes=600, num_communities=12)
    explicit = load_dataset("generated", num_nodes=600, num_communities=12, density_ratio=10.0)
    assert torch.equal(uneven.edge_index, explicit.edge_index)
    overridden = load_dataset("generated-uneven", num_nodes=600, num_communities=12, density_ratio=1.0)
    assert torch.equal(overridden.edge_index, load_dataset("generated", num_nodes=600, num_communities=12).edge_index)


def test_loader_validates_the_graph(cache_root: Path) -> None:
    with pytest.raises(DataError, match="no edges"):
        load_dataset("generated", num_nodes=200, num_communities=5, num_classes=3, avg_degree=1e-9)
    data = load_dataset("generated", num_nodes=200, num_communities=5, num_classes=3, avg_degree=1e-9,
                        allow_edgeless=True)
    assert data.edge_index.size(1) == 0


def test_default_data_root_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAPHCL_DATA", str(tmp_path / "env"))
    assert default_data_root() == tmp_path / "env"

    monkeypatch.delenv("GRAPHCL_DATA")
    assert default_data_root() == REPO / "datasets"  # running from the checkout

    monkeypatch.setattr(graphcl, "__file__", str(tmp_path / "site" / "graphcl" / "__init__.py"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_data_root() == tmp_path / "home" / ".cache" / "graphrec-cl" / "datasets"
