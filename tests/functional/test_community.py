import logging

import networkx as nx
import pytest
import torch
from torch_geometric.utils import from_networkx

import graphcl.functional.community as community_mod
from graphcl.errors import ConfigError, DataError
from graphcl.functional.community import (
    attribute_voting_probability,
    communal_edge_weight,
    community_strength,
    detect_communities,
    edge_keep_probability,
    graph_hash,
    leiden_available,
    relabel_partition,
)


def _groups(community):
    return [set((community == c).nonzero().view(-1).tolist()) for c in range(int(community.max()) + 1)]


def _nx_graph(edge_index, n):
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from(edge_index.t().tolist())
    return g


def _graphs():
    karate = from_networkx(nx.karate_club_graph())
    yield "karate", karate.edge_index, karate.num_nodes
    sbm = nx.stochastic_block_model([20, 30, 15, 5], [[0.5, 0.02, 0.01, 0.0], [0.02, 0.3, 0.05, 0.0],
                                                     [0.01, 0.05, 0.6, 0.0], [0.0, 0.0, 0.0, 0.0]], seed=3)
    yield "sbm-with-isolated", from_networkx(sbm).edge_index, 70
    # Self-loops, duplicates and one-directional edges must all count like networkx's simple Graph.
    messy = torch.tensor([[0, 1, 1, 2, 2, 3, 3, 4, 0, 5], [1, 0, 2, 1, 2, 4, 4, 0, 0, 3]])
    yield "messy", messy, 7


@pytest.mark.parametrize("name,edge_index,n", list(_graphs()))
@pytest.mark.parametrize("partition", ["louvain", "random", "single"])
def test_strengths_sum_to_networkx_modularity(name, edge_index, n, partition):
    g = _nx_graph(edge_index, n)
    if partition == "louvain":
        community = detect_communities(edge_index, n, "louvain", seed=1)
    elif partition == "random":
        community = relabel_partition(torch.randint(0, 4, (n,), generator=torch.Generator().manual_seed(n)), n)
    else:
        community = torch.zeros(n, dtype=torch.long)
    strength = community_strength(edge_index, community, n).double()
    q = nx.community.modularity(g, _groups(community), weight=None)
    assert strength.sum().item() == pytest.approx(q, abs=1e-6)
    # Each term individually: L_c / m - (d_c / 2m)^2 from networkx's own counts.
    m = g.number_of_edges()
    for c, members in enumerate(_groups(community)):
        inner = g.subgraph(members).number_of_edges()
        deg = sum(d for _, d in g.degree(members))
        assert strength[c].item() == pytest.approx(inner / m - (deg / (2 * m)) ** 2, abs=1e-6)


def test_single_community_and_isolated_nodes():
    edge_index = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])  # path 0-1-2 plus isolated nodes 3, 4
    community = detect_communities(edge_index, 5, "louvain", seed=0)
    assert community[3] != community[4] and community[3] not in community[:3] and community[4] not in community[:3]
    strength = community_strength(edge_index, community, 5)
    assert strength[community[3]] == 0 and strength[community[4]] == 0
    # One community holding every node of a connected graph: 1 - 1 = 0.
    assert community_strength(edge_index[:, :4], torch.zeros(3, dtype=torch.long), 3).item() == pytest.approx(0.0)


def test_no_edges_gives_singletons_of_strength_zero():
    empty = torch.zeros((2, 0), dtype=torch.long)
    community = detect_communities(empty, 4, "louvain")
    assert community.tolist() == [0, 1, 2, 3]
    assert community_strength(empty, community, 4).tolist() == [0.0] * 4
    assert communal_edge_weight(empty, community, torch.zeros(4)).numel() == 0


def test_relabel_and_bad_partitions():
    assert relabel_partition(torch.tensor([7, 3, 7, 9]), 4).tolist() == [0, 1, 0, 2]
    with pytest.raises(DataError, match="one id per node: 5 entries"):
        relabel_partition(torch.tensor([0, 1, 1]), 5)
    with pytest.raises(DataError, match="non-negative"):
        relabel_partition([0, -1, 1], 3)
    with pytest.raises(DataError, match="integers"):
        relabel_partition(torch.tensor([0.0, 1.0]), 2)


def test_unknown_backend():
    with pytest.raises(ConfigError, match="unknown community detection backend 'infomap'"):
        detect_communities(torch.tensor([[0], [1]]), 2, backend="infomap")


def test_leiden_missing_falls_back_to_louvain_with_a_note(monkeypatch, caplog):
    monkeypatch.setattr(community_mod, "leiden_available", lambda: False)
    monkeypatch.setattr(community_mod, "_fallback_noted", False)
    edge_index = from_networkx(nx.karate_club_graph()).edge_index
    with caplog.at_level(logging.WARNING, logger="graphcl.functional.community"):
        got = detect_communities(edge_index, 34, backend="leiden", seed=2)
    assert "leidenalg/igraph are not installed" in caplog.text
    assert torch.equal(got, detect_communities(edge_index, 34, backend="louvain", seed=2))


@pytest.mark.skipif(not leiden_available(), reason="leidenalg/igraph not installed (extra 'community')")
def test_leiden_is_seeded():
    edge_index = from_networkx(nx.stochastic_block_model([30] * 5, [[0.3 if i == j else 0.02 for j in range(5)]
                                                                     for i in range(5)], seed=0)).edge_index
    a = detect_communities(edge_index, 150, "leiden", seed=5)
    assert torch.equal(a, detect_communities(edge_index, 150, "leiden", seed=5))
    assert community_strength(edge_index, a).sum() > 0.5


def test_graph_hash_ignores_order_and_direction():
    e = torch.tensor([[0, 1, 2], [1, 2, 3]])
    flipped = torch.tensor([[3, 1, 2, 1], [2, 0, 1, 2]])
    assert graph_hash(e, 4) == graph_hash(flipped, 4)
    assert graph_hash(e, 4) != graph_hash(e, 5)


def _two_community_graph():
    # Community 0: a 4-clique (strong); community 1: a path of 4 (weaker); one bridge 3-4.
    und = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3), (4, 5), (5, 6), (6, 7), (3, 4)]
    e = torch.tensor(und).t()
    edge_index = torch.cat([e, e.flip(0)], 1)
    community = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    strength = community_strength(edge_index, community)[community]
    return edge_index, community, strength


def test_edge_weight_orders_edges_by_strength():
    edge_index, community, strength = _two_community_graph()
    w = communal_edge_weight(edge_index, community, strength)
    assert w.min() == 0 and w.max() == 1
    row, col = edge_index
    intra_strong = w[(community[row] == 0) & (community[col] == 0)]
    intra_weak = w[(community[row] == 1) & (community[col] == 1)]
    inter = w[community[row] != community[col]]
    assert strength[0] > strength[4]
    assert (intra_strong == 1).all() and (intra_weak < 1).all() and (intra_weak > inter.max()).all()
    # Reference: the authors' per-edge loop.
    raw = []
    for u, v in edge_index.t().tolist():
        raw.append(strength[u].item() if community[u] == community[v] else -(strength[u] + strength[v]).item())
    raw = torch.tensor(raw)
    torch.testing.assert_close(w, (raw - raw.min()) / (raw.max() - raw.min()))


def test_edge_weight_all_equal_is_uniform():
    edge_index = torch.tensor([[0, 1], [1, 0]])
    w = communal_edge_weight(edge_index, torch.zeros(2, dtype=torch.long), torch.zeros(2))
    assert w.tolist() == [1.0, 1.0]
    assert edge_keep_probability(w, 0.3).tolist() == pytest.approx([0.7, 0.7])


def test_keep_probability_mean_clamp_and_threshold():
    w = torch.linspace(0, 1, 101)
    keep = edge_keep_probability(w, 0.6)
    assert keep.mean().item() == pytest.approx(0.4, abs=1e-6)  # max 0.8, never clipped
    assert keep[0] == 0  # the weakest edge is always dropped with threshold 1 (authors' quirk, kept)
    assert torch.all(torch.diff(keep) >= 0)
    assert edge_keep_probability(w, 0.6, threshold=0.3).min().item() == pytest.approx(0.7)


def test_keep_probability_clips_at_one():
    keep = edge_keep_probability(torch.linspace(0, 1, 101), 0.1)  # 1.8 * w exceeds 1 for w > 0.56
    assert keep.max() == 1 and keep.mean() < 0.9


def test_attribute_voting_mean_monotone_and_guards():
    x = torch.tensor([[1.0, 0.0, 0.5, 0.0], [1.0, 1.0, 0.0, 0.0], [0.0, 1.0, 0.5, 0.0]])
    strength = torch.tensor([0.3, 0.1, 0.2])
    p = attribute_voting_probability(x, strength, 0.2)
    assert p[3] == 0  # an all-zero feature is never masked
    votes = x.abs().t() @ strength  # 0.4, 0.3, 0.25 -> drop probability grows as the vote shrinks
    assert p[0] < p[1] < p[2]
    assert votes[0] > votes[1] > votes[2]
    assert p.mean().item() == pytest.approx(0.2, abs=1e-6)
    assert p[0] == 0  # the best-voted feature


def test_attribute_voting_negative_and_zero_votes_give_no_nan():
    x = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    negative = attribute_voting_probability(x, torch.tensor([-0.2, 0.1]), 0.3)
    assert torch.isfinite(negative).all() and negative[0] == negative.max()  # negative vote: most likely dropped
    for strength in (torch.zeros(2), torch.tensor([-0.1, -0.2])):  # no positive vote at all: uniform p
        p = attribute_voting_probability(x, strength, 0.3)
        assert p.tolist() == pytest.approx([0.3, 0.3, 0.3])
    capped = attribute_voting_probability(x, torch.tensor([1.0, 0.001]), 0.9, threshold=0.5)
    assert capped.max() <= 0.5 and torch.isfinite(capped).all()


def test_probability_and_shape_mistakes_name_the_argument():
    ei = torch.tensor([[0, 1, 2, 3], [1, 0, 3, 2]])
    with pytest.raises(ValueError, match="'p' must be in"):
        edge_keep_probability(torch.rand(5), 1.5)  # was: every edge silently dropped
    with pytest.raises(ValueError, match="'threshold' must be in"):
        edge_keep_probability(torch.rand(5), 0.3, threshold=-0.5)
    with pytest.raises(ValueError, match="'p' must be in"):
        attribute_voting_probability(torch.rand(6, 3), torch.rand(6), 1.5)
    with pytest.raises(ValueError, match="'threshold' must be in"):
        attribute_voting_probability(torch.rand(6, 3), torch.rand(6), 0.3, threshold=-0.5)  # was: p = -0.5
    with pytest.raises(DataError, match="'node_strength' must be"):
        attribute_voting_probability(torch.rand(6, 3), torch.rand(5), 0.3)
    with pytest.raises(DataError, match="non-negative"):
        community_strength(ei, torch.tensor([0, 0, -1, 1]))
    with pytest.raises(DataError, match="integer ids"):
        community_strength(ei, torch.tensor([0.0, 0.0, 1.0, 1.0]))
    with pytest.raises(DataError, match="outside"):
        community_strength(ei, torch.tensor([0, 0, 1]), num_nodes=3)
    with pytest.raises(DataError, match="'node_strength' must both be"):
        communal_edge_weight(ei, torch.tensor([0, 0, 1, 1]), torch.ones(3))
    with pytest.raises(DataError, match="outside"):
        communal_edge_weight(ei, torch.tensor([0, 0, 1]), torch.ones(3))
