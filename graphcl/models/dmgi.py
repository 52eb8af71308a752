"""DMGI — `"Unsupervised Attributed Multiplex Network Embedding" <https://arxiv.org/abs/1911.06750>`_ (Park, Kim,
Han, Yu, AAAI 2020).

The meta-path graphs of a heterogeneous graph are the relations :math:`r` of a multiplex network over the target
nodes. Per relation, a one-layer GCN encoder :math:`h_r = \\sigma(\\hat A_r\\,\\mathrm{Dropout}(X)\\,W_r)` with
:math:`\\hat A_r = D^{-1/2}(A_r + wI)D^{-1/2}` (self-connection weight :math:`w`) is trained with a DGI objective:
its node embeddings are scored against the relation summary :math:`s_r = \\sigma(\\mathrm{mean}_i h_{r,i})` by a
bilinear discriminator, and so are the embeddings :math:`\\tilde h_r` of the row-shuffled features (one
permutation per step, shared by all relations), which must score low. A free consensus embedding :math:`Z` is
pulled toward the attention-weighted aggregate :math:`H` of the clean embeddings and pushed away from that of the
corrupted ones, :math:`\\tilde H`:

.. math::
    \\mathcal{L} = \\sum_r \\mathcal{L}^{DGI}_r + \\alpha\\big(\\lVert Z - H\\rVert_F^2 - \\lVert Z - \\tilde H\\rVert_F^2\\big),
    \\qquad H_i = \\sum_r a_{r,i} h_{r,i},\\quad a_{\\cdot,i} = \\mathrm{softmax}_r(w_r^\\top h_{r,i} + b_r)

(without attention, :math:`H` is the mean over relations). The embedding is :math:`Z`.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import HeteroData

from graphcl.errors import ConfigError, DataError
from graphcl.models.base import GraphModel
from graphcl.models.heco import mostly_zero_as_sparse, normalized_metapath_operators, target_with_metapaths
from graphcl.nn.encoders import make_activation

__all__ = ["DMGI"]


def _dropout_features(x: Tensor, p: float, training: bool) -> Tensor:
    """Dropout on a dense or sparse COO feature matrix (on the stored values of a sparse one)."""
    if not x.is_sparse:
        return F.dropout(x, p, training)
    x = x.coalesce()
    return torch.sparse_coo_tensor(x.indices(), F.dropout(x.values(), p, training), x.shape, check_invariants=False)


class DMGI(GraphModel):
    """DMGI (Park et al., AAAI 2020): per-relation DGI with a consensus embedding (see the module docstring).

    Args:
        in_channels: Feature size :math:`F` of the target nodes.
        num_nodes: Number of target nodes :math:`N` (the rows of :math:`Z`).
        num_relations: Number of relations (meta-paths) :math:`R`.
        hidden_channels: :math:`d`.
        dropout: Dropout on the input features.
        self_loop_weight: :math:`w`, added to the diagonal of each boolean meta-path graph before normalising.
        attention: Attention-weighted aggregation :math:`H` (DMGI's ``--isAttn``) instead of the mean.
        shared_discriminator: One bilinear discriminator for every relation (the authors' code) instead of one per
            relation.
        reg_coef: :math:`\\alpha`, the weight of the consensus regulariser.
        activation: Encoder activation.
    """

    heterogeneous = True  # built from the HeteroData, evaluated with the DMGI / HeCo protocol
    embedding_summary = "the consensus embedding Z with the best-loss weights restored (the authors' model.H)"

    def __init__(self, in_channels: int, num_nodes: int, num_relations: int, *, hidden_channels: int = 64,
                 dropout: float = 0.5, self_loop_weight: float = 3.0, attention: bool = True,
                 shared_discriminator: bool = True, reg_coef: float = 0.001, activation: str = "relu") -> None:
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout must lie in [0, 1), got {dropout!r}")
        if self_loop_weight < 0 or reg_coef < 0:
            raise ConfigError(f"self_loop_weight and reg_coef must be >= 0, got {self_loop_weight!r}, {reg_coef!r}")
        if num_relations < 1:
            raise DataError("DMGI needs at least one relation (meta-path graph)")
        self.encoders = nn.ModuleList([nn.Linear(in_channels, hidden_channels, bias=False)
                                       for _ in range(num_relations)])
        self.act = make_activation(activation)
        self.discriminators = nn.ModuleList([nn.Bilinear(hidden_channels, hidden_channels, 1)
                                             for _ in range(1 if shared_discriminator else num_relations)])
        self.attention = nn.ModuleList([nn.Linear(hidden_channels, 1) for _ in range(num_relations)]) \
            if attention else None
        self.consensus = nn.Parameter(torch.empty(num_nodes, hidden_channels))
        self.dropout = float(dropout)
        self.self_loop_weight = float(self_loop_weight)
        self.reg_coef = float(reg_coef)
        self._graph: HeteroData | None = None
        self._inputs: tuple[list, Tensor] | None = None
        self.reset_parameters()

    @classmethod
    def build(
        cls,
        in_channels: HeteroData,
        hidden_channels: int = 64,
        dropout: float = 0.5,
        self_loop_weight: float = 3.0,
        attention: bool = True,
        shared_discriminator: bool = True,
        reg_coef: float = 0.001,
        activation: str = "relu",
        **unused: Any,
    ) -> DMGI:
        """DMGI for the graph ``in_channels`` (a ``HeteroData`` with declared meta-paths: the target features, the
        node count and the relations are read from it), with the authors' defaults.

        Args:
            in_channels: The graph.
            hidden_channels: :math:`d`. (default: ``64``)
            dropout: Input-feature dropout. (default: ``0.5``)
            self_loop_weight: Self-connection weight ``sc``. (default: ``3.0``)
            attention: Attention-weighted consensus target (``--isAttn``). (default: ``True``)
            shared_discriminator: One discriminator for all relations (the authors' code). (default: ``True``)
            reg_coef: :math:`\\alpha`. (default: ``0.001``)
            activation: Encoder activation. (default: ``"relu"``)
        """
        if unused:
            raise TypeError(f"DMGI.build() got unexpected arguments: {sorted(unused)}")
        target = target_with_metapaths(in_channels, "DMGI")
        store = in_channels[target]
        return cls(int(store.x.size(1)), int(store.num_nodes), len(in_channels.metapath_specs),
                   hidden_channels=hidden_channels, dropout=dropout, self_loop_weight=self_loop_weight,
                   attention=attention, shared_discriminator=shared_discriminator, reg_coef=reg_coef,
                   activation=activation)

    def reset_parameters(self) -> None:
        for linear in self.encoders:
            nn.init.xavier_uniform_(linear.weight)
        for bilinear in self.discriminators:
            nn.init.xavier_uniform_(bilinear.weight)
            nn.init.zeros_(bilinear.bias)
        if self.attention is not None:
            for linear in self.attention:
                nn.init.xavier_normal_(linear.weight)
                nn.init.zeros_(linear.bias)
        if isinstance(self.act, nn.PReLU):
            nn.init.constant_(self.act.weight, 0.25)
        # The authors' Z is a [1, N, d] tensor: xavier-normal then has std sqrt(2 / (d (N + 1))), not
        # sqrt(2 / (N + d)) as for [N, d].
        nn.init.xavier_normal_(self.consensus.data.unsqueeze(0))

    def prepare(self, data: HeteroData) -> HeteroData:
        """Normalised relation operators and the target features of ``data``; returns ``data`` itself."""
        target = target_with_metapaths(data, "DMGI")
        if data[target].num_nodes != self.consensus.size(0):
            raise DataError(f"DMGI was built for {self.consensus.size(0)} {target!r} nodes, the graph has "
                            f"{data[target].num_nodes}")
        operators = normalized_metapath_operators(data, self.self_loop_weight)
        if len(operators) != len(self.encoders):
            raise DataError(f"DMGI was built for {len(self.encoders)} meta-paths, the graph declares {len(operators)}")
        self._graph = data
        self._inputs = (operators, mostly_zero_as_sparse(data[target].x))
        return data

    def _encode(self, operators: list, x: Tensor, permutation: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        clean, corrupted = [], []
        for operator, linear in zip(operators, self.encoders):
            # Shuffling the rows of X commutes with X W: (P X) W = P (X W); dropout draws a fresh mask for each.
            xw = _linear(_dropout_features(x, self.dropout, self.training), linear.weight)
            xw_corrupted = _linear(_dropout_features(x, self.dropout, self.training), linear.weight)[permutation]
            clean.append(self.act(operator @ xw))
            corrupted.append(self.act(operator @ xw_corrupted))
        return clean, corrupted

    def _aggregate(self, embeddings: list[Tensor]) -> Tensor:
        stacked = torch.stack(embeddings)  # [R, N, d]
        if self.attention is None:
            return stacked.mean(0)
        scores = torch.cat([layer(h) for layer, h in zip(self.attention, embeddings)], dim=1)  # [N, R]
        weights = torch.softmax(scores, dim=1).t().unsqueeze(2)  # [R, N, 1]
        return (weights * stacked).sum(0)

    def forward(self, data: HeteroData) -> dict[str, Tensor]:
        """Loss parts ``{"infomax": Σ_r L_r, "consensus": α·ℓ_cs}`` of one step (``fit`` sums them)."""
        if self._inputs is None or data is not self._graph:
            raise DataError("DMGI trains on the graph it was prepared for: call data = model.prepare(data) first")
        operators, x = self._inputs
        n = self.consensus.size(0)
        clean, corrupted = self._encode(operators, x, torch.randperm(n, device=self.consensus.device))
        labels = torch.cat([torch.ones(n, device=x.device), torch.zeros(n, device=x.device)])
        infomax = self.consensus.new_zeros(())
        for r, (h, h_corrupted) in enumerate(zip(clean, corrupted)):
            summary = torch.sigmoid(h.mean(0, keepdim=True)).expand_as(h)
            discriminator = self.discriminators[r % len(self.discriminators)]
            logits = torch.cat([discriminator(h, summary), discriminator(h_corrupted, summary)]).squeeze(1)
            infomax = infomax + F.binary_cross_entropy_with_logits(logits, labels)
        aggregate, aggregate_corrupted = self._aggregate(clean), self._aggregate(corrupted)
        consensus = ((self.consensus - aggregate) ** 2).sum() - ((self.consensus - aggregate_corrupted) ** 2).sum()
        return {"infomax": infomax, "consensus": self.reg_coef * consensus}

    def embed(self, data: HeteroData) -> Tensor:
        """The consensus embedding :math:`Z` ``[N, d]``, detached (it belongs to the graph the model trained on)."""
        target = target_with_metapaths(data, "DMGI")
        if data[target].num_nodes != self.consensus.size(0):
            raise DataError(f"DMGI's consensus embedding has {self.consensus.size(0)} rows, the graph has "
                            f"{data[target].num_nodes} {target!r} nodes")
        return self.consensus.detach().clone()


def _linear(x: Tensor, weight: Tensor) -> Tensor:
    """``x Wᵀ`` for a dense or sparse COO ``x``."""
    return torch.sparse.mm(x, weight.t()) if x.is_sparse else x @ weight.t()
