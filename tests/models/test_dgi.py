import torch

from graphcl.models import DGI
from graphcl.models.dgi import shuffle_rows
from tests.models._toy import toy_graph, train_losses


def test_loss_is_pyg_deep_graph_infomax_and_training_decreases_it():
    torch.manual_seed(0)
    data = toy_graph()
    model = DGI.build(data.num_features, 16)
    torch.manual_seed(1)
    loss = model(data)
    torch.manual_seed(1)
    pos, neg, summary = model.infomax(data.x, data.edge_index)
    assert torch.allclose(loss, model.infomax.loss(pos, neg, summary))
    assert torch.allclose(summary, torch.sigmoid(pos.mean(0)))
    losses = train_losses(model, data, steps=40)
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5


def test_corruption_permutes_rows_and_embed_is_clean():
    x = torch.arange(12.0).view(6, 2)
    shuffled, edge_index = shuffle_rows(x, "graph")
    assert edge_index == "graph" and sorted(shuffled[:, 0].tolist()) == x[:, 0].tolist()
    data = toy_graph()
    model = DGI.build(data.num_features, 8)
    z = model.embed(data)
    assert z.shape == (data.num_nodes, 8) and not z.requires_grad and model.training
    assert torch.equal(z, model.embed(data))
