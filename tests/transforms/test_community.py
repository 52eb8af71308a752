import networkx as nx
import pytest
import torch
from torch_geometric.data import Data, HeteroData
from torch_geometric.transforms import Compose
from torch_geometric.utils import from_networkx

import graphcl.transforms.community as tmod
from graphcl.errors import ConfigError, DataError
from graphcl.transforms import (
    AddCommunities,
    CommunalAttributeVoting,
    CommunalEdgeDropping,
    DropEdge,
    MaskFeature,
)


def _sbm_graph(seed=0, features=12):
    sizes = [25, 20, 15, 10]
    probs = [[0.5, 0.02, 0.01, 0.01], [0.02, 0.25, 0.03, 0.01], [0.01, 0.03, 0.12, 0.02], [0.01, 0.01, 0.02, 0.3]]
    g = from_networkx(nx.stochastic_block_model(sizes, probs, seed=seed))
    gen = torch.Generator().manual_seed(seed)
    x = (torch.rand(70, features, generator=gen) < 0.3).float()
    x[:, -1] = 0  # one all-zero feature
    return Data(x=x, edge_index=g.edge_index, edge_attr=torch.arange(g.edge_index.size(1)).float())


@pytest.fixture(autouse=True)
def _isolated_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("GRAPHCL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(tmod, "_MEMORY_CACHE", type(tmod._MEMORY_CACHE)())


def test_add_communities_stores_per_node_community_and_strength():
    data = _sbm_graph()
    out = AddCommunities(backend="louvain", seed=0)(data)
    assert "community" not in data  # the input graph is not modified
    assert out.community.shape == (70,) and out.community.dtype == torch.long
    assert out.community_strength.shape == (70,) and out.community_strength.dtype == torch.float32
    # Nodes of the same community share one strength, and the distinct strengths sum to the modularity.
    per_community = torch.zeros(int(out.community.max()) + 1).scatter_(0, out.community, out.community_strength)
    g = nx.Graph(out.edge_index.t().tolist())
    g.add_nodes_from(range(70))
    groups = [set((out.community == c).nonzero().view(-1).tolist()) for c in range(per_community.numel())]
    assert per_community.sum().item() == pytest.approx(nx.community.modularity(g, groups, weight=None), abs=1e-5)


def test_disk_cache_reproduces_the_partition(monkeypatch, tmp_path):
    data = _sbm_graph()
    first = AddCommunities(backend="louvain", seed=3, cache_dir=tmp_path / "c")(data).community
    files = list((tmp_path / "c").glob("*-louvain-seed3-res1.pt"))
    assert len(files) == 1
    # A fresh process (empty memory cache) must read the file instead of detecting again.
    monkeypatch.setattr(tmod, "_MEMORY_CACHE", type(tmod._MEMORY_CACHE)())

    def no_detection(*args, **kwargs):
        raise AssertionError("detection ran although the partition was cached")

    monkeypatch.setattr(tmod, "detect_communities", no_detection)
    again = AddCommunities(backend="louvain", seed=3, cache_dir=tmp_path / "c")(data).community
    assert torch.equal(first, again)
    # Another seed is another cache entry.
    monkeypatch.undo()
    monkeypatch.setenv("GRAPHCL_CACHE", str(tmp_path / "cache"))
    AddCommunities(backend="louvain", seed=4, cache_dir=tmp_path / "c")(data)
    assert len(list((tmp_path / "c").glob("*.pt"))) == 2


def test_memory_cache_off_reads_the_disk_cache_on_every_call(monkeypatch, tmp_path):
    data = _sbm_graph()
    transform = AddCommunities(backend="louvain", seed=3, cache_dir=tmp_path / "c", memory_cache=False)
    first = transform(data).community
    assert len(tmod._MEMORY_CACHE) == 0
    read = []
    original = AddCommunities._read
    monkeypatch.setattr(AddCommunities, "_read", staticmethod(lambda *a: read.append(1) or original(*a)))
    assert torch.equal(transform(data).community, first)
    assert read == [1]


def test_cache_disabled_writes_nothing(tmp_path):
    AddCommunities(backend="louvain", cache=False, cache_dir=tmp_path / "c")(_sbm_graph())
    assert not (tmp_path / "c").exists()


def test_user_partition_and_attribute_partition():
    data = _sbm_graph()
    given = torch.arange(70) // 10
    out = AddCommunities(partition=given)(data)
    assert torch.equal(out.community, given)
    data.planted = given * 2 + 5
    assert torch.equal(AddCommunities(partition="planted")(data).community, given)
    with pytest.raises(DataError, match="one id per node: 70 entries"):
        AddCommunities(partition=torch.zeros(69, dtype=torch.long))(data)
    with pytest.raises(DataError, match="lacks"):
        AddCommunities(partition="nope")(data)


def test_bad_input_errors():
    with pytest.raises(ConfigError, match="unknown backend 'walktrap'"):
        AddCommunities(backend="walktrap")
    with pytest.raises(DataError, match="HeteroData"):
        AddCommunities()(HeteroData())
    with pytest.raises(DataError, match="apply AddCommunities"):
        CommunalEdgeDropping(0.3)(_sbm_graph())
    with pytest.raises(DataError, match="apply AddCommunities"):
        CommunalAttributeVoting(0.3)(_sbm_graph())
    with pytest.raises(ConfigError, match="'p' must be in"):
        CommunalEdgeDropping(1.5)
    bad = AddCommunities(backend="louvain")(_sbm_graph())
    bad.community_strength = bad.community_strength[:-1]
    with pytest.raises(DataError, match="one per node"):
        CommunalEdgeDropping(0.3)(bad)


def test_graph_without_edges_and_isolated_nodes():
    data = Data(x=torch.ones(5, 3), edge_index=torch.zeros((2, 0), dtype=torch.long))
    out = AddCommunities(backend="louvain")(data)
    assert out.community.tolist() == [0, 1, 2, 3, 4] and out.community_strength.tolist() == [0.0] * 5
    assert CommunalEdgeDropping(0.5)(out).edge_index.shape == (2, 0)
    # No community has a positive strength: CAV falls back to uniform masking instead of NaN.
    assert CommunalAttributeVoting(0.4).drop_probability(out).tolist() == pytest.approx([0.4] * 3)


def test_ced_marginal_keep_rates_match_probabilities():
    data = AddCommunities(backend="louvain", seed=0)(_sbm_graph())
    ced = CommunalEdgeDropping(p=0.4)
    keep = ced.keep_probability(data)
    assert keep.mean().item() == pytest.approx(0.6, abs=0.02)
    torch.manual_seed(0)
    draws = 3000
    counts = torch.zeros(data.edge_index.size(1))
    for _ in range(draws):
        view = ced(data)
        counts[view.edge_attr.long()] += 1  # edge_attr carries the original edge id: still aligned
    freq = counts / draws
    # Binomial standard error <= 0.5 / sqrt(3000) ~ 0.009; 5 sigma bound per edge.
    assert (freq - keep).abs().max() < 0.05
    assert data.edge_index.size(1) == counts.numel()  # the input graph was never modified


def test_ced_is_monotone_in_strength_and_stateless():
    data = AddCommunities(backend="louvain", seed=0)(_sbm_graph())
    ced = CommunalEdgeDropping(p=0.3)
    keep = ced.keep_probability(data)
    assert torch.equal(ced.keep_probability(data), keep)  # a function of the graph, no state
    row, col = data.edge_index
    intra = data.community[row] == data.community[col]
    s = data.community_strength
    # Intra edges: keep probability non-decreasing in the community's strength.
    order = torch.argsort(s[row][intra])
    assert torch.all(torch.diff(keep[intra][order]) >= -1e-6)
    # Inter edges: non-increasing in the summed strength of both ends.
    order = torch.argsort((s[row] + s[col])[~intra])
    assert torch.all(torch.diff(keep[~intra][order]) <= 1e-6)
    other = data.clone()
    other.edge_index = other.edge_index.flip(0)
    assert torch.allclose(ced.keep_probability(other), keep)  # both directions weigh the same
    data.community_strength[:] = data.community_strength.flip(0)  # in place: the next call sees the new strengths
    assert not torch.equal(ced.keep_probability(data), keep)


def test_ced_force_undirected_keeps_pairs_together():
    data = AddCommunities(backend="louvain", seed=0)(_sbm_graph())
    view = CommunalEdgeDropping(0.5, force_undirected=True)(data)
    pairs = set(map(tuple, view.edge_index.t().tolist()))
    assert all((v, u) in pairs for u, v in pairs)


def test_cav_marginal_drop_rates_and_zero_column():
    data = AddCommunities(backend="louvain", seed=0)(_sbm_graph())
    cav = CommunalAttributeVoting(p=0.3)
    drop = cav.drop_probability(data)
    assert drop[-1] == 0 and torch.isfinite(drop).all()
    assert drop.mean().item() == pytest.approx(0.3, abs=0.03)
    torch.manual_seed(1)
    draws = 3000
    dropped = torch.zeros(drop.numel())
    for _ in range(draws):
        x = cav(data).x
        masked = (x == 0).all(0) & (data.x != 0).any(0)
        dropped += masked.float()
    assert ((dropped / draws) - drop)[:-1].abs().max() < 0.05


def test_cav_negative_strengths_no_nan():
    data = AddCommunities(backend="louvain", seed=0)(_sbm_graph())
    data.community_strength = data.community_strength - data.community_strength.max()  # all <= 0
    drop = CommunalAttributeVoting(p=0.2).drop_probability(data)
    assert torch.isfinite(drop).all()
    data.community_strength[:10] = 0.5  # a few positive votes, the rest non-positive
    drop = CommunalAttributeVoting(p=0.2).drop_probability(data)
    assert torch.isfinite(drop).all() and (drop >= 0).all() and (drop <= 1).all()


def test_compose_with_foundation_transforms():
    data = AddCommunities(backend="louvain", seed=0)(_sbm_graph())
    torch.manual_seed(0)
    view = Compose([CommunalEdgeDropping(0.3), CommunalAttributeVoting(0.2), DropEdge(0.1), MaskFeature(0.1)])(data)
    assert view.edge_index.size(1) < data.edge_index.size(1)
    assert view.edge_attr.size(0) == view.edge_index.size(1)
    assert torch.equal(view.community_strength, data.community_strength)
    assert "CommunalEdgeDropping(p=0.3)" in repr(CommunalEdgeDropping(0.3))
