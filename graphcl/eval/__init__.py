"""Evaluation of frozen node embeddings; every evaluator returns ``dict[str, MetricSummary]``.

A :class:`~graphcl.eval.summary.MetricSummary` is ``{"mean": float, "std": float, "values": [...]}`` over
repeats (population std). Metric names are fixed:

* **Node classification** -- :func:`linear_probe`: ``test_acc`` and ``val_acc`` (fractions in [0, 1]).
  Protocol of GRACE / GCA: per repeat a random 10% / 10% / 80% node split (:func:`random_node_split`,
  seed ``seed + r``) or given masks, L2-normalised embeddings, multinomial logistic regression with ``C``
  selected on the validation nodes, test accuracy of that ``C``.
* **Node clustering** -- :func:`kmeans_clustering`: ``acc`` (Hungarian-matched accuracy), ``nmi``, ``ari``
  and ``f1`` (macro-F1 after matching) of scikit-learn k-means with ``n_clusters`` = number of classes,
  one seed per repeat. :func:`cluster_accuracy` / :func:`clustering_scores` score any given clustering.
* **Link prediction** -- :func:`link_prediction`: ``auc`` and ``ap`` (ROC-AUC and average precision of a
  cosine or dot-product decoder) on the test pairs, plus ``val_auc`` / ``val_ap``. :func:`split_edges`
  holds out validation / test edges (with as many sampled non-edges) before the encoder is trained;
  :func:`link_prediction_scores` scores any labelled pairs.

* **Embeddings from a file** -- :func:`read_embeddings` reads ``.npy`` / ``.pt`` / ``.pkl`` matrices without
  running code; ``graphcl eval --embeddings FILE`` scores them with the settings ``graphcl train`` would use
  (:func:`graphcl.experiment.embedding_metrics`).

scikit-learn and PyG are imported inside the functions, so ``import graphcl.eval`` stays cheap.
"""
from graphcl.eval.clustering import (
    cluster_accuracy,
    clustering_scores,
    kmeans_clustering,
)
from graphcl.eval.embeddings import EMBEDDING_SUFFIXES, read_embeddings
from graphcl.eval.link import link_prediction, link_prediction_scores, split_edges
from graphcl.eval.probe import DEFAULT_C_GRID, linear_probe
from graphcl.eval.splits import (
    IndexSplit,
    as_index_splits,
    random_node_split,
    splits_from_masks,
)
from graphcl.eval.summary import MetricSummary, merge_summaries, summarize

__all__ = [
    "DEFAULT_C_GRID",
    "EMBEDDING_SUFFIXES",
    "IndexSplit",
    "MetricSummary",
    "as_index_splits",
    "cluster_accuracy",
    "clustering_scores",
    "kmeans_clustering",
    "linear_probe",
    "link_prediction",
    "link_prediction_scores",
    "merge_summaries",
    "random_node_split",
    "read_embeddings",
    "split_edges",
    "splits_from_masks",
    "summarize",
]
