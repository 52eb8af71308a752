import pickle

import pytest
import torch
from torch_geometric.data import Data

import graphcl.transforms.community as tmod
from graphcl.cli import main
from graphcl.config import resolve_config
from graphcl.data.generated import make_community_graph
from graphcl.errors import DataError
from graphcl.experiment import evaluate_seed
from graphcl.losses import TeamUpInfoNCE
from graphcl.models import CSGCL, GRACE, MODELS
from graphcl.train import fit
from graphcl.transforms import (
    AddCommunities,
    CommunalAttributeVoting,
    CommunalEdgeDropping,
    DropEdge,
    MaskFeature,
)


@pytest.fixture(autouse=True)
def _isolated_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("GRAPHCL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(tmod, "_MEMORY_CACHE", type(tmod._MEMORY_CACHE)())


@pytest.fixture(scope="module")
def graph():
    return make_community_graph(num_nodes=240, num_communities=8, num_classes=3, num_features=40, seed=0)


def _small(in_channels, **kw):
    settings = {"hidden_channels": 16, "proj_channels": 8, "t0": 2, "gamma_max": 1.0, "community_backend": "louvain"}
    return CSGCL.build(in_channels, **(settings | kw))


def test_registered_and_config_keys():
    assert MODELS["csgcl"] is CSGCL and issubclass(CSGCL, GRACE)
    cfg = resolve_config("csgcl", "cora")
    assert cfg["t0"] == 100 and cfg["ced"] is True and cfg["community_backend"] == "leiden"
    for dataset, gamma in (("wikics", 10.0), ("amazon-computers", 5.0), ("amazon-photo", 1.0), ("coauthor-cs", 1.0)):
        assert resolve_config("csgcl", dataset)["gamma_max"] == gamma
    assert resolve_config("csgcl", "some-planetoid-graph")["epochs"] == 200  # default.yaml


def test_forward_backward_and_embed(graph):
    torch.manual_seed(0)
    model = _small(graph.num_features)
    model.set_epoch(1)
    loss = model(model.prepare(graph))
    assert loss.dim() == 0 and torch.isfinite(loss)
    loss.backward()
    assert all(p.grad is not None for p in model.encoder.parameters())
    z = model.embed(graph)
    assert z.shape == (graph.num_nodes, 16) and not z.requires_grad
    assert "community_strength" not in graph  # the caller's graph is left alone


def test_components_and_ablations(graph):
    model = _small(graph.num_features)
    edges, features = model.augment1.transforms
    assert isinstance(edges, CommunalEdgeDropping) and isinstance(features, CommunalAttributeVoting)
    assert isinstance(model.loss, TeamUpInfoNCE) and model.loss.gamma_max == 1.0
    off = _small(graph.num_features, ced=False, cav=False, team_up=False)
    edges, features = off.augment2.transforms
    assert type(edges) is DropEdge and type(features) is MaskFeature and edges.p == 0.4
    assert off.loss.gamma_max == 0.0
    with pytest.raises(TypeError, match="unexpected"):
        CSGCL.build(10, negative_typo="pamc")


def test_set_epoch_drives_gamma(graph):
    model = _small(graph.num_features, t0=5, gamma_max=0.5)
    model.set_epoch(5)
    assert model.loss.gamma == 0.0
    model.set_epoch(30)
    assert model.loss.gamma == pytest.approx(0.25)


def test_communities_come_from_the_explicit_prepare_step(graph, monkeypatch):
    calls = []
    original = AddCommunities.forward

    def counting(self, data):
        calls.append(data.edge_index.size(1))
        return original(self, data)

    monkeypatch.setattr(AddCommunities, "forward", counting)
    model = _small(graph.num_features)
    with pytest.raises(DataError, match=r"call data = model.prepare\(data\)"):
        model(graph)  # no communities: never detected inside forward
    prepared = model.prepare(graph)
    fit(model, prepared, epochs=4, lr=0.01, show_progress=False)
    assert len(calls) == 1  # once per graph, however many epochs
    given = AddCommunities(backend="louvain")(graph)
    assert len(calls) == 2
    assert model.prepare(given) is given  # already carries communities: used as is
    model(given)
    assert len(calls) == 2
    copy = pickle.loads(pickle.dumps(model))  # the model holds no graph
    assert not any(isinstance(v, Data) for v in vars(copy).values())


def test_planted_communities_are_replaced_by_detected_ones(graph):
    model = _small(graph.num_features)
    prepared = model.prepare(graph)
    assert "community" in graph  # the generated graph's planted ids
    assert prepared.community_strength.shape == (graph.num_nodes,)
    expected = AddCommunities(backend="louvain", seed=0)(graph).community
    assert torch.equal(prepared.community, expected)


def test_experiment_all_three_tasks_link_uses_the_training_graph(graph, monkeypatch):
    seen = []
    original = AddCommunities.forward

    def spy(self, data):
        seen.append(data.edge_index.size(1))
        return original(self, data)

    monkeypatch.setattr(AddCommunities, "forward", spy)
    cfg = resolve_config("csgcl", "generated", overrides={
        "hidden_channels": 16, "proj_channels": 8, "epochs": 3, "t0": 1, "community_backend": "louvain",
        "tasks": ["node", "clustering", "link"], "probe_repeats": 1, "cluster_repeats": 1, "checkpoint_every": 0})
    metrics = evaluate_seed(cfg, graph, seed=0, device=torch.device("cpu"), run_dir=None, show_progress=False)
    assert {"test_acc", "nmi", "ari", "auc", "ap"} <= set(metrics)
    assert seen[0] == graph.edge_index.size(1)
    assert len(seen) == 2 and seen[1] < graph.edge_index.size(1)  # held-out edges never reach the detection


def test_isolated_nodes_and_no_edges():
    data = Data(x=torch.rand(12, 5), edge_index=torch.tensor([[0, 1, 1, 2, 3, 4], [1, 0, 2, 1, 4, 3]]))
    model = _small(5)
    model.set_epoch(10)
    assert torch.isfinite(model(model.prepare(data)))
    empty = Data(x=torch.rand(6, 5), edge_index=torch.zeros((2, 0), dtype=torch.long))
    model = _small(5)
    assert torch.isfinite(model(model.prepare(empty)))


@pytest.mark.data
def test_cli_on_cora(planetoid_root, tmp_path, capsys):
    code = main(["train", "--model", "csgcl", "--dataset", "cora", "--root", str(planetoid_root), "--run-dir",
                 str(tmp_path / "r"), "--quiet", "epochs=2", "tasks=[node]", "probe_repeats=1"])
    assert code == 0
    assert "csgcl on cora" in capsys.readouterr().out


def test_results_record_the_community_detection_that_ran(tmp_path) -> None:
    """The configured backend is not what ran when leidenalg is missing: the results say which one did."""
    import json

    from graphcl.cli import main
    from graphcl.functional.community import resolve_backend

    assert main(["train", "--model", "csgcl", "--run-dir", str(tmp_path / "run"), "--quiet", "epochs=1",
                 "tasks=[node]", "probe_repeats=1", "community_backend=leiden"]) == 0
    runs = json.loads((tmp_path / "run" / "results.json").read_text())["runs"]
    assert [r["seed"] for r in runs] == [0]
    # leiden with the community extra installed, louvain (networkx) without it
    assert runs[0]["community_backend"] == resolve_backend("leiden")
