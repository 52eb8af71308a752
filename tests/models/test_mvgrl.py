import pytest
import torch
from torch_geometric.utils import coalesce, to_dense_adj

from graphcl.errors import DataError
from graphcl.models import MVGRL
from graphcl.models.mvgrl import ppr_diffusion
from graphcl.train import fit
from tests.models._toy import toy_graph, train_losses


def test_diffusion_is_mvgrl_ppr_matrix():
    data = toy_graph(n=20)
    data.edge_index = coalesce(data.edge_index)  # no parallel edges: A is binary
    index, weight = ppr_diffusion(data, alpha=0.2, eps=1e-12)
    s = to_dense_adj(index, edge_attr=weight, max_num_nodes=20)[0]
    a = to_dense_adj(data.edge_index, max_num_nodes=20)[0] + torch.eye(20)
    d = a.sum(1).pow(-0.5)
    t = d[:, None] * a * d[None, :]
    expected = 0.2 * torch.linalg.inv(torch.eye(20) - 0.8 * t)
    assert torch.allclose(s, expected, atol=1e-5)


def test_training_decreases_the_loss_and_embedding_sums_the_views():
    torch.manual_seed(0)
    data = toy_graph()
    model = MVGRL.build(data.num_features, 16, diffusion_eps=1e-3)
    prepared = model.prepare(data)
    losses = train_losses(model, prepared, steps=40, lr=0.005)
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5
    model.eval()
    with torch.no_grad():
        h1, h2 = model.views(prepared, model.diffusion_matrix(prepared))
    assert torch.allclose(model.embed(data), h1 + h2, atol=1e-6)


def test_prepare_is_idempotent_and_embed_prepares_a_raw_graph():
    data = toy_graph()
    model = MVGRL.build(data.num_features, 8)
    prepared = model.prepare(data)
    assert model.prepare(prepared) is prepared  # idempotent
    with pytest.raises(DataError, match="model.prepare"):
        model(data)  # training preparation is explicit, never redone inside forward
    fit(model, prepared, epochs=3, show_progress=False)
    assert torch.allclose(model.embed(data), model.embed(prepared))
