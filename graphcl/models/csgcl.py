"""CSGCL — `"CSGCL: Community-Strength-Enhanced Graph Contrastive Learning" <https://arxiv.org/abs/2305.04658>`_
(Chen et al., IJCAI 2023).

GRACE with community strength everywhere: communities are detected once per graph
(:class:`~graphcl.transforms.AddCommunities`), the two views come from communal edge dropping
(:class:`~graphcl.transforms.CommunalEdgeDropping`) and communal attribute voting
(:class:`~graphcl.transforms.CommunalAttributeVoting`), and the objective is the Team-up InfoNCE
(:class:`~graphcl.losses.TeamUpInfoNCE`), which equals GRACE's loss until epoch ``t0`` and then weights every
candidate by ``exp(γ·S_j/τ)``.
"""
from __future__ import annotations

from typing import Any

from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.transforms import Compose

from graphcl.errors import ConfigError, DataError
from graphcl.functional.community import resolve_backend
from graphcl.losses.pamc import meta_node_info_nce
from graphcl.losses.teamup import TeamUpInfoNCE
from graphcl.models.grace import GRACE, Augmentation, grace_architecture
from graphcl.ops.similarity import DEFAULT_CHUNK_SIZE
from graphcl.transforms import (
    AddCommunities,
    CommunalAttributeVoting,
    CommunalEdgeDropping,
    DropEdge,
    MaskFeature,
)


class CSGCL(GRACE):
    """CSGCL (Chen et al., IJCAI 2023): GRACE whose views and loss are driven by community strength.

    .. math::
        \\mathcal{L}_t = \\frac{1}{2N}\\sum_{i=1}^N\\big[\\ell_{\\gamma(t)}(u_i, v_i) + \\ell_{\\gamma(t)}(v_i, u_i)\\big],
        \\qquad u = g(f(\\mathrm{CAV}_1(\\mathrm{CED}_1(G)))),\\ v = g(f(\\mathrm{CAV}_2(\\mathrm{CED}_2(G))))

    with ``ℓ_γ`` the Team-up InfoNCE and ``γ(t) = min(max(0, (t - t₀)/100), γ_max)``. Downstream tasks use
    ``f(G)`` on the clean graph (no projection head), as in GRACE.

    Communities are detected once per graph by :meth:`prepare` (with ``communities``: seeded, and cached on disk
    so that every training seed reuses one partition); a graph that already carries ``community`` and
    ``community_strength`` is used as is. For link prediction the experiment prepares the training graph
    (held-out edges removed), so the communities never see test edges.

    Deliberate differences from the authors' code (seeded, cached Leiden; order of the random draws; NaN-free
    CAV; the Team-up loss in log space; shared ``prelu`` slope) are listed, with reasons, in ``DEVIATIONS.md``.

    Args:
        encoder: Module called as ``encoder(x, edge_index[, edge_weight]) -> [N, H]``.
        projection_head: Module ``[N, H] -> [N, H']`` applied before the loss.
        augment1: Transform producing the first view (needs the community attributes if it uses CED / CAV).
        augment2: Transform producing the second view.
        tau: Temperature (ignored when ``loss`` is given).
        loss: A loss ``(u, v, strength) -> scalar`` with ``set_epoch``; default ``TeamUpInfoNCE(tau)``. With
            ``negatives="pamc"`` only its ``gamma`` and ``tau`` attributes are read (the meta-node loss replaces it).
        communities: The :class:`~graphcl.transforms.AddCommunities` applied to each new graph
            (default: ``AddCommunities()`` = seeded Leiden, Louvain fallback).
        chunk_size: Anchor chunk of the default loss (``None`` = dense).
        negatives: ``"infonce"`` (every node a negative, ``O(N²)``) or ``"pamc"`` — PamC meta-node negatives
            (Kulatilleke et al., 2022, `arXiv:2209.14067 <https://arxiv.org/abs/2209.14067>`_,
            :func:`graphcl.losses.meta_node_info_nce`), ``O(N d + K² d)`` per step, with the Team-up weight
            ``exp(γ S_j / τ)`` of every candidate kept (exact per block when the meta-nodes are the communities).
        meta_nodes: Clusters for ``negatives="pamc"``: ``"communities"`` (the detected communities, whose
            strength is constant inside each) or ``"kmeans"`` (spherical k-means of the first view's projections,
            ``num_meta_nodes`` clusters, refreshed every ``meta_refresh`` steps).
        num_meta_nodes: ``K`` of the k-means meta-nodes.
        meta_refresh: Steps between two k-means refreshes.
        gather_distributed: In a ``torch.distributed`` run, contrast every rank's anchors with the roots of every
            rank: the default loss is ``TeamUpInfoNCE(gather_distributed=True)`` (each candidate with its own
            Team-up weight), and ``negatives="pamc"`` builds its meta-nodes from the roots of every rank (see
            :class:`GRACE`). Nothing changes in one process.

    Examples:
        >>> model = CSGCL.build(in_channels=1433, hidden_channels=128, proj_channels=128, t0=100)
        >>> data = model.prepare(data)    # communities, once per graph
        >>> model.set_epoch(150)          # called by graphcl.train.fit every epoch
        >>> loss = model(data)            # training step
        >>> z = model.embed(data)
    """

    def __init__(
        self,
        encoder: nn.Module,
        projection_head: nn.Module,
        augment1: Augmentation,
        augment2: Augmentation,
        tau: float = 0.4,
        loss: nn.Module | None = None,
        communities: AddCommunities | None = None,
        chunk_size: int | None = DEFAULT_CHUNK_SIZE,
        negatives: str = "infonce",
        meta_nodes: str = "communities",
        num_meta_nodes: int = 100,
        meta_refresh: int = 10,
        gather_distributed: bool = False,
    ) -> None:
        loss = loss if loss is not None else TeamUpInfoNCE(tau, chunk_size=chunk_size,
                                                           gather_distributed=gather_distributed)
        super().__init__(
            encoder, projection_head, augment1, augment2, tau=tau, loss=loss, chunk_size=chunk_size,
            negatives=negatives, num_meta_nodes=num_meta_nodes, meta_refresh=meta_refresh,
            gather_distributed=gather_distributed,
        )
        if meta_nodes not in ("communities", "kmeans"):
            raise ConfigError(f"meta_nodes must be 'communities' or 'kmeans', got {meta_nodes!r}")
        self.meta_nodes = meta_nodes
        self.communities = communities if communities is not None else AddCommunities()
        self._community_source: str | None = None  # what prepare() ran, for run_info()

    @classmethod
    def build(  # type: ignore[override]
        cls,
        in_channels: int,
        hidden_channels: int = 256,
        proj_channels: int = 32,
        num_layers: int = 2,
        activation: str = "prelu",
        drop_edge_1: float = 0.3,
        drop_edge_2: float = 0.4,
        drop_feature_1: float = 0.1,
        drop_feature_2: float = 0.0,
        ced_threshold: float = 1.0,
        cav_threshold: float = 1.0,
        tau: float = 0.4,
        t0: int = 500,
        gamma_max: float = 1.0,
        ced: bool = True,
        cav: bool = True,
        team_up: bool = True,
        community_backend: str = "leiden",
        community_seed: int = 0,
        community_resolution: float = 1.0,
        chunk_size: int | None = DEFAULT_CHUNK_SIZE,
        negatives: str = "infonce",
        meta_nodes: str = "communities",
        num_meta_nodes: int = 100,
        meta_refresh: int = 10,
        gather_distributed: bool = False,
        **unused: Any,
    ) -> CSGCL:
        """CSGCL with the authors' architecture: ``GCNEncoder`` (first layer ``2H``), ELU head ``H → P → H``,
        CED + CAV views and the Team-up loss.

        Defaults are the authors' ``train.py`` defaults (Chen et al., 2023). ``ced`` / ``cav`` / ``team_up`` set
        to ``False`` give the ablations: uniform :class:`~graphcl.transforms.DropEdge` /
        :class:`~graphcl.transforms.MaskFeature` at the same rates, and ``γ = 0`` (GRACE's loss); all three off
        is GRACE with this architecture.

        Args:
            in_channels: Input feature size.
            hidden_channels: Embedding size ``H``.
            proj_channels: Hidden size ``P`` of the projection head.
            num_layers: GCN layers.
            activation: Encoder activation (``prelu`` = one learnable slope shared by the layers).
            drop_edge_1: Mean edge drop rate of view 1 (CED ``p``).
            drop_edge_2: Mean edge drop rate of view 2.
            drop_feature_1: Mean feature drop rate of view 1 (CAV ``p``).
            drop_feature_2: Mean feature drop rate of view 2.
            ced_threshold: CED truncation ``t`` (keep probability ≥ ``1 - t``).
            cav_threshold: CAV truncation (feature drop probability ≤ this).
            tau: Temperature.
            t0: Team-up warm-up epochs (``γ = 0`` up to and including ``t0``).
            gamma_max: Final Team-up ``γ`` (reached at epoch ``t0 + 100·gamma_max``).
            ced: Communal edge dropping; ``False`` = uniform edge dropping.
            cav: Communal attribute voting; ``False`` = uniform feature masking.
            team_up: Team-up loss; ``False`` = GRACE's loss (``γ = 0`` throughout).
            community_backend: ``leiden`` (Louvain fallback when ``leidenalg`` is missing), ``louvain``, or
                ``planted``: the graph's own ``community`` attribute (e.g. the generated graph's planted
                communities; the practical choice at 10^6 nodes without ``leidenalg``, where networkx's Louvain
                takes too long).
            community_seed: Seed of the community detection (fixed across training seeds, so one cached
                partition serves all of them).
            community_resolution: Modularity resolution of the detection (``1`` = plain modularity).
            chunk_size: Anchors per chunk of the loss.
            negatives: ``"infonce"`` or ``"pamc"`` (meta-node negatives, see the class docstring).
            meta_nodes: ``"communities"`` or ``"kmeans"`` (for ``negatives="pamc"``).
            num_meta_nodes: ``K`` of the k-means meta-nodes.
            meta_refresh: Steps between two k-means refreshes.
            gather_distributed: Contrast with the roots of every rank in a ``torch.distributed`` mini-batch run
                (the Team-up loss and the meta-node negatives; see the class docstring).
        """
        if unused:
            raise TypeError(f"CSGCL.build() got unexpected arguments: {sorted(unused)}")
        encoder, head = grace_architecture(in_channels, hidden_channels, proj_channels, num_layers, activation)

        def view(edge_p: float, feature_p: float) -> Compose:
            edges = CommunalEdgeDropping(edge_p, threshold=ced_threshold) if ced else DropEdge(edge_p)
            features = CommunalAttributeVoting(feature_p, threshold=cav_threshold) if cav else MaskFeature(feature_p)
            return Compose([edges, features])

        loss = TeamUpInfoNCE(tau, t0=t0, gamma_max=gamma_max if team_up else 0.0, chunk_size=chunk_size,
                             gather_distributed=gather_distributed)
        if community_backend == "planted":  # the graph's own `community` attribute, e.g. the generated graph's
            communities = AddCommunities(partition="community")
        else:
            communities = AddCommunities(community_backend, seed=community_seed, resolution=community_resolution)
        return cls(
            encoder,
            head,
            view(drop_edge_1, drop_feature_1),
            view(drop_edge_2, drop_feature_2),
            tau=tau,
            loss=loss,
            communities=communities,
            chunk_size=chunk_size,
            negatives=negatives,
            meta_nodes=meta_nodes,
            num_meta_nodes=num_meta_nodes,
            meta_refresh=meta_refresh,
            gather_distributed=gather_distributed,
        )

    def set_epoch(self, epoch: int) -> None:
        """Advance the Team-up ``γ`` schedule to the (1-based) ``epoch``."""
        set_epoch = getattr(self.loss, "set_epoch", None)
        if callable(set_epoch):
            set_epoch(epoch)

    def prepare(self, data: Data) -> Data:
        """``data`` with ``community`` and ``community_strength`` (a shallow copy; ``data`` is not modified).

        A graph that already has both attributes is returned as is. Also starts the k-means meta-node assignment
        afresh (see :meth:`GRACE.prepare`).
        """
        data = super().prepare(data)
        if "community_strength" in data and "community" in data:
            self._community_source = "given: the graph's own community attribute"
            return data
        partition = self.communities.partition
        self._community_source = (resolve_backend(self.communities.backend) if partition is None
                                  else f"given: partition={partition!r}" if isinstance(partition, str)
                                  else "given: an explicit partition")
        return self.communities(data)

    def run_info(self) -> dict[str, Any]:
        """``{"community_backend": ...}``: the detection that actually ran in :meth:`prepare` (``"louvain"`` when
        Leiden was configured but ``leidenalg`` is missing), or where given communities came from."""
        return {} if self._community_source is None else {"community_backend": self._community_source}

    def forward(self, data: Data) -> Tensor:
        """Training loss on two freshly drawn CED/CAV views of the prepared graph ``data`` (over the roots of a
        mini-batch: a batch of :func:`graphcl.data.sampling.neighbor_loader` carries the communities and strengths
        computed on the whole graph by :meth:`prepare`; CED and CAV then draw from the batch subgraph).

        Raises:
            DataError: ``data`` has no communities: call ``data = model.prepare(data)`` once before training.
        """
        if "community_strength" not in data or "community" not in data:
            raise DataError("CSGCL trains on a graph with its communities: call data = model.prepare(data) once "
                            "before training")
        u, v = self.views(data)  # of the roots only, for a mini-batch
        strength = data.community_strength[:u.size(0)]
        if self.negatives == "pamc":
            labels = self.meta_node_labels(data, u, use_community=self.meta_nodes == "communities")
            gamma, tau = float(getattr(self.loss, "gamma", 0.0)), float(getattr(self.loss, "tau", self.tau))
            bias = None
            if gamma != 0.0:  # Team-up: candidate j weighted by exp(γ S_j / τ)
                bias = (gamma / tau) * strength.detach().to(device=u.device, dtype=u.dtype)
            return meta_node_info_nce(u, v, labels, tau, node_bias=bias, gather_distributed=self.gather_distributed)
        return self.loss(u, v, strength)
