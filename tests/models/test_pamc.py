"""PamC / SCGC* clustering models: training works end to end, both protocols are reported, bad input errors."""
from __future__ import annotations

import pytest
import torch

from graphcl.config import resolve_config
from graphcl.errors import ConfigError, DataError
from graphcl.experiment import run_experiment
from graphcl.models import MODELS, SCGC, PamC
from graphcl.train import fit

SMALL = dict(hidden_channels=[32, 32, 64], embedding_dim=8, pretrain_epochs=3, kmeans_n_init=2)


@pytest.fixture(scope="module")
def graph():
    """Four noisy Gaussian blobs (75 nodes each) linked by their 5-NN graph (the SDCN recipe for USPS/HHAR)."""
    from torch_geometric.data import Data

    from graphcl.functional import knn_graph

    g = torch.Generator().manual_seed(0)
    y = torch.arange(300) % 4
    x = torch.randn(4, 20, generator=g)[y] * 1.5 + torch.randn(300, 20, generator=g)
    edge_index, _ = knn_graph(x, 5, symmetrize=True)
    return Data(x=x, edge_index=edge_index, y=y, num_nodes=300)


@pytest.mark.parametrize("cls", [PamC, SCGC])
def test_training_improves_clustering_over_the_kmeans_start(graph, cls):
    from graphcl.eval import clustering_scores

    torch.manual_seed(0)
    model = cls.build(graph.num_features, num_clusters=4, input_scaling="standardize", **SMALL)
    with pytest.raises(DataError, match=r"call data = model.prepare\(data\)"):
        model(graph)
    prepared = model.prepare(graph)
    assert bool(model.initialized) and "influence_index" not in graph  # the caller's graph is left alone
    parts = model(prepared)
    assert set(parts) == {"contrastive", "kl"}
    assert len(model.pretrain_losses) == 3 and model.pretrain_losses[-1] < model.pretrain_losses[0]
    start = clustering_scores(graph.y, model.predict_clusters(graph))["nmi"]
    result = fit(model, prepared, epochs=40, lr=1e-3, show_progress=False)
    assert len(model.cluster_history) == 41  # the first call above + 40 epochs
    end = clustering_scores(graph.y, model.predict_clusters(graph))["nmi"]
    assert result.history[-1]["loss"] < result.history[0]["loss"]
    assert end > start - 0.05 and end > 0.3
    z = model.embed(graph)
    assert z.shape == (300, 8) and not z.requires_grad
    q = model.soft_assignment(graph)
    torch.testing.assert_close(q.sum(1), torch.ones(300))


def test_registry_config_and_experiment_report_both_protocols(graph, tmp_path):
    assert MODELS["pamc"] is PamC and MODELS["scgc"] is SCGC
    cfg = resolve_config("pamc", "cora", overrides={
        "num_clusters": 4, "epochs": 5, "tasks": ["clustering"], "input_scaling": "standardize", **SMALL})
    results, _ = run_experiment(cfg, graph, seeds=[0], run_dir=tmp_path, show_progress=False)
    metrics = results["metrics"]
    for name in ("acc", "nmi", "ari", "f1"):
        assert 0 <= metrics[f"{name}_max_epoch"]["mean"] <= 1
        assert metrics[f"{name}_max_epoch"]["mean"] >= metrics[name]["mean"] - 0.2
    assert "predict_clusters" in results["protocol"]["clustering"]["method"]


def test_shipped_configs_resolve():
    for model in ("pamc", "scgc"):
        for dataset in ("cora", "citeseer", "dblp-sdcn"):
            cfg = resolve_config(model, dataset)
            assert cfg["num_clusters"] in (4, 6, 7) and cfg["tasks"] == ["clustering"]
    assert resolve_config("pamc", "dblp-sdcn")["tau"] == 1.0


def test_resume_does_not_pretrain_again(graph):
    model = PamC.build(graph.num_features, num_clusters=4, **SMALL)
    model(model.prepare(graph))
    state = model.state_dict()
    other = PamC.build(graph.num_features, num_clusters=4, **SMALL)
    other.load_state_dict(state)
    assert bool(other.initialized)
    other(other.prepare(graph))
    assert other.pretrain_losses == []


def test_bad_input():
    with pytest.raises(ConfigError, match="num_clusters"):
        PamC.build(10)
    with pytest.raises(ConfigError, match="num_clusters"):
        PamC.build(10, num_clusters=1)
    with pytest.raises(ConfigError, match="order"):
        PamC.build(10, num_clusters=3, order=0)
    with pytest.raises(ConfigError, match="tau"):
        SCGC.build(10, num_clusters=3, tau=-1.0)
    with pytest.raises(ConfigError, match="input_scaling"):
        PamC.build(10, num_clusters=3, input_scaling="l2")
    from torch_geometric.data import Data

    model = PamC.build(4, num_clusters=3, **SMALL)
    x = torch.rand(5, 4)
    with pytest.raises(DataError, match="has none"):
        model.prepare(Data(x=x, edge_index=torch.empty(2, 0, dtype=torch.long), num_nodes=5))
    with pytest.raises(DataError, match="larger than the number of nodes"):
        PamC.build(4, num_clusters=7, **SMALL).prepare(Data(x=x, edge_index=torch.tensor([[0], [1]]), num_nodes=5))
    bad = x.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(DataError, match="NaN"):
        model.prepare(Data(x=bad, edge_index=torch.tensor([[0], [1]]), num_nodes=5))
    assert not bool(model.initialized)  # bad input fails before any pre-training


def test_nan_weights_and_non_int_counts_name_the_field() -> None:
    for kwargs, field in (({"alpha": float("nan")}, "alpha"), ({"beta": float("inf")}, "beta"),
                          ({"pretrain_epochs": 2.5}, "pretrain_epochs"), ({"kmeans_n_init": 0}, "kmeans_n_init"),
                          ({"pretrain_lr": 0.0}, "pretrain_lr")):
        with pytest.raises(ConfigError, match=field):  # NaN alpha / beta passed the old `< 0` test
            PamC.build(in_channels=8, num_clusters=2, **kwargs)


@pytest.mark.parametrize("cls", [PamC, SCGC])
def test_both_builders_share_the_architecture_and_argument_checks(cls):
    from graphcl.losses import NContrastLoss, PamCLoss

    torch.manual_seed(0)
    model = cls.build(12, num_clusters=3, hidden_channels=[16, 8], embedding_dim=5, order=2, pretrain_epochs=4,
                      kmeans_n_init=2, input_scaling="binarize")
    assert isinstance(model.loss, PamCLoss if cls is PamC else NContrastLoss)
    assert model.autoencoder.encode(torch.rand(7, 12)).shape == (7, 5) and model.clustering.num_clusters == 3
    assert (model.order, model.pretrain_epochs, model.kmeans_n_init, model.input_scaling) == (2, 4, 2, "binarize")
    assert (model.alpha, model.beta) == ((2.0, 2.0) if cls is PamC else (1.0, 0.1))  # each paper's defaults
    with pytest.raises(TypeError, match=rf"{cls.__name__}\.build\(\) got unexpected arguments: \['bogus'\]"):
        cls.build(12, num_clusters=3, bogus=1)
    with pytest.raises(ConfigError, match=f"{cls.__name__} needs num_clusters"):
        cls.build(12)
    with pytest.raises(ConfigError, match="self_similarity"):
        cls.build(12, num_clusters=3, self_similarity="one")


def _small_pamc_and_graph():
    from torch_geometric.data import Data

    model = PamC.build(in_channels=8, num_clusters=2, pretrain_epochs=0, hidden_channels=[16], embedding_dim=4)
    edge_index = torch.tensor([[0, 1, 1, 2, 3, 4], [1, 0, 2, 1, 4, 3]])
    return model, Data(x=torch.randn(5, 8), edge_index=edge_index)


def test_prepare_computes_the_influence_graph_of_the_graph_it_is_given():
    from graphcl.functional import influence_matrix

    model, data = _small_pamc_and_graph()
    prepared = model.prepare(data)
    expected_index, expected_weight = influence_matrix(data.edge_index, 5, 1)
    assert torch.equal(prepared.influence_index, expected_index)
    assert torch.allclose(prepared.influence_weight, expected_weight)
    assert model.influence(prepared)[0] is prepared.influence_index  # training steps read the prepared graph
    data.edge_weight = torch.tensor([1.0, 1.0, 1.0, 1.0, 5.0, 5.0])
    weighted = model.prepare(data)  # another graph: prepared again, nothing remembered from the first
    assert torch.allclose(weighted.influence_weight,
                          influence_matrix(data.edge_index, 5, 1, edge_weight=data.edge_weight)[1])
    assert not torch.equal(prepared.influence_weight, weighted.influence_weight)


def test_max_epoch_metrics_include_the_final_model() -> None:
    """``<metric>_max_epoch`` is a maximum over the epochs *and* the final weights, so it is never below ``acc``."""
    from graphcl.experiment import own_cluster_metrics

    y = torch.tensor([0, 0, 1, 1, 2, 2])

    class Predictor(torch.nn.Module):
        cluster_history = [torch.tensor([0, 1, 0, 1, 0, 1])]  # a poor epoch

        def predict_clusters(self, data):
            return y.clone()  # the final model is perfect

    metrics = own_cluster_metrics(Predictor(), None, y)
    for name in ("acc", "nmi", "ari", "f1"):
        assert metrics[f"{name}_max_epoch"]["mean"] == metrics[name]["mean"] == 1.0
