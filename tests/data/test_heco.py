"""HeCo-format loader: synthetic AMiner / Freebase folders, meta-path counts, PyG HeteroData input, bad input."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from torch_geometric.data import HeteroData
from torch_geometric.transforms import AddMetaPaths

from graphcl.data import load_dataset
from graphcl.data.heco import (
    HECO_DATASETS,
    HecoDescription,
    MetaPath,
    NodeType,
    Relation,
    attach_metapaths,
    load_heco,
    metapath_adjacency,
    metapath_reachability,
)
from graphcl.errors import DataError


def _write_split_files(folder: Path, labels: np.ndarray, rng: np.random.Generator) -> None:
    np.save(folder / "labels.npy", labels)
    n = labels.shape[0]
    for rate in (20, 40, 60):
        order = rng.permutation(n)
        np.save(folder / f"train_{rate}.npy", order[:5])
        np.save(folder / f"val_{rate}.npy", order[5:10])
        np.save(folder / f"test_{rate}.npy", order[10:20])


def _random_edges(rng: np.random.Generator, n_src: int, n_dst: int, m: int) -> np.ndarray:
    edges = np.stack([rng.integers(0, n_src, m), rng.integers(0, n_dst, m)], axis=1)
    edges = np.unique(edges, axis=0)
    edges[: n_src, 0] = np.arange(min(n_src, edges.shape[0]))  # every source has an edge
    return np.unique(edges, axis=0)


def _small(description: HecoDescription, sizes: dict[str, int]) -> HecoDescription:
    types = tuple(dataclasses.replace(t, num_nodes=sizes[t.name]) for t in description.node_types)
    return dataclasses.replace(description, node_types=types)


def _make_folder(tmp_path: Path, description: HecoDescription, sizes: dict[str, int], seed: int = 0
                 ) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    folder = tmp_path / description.name
    folder.mkdir()
    edges = {}
    for relation in description.relations:
        edges[relation.file] = _random_edges(rng, sizes[relation.src], sizes[relation.dst], 3 * sizes[relation.src])
        np.savetxt(folder / relation.file, edges[relation.file], fmt="%d")
    _write_split_files(folder, rng.integers(1, 4, sizes[description.target]).astype(np.float64), rng)
    return edges


def _dense_incidence(edges: np.ndarray, n_src: int, n_dst: int) -> np.ndarray:
    matrix = np.zeros((n_src, n_dst))
    matrix[edges[:, 0], edges[:, 1]] = 1
    return matrix


@pytest.mark.parametrize("name", ["aminer", "freebase"])
def test_synthetic_heco_folders_load_with_one_hot_features_and_exact_counts(tmp_path: Path, name: str) -> None:
    shipped = HECO_DATASETS[name]
    sizes = {t.name: 24 + 5 * i for i, t in enumerate(shipped.node_types)}
    edges = _make_folder(tmp_path, shipped, sizes)
    data = load_heco(_small(shipped, sizes), tmp_path)
    target = shipped.target
    n = sizes[target]
    assert data.target_type == target and data[target].y.min() == 0 and data[target].y.max() <= 2
    for t in shipped.node_types:  # HeCo's one-hot features, kept sparse
        assert data[t.name].x.is_sparse
        assert torch.equal(data[t.name].x.to_dense(), torch.eye(sizes[t.name]))
    assert data[target].train_idx_20.shape == (5,) and data[target].test_idx_60.shape == (10,)
    for metapath in shipped.metapaths:
        other = metapath.node_types[1]
        relation = next(r for r in shipped.relations if r.dst == other)
        incidence = _dense_incidence(edges[relation.file], n, sizes[other])
        expected = incidence @ incidence.T
        edge_index, counts = metapath_adjacency(data, metapath.name)
        dense = np.zeros((n, n))
        dense[edge_index[0].numpy(), edge_index[1].numpy()] = counts.numpy()
        np.testing.assert_array_equal(dense, expected)
        assert edge_index.shape[1] == np.count_nonzero(expected)
        reach = metapath_reachability(data, metapath.name, 1).toarray()
        np.testing.assert_array_equal(reach, incidence)


def test_node_counts_are_inferred_from_relation_files(tmp_path: Path) -> None:
    shipped = HECO_DATASETS["aminer"]
    sizes = {"paper": 20, "author": 15, "reference": 30}
    _make_folder(tmp_path, shipped, sizes)
    inferred = dataclasses.replace(
        shipped, node_types=tuple(dataclasses.replace(t, num_nodes=None) for t in shipped.node_types))
    data = load_heco(inferred, tmp_path / "aminer", compute_metapaths=False)
    assert data["paper"].num_nodes == 20
    assert ("paper", "PAP", "paper") not in data.edge_types
    metapath_adjacency(data, "PAP")
    assert ("paper", "PAP", "paper") in data.edge_types


def _chain_folder(tmp_path: Path) -> tuple[HecoDescription, Path]:
    """A DBLP-like 4-type folder with a sparse feature file, a dense file under an .npz name, and a one-hot type."""
    rng = np.random.default_rng(1)
    folder = tmp_path / "mini"
    folder.mkdir()
    np.savetxt(folder / "pa.txt", _random_edges(rng, 25, 10, 40), fmt="%d")
    np.savetxt(folder / "pc.txt", np.stack([np.arange(25), rng.integers(0, 3, 25)], 1), fmt="%d")
    np.savetxt(folder / "pt.txt", _random_edges(rng, 25, 6, 50), fmt="%d")
    features = sp.random(10, 7, density=0.4, random_state=0, format="lil")
    features[3] = 0  # an all-zero row stays zero
    features = features.tocsr()
    sp.save_npz(folder / "a_feat.npz", features)
    with open(folder / "t_feat.npz", "wb") as handle:  # dense array behind a misleading name, as in DBLP
        np.save(handle, rng.normal(size=(6, 4)))
    _write_split_files(folder, rng.integers(0, 4, 10), rng)
    description = HecoDescription(
        name="mini", target="author",
        node_types=(NodeType("author", 10, "a_feat.npz"), NodeType("paper", 25), NodeType("term", 6, "t_feat.npz"),
                    NodeType("conference", 3)),
        relations=(Relation("pa.txt", "paper", "author"), Relation("pc.txt", "paper", "conference"),
                   Relation("pt.txt", "paper", "term")),
        metapaths=(MetaPath("APA", ("author", "paper", "author"), (1,)),
                   MetaPath("APCPA", ("author", "paper", "conference", "paper", "author"), (1, 2, 3))),
    )
    return description, folder


def test_features_are_l1_normalised_and_dense_npz_files_are_used_as_is(tmp_path: Path) -> None:
    description, folder = _chain_folder(tmp_path)
    data = load_heco(description, folder)
    x = data["author"].x
    sums = x.abs().sum(1)
    assert torch.allclose(sums[sums > 0], torch.ones(int((sums > 0).sum())), atol=1e-6)
    assert sums[3] == 0
    raw = np.load(folder / "t_feat.npz")
    assert torch.allclose(data["term"].x, torch.from_numpy(raw).float())
    sparse = load_heco(description, folder, sparse_features=True)
    assert sparse["author"].x.is_sparse and torch.allclose(sparse["author"].x.to_dense(), x)


def test_long_metapath_counts_match_dense_products_and_pyg_add_metapaths(tmp_path: Path) -> None:
    description, folder = _chain_folder(tmp_path)
    data = load_heco(description, folder)
    ap = np.zeros((10, 25))
    pa = data["paper", "to", "author"].edge_index.numpy()
    ap[pa[1], pa[0]] = 1
    pc = np.zeros((25, 3))
    pc_edges = data["paper", "to", "conference"].edge_index.numpy()
    pc[pc_edges[0], pc_edges[1]] = 1
    expected = ap @ pc @ pc.T @ ap.T
    edge_index, counts = metapath_adjacency(data, "APCPA")
    dense = torch.zeros(10, 10)
    dense[edge_index[0], edge_index[1]] = counts
    np.testing.assert_array_equal(dense.numpy(), expected)
    reach = metapath_reachability(data, "APCPA", 3).toarray()
    np.testing.assert_array_equal(reach, (ap @ pc @ pc.T > 0).astype(float))

    # PyG's AddMetaPaths(weighted=True) agrees on the same relations.
    plain = HeteroData()
    for t in ("author", "paper", "conference"):
        plain[t].num_nodes = data[t].num_nodes
    for edge_type in [("author", "to", "paper"), ("paper", "to", "conference"), ("conference", "to", "paper"),
                      ("paper", "to", "author")]:
        plain[edge_type].edge_index = data[edge_type].edge_index
    path = [("author", "to", "paper"), ("paper", "to", "conference"), ("conference", "to", "paper"),
            ("paper", "to", "author")]
    pyg = AddMetaPaths([path], weighted=True)(plain.clone())
    pyg_dense = torch.zeros(10, 10)
    store = pyg["author", "metapath_0", "author"]
    pyg_dense[store.edge_index[0], store.edge_index[1]] = store.edge_weight.float()
    assert torch.equal(pyg_dense, dense)

    attached = attach_metapaths(plain, "author", [path], names=["APCPA"])
    assert attached.metapath_specs[0].context == (1, 2)
    ei, c = metapath_adjacency(attached, "APCPA")
    assert torch.equal(ei, edge_index) and torch.equal(c, counts)


def test_bad_input_gives_clear_errors(tmp_path: Path) -> None:
    description, folder = _chain_folder(tmp_path)
    with pytest.raises(DataError, match="does not chain"):
        dataclasses.replace(description, metapaths=(MetaPath("ACA", ("author", "conference", "author")),))
    with pytest.raises(DataError, match="start and end at the target"):
        dataclasses.replace(description, metapaths=(MetaPath("PAP", ("paper", "author", "paper")),))
    with pytest.raises(DataError, match="intermediate position"):
        MetaPath("APA", ("author", "paper", "author"), (2,))
    with pytest.raises(DataError, match="Unknown HeCo dataset"):
        load_heco("imbd", folder)
    plain = HeteroData()
    plain["a"].num_nodes = 2
    plain["b"].num_nodes = 2
    plain["a", "to", "b"].edge_index = torch.tensor([[0], [1]])
    with pytest.raises(DataError, match="does not chain"):
        attach_metapaths(plain, "a", [[("a", "to", "b"), ("a", "to", "b")]])

    # Ids out of range: the file and the line are named.
    edges = np.loadtxt(folder / "pc.txt", dtype=np.int64)
    edges[4, 1] = 7
    np.savetxt(folder / "pc.txt", edges, fmt="%d")
    with pytest.raises(DataError, match=r"pc\.txt, line 5: id 7 in column 1"):
        load_heco(description, folder)
    # Blank lines and comments, which np.loadtxt skips, do not shift the line number.
    lines = (folder / "pc.txt").read_text().splitlines()
    (folder / "pc.txt").write_text("# paper conference\n\n" + "\n".join(lines[:3] + [""] + lines[3:]) + "\n")
    with pytest.raises(DataError, match=r"pc\.txt, line 8: id 7 in column 1"):
        load_heco(description, folder)
    edges[4, 1] = 0
    np.savetxt(folder / "pc.txt", np.vstack([edges, edges[:2]]), fmt="%d")  # duplicates are merged
    with pytest.warns(UserWarning, match="2 duplicate edge"):
        data = load_heco(description, folder)
    assert data["paper", "to", "conference"].edge_index.shape[1] == 25
    np.savetxt(folder / "pc.txt", edges, fmt="%d")

    np.save(folder / "val_40.npy", np.array([0, 99]))
    with pytest.raises(DataError, match=r"val_40\.npy: entry 1 = 99 is out of range"):
        load_heco(description, folder)
    (folder / "pt.txt").unlink()
    (folder / "labels.npy").unlink()
    with pytest.raises(DataError, match="2 file.*missing.*labels.npy, pt.txt"):
        load_heco(description, folder)


def test_malformed_label_and_split_files_are_named(tmp_path: Path) -> None:
    description, folder = _chain_folder(tmp_path)
    labels = np.load(folder / "labels.npy")
    split = np.load(folder / "train_20.npy")

    (folder / "labels.npy").write_bytes(b"not numpy")
    with pytest.raises(DataError, match=r"labels\.npy: not a numpy \.npy file of labels"):
        load_heco(description, folder)
    np.save(folder / "labels.npy", np.array(["a"] * labels.shape[0]))
    with pytest.raises(DataError, match=r"labels\.npy: labels must be numeric class ids"):
        load_heco(description, folder)
    np.save(folder / "labels.npy", labels)

    # A fractional index used to be truncated silently (1.7 -> node 1).
    np.save(folder / "train_20.npy", split.astype(np.float64) + 0.7)
    with pytest.raises(DataError, match=r"train_20\.npy: entry 0 = .* is not a node index"):
        load_heco(description, folder)
    np.save(folder / "train_20.npy", split.astype(np.float64))  # integral floats are fine
    assert torch.equal(load_heco(description, folder)["author"].train_idx_20, torch.from_numpy(split))
    np.save(folder / "train_20.npy", np.stack([split, split]))
    with pytest.raises(DataError, match=r"train_20\.npy: expected a vector of node indices, got shape"):
        load_heco(description, folder)
    np.save(folder / "train_20.npy", split[:, None])  # a column vector is a vector
    assert load_heco(description, folder)["author"].train_idx_20.shape == split.shape
    np.savez(folder / "train_20.npy", split)
    (folder / "train_20.npy.npz").rename(folder / "train_20.npy")
    with pytest.raises(DataError, match=r"train_20\.npy: expected a single \.npy array"):
        load_heco(description, folder)


@pytest.mark.data
def test_staged_acm_and_dblp_metapath_counts_match_the_spec(shared_data: Path) -> None:
    root = shared_data / "heco"
    if not (root / "acm").is_dir():
        pytest.skip("HeCo data not staged")
    expected = {"acm": {"PAP": (57853, 21), "PSP": (4338213, 1)},
                "dblp": {"APA": (11113, 168), "APCPA": (5000495, 4124), "APTPA": (7043571, 14461)}}
    for name, paths in expected.items():
        data = load_dataset(name, root)
        assert isinstance(data, HeteroData)
        for metapath, (nnz, largest) in paths.items():
            edge_index, counts = metapath_adjacency(data, metapath)
            assert edge_index.shape[1] == nnz and counts.max().item() == largest
    acm = load_heco("acm", root, compute_metapaths=False)
    assert torch.bincount(acm["paper"].y).tolist() == [1993, 965, 1061]
    assert acm["paper"].train_idx_60.shape == (180,)
    dblp = load_heco("dblp", root, compute_metapaths=False)
    assert dblp["term"].x.shape == (7723, 50) and dblp["paper"].x.shape == (14328, 4231)
    assert int((dblp["author"].x.sum(1) == 0).sum()) == 39  # the all-zero author rows the spec lists
