"""GRACE — `"Deep Graph Contrastive Representation Learning" <https://arxiv.org/abs/2006.04131>`_ (Zhu et al., 2020).

Two stochastic views of the graph (edge removing + feature masking), one shared GNN encoder ``f``, one projection
head ``g``, and the symmetric inter- + intra-view InfoNCE of :class:`graphcl.losses.InfoNCE` on
``u = g(f(G̃₁))``, ``v = g(f(G̃₂))``. Downstream tasks use ``f(G)`` on the clean graph.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.nn.inits import reset
from torch_geometric.transforms import Compose

from graphcl.data.sampling import minibatch_roots
from graphcl.errors import ConfigError, DataError
from graphcl.losses.infonce import InfoNCE
from graphcl.losses.pamc import meta_node_info_nce
from graphcl.models.base import GraphModel
from graphcl.nn.encoders import GCNEncoder
from graphcl.nn.heads import ProjectionHead
from graphcl.ops.cluster import kmeans
from graphcl.ops.similarity import DEFAULT_CHUNK_SIZE
from graphcl.transforms import DropEdge, MaskFeature

Augmentation = Callable[[Data], Data]
NEGATIVES = ("infonce", "pamc")


def encode(encoder: nn.Module, data: Data) -> Tensor:
    """Run ``encoder(x, edge_index[, edge_weight])`` on a ``Data`` object.

    Raises:
        DataError: ``data`` has no node features ``x`` or no ``edge_index``.
    """
    for field in ("x", "edge_index"):
        if getattr(data, field, None) is None:
            raise DataError(f"{type(encoder).__name__} needs data.{field}, which is missing")
    edge_weight = getattr(data, "edge_weight", None)
    if edge_weight is None:
        return encoder(data.x, data.edge_index)
    return encoder(data.x, data.edge_index, edge_weight)


def grace_architecture(
    in_channels: int, hidden_channels: int, proj_channels: int, num_layers: int, activation: str,
) -> tuple[GCNEncoder, ProjectionHead]:
    """GRACE's encoder ``f`` and projection head ``g``, shared by the models built on it (CSGCL, GCA).

    ``f`` is a ``GCNEncoder`` (first layer ``2H`` wide, activation after every layer); ``g`` the ELU head
    ``H → P → H``. Built in this order, so a seeded build draws the same initial weights in every model.
    """
    encoder = GCNEncoder(in_channels, hidden_channels, num_layers=num_layers, activation=activation)
    return encoder, ProjectionHead(hidden_channels, proj_channels, hidden_channels, activation="elu")


class GRACE(GraphModel):
    """GRACE (Zhu et al., 2020): node-level contrast between two augmented views of one graph.

    .. math::
        \\mathcal{L} = \\frac{1}{2N}\\sum_{i=1}^{N}\\big[\\ell(u_i, v_i) + \\ell(v_i, u_i)\\big],\\qquad
        u = g(f(\\tilde{X}_1, \\tilde{A}_1)),\\; v = g(f(\\tilde{X}_2, \\tilde{A}_2))

    with ``ℓ`` the InfoNCE of :class:`~graphcl.losses.InfoNCE` (inter- and intra-view negatives, τ-scaled cosine).

    Args:
        encoder: Module called as ``encoder(x, edge_index[, edge_weight]) -> [N, H]``.
        projection_head: Module ``[N, H] -> [N, H']`` applied before the loss (``nn.Identity()`` to disable).
        augment1: Transform producing the first view from a ``Data`` (e.g. ``Compose([DropEdge(0.2),
            MaskFeature(0.3)])``).
        augment2: Transform producing the second view.
        tau: Temperature of the loss (ignored when ``loss`` is given, except by ``negatives="pamc"``).
        loss: A loss module ``(u, v) -> scalar``; default ``InfoNCE(tau, chunk_size=chunk_size)``. Not used
            with ``negatives="pamc"``, which computes :func:`graphcl.losses.meta_node_info_nce` at ``tau``.
        chunk_size: Anchor chunk of the default loss (``None`` = dense).
        negatives: ``"infonce"`` (every node is a negative, ``O(N²)``) or ``"pamc"`` — PamC meta-node
            negatives (Kulatilleke et al., 2022, `arXiv:2209.14067 <https://arxiv.org/abs/2209.14067>`_): the
            nodes are grouped into ``num_meta_nodes`` clusters and node-pair negatives are replaced by
            cluster-pair blocks (:func:`graphcl.losses.meta_node_info_nce`), ``O(N d + K² d)`` per step.
            Clusters are ``data.community`` when the graph carries it (e.g. CSGCL's communities), else a
            spherical k-means of the first view's projections, refreshed every ``meta_refresh`` steps (the
            assignment starts afresh for every graph :meth:`prepare` is called with).
        num_meta_nodes: ``K`` for the k-means meta-nodes.
        meta_refresh: Steps between two k-means refreshes of the meta-node assignment.
        gather_distributed: In a ``torch.distributed`` run, contrast every rank's anchors with the roots of every
            rank: the default loss is ``InfoNCE(gather_distributed=True)`` (see :class:`~graphcl.losses.InfoNCE`),
            and ``negatives="pamc"`` builds its meta-nodes from the roots of every rank
            (``meta_node_info_nce(gather_distributed=True)``) with cluster ids shared by the ranks: the
            communities renumbered over the roots of all ranks, or k-means centroids fitted on the roots of all
            ranks from rank 0's seed. Nothing changes in one process.

    Mini-batches (:attr:`supports_minibatch`): ``forward`` on a batch of :func:`graphcl.data.sampling.neighbor_loader`
    (roots first, ``batch.batch_size`` of them) encodes the batch subgraph and computes the loss over the roots'
    projections only — InfoNCE with the batch's roots as negatives, or with ``negatives="pamc"`` the meta-node
    negatives of the roots: ``data.community`` of the roots when the graph carries it, else the nearest of
    ``num_meta_nodes`` spherical k-means centroids, re-fitted on the batch's roots every ``meta_refresh`` steps.
    :meth:`embed_chunked` streams the encoder layer by layer (:meth:`graphcl.nn.GCNEncoder.inference`).

    Examples:
        >>> model = GRACE.build(in_channels=1433, hidden_channels=128, proj_channels=128, tau=0.4)
        >>> loss = model(data)            # training step
        >>> z = model.embed(data)         # frozen embeddings for evaluation
    """

    supports_minibatch = True

    def __init__(
        self,
        encoder: nn.Module,
        projection_head: nn.Module,
        augment1: Augmentation,
        augment2: Augmentation,
        tau: float = 0.5,
        loss: nn.Module | None = None,
        chunk_size: int | None = DEFAULT_CHUNK_SIZE,
        negatives: str = "infonce",
        num_meta_nodes: int = 100,
        meta_refresh: int = 10,
        gather_distributed: bool = False,
    ) -> None:
        super().__init__()
        if negatives not in NEGATIVES:
            raise ConfigError(f"negatives must be one of {NEGATIVES}, got {negatives!r}")
        if isinstance(num_meta_nodes, bool) or not isinstance(num_meta_nodes, int) or num_meta_nodes < 2:
            raise ConfigError(f"num_meta_nodes must be an int >= 2, got {num_meta_nodes!r}")
        if isinstance(meta_refresh, bool) or not isinstance(meta_refresh, int) or meta_refresh < 1:
            raise ConfigError(f"meta_refresh must be an int >= 1, got {meta_refresh!r}")
        self.negatives, self.num_meta_nodes, self.meta_refresh = negatives, num_meta_nodes, meta_refresh
        self.tau = float(tau)
        self.gather_distributed = bool(gather_distributed)
        self._meta_labels: Tensor | None = None
        self._meta_centroids: Tensor | None = None  # mini-batch k-means meta-nodes
        self._meta_step = 0
        self.encoder = encoder
        self.projection_head = projection_head
        self.augment1 = augment1
        self.augment2 = augment2
        self.loss = loss if loss is not None else InfoNCE(tau, chunk_size=chunk_size,
                                                          gather_distributed=gather_distributed)

    @classmethod
    def build(
        cls,
        in_channels: int,
        hidden_channels: int = 128,
        proj_channels: int = 128,
        num_layers: int = 2,
        activation: str = "relu",
        drop_edge_1: float = 0.2,
        drop_edge_2: float = 0.4,
        drop_feature_1: float = 0.3,
        drop_feature_2: float = 0.4,
        tau: float = 0.4,
        chunk_size: int | None = DEFAULT_CHUNK_SIZE,
        negatives: str = "infonce",
        num_meta_nodes: int = 100,
        meta_refresh: int = 10,
        gather_distributed: bool = False,
        **unused: Any,
    ) -> GRACE:
        """GRACE with the paper's architecture: ``GCNEncoder`` (first layer ``2H`` wide, activation after every
        layer), ELU projection head ``H → P → H``, and ``DropEdge`` + column ``MaskFeature`` views.

        Defaults are the paper's Cora settings (Zhu et al., 2020, Table 5).
        """
        if unused:
            raise TypeError(f"GRACE.build() got unexpected arguments: {sorted(unused)}")
        encoder, head = grace_architecture(in_channels, hidden_channels, proj_channels, num_layers, activation)
        aug1 = Compose([DropEdge(drop_edge_1), MaskFeature(drop_feature_1)])
        aug2 = Compose([DropEdge(drop_edge_2), MaskFeature(drop_feature_2)])
        return cls(
            encoder, head, aug1, aug2, tau=tau, chunk_size=chunk_size, negatives=negatives,
            num_meta_nodes=num_meta_nodes, meta_refresh=meta_refresh, gather_distributed=gather_distributed,
        )

    def reset_parameters(self) -> None:
        reset(self.encoder)
        reset(self.projection_head)

    def prepare(self, data: Data) -> Data:
        """Start the k-means meta-node assignment of ``negatives="pamc"`` afresh for ``data``; returns ``data``."""
        self._meta_labels, self._meta_centroids, self._meta_step = None, None, 0
        return data

    def project(self, z: Tensor) -> Tensor:
        """Projection ``g(z)`` used by the loss."""
        return self.projection_head(z)

    def views(self, data: Data) -> tuple[Tensor, Tensor]:
        """Projections ``u, v`` of two freshly augmented views of ``data``: of every node, or of the roots of a
        mini-batch (its first ``data.batch_size`` nodes)."""
        roots = minibatch_roots(data)
        view1, view2 = self.augment1(data), self.augment2(data)
        z1, z2 = encode(self.encoder, view1), encode(self.encoder, view2)
        if roots is not None:
            z1, z2 = z1[:roots], z2[:roots]
        return self.project(z1), self.project(z2)

    def forward(self, data: Data) -> Tensor:
        """Training loss on two freshly augmented views of ``data`` (over the roots of a mini-batch)."""
        u, v = self.views(data)
        if self.negatives == "pamc":
            labels = self.meta_node_labels(data, u)
            return meta_node_info_nce(u, v, labels, self.tau, gather_distributed=self.gather_distributed)
        return self.loss(u, v)

    def meta_node_labels(self, data: Data, z: Tensor, use_community: bool = True) -> Tensor:
        """Meta-node assignment for ``negatives="pamc"``: ``data.community`` if present (and ``use_community``),
        else a spherical k-means of ``z`` (detached), recomputed every ``meta_refresh`` calls.

        Raises:
            DataError: The k-means assignment was made for a graph with another node count (call
                ``model.prepare(data)`` for the new graph), or ``num_meta_nodes`` exceeds the node count.
        """
        community = getattr(data, "community", None) if use_community else None
        roots = minibatch_roots(data)
        if roots is not None:
            return self._minibatch_meta_labels(community, z, roots)
        if community is not None:
            return community.to(z.device).long()
        n = z.size(0)
        if self.num_meta_nodes > n:
            raise DataError(f"num_meta_nodes={self.num_meta_nodes} is larger than the number of nodes ({n})")
        if self._meta_labels is not None and self._meta_labels.numel() != n:
            raise DataError(f"the meta-node assignment holds {self._meta_labels.numel()} nodes, this graph {n}: call "
                            f"data = model.prepare(data) when training on another graph")
        if self._meta_labels is None or self._meta_step % self.meta_refresh == 0:
            seed = int(torch.randint(2**31 - 1, (1,)))
            self._meta_labels = kmeans(z.detach(), self.num_meta_nodes, spherical=True, max_iter=20, seed=seed).labels
        self._meta_step += 1
        return self._meta_labels.to(z.device)

    def _minibatch_meta_labels(self, community: Tensor | None, z: Tensor, roots: int) -> Tensor:
        """Meta-nodes of a mini-batch's roots: their communities (renumbered ``0 .. K-1`` within the batch), else
        the nearest of the k-means centroids (cosine), re-fitted on the roots every ``meta_refresh`` steps.

        With :attr:`gather_distributed` the batch is the global one: the communities are renumbered over the roots
        of every rank and the centroids fitted on the roots of every rank with rank 0's seed, so a label names
        the same meta-node on all ranks (:func:`graphcl.train.distributed.gather_with_grad`, no gradient here)."""
        from graphcl.train.distributed import gather_with_grad, rank

        gather = self.gather_distributed
        if community is not None:
            own = community[:roots].to(z.device)
            if not gather:
                return torch.unique(own, return_inverse=True)[1]
            inverse = torch.unique(gather_with_grad(own), return_inverse=True)[1]
            return inverse[rank() * roots:(rank() + 1) * roots]
        unit = F.normalize(z.detach(), dim=1)
        batch = gather_with_grad(unit) if gather else unit
        if self.num_meta_nodes > batch.size(0):
            raise DataError(f"num_meta_nodes={self.num_meta_nodes} is larger than the {batch.size(0)} roots of a "
                            f"batch: raise batch_size or lower num_meta_nodes")
        if self._meta_centroids is None or self._meta_step % self.meta_refresh == 0:
            seed = torch.randint(2**31 - 1, (1,))
            seed = int((gather_with_grad(seed.to(unit.device)) if gather else seed)[0])  # rank 0's
            self._meta_centroids = kmeans(batch, self.num_meta_nodes, spherical=True, max_iter=20, seed=seed).centroids
        self._meta_step += 1
        return (unit @ self._meta_centroids.to(unit).t()).argmax(1)

    def embed_chunked(self, data: Data, chunk_size: int) -> Tensor:
        """:meth:`embed` computed layer by layer in ``chunk_size`` rows (:meth:`GCNEncoder.inference`)."""
        inference = self.encoder.inference if isinstance(self.encoder, GCNEncoder) else None
        if inference is None:
            return self.embed(data)
        was_training = self.training
        self.eval()
        try:
            return inference(data.x, data.edge_index, getattr(data, "edge_weight", None), chunk_size=chunk_size)
        finally:
            self.train(was_training)

    def embed(self, data: Data) -> Tensor:
        """Encoder output on the clean graph (no augmentation, no projection head), detached."""
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                return encode(self.encoder, data)
        finally:
            self.train(was_training)
