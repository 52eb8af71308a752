import math

import networkx as nx
import pytest
import torch

from graphcl.functional import (
    adaptive_drop_probability,
    centrality_drop_weights,
    degree_centrality,
    eigenvector_centrality,
    feature_centrality,
    node_centrality,
    pagerank_centrality,
)


def random_graph(n=30, e=80, seed=0):
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, e), generator=g)
    return ei[:, ei[0] != ei[1]]


def test_degree_counts_the_symmetrised_graph():
    ei = torch.tensor([[0, 0, 1, 2], [1, 2, 0, 3]])  # 0-1 both ways, 0->2, 2->3
    assert degree_centrality(ei, 5).tolist() == [2.0, 1.0, 2.0, 1.0, 0.0]


def test_pagerank_matches_a_naive_power_iteration():
    ei = random_graph()
    n = 30
    out_deg = [0] * n
    for u in ei[0].tolist():
        out_deg[u] += 1
    x = [1.0] * n
    for _ in range(7):
        agg = [0.0] * n
        for u, v in ei.t().tolist():
            agg[v] += x[u] / out_deg[u]
        x = [0.15 * x[i] + 0.85 * agg[i] for i in range(n)]
    assert pagerank_centrality(ei, n, iterations=7).tolist() == pytest.approx(x, rel=1e-5)


def test_eigenvector_matches_networkx():
    ei = random_graph(n=25, e=120, seed=3)
    graph = nx.DiGraph()
    graph.add_nodes_from(range(25))
    graph.add_edges_from(ei.t().tolist())
    expected = nx.eigenvector_centrality_numpy(graph)
    got = eigenvector_centrality(ei, 25)
    assert got.tolist() == pytest.approx([max(expected[i], 0.0) for i in range(25)], abs=1e-5)


def test_drop_weights_follow_the_formula_and_have_mean_one():
    c = torch.tensor([0.0, 1.0, 3.0, 7.0])
    s = [math.log(v + 1) for v in c.tolist()]
    mean = sum(s) / 4
    expected = [(max(s) - v) / (max(s) - mean) for v in s]
    w = centrality_drop_weights(c)
    assert w.tolist() == pytest.approx(expected, rel=1e-6)
    assert w.mean().item() == pytest.approx(1.0)
    assert centrality_drop_weights(torch.full((3,), 2.0)).tolist() == [1.0, 1.0, 1.0]  # no NaN


def test_adaptive_probability_has_mean_p_and_is_capped():
    w = torch.tensor([0.0, 0.5, 1.0, 2.5])
    p = adaptive_drop_probability(w, 0.2, threshold=1.0)
    assert p.mean().item() == pytest.approx(0.2)
    capped = adaptive_drop_probability(w, 0.4, threshold=0.7)
    assert capped.max().item() == pytest.approx(0.7) and capped[0].item() == 0.0
    with pytest.raises(ValueError):
        adaptive_drop_probability(w, 1.5)


def test_feature_centrality_sums_the_centrality_of_nodes_having_the_feature():
    x = torch.tensor([[1.0, 0.0], [0.5, 2.0], [0.0, 0.0]])
    c = torch.tensor([1.0, 2.0, 4.0])
    assert feature_centrality(x, c).tolist() == [3.0, 2.0]
    assert feature_centrality(x, c, dense=True).tolist() == [2.0, 4.0]


def test_node_centrality_dispatches_and_validates():
    ei = random_graph()
    assert torch.equal(node_centrality(ei, 30, "degree"), degree_centrality(ei, 30))
    with pytest.raises(ValueError, match="scheme"):
        node_centrality(ei, 30, "closeness")
    with pytest.raises(ValueError, match="outside"):
        degree_centrality(ei, 5)
