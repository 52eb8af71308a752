"""GCA — `"Graph Contrastive Learning with Adaptive Augmentation" <https://arxiv.org/abs/2010.14945>`_
(Zhu et al., WWW 2021).

GRACE (encoder, projection head, InfoNCE and optimiser unchanged) whose two views drop edges and mask feature
columns with probabilities that fall with the element's centrality: important edges and features survive more
often. The centrality (degree, eigenvector or PageRank) and the resulting drop weights are computed once per
graph by :class:`~graphcl.transforms.AddCentrality` (:meth:`GCA.prepare`); every step draws two views with
:class:`~graphcl.transforms.AdaptiveDropEdge` and :class:`~graphcl.transforms.AdaptiveMaskFeature`.
"""
from __future__ import annotations

from typing import Any

from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.transforms import Compose

from graphcl.errors import DataError
from graphcl.models.grace import GRACE, Augmentation, encode, grace_architecture
from graphcl.ops.similarity import DEFAULT_CHUNK_SIZE
from graphcl.transforms import AdaptiveDropEdge, AdaptiveMaskFeature, AddCentrality
from graphcl.transforms.centrality import EDGE_WEIGHTS, FEATURE_WEIGHTS


class GCA(GRACE):
    """GCA (Zhu et al., WWW 2021): GRACE with centrality-adaptive edge dropping and feature masking.

    .. math::
        p^{e}_{uv} = \\min\\Big(\\frac{s_{\\max} - s_{uv}}{s_{\\max} - \\mu_s}\\,p_e,\\ p_\\tau\\Big),\\quad
        s_{uv} = \\log(\\varphi_c(v) + 1);\\qquad
        p^{f}_{i} = \\min\\Big(\\frac{s_{\\max} - s_i}{s_{\\max} - \\mu_s}\\,p_f,\\ p_\\tau\\Big),\\quad
        s_i = \\log\\Big(\\sum_u \\mathbb{1}[x_{ui} \\neq 0]\\,\\varphi_c(u) + 1\\Big)

    and GRACE's loss :math:`\\mathcal{L} = \\frac{1}{2N}\\sum_i [\\ell(u_i, v_i) + \\ell(v_i, u_i)]` on the projected
    views (:class:`~graphcl.losses.InfoNCE`). Downstream tasks use the encoder on the clean graph.

    Preparation: the drop weights are a deterministic function of the graph. :meth:`prepare` adds them
    (``data.edge_drop_weight``, ``data.feature_drop_weight``) once, before training (:func:`graphcl.experiment.train_model`
    calls it). A graph that arrives without them is prepared inside ``forward`` on every call — the same result,
    recomputed.

    Decisions on the authors' code (spec ``baselines.md`` §2.3): the edge weight is the target node's centrality
    (``aggr='sink'``), each direction is dropped on its own, ``p_τ = 0.7`` for both edges and features, PageRank
    runs 200 iterations for the edge weights and 10 for the feature weights, scores are ``log(φ + 1)``; the
    authors' discarded uniform feature mask before the weighted one (RNG only) is not reproduced; all-equal
    scores give uniform dropping instead of NaN.

    Args:
        encoder: Module ``encoder(x, edge_index[, edge_weight]) -> [N, H]``.
        projection_head: Module ``[N, H] -> [N, H']`` applied before the loss.
        augment1: Transform producing the first view from a prepared graph.
        augment2: Transform producing the second view.
        centrality: The :class:`~graphcl.transforms.AddCentrality` that prepares a graph.
        tau: Temperature of the InfoNCE. (default: ``0.4``)
        chunk_size: Anchors per chunk of the loss (``None`` = dense).

    Examples:
        >>> model = GCA.build(in_channels=1433, drop_scheme="degree")
        >>> data = model.prepare(data)    # once
        >>> loss = model(data)            # training step
        >>> z = model.embed(data)
    """

    def __init__(
        self,
        encoder: nn.Module,
        projection_head: nn.Module,
        augment1: Augmentation,
        augment2: Augmentation,
        centrality: AddCentrality,
        tau: float = 0.4,
        chunk_size: int | None = DEFAULT_CHUNK_SIZE,
    ) -> None:
        super().__init__(encoder, projection_head, augment1, augment2, tau=tau, chunk_size=chunk_size)
        self.centrality = centrality

    @classmethod
    def build(  # type: ignore[override]
        cls,
        in_channels: int,
        hidden_channels: int = 128,
        proj_channels: int = 128,
        num_layers: int = 2,
        activation: str = "relu",
        drop_scheme: str = "degree",
        drop_edge_1: float = 0.2,
        drop_edge_2: float = 0.4,
        drop_feature_1: float = 0.3,
        drop_feature_2: float = 0.4,
        drop_threshold: float = 0.7,
        tau: float = 0.4,
        chunk_size: int | None = DEFAULT_CHUNK_SIZE,
        **unused: Any,
    ) -> GCA:
        """GCA with the authors' architecture: ``GCNEncoder`` (first layer ``2H``, activation after every layer),
        ELU head ``H → P → H``, adaptive views.

        Defaults are GRACE's Cora settings with the degree scheme (GCA ships no Cora configuration).

        Args:
            in_channels: Input feature size ``F``.
            hidden_channels: Embedding size ``H``. (default: ``128``)
            proj_channels: Hidden size ``P`` of the projection head. (default: ``128``)
            num_layers: GCN layers. (default: ``2``)
            activation: Encoder activation (``prelu`` = one shared slope, ``rrelu`` = fixed slope ≈ 0.229).
                (default: ``"relu"``)
            drop_scheme: Centrality ``degree`` (GCA-DE), ``pagerank`` (GCA-PR) or ``eigenvector`` (GCA-EV).
                (default: ``"degree"``)
            drop_edge_1: Mean edge drop rate of view 1. (default: ``0.2``)
            drop_edge_2: Mean edge drop rate of view 2. (default: ``0.4``)
            drop_feature_1: Mean feature masking rate of view 1. (default: ``0.3``)
            drop_feature_2: Mean feature masking rate of view 2. (default: ``0.4``)
            drop_threshold: Cap ``p_τ`` of every drop probability. (default: ``0.7``)
            tau: Temperature. (default: ``0.4``)
            chunk_size: Anchors per chunk of the loss. (default: ``1024``)
        """
        if unused:
            raise TypeError(f"GCA.build() got unexpected arguments: {sorted(unused)}")
        encoder, head = grace_architecture(in_channels, hidden_channels, proj_channels, num_layers, activation)

        def view(edge_p: float, feature_p: float) -> Compose:
            return Compose([AdaptiveDropEdge(edge_p, drop_threshold), AdaptiveMaskFeature(feature_p, drop_threshold)])

        return cls(
            encoder, head, view(drop_edge_1, drop_feature_1), view(drop_edge_2, drop_feature_2),
            AddCentrality(drop_scheme), tau=tau, chunk_size=chunk_size,
        )

    def prepare(self, data: Data) -> Data:
        """``data`` with GCA's drop weights (a shallow copy; ``data`` itself is not modified); a graph that has
        them already is returned as is."""
        if EDGE_WEIGHTS in data and FEATURE_WEIGHTS in data:
            return data
        return self.centrality(data)

    def forward(self, data: Data) -> Tensor:
        """Training loss on two freshly drawn adaptive views of the prepared graph ``data``.

        Raises:
            DataError: ``data`` has no drop weights: call ``data = model.prepare(data)`` once before training.
        """
        if EDGE_WEIGHTS not in data or FEATURE_WEIGHTS not in data:
            raise DataError("GCA trains on a graph with its centrality drop weights: call data = model.prepare(data) "
                            "once before training")
        u = self.project(encode(self.encoder, self.augment1(data)))
        v = self.project(encode(self.encoder, self.augment2(data)))
        return self.loss(u, v)
