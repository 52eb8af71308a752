"""The DMGI / HeCo evaluation protocol for heterogeneous-graph embeddings (Park et al., AAAI 2020; Wang et al.,
KDD 2021, https://arxiv.org/abs/2105.09111), as used by MEOW.

**Node classification** (:func:`heco_node_classification`): for each label rate ``r`` (the shipped
``train/val/test_<r>`` splits), a ``Linear(d, C)`` classifier (xavier-uniform weights, zero bias) on the frozen
embeddings is trained with Adam (``lr``, ``weight_decay``), full batch, cross-entropy, for ``iterations`` steps;
after every step the validation and test predictions are scored and the test score is read at the step with the
best validation score — Macro-F1 at the best val Macro-F1, Micro-F1 at the best val Micro-F1, and AUC
(one-vs-rest, macro over classes, softmax probabilities) at the best val **Micro-F1** step (the reference code's
choice). ``repeats`` fresh classifiers are trained (all at once, batched: they are independent);
each metric is reported as a fraction in [0, 1] with its mean over the repeats. Metric names: ``macro_f1@<r>``,
``micro_f1@<r>``, ``auc@<r>``, and the best validation scores ``val_macro_f1@<r>`` / ``val_micro_f1@<r>`` that
picked them (what a benchmark selection may compare without looking at the test split).

**Clustering** (:func:`heco_clustering`): scikit-learn ``KMeans(n_clusters = C, n_init = 10)`` (``n_init`` explicit:
the default changed to ``"auto"`` in scikit-learn 1.4) refitted ``repeats`` times with seeds ``seed + i``;
``nmi`` (arithmetic normalisation) and ``ari`` averaged.

A t-SNE plot of the embeddings is in :mod:`graphcl.eval.tsne`.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from graphcl.errors import DataError
from graphcl.eval.summary import MetricSummary, summarize

if TYPE_CHECKING:
    from graphcl.models.base import GraphModel

__all__ = ["evaluate_hetero", "heco_clustering", "heco_node_classification", "heco_splits", "hetero_embedding_metrics",
           "hetero_protocol"]

Split = tuple[Tensor, Tensor, Tensor]


def heco_splits(store: Mapping[str, Tensor] | object, rates: Sequence[int]) -> dict[int, Split]:
    """``{r: (train, val, test)}`` from a node store holding ``train_idx_<r>`` / ``val_idx_<r>`` / ``test_idx_<r>``."""
    splits = {}
    for rate in rates:
        try:
            splits[int(rate)] = tuple(store[f"{part}_idx_{rate}"] for part in ("train", "val", "test"))
        except (KeyError, AttributeError) as exc:
            raise DataError(f"the target nodes have no split for label rate {rate} (expected train_idx_{rate}, "
                            f"val_idx_{rate}, test_idx_{rate})") from exc
    return splits  # type: ignore[return-value]


def _f1_scores(pred: Tensor, y: Tensor, num_classes: int) -> tuple[Tensor, Tensor]:
    """Macro- and micro-F1 of ``pred`` ``[R, n]`` against ``y`` ``[n]``, per row (sklearn's definitions)."""
    onehot_pred = F.one_hot(pred, num_classes).to(torch.float64)  # [R, n, C]
    onehot_true = F.one_hot(y, num_classes).to(torch.float64).unsqueeze(0)
    tp = (onehot_pred * onehot_true).sum(1)
    fp = onehot_pred.sum(1) - tp
    fn = onehot_true.sum(1) - tp
    denominator = 2 * tp + fp + fn
    f1 = torch.where(denominator > 0, 2 * tp / denominator.clamp(min=1), torch.zeros_like(tp))
    present = (onehot_true.sum(1) + onehot_pred.sum(1)) > 0  # sklearn averages over labels that occur
    macro = (f1 * present).sum(1) / present.sum(1).clamp(min=1)
    micro = (pred == y.unsqueeze(0)).to(torch.float64).mean(1)  # single-label: micro-F1 = accuracy
    return macro, micro


def heco_node_classification(
    z: Tensor,
    y: Tensor,
    splits: Mapping[int, Split],
    *,
    lr: float = 0.01,
    weight_decay: float = 0.0,
    iterations: int = 200,
    repeats: int = 50,
    seed: int = 0,
) -> dict[str, MetricSummary]:
    """Linear evaluation of frozen embeddings with the DMGI / HeCo protocol (see the module docstring).

    Args:
        z: ``[N, d]`` embeddings (detached; moved to CPU float32).
        y: ``[N]`` class ids ``0..C-1``.
        splits: ``{label_rate: (train_idx, val_idx, test_idx)}``.
        lr: Adam learning rate of the classifier (MEOW: 0.03 ACM, 0.01 DBLP).
        weight_decay: Adam weight decay.
        iterations: Adam steps per classifier.
        repeats: Independent classifiers (fresh initialisations) per label rate.
        seed: Seed of the initialisations.

    Returns:
        ``{"macro_f1@r", "micro_f1@r", "auc@r", "val_macro_f1@r", "val_micro_f1@r"}`` for every rate, each
        summarising the ``repeats`` values (the ``val_`` ones: the best validation score of each classifier).
    """
    from sklearn.metrics import roc_auc_score

    z = z.detach().to("cpu", torch.float32)
    y = y.detach().cpu().long()
    if z.dim() != 2 or y.dim() != 1 or z.size(0) != y.size(0):
        raise DataError(f"embeddings [N, d] and labels [N] must agree, got {tuple(z.shape)} and {tuple(y.shape)}")
    if not torch.isfinite(z).all():
        raise DataError("embeddings contain NaN or infinite values")
    num_classes = int(y.max()) + 1
    generator = torch.Generator().manual_seed(seed)
    metrics: dict[str, MetricSummary] = {}
    validation: dict[str, MetricSummary] = {}
    for rate, (train, val, test) in splits.items():
        weight = torch.empty(repeats, z.size(1), num_classes)
        for r in range(repeats):
            bound = float(np.sqrt(6.0 / (z.size(1) + num_classes)))  # xavier-uniform of Linear(d, C)
            weight[r] = (torch.rand(z.size(1), num_classes, generator=generator) * 2 - 1) * bound
        weight.requires_grad_()
        bias = torch.zeros(repeats, 1, num_classes, requires_grad=True)
        optimizer = torch.optim.Adam([weight, bias], lr=lr, weight_decay=weight_decay)
        x_train, x_val, x_test = z[train], z[val], z[test]
        y_train, y_val, y_test = y[train], y[val], y[test]
        best = {name: torch.full((repeats,), -1.0, dtype=torch.float64) for name in ("val_macro", "val_micro")}
        test_macro = torch.zeros(repeats, dtype=torch.float64)
        test_micro = torch.zeros(repeats, dtype=torch.float64)
        test_probs = torch.zeros(repeats, len(test), num_classes)
        for _ in range(iterations):
            optimizer.zero_grad()
            logits = x_train @ weight + bias  # [R, n_train, C]
            # Sum over repeats of each repeat's mean loss: the gradients stay independent per classifier.
            loss = F.cross_entropy(logits.reshape(-1, num_classes), y_train.repeat(repeats), reduction="sum")
            (loss / len(train)).backward()
            optimizer.step()
            with torch.no_grad():
                val_macro, val_micro = _f1_scores((x_val @ weight + bias).argmax(2), y_val, num_classes)
                logits_test = x_test @ weight + bias
                macro, micro = _f1_scores(logits_test.argmax(2), y_test, num_classes)
                better_macro = val_macro > best["val_macro"]
                better_micro = val_micro > best["val_micro"]
                best["val_macro"] = torch.where(better_macro, val_macro, best["val_macro"])
                best["val_micro"] = torch.where(better_micro, val_micro, best["val_micro"])
                test_macro = torch.where(better_macro, macro, test_macro)
                test_micro = torch.where(better_micro, micro, test_micro)
                probs = torch.softmax(logits_test, dim=2)
                test_probs = torch.where(better_micro.view(-1, 1, 1), probs, test_probs)
        y_test_np = y_test.numpy()
        aucs = []
        for r in range(repeats):
            probs = test_probs[r].numpy().astype(np.float64)
            probs /= probs.sum(1, keepdims=True)
            aucs.append(roc_auc_score(y_test_np, probs, multi_class="ovr", average="macro",
                                      labels=np.arange(num_classes)))
        metrics[f"macro_f1@{rate}"] = summarize(test_macro.tolist())
        metrics[f"micro_f1@{rate}"] = summarize(test_micro.tolist())
        metrics[f"auc@{rate}"] = summarize(aucs)
        validation[f"val_macro_f1@{rate}"] = summarize(best["val_macro"].tolist())
        validation[f"val_micro_f1@{rate}"] = summarize(best["val_micro"].tolist())
    return {**metrics, **validation}  # the test scores first, as tables list them


def heco_clustering(z: Tensor, y: Tensor, *, repeats: int = 10, n_init: int = 10, seed: int = 0
                    ) -> dict[str, MetricSummary]:
    """k-means NMI / ARI of the embeddings (DMGI / HeCo protocol), averaged over ``repeats`` fits.

    Args:
        z: ``[N, d]`` embeddings.
        y: ``[N]`` class ids.
        repeats: k-means fits (seeds ``seed .. seed + repeats - 1``).
        n_init: k-means++ restarts per fit (explicit; the reference relied on scikit-learn < 1.4's 10).
        seed: First seed.

    Returns:
        ``{"nmi": ..., "ari": ...}``.
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

    x = z.detach().cpu().double().numpy()
    labels = y.detach().cpu().numpy()
    num_classes = int(labels.max()) + 1
    nmi, ari = [], []
    for i in range(repeats):
        # torch's thread count, not scikit-learn's all cores (see graphcl.eval.clustering.kmeans_clustering)
        with threadpool_limits(limits=torch.get_num_threads()):
            pred = KMeans(n_clusters=num_classes, n_init=n_init, random_state=seed + i).fit_predict(x)
        nmi.append(normalized_mutual_info_score(labels, pred, average_method="arithmetic"))
        ari.append(adjusted_rand_score(labels, pred))
    return {"nmi": summarize(nmi), "ari": summarize(ari)}


def evaluate_hetero(model: GraphModel, data: object, ev: Mapping[str, object], *, seed: int,
                    run_dir: Path | None = None) -> dict[str, MetricSummary]:
    """Everything the experiment runner reports for a heterogeneous model: the node-classification metrics at
    every label rate of ``data`` (``"node"`` task), ``nmi`` / ``ari`` (``"clustering"`` task), the model's own
    :attr:`~graphcl.models.base.GraphModel.extra_metrics`, and optionally a t-SNE PNG of the test nodes
    (``tsne: true``)."""
    target = data.target_type
    z = model.embed(data).cpu()
    metrics = hetero_embedding_metrics(z, data, ev, seed=seed)
    metrics.update({name: summarize([value]) for name, value in model.extra_metric_values().items()})
    if ev.get("tsne") and run_dir is not None:
        from graphcl.eval.tsne import plot_tsne

        rates = getattr(data, "label_rates", None) or (20,)
        test = data[target].get(f"test_idx_{rates[0]}")
        plot_tsne(z, data[target].y.cpu(), Path(run_dir) / "tsne.png", indices=test, seed=seed,
                  title=f"{type(model).__name__} on {getattr(data, 'dataset_name', target)}")
    return metrics


def hetero_embedding_metrics(z: Tensor, data: object, ev: Mapping[str, object], *, seed: int
                             ) -> dict[str, MetricSummary]:
    """The ``"node"`` (every label rate of ``data``) and ``"clustering"`` metrics of ``ev["tasks"]`` for the
    embeddings ``z`` ``[N, d]`` of ``data``'s target nodes (the DMGI / HeCo protocol, ``ev``'s probe and
    clustering settings)."""
    target = data.target_type
    z = z.detach().cpu()
    y = data[target].y.cpu()
    metrics: dict[str, MetricSummary] = {}
    tasks = ev["tasks"]
    if "node" in tasks:
        rates = getattr(data, "label_rates", None) or (20, 40, 60)
        metrics.update(heco_node_classification(
            z, y, heco_splits(data[target], rates), lr=float(ev["probe_lr"]),
            weight_decay=float(ev["probe_weight_decay"]), iterations=int(ev["probe_iterations"]),
            repeats=int(ev["probe_repeats"]), seed=seed))
    if "clustering" in tasks:
        metrics.update(heco_clustering(z, y, repeats=int(ev["cluster_repeats"]), seed=seed))
    return metrics


def hetero_protocol(cfg: Mapping[str, object], embedding_summary: str | None = None) -> dict[str, object]:
    """The ``protocol`` block of ``results.json`` for heterogeneous models (how every number was obtained).

    Args:
        cfg: The run's configuration.
        embedding_summary: What the model's ``embed`` returns, in words, for models without an ``embedding``
            mode in their config (MEOW / AdaMEOW have one: ``faithful`` or ``clean``).
    """
    patience = cfg.get("patience")
    out: dict[str, object] = {
        "training": (f"full-batch Adam, {cfg['epochs']} epochs, final weights" if patience is None else
                     f"full-batch Adam, up to {cfg['epochs']} epochs, early stopping on the training loss "
                     f"(patience {patience})"),
    }
    if "embedding" in cfg or embedding_summary is None:
        mode = cfg.get("embedding", "faithful")
        out["embedding_mode"] = mode
        out["embeddings"] = ("z^f of the last training-mode forward pass (dropout on), as the reference code"
                             if mode == "faithful" else
                             "z^f of an eval-mode forward pass with the best-loss weights restored (final weights "
                             "without early stopping)")
    else:
        out["embeddings"] = embedding_summary
    if "node" in cfg["tasks"]:
        out["node_classification"] = {
            "protocol": "DMGI / HeCo: Linear(d, C) on frozen embeddings, Adam "
                        f"(lr {cfg['probe_lr']}, weight decay {cfg['probe_weight_decay']}), "
                        f"{cfg['probe_iterations']} full-batch steps, test read at the best validation step "
                        "(AUC at the best validation Micro-F1 step)",
            "splits": "the shipped train/val/test_<r> index files, r labelled nodes per class",
            "repeats_per_seed": cfg["probe_repeats"],
            "metrics": "macro_f1@r, micro_f1@r, auc@r (one-vs-rest, macro) as fractions; val_macro_f1@r, "
                       "val_micro_f1@r: the best validation scores that picked them (for model selection)",
        }
    if "clustering" in cfg["tasks"]:
        out["clustering"] = {"method": "sklearn KMeans(n_clusters=C, n_init=10)",
                             "repeats_per_seed": cfg["cluster_repeats"], "metrics": "nmi (arithmetic), ari"}
    out["values"] = "one value per seed, each the mean over that seed's classifier / k-means repeats"
    return out
