"""PamC declares and reports the number of non-empty clusters of argmax Q over training."""
import torch
from torch_geometric.data import Data

from graphcl.models import PamC


def test_nonempty_clusters_are_declared_and_reported() -> None:
    assert PamC.extra_metrics == ("nonempty_clusters", "nonempty_clusters_first", "nonempty_clusters_min")
    torch.manual_seed(0)
    x = torch.cat([torch.randn(20, 8) + 4, torch.randn(20, 8) - 4])
    edge_index = torch.stack([torch.arange(39), torch.arange(1, 40)])
    data = Data(x=x, edge_index=torch.cat([edge_index, edge_index.flip(0)], 1), num_nodes=40)
    model = PamC.build(8, num_clusters=3, hidden_channels=[16], embedding_dim=4, pretrain_epochs=1)
    assert model.extra_metric_values() == {}
    data = model.prepare(data)  # influence graph and pre-training where the model prepares explicitly
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(5):
        optimizer.zero_grad()
        sum(model(data).values()).backward()
        optimizer.step()
    values = model.extra_metric_values()
    history = [int(torch.unique(p).numel()) for p in model.cluster_history]
    assert values == {"nonempty_clusters": float(history[-1]), "nonempty_clusters_first": float(history[0]),
                      "nonempty_clusters_min": float(min(history))}
    assert 1 <= values["nonempty_clusters_min"] <= values["nonempty_clusters"] <= 3
