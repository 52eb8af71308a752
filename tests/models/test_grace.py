import copy

import pytest
import torch
from torch_geometric.data import Data

from graphcl.losses import InfoNCE
from graphcl.models import GRACE


def toy_graph(n=40, f=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = torch.rand(n, f, generator=g) + y.unsqueeze(1).float()
    src = torch.randint(0, n, (120,), generator=g)
    dst = torch.randint(0, n, (120,), generator=g)
    ei = torch.cat([torch.stack([src, dst]), torch.stack([dst, src])], 1)
    ei = ei[:, ei[0] != ei[1]]
    return Data(x=x, edge_index=ei, y=y, num_nodes=n)


def test_forward_returns_scalar_loss_that_training_decreases():
    torch.manual_seed(0)
    data = toy_graph()
    model = GRACE.build(data.num_features, 16, 16, tau=0.5)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = model(data)
        assert loss.dim() == 0
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5


def test_loss_equals_infonce_of_projected_views():
    torch.manual_seed(0)
    data = toy_graph()
    model = GRACE.build(data.num_features, 8, 8, drop_edge_1=0.0, drop_edge_2=0.0,
                        drop_feature_1=0.0, drop_feature_2=0.0, tau=0.3)
    z = model.encoder(data.x, data.edge_index)
    u = model.project(z)
    expected = InfoNCE(0.3, chunk_size=None)(u, u)
    assert model(data).item() == pytest.approx(expected.item(), rel=1e-5)


def test_embed_is_deterministic_and_does_not_touch_input():
    data = toy_graph()
    before = copy.deepcopy(data)
    model = GRACE.build(data.num_features, 8, 8)
    model.train()
    z1, z2 = model.embed(data), model.embed(data)
    assert torch.equal(z1, z2)
    assert z1.shape == (data.num_nodes, 8) and not z1.requires_grad
    assert model.training  # mode restored
    model(data)
    assert torch.equal(data.x, before.x) and torch.equal(data.edge_index, before.edge_index)


def test_build_rejects_unknown_arguments():
    with pytest.raises(TypeError, match="unexpected"):
        GRACE.build(10, hiden_channels=3)


def test_reset_parameters_reinitialises_encoder_head_and_prelu():
    model = GRACE.build(12, 8, 8, activation="prelu")
    model.projection_head.act = torch.nn.PReLU()
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(3.0)
    model.reset_parameters()
    assert model.encoder.act.weight.item() == pytest.approx(0.25)
    assert model.projection_head.act.weight.item() == pytest.approx(0.25)
    for name, p in model.named_parameters():
        assert not torch.all(p == 3.0), name


def test_graph_without_features_names_the_missing_field():
    from torch_geometric.data import Data

    from graphcl.errors import DataError

    model = GRACE.build(in_channels=4, hidden_channels=8, proj_channels=8)
    graph = Data(edge_index=torch.tensor([[0, 1], [1, 0]]), num_nodes=2)
    with pytest.raises(DataError, match="needs node features"):
        model(graph)  # the augmentations say so
    with pytest.raises(DataError, match="data.x"):
        model.embed(graph)  # was an AttributeError from inside the encoder
