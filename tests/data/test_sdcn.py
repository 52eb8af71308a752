"""SDCN text-format loader (synthetic files) and the dblp-sdcn dataset (staged HeCo files)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from graphcl.data import load_dataset
from graphcl.data.sdcn import load_sdcn
from graphcl.errors import DataError


def write(folder, name, x, y, edges, k=None):
    folder.mkdir(parents=True, exist_ok=True)
    np.savetxt(folder / f"{name}.txt", x, fmt="%.4f")
    np.savetxt(folder / f"{name}_label.txt", y, fmt="%d")
    if edges is not None:
        np.savetxt(folder / (f"{name}_graph.txt" if k is None else f"{name}{k}_graph.txt"), edges, fmt="%d")


def test_text_format_roundtrip_symmetrised_without_self_loops(tmp_path):
    x = np.random.default_rng(0).random((6, 3))
    write(tmp_path / "data", "toy", x, [3, 3, 5, 5, 7, 7], None)
    write(tmp_path / "graph", "toy", x, [3, 3, 5, 5, 7, 7], np.array([[0, 1], [1, 0], [2, 3], [4, 4], [5, 0]]), k=3)
    data = load_sdcn("toy", tmp_path, k=3)
    assert data.num_nodes == 6 and data.x.shape == (6, 3)
    torch.testing.assert_close(data.x, torch.tensor(x, dtype=torch.float32), atol=1e-4, rtol=0)
    assert data.y.tolist() == [0, 0, 1, 1, 2, 2]
    pairs = set(map(tuple, data.edge_index.t().tolist()))
    assert pairs == {(0, 1), (1, 0), (2, 3), (3, 2), (0, 5), (5, 0)}


def test_missing_graph_can_be_rebuilt_as_knn(tmp_path):
    x = np.random.default_rng(1).random((20, 4))
    write(tmp_path, "usps", x, np.arange(20) % 2, None)
    with pytest.raises(DataError, match="usps3_graph.txt"):
        load_sdcn("usps", tmp_path, k=3)
    data = load_sdcn("usps", tmp_path, k=3, build_missing_graph=True)
    assert data.edge_index.size(1) >= 60


def test_text_format_errors_name_the_file(tmp_path):
    write(tmp_path, "bad", np.ones((4, 2)), [0, 1, 0], np.array([[0, 1]]))
    with pytest.raises(DataError, match="3 labels for 4"):
        load_sdcn("bad", tmp_path)
    write(tmp_path, "oob", np.ones((4, 2)), [0, 1, 0, 1], np.array([[0, 9]]))
    with pytest.raises(DataError, match="oob_graph.txt.*outside"):
        load_sdcn("oob", tmp_path)
    with pytest.raises(DataError, match="missing"):
        load_sdcn("none", tmp_path)


@pytest.mark.data
def test_dblp_sdcn_statistics(shared_data):
    if not (shared_data / "heco" / "dblp" / "a_feat.npz").is_file():
        pytest.skip("HeCo DBLP files not staged")
    data = load_dataset("dblp-sdcn", root=shared_data / "heco")
    assert (data.num_nodes, data.edge_index.size(1), data.num_features) == (4057, 7056, 334)
    assert data.y.bincount().tolist() == [1197, 745, 1109, 1006]
    assert set(data.x.unique().tolist()) == {0.0, 1.0}  # raw binary, not row-normalised
    assert not bool((data.edge_index[0] == data.edge_index[1]).any())
