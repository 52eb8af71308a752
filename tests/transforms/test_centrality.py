import pytest
import torch
from torch_geometric.data import Data

from graphcl.errors import ConfigError, DataError
from graphcl.transforms import AdaptiveDropEdge, AdaptiveMaskFeature, AddCentrality


def graph(n=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, 200), generator=g)
    ei = ei[:, ei[0] != ei[1]]
    x = (torch.rand(n, 12, generator=g) < 0.3).float()
    return Data(x=x, edge_index=ei, edge_attr=torch.arange(ei.size(1)).float(), num_nodes=n)


@pytest.mark.parametrize("scheme", ["degree", "pagerank", "eigenvector"])
def test_add_centrality_stores_mean_one_weights(scheme):
    data = graph()
    out = AddCentrality(scheme)(data)
    assert out.edge_drop_weight.shape == (data.edge_index.size(1),)
    assert out.feature_drop_weight.shape == (1, 12)
    assert out.edge_drop_weight.mean().item() == pytest.approx(1.0, abs=1e-5)
    assert "edge_drop_weight" not in data  # input untouched


def test_adaptive_drop_edge_keeps_attributes_aligned_and_rates():
    torch.manual_seed(0)
    data = AddCentrality("degree")(graph())
    assert AdaptiveDropEdge(0.0)(data).edge_index.size(1) == data.edge_index.size(1)
    kept = []
    for _ in range(200):
        view = AdaptiveDropEdge(0.3, threshold=1.0)(data)
        kept.append(view.edge_index.size(1) / data.edge_index.size(1))
        idx = view.edge_attr.long()
        assert torch.equal(view.edge_index, data.edge_index[:, idx])
        assert torch.equal(view.edge_drop_weight, data.edge_drop_weight[idx])
    assert sum(kept) / len(kept) == pytest.approx(0.7, abs=0.02)


def test_low_centrality_edges_are_dropped_more_often():
    torch.manual_seed(0)
    data = AddCentrality("degree")(graph())
    counts = torch.zeros(data.edge_index.size(1))
    for _ in range(300):
        counts[AdaptiveDropEdge(0.3)(data).edge_attr.long()] += 1
    w = data.edge_drop_weight
    assert counts[w > w.median()].mean() < counts[w < w.median()].mean()


def test_adaptive_mask_feature_masks_whole_columns():
    torch.manual_seed(0)
    data = AddCentrality("pagerank")(graph())
    view = AdaptiveMaskFeature(0.5)(data)
    masked = (view.x == 0).all(0) & (data.x != 0).any(0)
    assert masked.any()
    assert torch.equal(view.x[:, ~masked], data.x[:, ~masked])


def test_errors():
    with pytest.raises(DataError, match="AddCentrality"):
        AdaptiveDropEdge(0.2)(graph())
    with pytest.raises(DataError, match="AddCentrality"):
        AdaptiveMaskFeature(0.2)(graph())
    with pytest.raises(ConfigError, match="scheme"):
        AddCentrality("betweenness")
    with pytest.raises(ConfigError):
        AdaptiveDropEdge(1.5)
