"""DGI — `"Deep Graph Infomax" <https://arxiv.org/abs/1809.10341>`_ (Veličković et al., ICLR 2019).

Local–global contrast: node embeddings of the graph are scored against the graph summary by a bilinear
discriminator, and so are the embeddings of a corrupted graph (node features shuffled across nodes), which
must score low. PyG's :class:`~torch_geometric.nn.models.DeepGraphInfomax` does the contrast; the encoder is the
library's :class:`~graphcl.nn.GCNEncoder` (one layer, PReLU, as in the paper's transductive setting).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.nn.models import DeepGraphInfomax

from graphcl.errors import DataError
from graphcl.models.base import GraphModel
from graphcl.models.grace import encode
from graphcl.nn.encoders import GCNEncoder


def shuffle_rows(x: Tensor, *graph: Any) -> tuple:
    """DGI's corruption: the feature rows permuted at random (a new permutation per call), the graph unchanged."""
    return (x[torch.randperm(x.size(0), device=x.device)], *graph)


def sigmoid_mean_readout(z: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    """DGI's readout ``s = σ(mean_i z_i)``, ``[H]``."""
    return torch.sigmoid(z.mean(dim=0))


class DGI(GraphModel):
    """DGI (Veličković et al., ICLR 2019): maximise the mutual information between nodes and the graph summary.

    .. math::
        \\mathcal{L} = -\\frac{1}{N}\\sum_{i=1}^N \\log \\sigma(h_i^\\top W s)
        - \\frac{1}{N}\\sum_{j=1}^N \\log\\big(1 - \\sigma(\\tilde h_j^\\top W s)\\big),\\qquad
        s = \\sigma\\Big(\\frac{1}{N}\\sum_i h_i\\Big),

    with ``h = f(X, A)``, ``h̃ = f(PX, A)`` for a random row permutation ``P``. The discriminator is PyG's
    bilinear form without bias (the authors' ``nn.Bilinear`` has a bias; with balanced positives and negatives
    it only shifts the logits). Downstream tasks use ``f(X, A)``.

    Args:
        encoder: Module ``encoder(x, edge_index[, edge_weight]) -> [N, H]``.
        hidden_channels: ``H``, the size of the embeddings and of the summary.

    Examples:
        >>> model = DGI.build(in_channels=1433, hidden_channels=512)
        >>> loss = model(data)
        >>> z = model.embed(data)
    """

    def __init__(self, encoder: nn.Module, hidden_channels: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.infomax = DeepGraphInfomax(
            hidden_channels, encoder=encoder, summary=sigmoid_mean_readout, corruption=shuffle_rows
        )

    @classmethod
    def build(
        cls,
        in_channels: int,
        hidden_channels: int = 512,
        num_layers: int = 1,
        activation: str = "prelu",
        **unused: Any,
    ) -> DGI:
        """DGI with the paper's transductive encoder: ``GCNEncoder`` of ``num_layers`` GCN layers to ``H`` with the
        activation after every layer.

        Args:
            in_channels: Input feature size ``F``.
            hidden_channels: Embedding size ``H`` (paper: 512; 256 on PubMed). (default: ``512``)
            num_layers: GCN layers (paper: 1; inner layers are ``H`` wide). (default: ``1``)
            activation: Encoder activation (``prelu`` = one learnable slope). (default: ``"prelu"``)
        """
        if unused:
            raise TypeError(f"DGI.build() got unexpected arguments: {sorted(unused)}")
        encoder = GCNEncoder(
            in_channels, hidden_channels, hidden_channels=hidden_channels, num_layers=num_layers, activation=activation
        )
        return cls(encoder, hidden_channels)

    def reset_parameters(self) -> None:
        self.infomax.reset_parameters()

    def forward(self, data: Data) -> Tensor:
        """DGI loss of ``data`` against one freshly corrupted copy."""
        if getattr(data, "x", None) is None or getattr(data, "edge_index", None) is None:
            raise DataError("DGI needs data.x and data.edge_index")
        graph = (data.edge_index,) if getattr(data, "edge_weight", None) is None else (data.edge_index, data.edge_weight)
        pos, neg, summary = self.infomax(data.x, *graph)
        return self.infomax.loss(pos, neg, summary)

    def embed(self, data: Data) -> Tensor:
        """Encoder output on the clean graph, detached, ``[N, H]``."""
        return embed_with(self, self.encoder, data)


def embed_with(model: nn.Module, encoder: nn.Module, data: Data) -> Tensor:
    """``encode(encoder, data)`` in eval mode without gradients, restoring ``model``'s mode afterwards."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return encode(encoder, data)
    finally:
        model.train(was_training)
