"""MEOW / AdaMEOW end to end on a small planted heterogeneous graph, through fit and the experiment runner."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from graphcl.config import resolve_config
from graphcl.errors import ConfigError
from graphcl.experiment import format_summary, run_experiment
from graphcl.losses.meow import positive_sets
from graphcl.models import MEOW, MODELS, AdaMEOW
from graphcl.train import fit
from tests.hetero_graphs import planted_hetero_graph

SMALL = dict(hidden_channels=16, embed_channels=16, proj_channels=8, topk=[10, 20], edge_mask=[0.2])


def test_meow_trains_and_its_embeddings_separate_the_planted_classes() -> None:
    torch.manual_seed(0)
    data = planted_hetero_graph()
    model = MEOW.build(data, **SMALL, tau=0.5, num_clusters=[6, 10], kmeans_n_init=1, kmeans_iter=5,
                       feature_mask=0.2)
    data = model.prepare(data)  # the views, once
    parts = model(data)
    assert set(parts) == {"nce", "proto"} and parts["nce"].requires_grad
    result = fit(model, data, epochs=12, lr=1e-2, show_progress=False, restore_best=False)
    losses = [record["loss"] for record in result.history]
    assert losses[-1] < losses[0]
    z = model.embed(data)
    assert z.shape == (60, 16) and torch.isfinite(z).all()
    assert torch.equal(z, model._last_fine)  # faithful mode: the last training-mode forward
    y = data["paper"].y
    centroids = torch.stack([z[y == c].mean(0) for c in range(3)])
    nearest = (torch.nn.functional.normalize(z, dim=1) @ torch.nn.functional.normalize(centroids, dim=1).t()).argmax(1)
    assert (nearest == y).float().mean() > 0.6  # chance is 1/3
    model.embedding = "clean"
    clean = model.embed(data)
    assert model.training and not torch.equal(clean, z)  # eval-mode pass, train mode restored


def test_uniform_baseline_and_adameow_learned_weights() -> None:
    torch.manual_seed(1)
    data = planted_hetero_graph()
    baseline = MEOW.build(data, **SMALL, negative_weights="uniform", lam_proto=0.0)
    assert set(baseline(baseline.prepare(data))) == {"nce"}
    ada = AdaMEOW.build(data, **SMALL, chunk_size=16)
    fit(ada, ada.prepare(data), epochs=3, lr=1e-3, show_progress=False)
    assert len(ada.mean_weight_history) == 3 and all(0 < w < 1 for w in ada.mean_weight_history)
    with pytest.raises(ConfigError, match="negative_weights"):
        MEOW.build(data, **SMALL, num_clusters=[4], negative_weights="hard")
    with pytest.raises(ConfigError, match="exceed"):
        MEOW.build(data, **SMALL, num_clusters=[100])
    with pytest.raises(ConfigError, match="HeteroData"):
        MEOW.build(torch.zeros(3))  # type: ignore[arg-type]


def test_linear_init_follows_the_reference_code() -> None:
    """MEOW's and AdaMEOW's reference leaves the type projections, context maps and head at ``nn.Linear``'s own
    initialisation (U(±1/sqrt(fan_in)), biases included); ``linear_init="xavier"`` is HeCo's (gain 1.414, zero
    bias)."""
    data = planted_hetero_graph()
    for cls, extra in ((MEOW, {"num_clusters": [4]}), (AdaMEOW, {})):
        torch.manual_seed(0)
        model = cls.build(data, **SMALL, **extra)
        linears = [*model.encoder.projection.linears.values(), *model.encoder.context.maps.values(), model.head.fc]
        for linear in linears:
            bound = 1 / linear.in_features ** 0.5
            assert float(linear.weight.abs().max()) <= bound
            assert linear.bias is None or (0 < float(linear.bias.abs().max()) <= bound)
        torch.manual_seed(0)
        xavier = cls.build(data, **SMALL, **extra, linear_init="xavier")
        assert all(float(lin.bias.abs().max()) == 0 for lin in xavier.encoder.projection.linears.values())
        assert float(xavier.head.fc.bias.abs().max()) == 0
        with pytest.raises(ConfigError, match="linear_init"):
            cls.build(data, **SMALL, **extra, linear_init="kaiming")


def test_experiment_runner_reports_the_heco_protocol(tmp_path: Path) -> None:
    data = planted_hetero_graph()
    assert MODELS["meow"] is MEOW and MODELS["adameow"] is AdaMEOW
    cfg = resolve_config("meow", "planted", overrides={
        "epochs": 2, "hidden_channels": 8, "embed_channels": 8, "proj_channels": 8, "topk": [5], "edge_mask": [0.1],
        "num_clusters": [4, 6], "kmeans_n_init": 1, "probe_repeats": 3, "probe_iterations": 20, "cluster_repeats": 2,
        "checkpoint_every": 0, "embedding": "clean", "patience": 5})
    results, run_dir = run_experiment(cfg, data, seeds=[0], run_dir=tmp_path / "run", show_progress=False)
    names = {f"{m}@{r}" for m in ("macro_f1", "micro_f1", "auc", "val_macro_f1", "val_micro_f1") for r in (2, 4)}
    names |= {"nmi", "ari"}
    assert set(results["metrics"]) == names
    assert all(0 <= s["mean"] <= 1 for s in results["metrics"].values())
    assert results["protocol"]["embedding_mode"] == "clean"
    assert "embeddings: clean" in format_summary(results)
    assert json.loads((run_dir / "results.json").read_text())["model"] == "meow"
    shipped = resolve_config("meow", "acm")
    assert shipped["topk"] == [110, 700] and shipped["num_clusters"] == [100, 300] and shipped["tau"] == 0.4
    assert resolve_config("adameow", "dblp")["epochs"] == 1500


def test_nodes_without_metapath_neighbours_get_finite_embeddings() -> None:
    """IMDB-style graphs: a movie without a director has an empty MDM row; it must not produce NaNs."""
    torch.manual_seed(2)
    data = planted_hetero_graph()
    keep = data["paper", "to", "author"].edge_index[0] != 0  # paper 0 loses all its authors
    data["paper", "to", "author"].edge_index = data["paper", "to", "author"].edge_index[:, keep]
    data["author", "to", "paper"].edge_index = data["paper", "to", "author"].edge_index.flip(0)
    del data["paper", "PAP", "paper"]
    model = MEOW.build(data, **SMALL, num_clusters=[4], kmeans_n_init=1)
    parts = model(model.prepare(data))
    assert all(torch.isfinite(v) for v in parts.values())
    view = model.inputs
    assert view.contexts[0]["PAP_ctx1"][0].matrix.to_dense()[0].abs().sum() == 0  # zero context
    assert torch.isfinite(model.embed(data)).all()


def test_faithful_embedding_of_another_graph_size_raises_instead_of_returning_the_cached_one() -> None:
    from graphcl.errors import DataError

    torch.manual_seed(0)
    data, other = planted_hetero_graph(), planted_hetero_graph(num_papers=90, seed=1)
    model = MEOW.build(data, **SMALL, num_clusters=[6, 10], kmeans_n_init=1, kmeans_iter=5, kmeans_init="random")
    model(model.prepare(data))
    assert model.embed(data).shape == (60, 16)
    with pytest.raises(DataError, match="faithful.*90"):
        model.embed(other)  # was: graph `data`'s cached [60, 16] z^f, silently
    model.embedding = "clean"
    assert model.embed(other).shape == (90, 16)


def test_nan_lam_proto_and_bad_kmeans_settings_name_the_field() -> None:
    data = planted_hetero_graph()
    for kwargs, field in (({"lam_proto": float("nan")}, "lam_proto"), ({"kmeans_n_init": 0}, "kmeans_n_init"),
                          ({"kmeans_iter": 2.5}, "kmeans_iter"), ({"num_clusters": [6, 0]}, "num_clusters"),
                          ({"kmeans_init": "faiss"}, "kmeans_init")):
        with pytest.raises(ConfigError, match=field):
            MEOW.build(data, **SMALL, **{"num_clusters": [6, 10], **kwargs})


def test_faithful_embedding_of_another_graph_of_the_same_size_or_an_edited_one_raises() -> None:
    from graphcl.errors import DataError

    torch.manual_seed(0)
    data, other = planted_hetero_graph(), planted_hetero_graph(seed=1)  # both 60 papers
    model = MEOW.build(data, **SMALL, num_clusters=[6, 10], kmeans_n_init=1, kmeans_iter=5)
    with pytest.raises(DataError, match=r"call data = model.prepare\(data\)"):
        model(data)  # no views yet
    model(model.prepare(data))
    assert torch.equal(model.embed(data.to("cpu")), model._last_fine)  # the runner's call: same graph, cached
    with pytest.raises(DataError, match="faithful.*another graph"):
        model.embed(other)  # was: graph `data`'s cached z^f, silently
    with pytest.raises(DataError, match="prepared for another graph"):
        model(other)  # never trains on another graph's views
    views = model.inputs
    data["paper"].x[0] = data["paper"].x[1]  # in place: the views and z^f of the training step are stale
    with pytest.raises(DataError, match="faithful.*another graph"):
        model.embed(data)
    with pytest.raises(DataError, match="prepared for another graph"):
        model(data)
    model(model.prepare(data))  # prepared again for the edited features
    assert model.inputs is not views
    model.embedding = "clean"
    assert model.embed(other).shape == (60, 16)


def test_experiment_runner_gets_the_faithful_embedding_of_the_training_graph(tmp_path: Path) -> None:
    data = planted_hetero_graph()
    cfg = resolve_config("meow", "planted", overrides={
        "epochs": 2, "hidden_channels": 8, "embed_channels": 8, "proj_channels": 8, "topk": [5], "edge_mask": [0.1],
        "num_clusters": [4, 6], "kmeans_n_init": 1, "probe_repeats": 2, "probe_iterations": 10, "cluster_repeats": 1,
        "checkpoint_every": 0, "embedding": "faithful", "patience": 5})
    results, _ = run_experiment(cfg, data, seeds=[0], run_dir=tmp_path / "run", show_progress=False)
    assert results["protocol"]["embedding_mode"] == "faithful"  # embed() found the training graph: no DataError
    assert 0 <= results["metrics"]["nmi"]["mean"] <= 1


def test_training_does_not_depend_on_the_python_hash_seed() -> None:
    """Same seed, same numbers in every process: nothing iterates a set of strings (hash-ordered) while drawing
    random numbers."""
    import os
    import subprocess
    import sys

    code = (
        "import torch\n"
        "from graphcl.models import MEOW\n"
        "from graphcl.train import fit\n"
        "from tests.hetero_graphs import planted_hetero_graph\n"
        "torch.manual_seed(0)\n"
        "data = planted_hetero_graph()\n"
        "model = MEOW.build(data, hidden_channels=8, embed_channels=8, proj_channels=8, topk=[5], edge_mask=[0.2],"
        " num_clusters=[4], kmeans_n_init=1, kmeans_iter=3)\n"
        "fit(model, model.prepare(data), epochs=2, lr=1e-2, show_progress=False)\n"
        "print(float(model.embed(data).double().sum()))\n"
    )
    root = Path(__file__).resolve().parents[2]
    outputs = {
        subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONHASHSEED": str(h), "OMP_NUM_THREADS": "1"}).stdout
        for h in (1, 2, 3, 4)
    }
    assert len(outputs) == 1, outputs


def test_metapath_positives_enter_the_loss_and_a_missing_file_is_named() -> None:
    from graphcl.errors import DataError
    from graphcl.models.heco import metapath_count_positives

    torch.manual_seed(4)
    data = planted_hetero_graph()
    model = MEOW.build(data, **SMALL, num_clusters=[4, 6], kmeans_n_init=1, kmeans_iter=3,
                       positives="metapath_count", num_positives=5)
    data = model.prepare(data)
    pairs = metapath_count_positives(data, 5)
    assert torch.equal(model._positives.col, positive_sets(pairs, 60).col)
    parts = model(data)
    assert torch.isfinite(parts["nce"]) and parts["nce"].requires_grad
    out = model.encode(data)
    anchor, sample = model.head(out["coarse"]), model.head(out["fine"])
    labels = torch.zeros(1, 60, dtype=torch.long)  # one cluster: every non-positive pair has weight 0 ...
    with pytest.raises(ValueError, match="all weights zero"):
        model.loss(anchor, sample, labels=labels, positive_index=pairs)
    labels = torch.arange(60).unsqueeze(0)  # ... 60 singletons: weight 1 for every pair, positives left out
    full = model.loss(anchor, sample, labels=labels, positive_index=pairs)
    assert not torch.allclose(full, model.loss(anchor, sample, labels=labels))
    file_model = MEOW.build(data, **SMALL, num_clusters=[4], positives="file")
    with pytest.raises(DataError, match="pos.npz"):
        file_model.prepare(data)
    data["paper"].positive_index = pairs
    assert file_model.prepare(data) is data and torch.equal(file_model._positives.ptr, positive_sets(pairs, 60).ptr)
    with pytest.raises(ConfigError, match="positives"):
        MEOW.build(data, **SMALL, num_clusters=[4], positives="neighbours")
    with pytest.raises(ConfigError, match="num_positives"):
        MEOW.build(data, **SMALL, num_clusters=[4], positives="metapath_count", num_positives=0)

