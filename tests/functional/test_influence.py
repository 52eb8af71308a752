"""Influence matrix Â_r (dense reference) and the vectorised kNN graph."""
from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Data

from graphcl.errors import ConfigError
from graphcl.functional import AddInfluence, influence_matrix, knn_graph


def dense(ei, w, n):
    return torch.zeros(n, n, dtype=w.dtype).index_put((ei[0], ei[1]), w, accumulate=True)


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("cumulative", [True, False])
def test_influence_matches_dense_powers(order, cumulative):
    g = torch.Generator().manual_seed(order)
    n = 25
    ei = torch.randint(0, n, (2, 40), generator=g)
    a = (dense(ei, torch.ones(40), n) > 0).float()
    a = torch.maximum(a, a.t()) * (1 - torch.eye(n))
    a_hat = a + torch.eye(n)
    a_hat = a_hat / a_hat.sum(1, keepdim=True)
    powers = [torch.linalg.matrix_power(a_hat, t) for t in range(1, order + 1)]
    ref = sum(powers) if cumulative else powers[-1]
    idx, val = influence_matrix(ei, n, order, cumulative=cumulative)
    torch.testing.assert_close(dense(idx, val, n), ref, atol=1e-6, rtol=1e-5)
    rows = torch.zeros(n).index_add_(0, idx[0], val)
    torch.testing.assert_close(rows, torch.full((n,), float(order if cumulative else 1)), atol=1e-5, rtol=0)


def test_isolated_nodes_keep_their_self_loop_and_transform():
    data = Data(edge_index=torch.tensor([[0, 1], [1, 0]]), num_nodes=4)
    out = AddInfluence(order=2)(data)
    d = dense(out.influence_index, out.influence_weight, 4)
    assert d[3, 3] == pytest.approx(2.0) and d[2, 2] == pytest.approx(2.0)
    assert torch.equal(out.edge_index, data.edge_index)


def test_influence_bad_order():
    with pytest.raises(ConfigError, match="order"):
        influence_matrix(torch.tensor([[0], [1]]), 2, 0)
    with pytest.raises(ConfigError, match="order"):
        AddInfluence(order=0)


@pytest.mark.parametrize("metric", ["heat", "cosine", "ncos", "dot"])
def test_knn_matches_brute_force(metric):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(60, 7, generator=g, dtype=torch.float64)
    ei, w = knn_graph(x, 4, metric=metric, chunk_size=16)
    if metric == "heat":
        sim = torch.exp(-torch.cdist(x, x) ** 2 / 2.0)
    elif metric == "cosine":
        xn = torch.nn.functional.normalize(x, dim=1)
        sim = xn @ xn.t()
    elif metric == "ncos":
        b = (x > 0).double()
        b = b / b.sum(1, keepdim=True)
        sim = b @ b.t()
    else:
        sim = x @ x.t()
    sim.fill_diagonal_(float("-inf"))
    ref = sim.topk(4, dim=1)
    assert ei.shape == (2, 240)
    assert torch.equal(ei[0], torch.arange(60).repeat_interleave(4))
    if metric != "ncos":  # ncos has ties on binarised features
        assert torch.equal(ei[1].view(60, 4).sort(1).values, ref.indices.sort(1).values)
    torch.testing.assert_close(w.view(60, 4), ref.values.to(w.dtype), atol=1e-6, rtol=1e-6)
    sym, _ = knn_graph(x, 4, metric=metric, symmetrize=True)
    assert sym.size(1) >= 240


def test_knn_bad_input():
    with pytest.raises(ConfigError, match="k must"):
        knn_graph(torch.rand(5, 2), 5)
    with pytest.raises(ConfigError, match="metric"):
        knn_graph(torch.rand(5, 2), 2, metric="l1")


def test_influence_and_knn_reject_non_integer_ids_and_bad_bandwidth():
    from graphcl.errors import DataError

    with pytest.raises(DataError, match="integer node ids"):
        influence_matrix(torch.tensor([[0.0, 1.7], [1.2, 0.0]]), 3)  # was: silently truncated to ints
    with pytest.raises(DataError, match="edge_weight"):
        influence_matrix(torch.tensor([[0, 1], [1, 0]]), 2, edge_weight=[1.0, 1.0])
    for t in (0.0, -1.0, float("nan")):
        with pytest.raises(ConfigError, match="bandwidth"):
            knn_graph(torch.rand(5, 2), 2, t=t)
    knn_graph(torch.rand(5, 2), 2, metric="cosine", t=0.0)  # t is only read by the heat kernel
    with pytest.raises(DataError, match=r"\[N, F\] tensor"):
        knn_graph([[0.0, 1.0]] * 3, 1)


def test_add_influence_repr_shows_every_option():
    assert repr(AddInfluence(order=2, cumulative=False, symmetrize=False)) == (
        "AddInfluence(order=2, cumulative=False, symmetrize=False)"
    )
