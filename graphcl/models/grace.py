"""GRACE — `"Deep Graph Contrastive Representation Learning" <https://arxiv.org/abs/2006.04131>`_ (Zhu et al., 2020).

Two stochastic views of the graph (edge removing + feature masking), one shared GNN encoder ``f``, one projection
head ``g``, and the symmetric inter- + intra-view InfoNCE of :class:`graphcl.losses.InfoNCE` on
``u = g(f(G̃₁))``, ``v = g(f(G̃₂))``. Downstream tasks use ``f(G)`` on the clean graph.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.nn.inits import reset
from torch_geometric.transforms import Compose

from graphcl.losses.infonce import InfoNCE
from graphcl.nn.encoders import GCNEncoder
from graphcl.nn.heads import ProjectionHead
from graphcl.ops.similarity import DEFAULT_CHUNK_SIZE
from graphcl.transforms import DropEdge, MaskFeature

Augmentation = Callable[[Data], Data]


def encode(encoder: nn.Module, data: Data) -> Tensor:
    """Run ``encoder(x, edge_index[, edge_weight])`` on a ``Data`` object."""
    edge_weight = getattr(data, "edge_weight", None)
    if edge_weight is None:
        return encoder(data.x, data.edge_index)
    return encoder(data.x, data.edge_index, edge_weight)


class GRACE(nn.Module):
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
        tau: Temperature of the loss (ignored when ``loss`` is given).
        loss: A loss module ``(u, v) -> scalar``; default ``InfoNCE(tau, chunk_size=chunk_size)``.
        chunk_size: Anchor chunk of the default loss (``None`` = dense).

    Examples:
        >>> model = GRACE.build(in_channels=1433, hidden_channels=128, proj_channels=128, tau=0.4)
        >>> loss = model(data)            # training step
        >>> z = model.embed(data)         # frozen embeddings for evaluation
    """

    def __init__(
        self,
        encoder: nn.Module,
        projection_head: nn.Module,
        augment1: Augmentation,
        augment2: Augmentation,
        tau: float = 0.5,
        loss: nn.Module | None = None,
        chunk_size: int | None = DEFAULT_CHUNK_SIZE,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.projection_head = projection_head
        self.augment1 = augment1
        self.augment2 = augment2
        self.loss = loss if loss is not None else InfoNCE(tau, chunk_size=chunk_size)

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
        **unused: Any,
    ) -> GRACE:
        """GRACE with the paper's architecture: ``GCNEncoder`` (first layer ``2H`` wide, activation after every
        layer), ELU projection head ``H → P → H``, and ``DropEdge`` + column ``MaskFeature`` views.

        Defaults are the paper's Cora settings (Zhu et al., 2020, Table 5).
        """
        if unused:
            raise TypeError(f"GRACE.build() got unexpected arguments: {sorted(unused)}")
        encoder = GCNEncoder(in_channels, hidden_channels, num_layers=num_layers, activation=activation)
        head = ProjectionHead(hidden_channels, proj_channels, hidden_channels, activation="elu")
        aug1 = Compose([DropEdge(drop_edge_1), MaskFeature(drop_feature_1)])
        aug2 = Compose([DropEdge(drop_edge_2), MaskFeature(drop_feature_2)])
        return cls(encoder, head, aug1, aug2, tau=tau, chunk_size=chunk_size)

    def reset_parameters(self) -> None:
        reset(self.encoder)
        reset(self.projection_head)

    def project(self, z: Tensor) -> Tensor:
        """Projection ``g(z)`` used by the loss."""
        return self.projection_head(z)

    def forward(self, data: Data) -> Tensor:
        """Training loss on two freshly augmented views of ``data``."""
        view1, view2 = self.augment1(data), self.augment2(data)
        u = self.project(encode(self.encoder, view1))
        v = self.project(encode(self.encoder, view2))
        return self.loss(u, v)

    def embed(self, data: Data) -> Tensor:
        """Encoder output on the clean graph (no augmentation, no projection head), detached."""
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                return encode(self.encoder, data)
        finally:
            self.train(was_training)
