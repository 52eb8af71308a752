import pytest
import torch

from graphcl.errors import DataError
from graphcl.losses import InfoNCE
from graphcl.models import GCA
from graphcl.train import fit
from tests.models._toy import toy_graph, train_losses


def test_prepare_adds_weights_once_and_training_decreases_the_loss():
    torch.manual_seed(0)
    data = toy_graph()
    model = GCA.build(data.num_features, 16, 16, drop_scheme="pagerank", tau=0.5)
    prepared = model.prepare(data)
    assert "edge_drop_weight" in prepared and "edge_drop_weight" not in data
    losses = train_losses(model, prepared)
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5


def test_zero_rates_give_grace_loss_of_the_clean_graph():
    torch.manual_seed(0)
    data = toy_graph()
    model = GCA.build(data.num_features, 8, 8, drop_edge_1=0.0, drop_edge_2=0.0,
                      drop_feature_1=0.0, drop_feature_2=0.0, tau=0.3)
    u = model.project(model.encoder(data.x, data.edge_index))
    assert model(model.prepare(data)).item() == pytest.approx(InfoNCE(0.3, chunk_size=None)(u, u).item(), rel=1e-5)
    with pytest.raises(DataError, match="model.prepare"):
        model(data)  # preparation is explicit, never redone inside forward


def test_prepare_is_idempotent_and_fit_trains_the_prepared_graph():
    data = toy_graph()
    model = GCA.build(data.num_features, 8, 8, drop_scheme="eigenvector")
    prepared = model.prepare(data)
    assert model.prepare(prepared) is prepared  # idempotent
    fit(model, prepared, epochs=4, show_progress=False)
    assert model.embed(data).shape == (data.num_nodes, 8)


def test_build_rejects_unknown_arguments_and_schemes():
    with pytest.raises(TypeError, match="unexpected"):
        GCA.build(10, drop_sceme="degree")
    with pytest.raises(ValueError, match="scheme"):
        GCA.build(10, drop_scheme="closeness")
