"""Every HeCo-format description is a catalog dataset: a small folder in its layout trains from the CLI."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from graphcl.cli import main
from graphcl.config import resolve_config
from graphcl.data import DATASETS, HECO_DATASETS, load_dataset
from tests.data.test_heco import _make_folder

SIZES = {"target": 40, "other": 30}


def write_small_heco_folder(root: Path, name: str, seed: int = 0) -> dict[str, int]:
    """A HeCo-format folder ``root/<name>/`` for the shipped description: random relations, labels, splits and,
    for the types the description reads from files, random sparse features. Returns the node counts."""
    description = HECO_DATASETS[name]
    sizes = {t.name: SIZES["target"] if t.name == description.target else SIZES["other"] + 3 * i
             for i, t in enumerate(description.node_types)}
    root.mkdir(parents=True, exist_ok=True)
    _make_folder(root, description, sizes, seed=seed)
    rng = np.random.default_rng(seed + 1)
    for node_type in description.node_types:
        if node_type.features:
            features = sp.random(sizes[node_type.name], 12, density=0.3, format="csr", random_state=rng)
            sp.save_npz(root / name / node_type.features, features)
    return sizes


def write_positives(folder: Path, n: int, seed: int = 0) -> sp.coo_matrix:
    """A pos.npz like HeCo's: every node with itself and two random others."""
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(n), 3)
    cols = np.concatenate([[i, *rng.choice(n, 2, replace=False)] for i in range(n)])
    matrix = sp.coo_matrix((np.ones(rows.size), (rows, cols)), shape=(n, n))
    matrix.sum_duplicates()
    sp.save_npz(folder / "pos.npz", matrix)
    return matrix


def test_every_heco_description_is_a_catalog_dataset_with_its_files() -> None:
    for name, description in HECO_DATASETS.items():
        entry = DATASETS[name]
        assert entry.format == "heco"
        files = {path.split("/", 1)[1] for path in entry.raw_files}
        assert {description.labels, *(r.file for r in description.relations)} <= files
        assert {t.features for t in description.node_types if t.features} <= files
        assert entry.files_summary().startswith(f"{name}/{{labels.npy,")


def test_datasets_command_lists_the_heco_datasets_with_their_files(capsys) -> None:
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    assert "aminer" in out and "aminer/{labels.npy,pa.txt,pr.txt," in out
    assert "freebase" in out and "freebase/{labels.npy,ma.txt,md.txt,mw.txt," in out


def _train_small_meow(root: Path, name: str, run_dir: Path, *extra: str) -> int:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*loading it as a subset")
        return main(["train", "--model", "meow", "--dataset", name, "--root", str(root), "--quiet",
                     "--run-dir", str(run_dir), "epochs=2", "hidden_channels=8", "embed_channels=8",
                     "proj_channels=8", "topk=[5]", "edge_mask=[0.2]", "num_clusters=[3,5]", "kmeans_n_init=1",
                     "kmeans_iter=3", "probe_repeats=1", "probe_iterations=2", "cluster_repeats=1", *extra])


@pytest.mark.parametrize("name", sorted(HECO_DATASETS))
def test_small_heco_folder_trains_meow_from_the_cli(tmp_path: Path, name: str) -> None:
    sizes = write_small_heco_folder(tmp_path / "data", name)
    write_positives(tmp_path / "data" / name, sizes[HECO_DATASETS[name].target])  # HeCo's folders ship pos.npz
    run_dir = tmp_path / "run"
    code = _train_small_meow(tmp_path / "data", name, run_dir)
    assert code == 0
    results = json.loads((run_dir / "results.json").read_text())
    assert results["dataset"] == name
    assert {"macro_f1@20", "micro_f1@60", "nmi"} <= set(results["metrics"])
    description = HECO_DATASETS[name]
    assert sizes[description.target] == 40


def test_a_subset_folder_warns_that_its_counts_differ_from_the_published_ones(tmp_path: Path) -> None:
    write_small_heco_folder(tmp_path, "aminer")
    with pytest.warns(UserWarning, match="40 paper nodes, but the published 'aminer' has 6564"):
        data = load_dataset("aminer", root=tmp_path)
    assert data["paper"].num_nodes == 40 and data["paper"].x.is_sparse


@pytest.mark.parametrize("model", ["meow", "adameow"])
@pytest.mark.parametrize("name", ["aminer", "freebase"])
def test_shipped_configs_hold_one_value_per_metapath(model: str, name: str) -> None:
    cfg = resolve_config(model, name)
    metapaths = len(HECO_DATASETS[name].metapaths)
    assert len(cfg["topk"]) == metapaths
    assert len(cfg["edge_mask"]) in (1, metapaths)
    if model == "meow":
        assert all(k <= HECO_DATASETS[name].node_type(HECO_DATASETS[name].target).expected_num_nodes
                   for k in cfg["num_clusters"])


def test_a_target_node_without_metapath_instances_keeps_its_own_features() -> None:
    import torch

    from graphcl.transforms.metapath import isolated_self_loops, metapath_normalize

    edge_index = torch.tensor([[0, 0, 1, 1], [0, 1, 0, 1]])  # node 2: e.g. a movie without a writer
    counts = torch.ones(4)
    index, weight = isolated_self_loops(edge_index, counts, 3)
    dense = metapath_normalize(index, weight, 3).to_dense()
    assert dense[2].tolist() == [0.0, 0.0, 1.0]  # was a zero row: a constant embedding for every such node
    assert isolated_self_loops(index, weight, 3)[0] is index  # a no-op when every row has an entry


@pytest.mark.parametrize("name", ["aminer", "freebase"])
def test_meow_without_pos_npz_names_the_file_or_computes_the_positives(tmp_path: Path, name: str, capsys) -> None:
    """AMiner and Freebase ship positives=file: without pos.npz a one-line error says what to do, and
    positives=metapath_count computes HeCo's rule instead."""
    assert resolve_config("meow", name)["positives"] == "file"
    write_small_heco_folder(tmp_path / "data", name)
    assert _train_small_meow(tmp_path / "data", name, tmp_path / "run") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "pos.npz" in err and "positives=metapath_count" in err
    assert _train_small_meow(tmp_path / "data", name, tmp_path / "run2", "positives=metapath_count",
                             "num_positives=3") == 0
