"""Neighbourhood mini-batches: the pure-PyTorch sampler equals k_hop_subgraph, fan-outs bound the batch, the loader
covers every root once per epoch, and the mini-batch path of GRACE / CSGCL / PamC trains and embeds in chunks."""
from __future__ import annotations

import pytest
import torch
from torch_geometric.utils import k_hop_subgraph

from graphcl.config import resolve_config
from graphcl.data import make_community_graph
from graphcl.data.sampling import KHopSampler, neighbor_backend, neighbor_loader
from graphcl.errors import ConfigError, DataError
from graphcl.experiment import embed_all, train_model
from graphcl.models import CSGCL, GRACE, PamC
from graphcl.nn import GCNEncoder


@pytest.fixture(scope="module")
def graph():
    data = make_community_graph(400, num_communities=8, num_classes=4, num_features=60, class_vocab_size=10,
                                community_vocab_size=5)
    data.edge_weight = torch.rand(data.edge_index.size(1))
    return data


@pytest.mark.parametrize("hops", [1, 2, 3])
def test_all_neighbours_give_the_k_hop_subgraph(graph, hops: int) -> None:
    roots = torch.tensor([5, 99, 0, 250])
    batch = KHopSampler(graph, [-1] * hops)(roots)
    subset, edge_index, _, edge_mask = k_hop_subgraph(roots, hops, graph.edge_index, num_nodes=graph.num_nodes)
    assert torch.equal(batch.n_id[:4], roots) and batch.batch_size == 4
    assert torch.equal(torch.sort(batch.n_id).values, subset)
    assert set(map(tuple, batch.n_id[batch.edge_index].t().tolist())) == set(map(tuple, edge_index.t().tolist()))
    assert torch.equal(torch.sort(batch.e_id).values, torch.nonzero(edge_mask).squeeze(1))
    for key in ("x", "y", "community"):
        assert torch.equal(batch[key], graph[key][batch.n_id])
    assert torch.equal(batch.edge_weight, graph.edge_weight[batch.e_id])


def test_fan_outs_bound_the_batch_and_stay_inside_the_neighbourhood(graph) -> None:
    roots = torch.arange(10)
    torch.manual_seed(0)
    batch = KHopSampler(graph, [2, 1])(roots)
    assert batch.num_nodes <= 10 * (1 + 2 + 2)
    subset = k_hop_subgraph(roots, 2, graph.edge_index, num_nodes=graph.num_nodes)[0]
    assert set(batch.n_id.tolist()) <= set(subset.tolist())
    assert batch.n_id.unique().numel() == batch.num_nodes
    assert KHopSampler(graph, [0])(roots).num_nodes == 10  # no neighbours: the roots alone


def test_sampler_refuses_bad_roots(graph) -> None:
    sampler = KHopSampler(graph, [2])
    with pytest.raises(DataError, match="distinct"):
        sampler(torch.tensor([1, 1]))
    with pytest.raises(DataError, match="must lie in"):
        sampler(torch.tensor([graph.num_nodes]))


def test_loader_covers_every_root_once_per_epoch(graph) -> None:
    torch.manual_seed(0)
    loader = neighbor_loader(graph, 64, [3, 3])
    roots = torch.cat([batch.n_id[:batch.batch_size] for batch in loader])
    assert sorted(roots.tolist()) == list(range(graph.num_nodes))  # 400 = 6 x 64 + 16: the last batch is kept
    assert len(neighbor_loader(graph, 133, [3])) == 3  # 400 = 3 x 133 + 1: a one-root batch is dropped
    assert neighbor_backend() in ("pyg", "k_hop")
    with pytest.raises(ConfigError, match="num_neighbors"):
        neighbor_loader(graph, 8, [2, -3])
    with pytest.raises(ConfigError, match="batch_size"):
        neighbor_loader(graph, 0, [2])


def test_layer_wise_inference_equals_the_forward(graph) -> None:
    encoder = GCNEncoder(60, 16, activation="prelu").eval()
    with torch.no_grad():
        expected = encoder(graph.x, graph.edge_index)
    torch.testing.assert_close(encoder.inference(graph.x, graph.edge_index, chunk_size=37), expected)


def _cfg(model: str, **overrides):
    base = {"epochs": 2, "batch_size": 100, "num_neighbors": [4, 4], "hidden_channels": 16, "proj_channels": 16,
            "checkpoint_every": 0}
    if model == "pamc":
        base = {"epochs": 2, "batch_size": 100, "num_neighbors": [-1], "num_clusters": 4, "pretrain_epochs": 1,
                "hidden_channels": [16, 16, 32], "kmeans_n_init": 1, "checkpoint_every": 0}
    if model == "csgcl":
        base.update(community_backend="planted", t0=0)
    return resolve_config(model, "generated", overrides={**base, **overrides})


@pytest.mark.parametrize(("model", "extra"), [("grace", {}), ("grace", {"negatives": "pamc", "num_meta_nodes": 5}),
                                              ("csgcl", {}), ("csgcl", {"negatives": "pamc"}), ("pamc", {})])
def test_models_train_on_mini_batches_and_embed_in_chunks(graph, model: str, extra: dict) -> None:
    data = graph.clone()
    if extra.get("num_meta_nodes"):
        del data.community  # k-means meta-nodes, fitted on the batch roots
    cfg = _cfg(model, **extra)
    trained = train_model(cfg, data, seed=0, device=torch.device("cpu"), show_progress=False)
    assert isinstance(trained, (GRACE, CSGCL, PamC))
    prepared = trained.prepare(data) if model == "csgcl" else data
    z = embed_all(trained, prepared, {**cfg, "inference_chunk_size": 77})
    assert z.shape[0] == graph.num_nodes and bool(torch.isfinite(z).all())
    torch.testing.assert_close(z, trained.embed(prepared), rtol=1e-5, atol=1e-6)


def test_mini_batches_are_refused_for_full_batch_models(graph) -> None:
    cfg = resolve_config("dgi", "generated", overrides={"batch_size": 50, "epochs": 1})
    with pytest.raises(ConfigError, match="full-batch only"):
        train_model(cfg, graph, seed=0, device=torch.device("cpu"), show_progress=False)


@pytest.mark.skipif(neighbor_backend() != "pyg", reason="PyG's NeighborLoader needs pyg-lib or torch-sparse")
def test_pyg_backend_gives_the_same_subgraph_as_k_hop(graph) -> None:
    from graphcl.data.sampling import NeighborBatches

    roots = [5, 99, 0, 250]
    ours = NeighborBatches(graph, [-1, -1], backend="k_hop")[roots]
    theirs = NeighborBatches(graph, [-1, -1], backend="pyg")[roots]
    assert theirs.batch_size == 4 and torch.equal(theirs.n_id[:4], torch.tensor(roots))
    assert set(theirs.n_id.tolist()) == set(ours.n_id.tolist())
    edges = {tuple(e) for e in theirs.n_id[theirs.edge_index].t().tolist()}
    assert edges == {tuple(e) for e in ours.n_id[ours.edge_index].t().tolist()}


@pytest.mark.parametrize(("overrides", "message"), [
    ({"num_neighbors": [2, -2]}, "num_neighbors"),
    ({"num_neighbors": []}, "num_neighbors"),
    ({"sampler": "metis"}, "sampler must be one of"),
    ({"batch_size": -1}, "batch_size"),
    ({"inference_chunk_size": 0}, "inference_chunk_size"),
])
def test_bad_mini_batch_settings_are_refused_by_the_config(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_config("grace", "generated", overrides=overrides)


def test_cli_trains_on_mini_batches_of_a_resized_generated_graph_and_embeds_it(tmp_path) -> None:
    import json

    from graphcl.cli import main

    run = tmp_path / "run"
    assert main(["train", "--quiet", "--run-dir", str(run), "--dataset-option", "num_nodes=300",
                 "--dataset-option", "avg_degree=4", "epochs=1", "batch_size=64", "num_neighbors=[3,3]",
                 "tasks=[node]", "probe_repeats=1", "hidden_channels=16", "proj_channels=16"]) == 0
    record = json.loads((run / "run.json").read_text())
    assert record["data"]["options"] == {"num_nodes": 300, "avg_degree": 4}
    results = json.loads((run / "results.json").read_text())
    assert results["protocol"]["training"].startswith("mini-batch (64 random roots")
    out = tmp_path / "z.pt"
    assert main(["embed", "--checkpoint", str(run / "last.pt"), "--out", str(out)]) == 0
    assert torch.load(out, weights_only=True)["embeddings"].shape == (300, 16)  # the run's graph, not the default
