"""GRACE (and CSGCL) with PamC meta-node negatives: ``negatives="pamc"``."""
from __future__ import annotations

import pytest
import torch

from graphcl.data import load_dataset
from graphcl.errors import ConfigError, DataError
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
    smaller = data.subgraph(torch.arange(150))
    with pytest.raises(DataError, match=r"call data = model.prepare\(data\)"):
        model(smaller)  # the k-means assignment belongs to the 200-node graph
    model(model.prepare(smaller))  # prepared: the assignment starts afresh
    assert model._meta_step == 1 and model._meta_labels.shape == (150,)


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


@pytest.fixture
def _isolated_community_cache(monkeypatch, tmp_path):
    import graphcl.transforms.community as tmod

    monkeypatch.setenv("GRAPHCL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(tmod, "_MEMORY_CACHE", type(tmod._MEMORY_CACHE)())


def _small_csgcl(in_channels, **kw):
    from graphcl.models import CSGCL

    settings = {"hidden_channels": 16, "proj_channels": 8, "t0": 0, "gamma_max": 1.0, "community_backend": "louvain"}
    return CSGCL.build(in_channels, **(settings | kw))


@pytest.mark.usefixtures("_isolated_community_cache")
def test_csgcl_pamc_negatives_use_its_communities_and_team_up_weights(graph):
    from graphcl.models.grace import encode

    torch.manual_seed(0)
    model = _small_csgcl(graph.num_features, negatives="pamc")
    model.set_epoch(50)  # γ = 0.5 > 0: Team-up weights active
    assert model.loss.gamma == 0.5
    prepared = model.prepare(graph)
    torch.manual_seed(3)
    loss = model(prepared)
    torch.manual_seed(3)
    view1, view2 = model.augment1(prepared), model.augment2(prepared)
    u, v = model.project(encode(model.encoder, view1)), model.project(encode(model.encoder, view2))
    bias = (0.5 / model.tau) * prepared.community_strength
    expected = meta_node_info_nce(u, v, prepared.community, model.tau, node_bias=bias)
    torch.testing.assert_close(loss, expected)
    # the bias matters (strengths differ between communities) and the loss trains the encoder
    assert not torch.allclose(loss, meta_node_info_nce(u, v, prepared.community, model.tau))
    loss.backward()
    assert all(p.grad is not None for p in model.encoder.parameters())


@pytest.mark.usefixtures("_isolated_community_cache")
def test_csgcl_pamc_kmeans_meta_nodes_and_bad_option(graph):
    torch.manual_seed(0)
    model = _small_csgcl(graph.num_features, negatives="pamc", meta_nodes="kmeans", num_meta_nodes=6, meta_refresh=2)
    result = fit(model, model.prepare(graph), epochs=3, lr=0.01, show_progress=False)
    assert all(torch.isfinite(torch.tensor(r["loss"])) for r in result.history)
    assert model._meta_step == 3 and int(model._meta_labels.max()) < 6  # k-means labels, not the communities
    assert _small_csgcl(graph.num_features).negatives == "infonce"  # default unchanged
    with pytest.raises(ConfigError, match="meta_nodes"):
        _small_csgcl(graph.num_features, negatives="pamc", meta_nodes="leiden")
    with pytest.raises(ConfigError, match="negatives"):
        _small_csgcl(graph.num_features, negatives="meta")
