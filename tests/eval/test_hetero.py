"""The DMGI / HeCo linear-evaluation protocol and k-means clustering of heterogeneous-graph embeddings."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score

from graphcl.errors import DataError
from graphcl.eval.hetero import (
    _f1_scores,
    heco_clustering,
    heco_node_classification,
    heco_splits,
)


def test_batched_f1_matches_sklearn() -> None:
    gen = torch.Generator().manual_seed(0)
    y = torch.randint(0, 4, (50,), generator=gen)
    pred = torch.randint(0, 4, (5, 50), generator=gen)
    pred[0] = y
    pred[1, :] = 2  # a prediction missing classes
    macro, micro = _f1_scores(pred, y, 4)
    for r in range(5):
        assert macro[r].item() == pytest.approx(f1_score(y.numpy(), pred[r].numpy(), average="macro"))
        assert micro[r].item() == pytest.approx(f1_score(y.numpy(), pred[r].numpy(), average="micro"))


def _separable(n: int = 300, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, dict]:
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    z = torch.nn.functional.one_hot(y, 3).float() * 3 + torch.randn(n, 3, generator=gen) * 0.5
    z = torch.cat([z, torch.randn(n, 5, generator=gen)], 1)
    order = torch.randperm(n, generator=gen)
    splits = {}
    for rate in (5, 10):
        train = torch.cat([order[y[order] == c][:rate] for c in range(3)])
        rest = order[~torch.isin(order, train)]
        splits[rate] = (train, rest[:100], rest[100:])
    return z, y, splits


def test_node_classification_protocol_reads_test_at_best_validation() -> None:
    z, y, splits = _separable()
    metrics = heco_node_classification(z, y, splits, lr=0.05, iterations=60, repeats=4, seed=0)
    assert set(metrics) == {f"{m}@{r}" for m in ("macro_f1", "micro_f1", "auc", "val_macro_f1", "val_micro_f1")
                            for r in (5, 10)}
    assert all(len(s["values"]) == 4 for s in metrics.values())
    assert metrics["micro_f1@10"]["mean"] > 0.9 and metrics["auc@10"]["mean"] > 0.95
    noise = torch.randn_like(z)
    chance = heco_node_classification(noise, y, splits, lr=0.05, iterations=60, repeats=4, seed=0)
    assert chance["micro_f1@10"]["mean"] < 0.6
    again = heco_node_classification(z, y, splits, lr=0.05, iterations=60, repeats=4, seed=0)
    assert again == metrics  # seeded
    with pytest.raises(DataError, match="NaN"):
        heco_node_classification(z * float("nan"), y, splits, repeats=1)


def test_validation_scores_are_the_best_over_the_classifier_steps() -> None:
    """``val_*`` are what picked the test scores: the best validation F1 so far, so more steps never lower them."""
    z, y, splits = _separable()
    runs = [heco_node_classification(z, y, splits, lr=0.05, iterations=k, repeats=3, seed=0) for k in (1, 5, 30)]
    for name in ("val_macro_f1@5", "val_micro_f1@10"):
        values = [torch.tensor(run[name]["values"]) for run in runs]
        assert all((later >= earlier).all() for earlier, later in zip(values, values[1:]))
        assert 0 <= float(values[0].min()) and float(values[-1].min()) > 0.9


def test_clustering_and_split_lookup() -> None:
    z, y, _ = _separable()
    scores = heco_clustering(z[:, :3], y, repeats=2, n_init=2)
    assert scores["nmi"]["mean"] > 0.8 and scores["ari"]["mean"] > 0.8
    store = {"train_idx_20": torch.tensor([0]), "val_idx_20": torch.tensor([1]), "test_idx_20": torch.tensor([2])}
    assert [t.tolist() for t in heco_splits(store, [20])[20]] == [[0], [1], [2]]
    with pytest.raises(DataError, match="label rate 40"):
        heco_splits(store, [40])


def test_tsne_plot(tmp_path) -> None:
    pytest.importorskip("matplotlib")
    from graphcl.eval.tsne import plot_tsne

    z, y, _ = _separable(60)
    out = plot_tsne(z, y, tmp_path / "figs" / "tsne.png", indices=torch.arange(40))
    assert (tmp_path / "figs" / "tsne.png").stat().st_size > 1000 and out["silhouette"] > 0.2
    assert np.isfinite(out["silhouette"])
