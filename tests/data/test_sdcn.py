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


def test_edge_errors_name_the_offending_line_and_id(tmp_path):
    # A negative id used to be reported as the largest id of the file ("node id 3 outside [0, 4)").
    write(tmp_path, "neg", np.ones((4, 2)), [0, 1, 0, 1], np.array([[0, 1], [-1, 2], [2, 3]]))
    with pytest.raises(DataError, match=r"neg_graph\.txt, line 2: edge \(-1, 2\) has a node id outside \[0, 4\)"):
        load_sdcn("neg", tmp_path)
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "empty_label.txt").write_text("")
    (tmp_path / "empty_graph.txt").write_text("0 1\n")
    with pytest.warns(UserWarning), pytest.raises(DataError, match=r"empty\.txt: no feature rows"):
        load_sdcn("empty", tmp_path)


def _dblp_folder(tmp_path, n=5):
    """A tiny HeCo DBLP folder: authors 0..n-1, papers joining consecutive authors."""
    import scipy.sparse as sp

    folder = tmp_path / "dblp"
    folder.mkdir(parents=True)
    sp.save_npz(folder / "a_feat.npz", sp.csr_matrix(np.eye(n, 3)))
    np.savetxt(folder / "pa.txt", np.array([[p, a] for p in range(n - 1) for a in (p, p + 1)]), fmt="%d")
    np.save(folder / "labels.npy", np.arange(n) % 2)
    return folder


def test_dblp_sdcn_bad_files_are_named(tmp_path):
    from graphcl.data.sdcn import load_dblp_sdcn

    folder = _dblp_folder(tmp_path)
    data = load_dblp_sdcn(tmp_path)
    assert data.edge_index.size(1) == 8 and data.y.tolist() == [0, 1, 0, 1, 0]
    with open(folder / "pa.txt", "a") as handle:
        handle.write("4 -1\n")
    with pytest.raises(DataError, match=r"pa\.txt, line 9: paper 4, author -1 is out of range"):
        load_dblp_sdcn(tmp_path)
    (folder / "pa.txt").write_text("0 1 2\n")
    with pytest.raises(DataError, match=r"pa\.txt: expected two integer columns"):
        load_dblp_sdcn(tmp_path)
    folder = _dblp_folder(tmp_path / "b")
    (folder / "labels.npy").write_bytes(b"garbage")
    with pytest.raises(DataError, match=r"labels\.npy: not a numpy"):
        load_dblp_sdcn(tmp_path / "b")
    np.save(folder / "labels.npy", np.arange(4))
    with pytest.raises(DataError, match=r"labels\.npy: expected 5 integer labels"):
        load_dblp_sdcn(tmp_path / "b")
    np.save(folder / "labels.npy", np.arange(5))
    np.save(folder / "a_feat.npy", np.ones((5, 2)))  # a dense array under the .npz name, as HeCo's t_feat
    (folder / "a_feat.npy").rename(folder / "a_feat.npz")
    assert load_dblp_sdcn(tmp_path / "b").x.shape == (5, 2)
