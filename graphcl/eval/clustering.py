"""Clustering metrics (ACC with Hungarian matching, NMI, ARI, macro-F1) and k-means on frozen embeddings."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from graphcl.eval._arrays import embeddings_as_numpy, l2_normalize_rows, labels_as_numpy
from graphcl.eval.summary import MetricSummary, summarize
from graphcl.utils.checks import check_positive_int

_UNMATCHED = -1


def _contingency(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Class codes, cluster codes and the ``[num_classes, num_clusters]`` contingency table."""
    true = labels_as_numpy(y_true, name="y_true")
    pred = labels_as_numpy(y_pred, num_nodes=true.shape[0], name="y_pred")
    if true.size == 0:
        raise ValueError("y_true and y_pred are empty")
    _, true_codes = np.unique(true, return_inverse=True)
    _, pred_codes = np.unique(pred, return_inverse=True)
    table = np.zeros((true_codes.max() + 1, pred_codes.max() + 1), dtype=np.int64)
    np.add.at(table, (true_codes, pred_codes), 1)
    return true_codes, pred_codes, table


def _match_clusters(table: np.ndarray) -> np.ndarray:
    """Class code assigned to each cluster by the maximum-weight matching (``-1`` where unmatched)."""
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(table, maximize=True)
    mapping = np.full(table.shape[1], _UNMATCHED, dtype=np.int64)
    mapping[cols] = rows
    return mapping


def _matched_accuracy(table: np.ndarray, mapping: np.ndarray) -> float:
    """Fraction of nodes whose cluster is matched to their own class."""
    matched = np.flatnonzero(mapping != _UNMATCHED)
    return float(table[mapping[matched], matched].sum() / table.sum())


def cluster_accuracy(y_true: Any, y_pred: Any) -> float:
    r"""Clustering accuracy: the best one-to-one matching of clusters to classes (Hungarian algorithm).

    .. math::
        \mathrm{ACC} = \max_{m} \frac{1}{N} \sum_{i=1}^{N} \mathbb{1}[y_i = m(\hat{y}_i)]

    over injective maps :math:`m` from clusters to classes. With more clusters than classes the
    unmatched clusters' nodes count as errors; with fewer, some classes are never predicted.

    Args:
        y_true: Ground-truth classes ``[N]`` (any hashable values).
        y_pred: Cluster assignments ``[N]`` (any hashable values; their number may differ from the
            number of classes).

    Returns:
        The accuracy as a fraction in :math:`[0, 1]`.
    """
    _, _, table = _contingency(y_true, y_pred)
    return _matched_accuracy(table, _match_clusters(table))


def clustering_scores(y_true: Any, y_pred: Any) -> dict[str, float]:
    """ACC, NMI, ARI and macro-F1 of one clustering against the ground-truth classes.

    ``acc`` is :func:`cluster_accuracy`; ``nmi`` and ``ari`` are scikit-learn's
    ``normalized_mutual_info_score`` (arithmetic normalisation) and ``adjusted_rand_score``, which need
    no matching; ``f1`` is the macro-F1 over the true classes after relabelling every cluster with its
    Hungarian-matched class (nodes of unmatched clusters count as wrong).

    Args:
        y_true: Ground-truth classes ``[N]``.
        y_pred: Cluster assignments ``[N]``.

    Returns:
        ``{"acc", "nmi", "ari", "f1"}``, each in :math:`[0, 1]` (ARI may be slightly negative).
    """
    from sklearn.metrics import (
        adjusted_rand_score,
        f1_score,
        normalized_mutual_info_score,
    )

    true_codes, pred_codes, table = _contingency(y_true, y_pred)
    mapping = _match_clusters(table)
    mapped = mapping[pred_codes]
    return {
        "acc": _matched_accuracy(table, mapping),
        "nmi": float(normalized_mutual_info_score(true_codes, pred_codes)),
        "ari": float(adjusted_rand_score(true_codes, pred_codes)),
        "f1": float(
            f1_score(true_codes, mapped, labels=np.arange(table.shape[0]), average="macro", zero_division=0)
        ),
    }


def kmeans_clustering(
    z: Any,
    y: Any,
    n_clusters: int | None = None,
    repeats: int = 10,
    seed: int = 0,
    normalize: bool = False,
    n_init: int = 10,
    n_threads: int | None = None,
) -> dict[str, MetricSummary]:
    """Node clustering quality of k-means on frozen embeddings (the protocol of CSGCL / SUGRL-style papers).

    Runs scikit-learn's ``KMeans(n_clusters, n_init=n_init, random_state=seed + r)`` for every repeat
    ``r`` and scores each clustering with :func:`clustering_scores`.

    Args:
        z: Node embeddings ``[N, D]`` (tensor on any device, or array).
        y: Node labels ``[N]``.
        n_clusters: Number of clusters; ``None`` uses the number of distinct labels. (default: ``None``)
        repeats: Number of k-means runs with different seeds. (default: ``10``)
        seed: Seed of the first run; run ``r`` uses ``seed + r``. (default: ``0``)
        normalize: L2-normalise the embedding rows first (spherical-k-means-like). (default: ``False``)
        n_init: k-means restarts per run, the best inertia kept. (default: ``10``)
        n_threads: OpenMP / BLAS threads for k-means; ``None`` uses torch's thread count
            (``torch.get_num_threads()``, i.e. ``OMP_NUM_THREADS`` or ``torch.set_num_threads``) instead of
            scikit-learn's all cores: on cores shared with other jobs OpenMP's busy-waiting made Cora-size
            k-means 7-40x slower with every core than with one, for the same labels. (default: ``None``)

    Returns:
        ``{"acc", "nmi", "ari", "f1"}`` summaries over the repeats.
    """
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

    x = embeddings_as_numpy(z)
    labels = labels_as_numpy(y, num_nodes=x.shape[0])
    if n_clusters is None:
        n_clusters = int(np.unique(labels).size)
    n_clusters = check_positive_int(n_clusters, "n_clusters", allow_numpy=True)
    if n_clusters > x.shape[0]:
        raise ValueError(f"n_clusters={n_clusters} exceeds the number of nodes ({x.shape[0]})")
    check_positive_int(repeats, "repeats")
    if normalize:
        x = l2_normalize_rows(x)

    runs: dict[str, list[float]] = {"acc": [], "nmi": [], "ari": [], "f1": []}
    threads = torch.get_num_threads() if n_threads is None else n_threads
    for r in range(repeats):
        with threadpool_limits(limits=threads):
            pred = KMeans(n_clusters=int(n_clusters), n_init=n_init, random_state=seed + r).fit_predict(x)
        for name, value in clustering_scores(labels, pred).items():
            runs[name].append(value)
    return {name: summarize(values) for name, values in runs.items()}
