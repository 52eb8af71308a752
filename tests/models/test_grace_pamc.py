"""GRACE (and CSGCL) with PamC meta-node negatives: ``negatives="pamc"``."""
from __future__ import annotations

import pytest
import torch

from graphcl.data import load_dataset
from graphcl.errors import ConfigError
from graphcl.losses import grace_info_nce, meta_node_info_nce
from graphcl.models import GRACE
from graphcl.train import fit


@pytest.fixture(scope="module")
def graph():
    return load_dataset("generated", num_nodes=200)


def test_pamc_negatives_train_and_refresh_kmeans_meta_nodes(graph):
    torch.manual_seed(0)
    model = GRACE.build(graph.num_features, hidden_channels=16, proj_channels=16, negatives="pamc",
                        num_meta_nodes=8, meta_refresh=3)
    data = graph.clone()
    if "community" in data:
        del data.community  # the generated graph carries its planted communities: force k-means
    result = fit(model, data, epochs=7, lr=0.01, show_progress=False)
    assert model._meta_step == 7 and model._meta_labels.shape == (200,)
    assert int(model._meta_labels.max()) < 8
    assert all(torch.isfinite(torch.tensor(r["loss"])) for r in result.history)
    assert model.embed(data).shape == (200, 16)


def test_communities_on_the_graph_are_used_as_meta_nodes(graph):
    torch.manual_seed(0)
    data = graph.clone()
    data.community = torch.arange(200) % 5
    model = GRACE.build(graph.num_features, hidden_channels=16, proj_channels=16, negatives="pamc")
    torch.manual_seed(1)
    loss = model(data)
    torch.manual_seed(1)
    view1, view2 = model.augment1(data), model.augment2(data)
    from graphcl.models.grace import encode

    u, v = model.project(encode(model.encoder, view1)), model.project(encode(model.encoder, view2))
    torch.testing.assert_close(loss, meta_node_info_nce(u, v, data.community, model.tau))
    assert float(loss) < float(grace_info_nce(u, v, model.tau)) + 1e-6  # Jensen: below the exact loss


def test_default_is_unchanged_and_bad_options(graph):
    model = GRACE.build(graph.num_features, hidden_channels=16, proj_channels=16)
    assert model.negatives == "infonce"
    with pytest.raises(ConfigError, match="negatives"):
        GRACE.build(graph.num_features, negatives="meta")
    with pytest.raises(ConfigError, match="num_meta_nodes"):
        GRACE.build(graph.num_features, negatives="pamc", num_meta_nodes=1)
