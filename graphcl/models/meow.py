"""MEOW and AdaMEOW — Yu et al., "Heterogeneous Graph Contrastive Learning with Meta-path Contexts and
(Adaptively) Weighted Negative Samples", SDM 2023 / TKDE 2024, https://arxiv.org/abs/2212.13847.

Both contrast a **coarse view** (one GCN over the mean of the normalised meta-path graphs, target features
only) with a **fine-grained view** (per meta-path: context-enriched features through the same GCN on the clean
and on a masked copy of the graph, fused by semantic attention), after one shared projection head:

- **MEOW**: anchors :math:`a = p(z^c)`, samples :math:`e = p(z^f)`; InfoNCE whose negatives are weighted by the
  number of per-epoch k-means clusterings of :math:`e` that separate them (positive not in the denominator),
  plus :math:`\\lambda \\cdot` ProtoNCE (:mod:`graphcl.losses.meow`).
- **AdaMEOW**: anchors :math:`p(z^f)`, samples :math:`p(z^c)`; learned soft weights
  :math:`\\sigma(\\mathrm{MLP}(a_i + e_j))` (:mod:`graphcl.losses.adameow`).

The downstream embedding is :math:`z^f` (before the projection head). Two embedding modes:

- ``"faithful"``: the reference code's — :math:`z^f` of the **last training-mode forward pass** (dropout on);
  it exists only for the graph of that pass, so :meth:`~_MetaPathContrast.embed` of any other graph (another
  object, or the same one with its features / edges changed in place) raises instead of answering for it;
- ``"clean"``: :math:`z^f` of an eval-mode forward (no dropout) with the weights the trainer ends with (the
  experiment runner restores the lowest-loss weights when early stopping is on).

The graph views (PathSim top-k, masks, contexts) are built once per training run by
:meth:`~_MetaPathContrast.prepare`, from torch's global RNG (so they follow the training seed); every training step
uses them. ``forward`` refuses a graph other than the prepared one (see :class:`_GraphKey`).
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, get_args

import torch
from torch import Tensor, nn
from torch_geometric.data import HeteroData

from graphcl.errors import ConfigError, DataError
from graphcl.losses.adameow import LearnedNegativeWeights
from graphcl.losses.meow import PositiveSets, ProtoNCE, WeightedInfoNCE, cluster_prototypes, positive_sets
from graphcl.models.base import GraphModel
from graphcl.models.heco import heco_positives
from graphcl.nn.metapath import (
    LinearInit,
    MetaPathEncoder,
    MetaPathInputs,
    NormalizedTanhHead,
    context_keys,
)
from graphcl.ops.cluster import INITS as KMEANS_INITS
from graphcl.transforms.metapath import MetaPathContexts, MetaPathViews

__all__ = ["MEOW", "AdaMEOW"]

log = logging.getLogger(__name__)

_EMBEDDING_MODES = ("faithful", "clean")
_POSITIVE_SOURCES = ("self", "file", "metapath_count")


def _needed_channels(data: HeteroData) -> dict[str, int]:
    if not isinstance(data, HeteroData):
        raise ConfigError(f"MEOW / AdaMEOW need a heterogeneous graph (HeteroData with declared meta-paths, e.g. "
                          f"from graphcl.data.load_heco); got {type(data).__name__}")
    specs = getattr(data, "metapath_specs", None)
    if not specs:
        raise DataError("the graph declares no meta-paths (use graphcl.data.load_heco or "
                        "graphcl.data.heco.attach_metapaths)")
    types = {data.target_type} | {spec.node_types[p] for spec in specs for p in spec.context}
    channels = {}
    for node_type in sorted(types):
        x = data[node_type].get("x") if node_type in data.node_types else None
        if x is None:
            raise DataError(f"node type {node_type!r} has no features 'x' (needed by the meta-path encoder)")
        channels[node_type] = int(x.size(1))
    return channels


def _maybe_sparse(x: Tensor, max_density: float = 0.05) -> Tensor:
    """Large, mostly-zero dense features as sparse COO: the type projection then costs O(nnz · d_h)."""
    if x.is_sparse or x.numel() < 1_000_000:
        return x
    nonzero = int(torch.count_nonzero(x))
    return x.to_sparse() if nonzero < max_density * x.numel() else x


def _graph_tensors(data: HeteroData) -> tuple[Tensor, ...]:
    """The tensors the views and embeddings are built from: every node type's ``x`` and every edge type's tensors
    (labels and split indices are left out: editing them changes no embedding)."""
    features = (store.get("x") for store in data.node_stores)
    edges = (value for store in data.edge_stores for value in store.values())
    return tuple(t for t in (*features, *edges) if isinstance(t, Tensor))


def _check_linear_init(linear_init: str) -> None:
    if linear_init not in get_args(LinearInit):
        raise ConfigError(f"linear_init must be one of {get_args(LinearInit)}, got {linear_init!r}")


class _GraphKey:
    """Identity of a graph, to check that a call gets the graph the views (or the faithful :math:`z^f`) were made
    for: the data object, its feature / edge tensors (as objects) and their version counters. Another object, a
    replaced or added tensor, or an in-place edit is a different graph; ``data.to(device)`` on a graph already there
    (what the experiment runner does) is the same one. Costs a walk over the stores, no tensor data is read."""

    def __init__(self, data: HeteroData) -> None:
        self.data = data
        self.tensors = _graph_tensors(data)
        self.versions = tuple(t._version for t in self.tensors)

    def matches(self, data: HeteroData) -> bool:
        if data is not self.data:
            return False
        tensors = _graph_tensors(data)
        return (
            len(tensors) == len(self.tensors)
            and all(a is b for a, b in zip(tensors, self.tensors))
            and tuple(t._version for t in tensors) == self.versions
        )


class _MetaPathContrast(GraphModel):
    """Shared machinery: view preparation, encoding, embeddings."""

    #: Runs recorded before these options existed used Xavier-normal linear layers and kept the lowest node ids
    #: among equal PathSim scores (the defaults became the reference's ``nn.Linear`` initialisation and random ties).
    previous_defaults = {"linear_init": "xavier", "pathsim_ties": "index"}

    heterogeneous = True  # built from the HeteroData, evaluated with the DMGI / HeCo protocol

    def __init__(self, encoder: MetaPathEncoder, head: nn.Module, views: MetaPathViews,
                 embedding: str = "faithful") -> None:
        super().__init__()
        if embedding not in _EMBEDDING_MODES:
            raise ConfigError(f"embedding must be one of {_EMBEDDING_MODES}, got {embedding!r}")
        self.encoder = encoder
        self.head = head
        self.views = views
        self.contexts = MetaPathContexts()
        self.embedding = embedding
        self._prepared: tuple[_GraphKey, MetaPathInputs] | None = None
        self._last_fine: Tensor | None = None
        self._last_fine_graph: _GraphKey | None = None

    def build_inputs(self, data: HeteroData) -> MetaPathInputs:
        """Fresh view tensors of ``data`` (PathSim top-k graphs, masked copy, contexts), on its device; draws the
        masks from torch's global RNG."""
        view = self.contexts(self.views(data))
        inputs = MetaPathInputs.from_data(view)
        inputs.x = {t: _maybe_sparse(x) for t, x in inputs.x.items()}
        inputs.x_masked = _maybe_sparse(inputs.x_masked)
        return inputs

    def prepare(self, data: HeteroData) -> HeteroData:
        """Build the views of ``data`` that every training step uses; returns ``data`` itself.

        The views are kept on the model (:attr:`inputs`) with the identity of ``data``: training steps on this
        graph use them, another graph (or this one edited in place) must be prepared again.
        """
        self._prepared = (_GraphKey(data), self.build_inputs(data))
        return data

    @property
    def inputs(self) -> MetaPathInputs | None:
        """The view tensors made by the last :meth:`prepare` (``None`` before it)."""
        return None if self._prepared is None else self._prepared[1]

    def _prepared_inputs(self, data: HeteroData) -> MetaPathInputs:
        """The prepared views, checked to belong to ``data``.

        Raises:
            DataError: :meth:`prepare` was not called, or was called for another graph (or for this one before
                an in-place edit of its features / edges).
        """
        if self._prepared is None:
            raise DataError(f"{type(self).__name__} trains on views prepared for the graph: call "
                            f"data = model.prepare(data) once before training")
        if not self._prepared[0].matches(data):
            raise DataError(f"{type(self).__name__} was prepared for another graph (or this graph's features / edges "
                            f"changed since): call data = model.prepare(data) for this one")
        return self._prepared[1]

    def _remember_fine(self, fine: Tensor) -> None:
        """Keep :math:`z^f` of a training-mode forward pass (the ``"faithful"`` embedding) with its graph."""
        if self.training and self._prepared is not None:
            self._last_fine, self._last_fine_graph = fine.detach(), self._prepared[0]

    def encode(self, data: HeteroData) -> dict[str, Tensor]:
        """Coarse and fine embeddings (:math:`z^c`, :math:`z^f`) and the attention weights of the prepared graph
        ``data``."""
        return self.encoder(self._prepared_inputs(data))

    def embed(self, data: HeteroData) -> Tensor:
        """:math:`z^f` for downstream tasks, per :attr:`embedding` (see the module docstring), detached.

        In ``"faithful"`` mode this is the :math:`z^f` of the last training step, returned only for the graph of
        that step: the same ``HeteroData`` object with the same (unmodified) feature and edge tensors, as the
        experiment runner passes it. Before any training step, both modes compute an eval-mode pass: on the
        prepared views when ``data`` is the prepared graph, else on views built for ``data`` here (not kept).

        Raises:
            DataError: In ``"faithful"`` mode, ``data`` is not the graph of the last training step (another
                object, or features / edges replaced or edited in place since): its :math:`z^f` is not what that
                step computed. Use ``embedding="clean"`` to embed another graph.
        """
        if self.embedding == "faithful" and self._last_fine is not None:
            if self._last_fine_graph is None or not self._last_fine_graph.matches(data):
                target = getattr(data, "target_type", None)
                trained = self._last_fine.size(0)
                known = isinstance(data, HeteroData) and target in data.node_types
                num_nodes = data[target].num_nodes if known else None
                if num_nodes is not None and num_nodes != trained:
                    differs = f"this graph has {num_nodes}"
                else:
                    differs = "this is another graph (or its features / edges were changed since)"
                raise DataError(
                    f"embedding='faithful' returns z^f of the last training step ({trained} '{target}' nodes), "
                    f"but {differs}: embed the graph the model was trained on, or use embedding='clean'"
                )
            return self._last_fine
        prepared = self._prepared is not None and self._prepared[0].matches(data)
        inputs = self._prepared[1] if prepared else self.build_inputs(data)
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                return self.encoder(inputs)["fine"]
        finally:
            self.train(was_training)


class MEOW(_MetaPathContrast):
    """MEOW (Yu et al., SDM 2023): coarse/fine meta-path views, cluster-weighted negatives, ProtoNCE.

    .. math::
        \\mathcal{L} = \\frac1N\\sum_i -\\log\\frac{S_{ii}}{\\sum_j w_{ij} S_{ij}}
            + \\lambda\\,\\mathcal{L}_{proto},\\quad S_{ij} = e^{p(z^c_i)^\\top p(z^f_j)/\\tau},\\quad
        w_{ij} = \\sum_t \\mathbb{1}[c_t(i) \\ne c_t(j)]

    with :math:`c_t` the k-means clusterings (:math:`K_t` = ``num_clusters``) of :math:`p(z^f)`, recomputed every
    forward pass. ``negative_weights="uniform"`` gives the HeCo-style single-positive InfoNCE between the two
    views (all weights one, positive in the denominator) — the unweighted baseline; set ``lam_proto=0`` with it.

    ``positives`` other than ``"self"`` (not in MEOW's paper or code) gives every node HeCo's meta-path positives
    besides itself — the numerator sums :math:`S_{ij}` over them and they leave the negatives
    (:class:`~graphcl.losses.meow.WeightedInfoNCE`): ``"file"`` reads them from the graph's ``positive_index``
    (HeCo's ``pos.npz``), ``"metapath_count"`` computes HeCo's rule
    (:func:`~graphcl.models.heco.metapath_count_positives`, ``num_positives`` per node). Why: where the target
    type has no features (one-hot rows, as in HeCo's AMiner and Freebase files), each node's own free embedding
    row enters both views, so the single-positive loss can be lowered by telling those rows apart without using
    the graph; positives shared along meta-paths ask connected nodes to agree instead.

    Args:
        encoder: :class:`~graphcl.nn.metapath.MetaPathEncoder`.
        head: Shared projection head (:class:`~graphcl.nn.metapath.NormalizedTanhHead`).
        views: The :class:`~graphcl.transforms.metapath.MetaPathViews` transform (top-k, masks).
        tau: Temperature.
        num_clusters: :math:`K_t` of the T clusterings.
        lam_proto: :math:`\\lambda`.
        kmeans_n_init: k-means restarts per clustering (reference: 5).
        kmeans_iter: Lloyd iterations (reference: 20).
        kmeans_init: ``"k-means++"`` or ``"random"`` (the reference's faiss ``Clustering``: ``K_t`` distinct random
            points, and several times faster on CPU for ``K_t`` in the hundreds). (default: ``"k-means++"``)
        negative_weights: ``"clusters"`` (MEOW) or ``"uniform"`` (baseline).
        embedding: ``"faithful"`` or ``"clean"``.
        chunk_size: Anchor rows per chunk of the loss.
        positives: ``"self"`` (MEOW), ``"file"`` or ``"metapath_count"`` (HeCo's meta-path positives, see above).
        num_positives: :math:`T_{pos}` for ``positives="metapath_count"`` (HeCo: AMiner 15, Freebase 80).
    """

    def __init__(self, encoder: MetaPathEncoder, head: nn.Module, views: MetaPathViews, *, tau: float = 0.9,
                 num_clusters: Sequence[int] = (100, 300), lam_proto: float = 1.0, kmeans_n_init: int = 5,
                 kmeans_iter: int = 20, kmeans_init: str = "k-means++", negative_weights: str = "clusters",
                 embedding: str = "faithful", chunk_size: int | None = 1024, positives: str = "self",
                 num_positives: int = 5) -> None:
        super().__init__(encoder, head, views, embedding)
        if negative_weights not in ("clusters", "uniform"):
            raise ConfigError(f"negative_weights must be 'clusters' or 'uniform', got {negative_weights!r}")
        if positives not in _POSITIVE_SOURCES:
            raise ConfigError(f"positives must be one of {_POSITIVE_SOURCES}, got {positives!r}")
        if isinstance(num_positives, bool) or not isinstance(num_positives, int) or num_positives < 1:
            raise ConfigError(f"num_positives must be an int >= 1, got {num_positives!r}")
        if negative_weights == "clusters" and not num_clusters:
            raise ConfigError("negative_weights='clusters' needs at least one entry in num_clusters")
        if isinstance(lam_proto, bool) or not isinstance(lam_proto, (int, float)) or not 0 <= lam_proto < float("inf"):
            raise ConfigError(f"lam_proto must be a finite number >= 0, got {lam_proto!r}")
        for name, value in (("kmeans_n_init", kmeans_n_init), ("kmeans_iter", kmeans_iter)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be an int >= 1, got {value!r}")
        if kmeans_init not in KMEANS_INITS:
            raise ConfigError(f"kmeans_init must be one of {KMEANS_INITS}, got {kmeans_init!r}")
        for k in num_clusters:
            if isinstance(k, bool) or not isinstance(k, int) or k < 1:
                raise ConfigError(f"num_clusters must hold ints >= 1 (K_t per clustering), got {list(num_clusters)}")
        self.tau = float(tau)
        self.num_clusters = [int(k) for k in num_clusters]
        self.lam_proto = float(lam_proto)
        self.kmeans_n_init = int(kmeans_n_init)
        self.kmeans_iter = int(kmeans_iter)
        self.kmeans_init = kmeans_init
        self.negative_weights = negative_weights
        self.positives = positives
        self.num_positives = int(num_positives)
        self._positives: PositiveSets | None = None
        self.loss = WeightedInfoNCE(tau, include_positive=negative_weights == "uniform", chunk_size=chunk_size)
        self.proto = ProtoNCE()

    @classmethod
    def build(
        cls,
        in_channels: HeteroData,
        hidden_channels: int = 64,
        embed_channels: int = 64,
        proj_channels: int = 64,
        dropout: float = 0.2,
        tau: float = 0.9,
        topk: list[int] | None = None,
        edge_mask: list[float] = (0.2,),
        feature_mask: float = 0.2,
        symmetric_norm: bool = False,
        num_clusters: list[int] = (100, 300),
        lam_proto: float = 1.0,
        kmeans_n_init: int = 5,
        kmeans_iter: int = 20,
        kmeans_init: str = "k-means++",
        negative_weights: str = "clusters",
        embedding: str = "faithful",
        chunk_size: int = 1024,
        positives: str = "self",
        num_positives: int = 5,
        linear_init: str = "torch",
        pathsim_ties: str = "random",
        **unused: Any,
    ) -> MEOW:
        """MEOW with the reference architecture for the graph ``in_channels`` (a ``HeteroData`` with declared
        meta-paths: the feature sizes and context positions are read from it; the name is the one every model's
        ``build`` takes first). ``topk`` / ``edge_mask`` are per meta-path (a one-element list applies to all).

        The defaults are not one dataset's settings: ``tau = 0.9`` and ``feature_mask = 0.2`` are the reference's
        DBLP values, ``edge_mask = 0.2`` for every meta-path is only DBLP's APA rate, and ``num_clusters`` is
        ACM's; ``configs/meow/<dataset>.yaml`` hold the per-dataset values. ``linear_init`` initialises the
        type projections, context maps and projection head (:data:`~graphcl.nn.metapath.LinearInit`; the
        reference's ``"torch"``, or HeCo's ``"xavier"``); ``pathsim_ties`` orders equal PathSim scores in the
        top-k (``"random"``, drawn from the views' seeded generator; ``"index"`` or ``"reference"``, see
        :func:`~graphcl.transforms.metapath.pathsim_topk`)."""
        if unused:
            raise TypeError(f"MEOW.build() got unexpected arguments: {sorted(unused)}")
        if not num_clusters and negative_weights == "clusters":
            raise ConfigError("num_clusters must not be empty")
        _check_linear_init(linear_init)
        encoder = MetaPathEncoder(_needed_channels(in_channels), context_keys(in_channels), hidden_channels,
                                  embed_channels, dropout, linear_init)
        views = MetaPathViews(topk, list(edge_mask), feature_mask, symmetric=symmetric_norm, ties=pathsim_ties)
        n = in_channels[in_channels.target_type].num_nodes
        too_many = [k for k in num_clusters if k > n]
        if too_many and (negative_weights == "clusters" or lam_proto > 0):
            raise ConfigError(f"num_clusters {too_many} exceed the {n} target nodes")
        return cls(encoder, NormalizedTanhHead(embed_channels, proj_channels, linear_init), views, tau=tau,
                   num_clusters=num_clusters, lam_proto=lam_proto, kmeans_n_init=kmeans_n_init,
                   kmeans_iter=kmeans_iter, kmeans_init=kmeans_init, negative_weights=negative_weights,
                   embedding=embedding,
                   chunk_size=chunk_size, positives=positives, num_positives=num_positives)

    def prepare(self, data: HeteroData) -> HeteroData:
        """The views of :meth:`_MetaPathContrast.prepare` and, with ``positives`` other than ``"self"``, the
        positive pairs of ``data``.

        Raises:
            DataError: ``positives="file"`` and the graph has no ``positive_index`` (no ``pos.npz`` in its folder).
        """
        super().prepare(data)
        self._positives = None
        if self.positives != "self":
            pairs = heco_positives(data, self.positives, self.num_positives)
            self._positives = positive_sets(pairs, data[data.target_type].num_nodes)
        return data

    def forward(self, data: HeteroData) -> dict[str, Tensor]:
        """Training loss parts ``{"nce": ..., "proto": λ·L_proto}`` (``fit`` sums them)."""
        out = self.encode(data)
        self._remember_fine(out["fine"])
        anchor, sample = self.head(out["coarse"]), self.head(out["fine"])
        parts: dict[str, Tensor] = {}
        need_clusters = self.negative_weights == "clusters" or self.lam_proto > 0
        prototypes = cluster_prototypes(sample, self.num_clusters, self.tau, n_init=self.kmeans_n_init,
                                         max_iter=self.kmeans_iter, init=self.kmeans_init) if need_clusters else None
        labels = prototypes.labels if self.negative_weights == "clusters" and prototypes is not None else None
        parts["nce"] = self.loss(anchor, sample, labels=labels, positive_index=self._positives)
        if self.lam_proto > 0 and prototypes is not None:
            parts["proto"] = self.lam_proto * self.proto(anchor, prototypes)
        return parts


class AdaMEOW(_MetaPathContrast):
    """AdaMEOW (Yu et al., TKDE 2024): MEOW's views with learned soft negative weights, no clustering.

    .. math::
        \\mathcal{L} = \\frac1N\\sum_i -\\log\\frac{S_{ii}}{\\sum_j w_{ij} S_{ij}},\\quad
        S_{ij} = e^{p(z^f_i)^\\top p(z^c_j)/\\tau},\\quad w_{ij} = \\sigma(\\mathrm{MLP}(p(z^f_i) + p(z^c_j)))

    The mean weight of every training step is appended to :attr:`mean_weight_history` (a collapse toward zero
    shows there; nothing in the objective prevents it, as in the reference).

    Args:
        encoder: :class:`~graphcl.nn.metapath.MetaPathEncoder`.
        head: Shared projection head.
        views: The :class:`~graphcl.transforms.metapath.MetaPathViews` transform.
        loss: :class:`~graphcl.losses.adameow.LearnedNegativeWeights`.
        embedding: ``"faithful"`` or ``"clean"``.
    """

    extra_metrics = ("mean_neg_weight",)

    def __init__(self, encoder: MetaPathEncoder, head: nn.Module, views: MetaPathViews,
                 loss: LearnedNegativeWeights, *, embedding: str = "faithful") -> None:
        super().__init__(encoder, head, views, embedding)
        self.loss = loss
        self.mean_weight_history: list[float] = []

    @classmethod
    def build(
        cls,
        in_channels: HeteroData,
        hidden_channels: int = 64,
        embed_channels: int = 64,
        proj_channels: int = 64,
        dropout: float = 0.2,
        tau: float = 0.9,
        topk: list[int] | None = None,
        edge_mask: list[float] = (0.3,),
        feature_mask: float = 0.1,
        symmetric_norm: bool = False,
        weight_hidden: int = 16,
        embedding: str = "faithful",
        chunk_size: int = 256,
        linear_init: str = "torch",
        pathsim_ties: str = "random",
        **unused: Any,
    ) -> AdaMEOW:
        """AdaMEOW with the reference architecture for the graph ``in_channels`` (see :meth:`MEOW.build`)."""
        if unused:
            raise TypeError(f"AdaMEOW.build() got unexpected arguments: {sorted(unused)}")
        _check_linear_init(linear_init)
        encoder = MetaPathEncoder(_needed_channels(in_channels), context_keys(in_channels), hidden_channels,
                                  embed_channels, dropout, linear_init)
        views = MetaPathViews(topk, list(edge_mask), feature_mask, symmetric=symmetric_norm, ties=pathsim_ties)
        loss = LearnedNegativeWeights(proj_channels, tau, hidden_channels=weight_hidden, chunk_size=chunk_size)
        return cls(encoder, NormalizedTanhHead(embed_channels, proj_channels, linear_init), views, loss,
                   embedding=embedding)

    def extra_metric_values(self) -> dict[str, float]:
        """``mean_neg_weight``: the mean learned negative weight of the last training step (a collapse of the
        weights toward zero shows here)."""
        return {"mean_neg_weight": self.mean_weight_history[-1]} if self.mean_weight_history else {}

    def forward(self, data: HeteroData) -> Tensor:
        """Training loss (fine-view anchors, coarse-view samples, learned weights)."""
        out = self.encode(data)
        self._remember_fine(out["fine"])
        loss = self.loss(self.head(out["fine"]), self.head(out["coarse"]))
        if self.training and self.loss.last_mean_weight is not None:
            self.mean_weight_history.append(self.loss.last_mean_weight)
            log.debug("AdaMEOW step %d: mean negative weight %.4f", len(self.mean_weight_history),
                      self.loss.last_mean_weight)
        return loss
