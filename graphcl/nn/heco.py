"""HeCo's two view encoders — `"Self-supervised Heterogeneous Graph Neural Network with Co-contrastive Learning"
<https://arxiv.org/abs/2105.09111>`_ (Wang et al., KDD 2021).

Both start from the type projections :math:`h_v = \\mathrm{ELU}(\\mathrm{Dropout}(W_{\\tau(v)} x_v + b_{\\tau(v)}))`
(:class:`~graphcl.nn.metapath.TypeProjection`).

- **Network-schema view** (:class:`NetworkSchemaEncoder`): for every neighbour type :math:`\\Phi`, a fixed number of
  neighbours of each target node is sampled (:class:`NeighbourSampler`, a new draw every call) and aggregated by
  node-level attention

  .. math::
      \\alpha_{ij} = \\mathrm{softmax}_j\\big(\\mathrm{LeakyReLU}(a_\\Phi^\\top [h_i \\Vert h_j])\\big),\\qquad
      h_i^\\Phi = \\mathrm{ELU}\\Big(\\sum_j \\alpha_{ij} h_j\\Big);

  the types are fused by type-level attention (the form of HAN's semantic attention) into :math:`z^{sc}`.
- **Meta-path view** (:class:`MetaPathViewEncoder`): one GCN layer per meta-path,
  :math:`h_i^m = \\mathrm{PReLU}(\\hat A_m H W_m + b_m)` with :math:`\\hat A_m = D^{-1/2} A_m D^{-1/2}` (the boolean
  meta-path graph, its diagonal included, no extra self-loop), fused by semantic attention into :math:`z^{mp}`.

``attn_drop`` is dropout on the attention **parameter vectors** (:math:`a_\\Phi` and the type / semantic query), as
in the authors' code.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphcl.errors import DataError
from graphcl.nn.metapath import SemanticAttention, SparseAdjacency

__all__ = ["IntraTypeAttention", "MetaPathViewEncoder", "NeighbourSampler", "NetworkSchemaEncoder"]


class NeighbourSampler:
    """Fixed-size neighbour samples of every target node for one neighbour type, HeCo's rule, vectorised.

    A node with at least ``k`` neighbours gets ``k`` distinct ones (sampling without replacement); a node with fewer
    gets ``k`` draws with replacement; a node without any neighbour of this type gets index 0 and
    ``has_neighbours = False`` (its aggregate is then zero; the authors' code would fail on such a node). All
    draws come from torch's global RNG (or ``generator``), a fresh sample per call.

    Args:
        edge_index: ``[2, E]`` relation edges, row 0 the target node, row 1 the neighbour.
        num_targets: Number of target nodes ``N``.
    """

    def __init__(self, edge_index: Tensor, num_targets: int) -> None:
        if edge_index.dim() != 2 or edge_index.size(0) != 2:
            raise DataError(f"neighbour edges must be [2, E], got shape {tuple(edge_index.shape)}")
        edge_index = torch.unique(edge_index, dim=1)  # sorted by target, then neighbour; duplicates merged
        self.row, self.col = edge_index[0].contiguous(), edge_index[1].contiguous()
        self.num_targets = int(num_targets)
        self.degree = torch.bincount(self.row, minlength=self.num_targets)
        self.rowptr = torch.zeros(self.num_targets + 1, dtype=torch.long, device=self.row.device)
        torch.cumsum(self.degree, 0, out=self.rowptr[1:])

    def to(self, device: torch.device | str) -> NeighbourSampler:
        """A copy on ``device``."""
        moved = object.__new__(NeighbourSampler)
        moved.row, moved.col = self.row.to(device), self.col.to(device)
        moved.num_targets, moved.degree, moved.rowptr = self.num_targets, self.degree.to(device), self.rowptr.to(device)
        return moved

    def sample(self, k: int, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """``[N, k]`` neighbour ids and the ``[N]`` mask of nodes that have at least one neighbour."""
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"the sample size must be an int >= 1, got {k!r}")
        device = self.row.device
        out = torch.zeros(self.num_targets, k, dtype=torch.long, device=device)
        many = self.degree >= k
        if bool(many.any()):
            # Random order within each row: sort by (row + U(0, 1)); keep each row's first k.
            keys = self.row.to(torch.float64) + torch.rand(self.row.numel(), generator=generator,
                                                           dtype=torch.float64, device=device)
            order = torch.argsort(keys)
            row_sorted = self.row[order]
            position = torch.arange(order.numel(), device=device) - self.rowptr[row_sorted]
            keep = (position < k) & many[row_sorted]
            out[many] = self.col[order[keep]].view(-1, k)
        few = (self.degree > 0) & ~many
        if bool(few.any()):
            degree = self.degree[few].unsqueeze(1)
            draws = torch.rand(int(few.sum()), k, generator=generator, device=device)
            offset = torch.minimum((draws * degree).long(), degree - 1)
            out[few] = self.col[self.rowptr[:-1][few].unsqueeze(1) + offset]
        return out, self.degree > 0


class IntraTypeAttention(nn.Module):
    """HeCo's node-level attention over the sampled neighbours of one type.

    .. math::
        \\alpha_{ij} = \\mathrm{softmax}_j\\big(\\mathrm{LeakyReLU}(\\tilde a^\\top [h_i \\Vert h_j])\\big),\\qquad
        h_i^\\Phi = \\mathrm{ELU}\\Big(\\sum_j \\alpha_{ij} h_j\\Big)

    with :math:`\\tilde a` the attention vector after dropout; LeakyReLU's slope is 0.01 (PyTorch's default, as
    in the authors' code). The target's own :math:`h_i` enters only the score.

    Args:
        channels: :math:`d`.
        attn_drop: Dropout on :math:`a`.
    """

    def __init__(self, channels: int, attn_drop: float) -> None:
        super().__init__()
        self.att = nn.Parameter(torch.empty(1, 2 * channels))
        self.dropout = nn.Dropout(attn_drop)
        self.channels = channels
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_normal_(self.att, gain=1.414)

    def forward(self, neighbours: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
        """``neighbours`` ``[N, k, d]`` (the sampled :math:`h_j`), ``target`` ``[N, d]`` → ``[N, d]``; rows where
        ``mask`` is ``False`` are zero."""
        att = self.dropout(self.att).squeeze(0)
        score = target @ att[: self.channels]  # [N]
        score = F.leaky_relu(score.unsqueeze(1) + neighbours @ att[self.channels:], 0.01)  # [N, k]
        alpha = torch.softmax(score, dim=1)
        out = F.elu(torch.einsum("nk,nkd->nd", alpha, neighbours))
        return out if mask is None else out * mask.unsqueeze(1).to(out.dtype)


class NetworkSchemaEncoder(nn.Module):
    """HeCo's network-schema view: node-level attention per neighbour type, then type-level attention.

    Args:
        neighbour_types: The neighbour node types, in order.
        channels: :math:`d`.
        attn_drop: Dropout on the attention vectors.
    """

    def __init__(self, neighbour_types: Sequence[str], channels: int, attn_drop: float) -> None:
        super().__init__()
        if not neighbour_types:
            raise ValueError("the network-schema view needs at least one neighbour type")
        self.neighbour_types = list(neighbour_types)
        self.intra = nn.ModuleDict({t: IntraTypeAttention(channels, attn_drop) for t in self.neighbour_types})
        self.inter = SemanticAttention(channels, attn_drop)

    def reset_parameters(self) -> None:
        for module in (*self.intra.values(), self.inter):
            module.reset_parameters()

    def forward(self, h_target: Tensor, h_neighbours: Mapping[str, Tensor],
                samples: Mapping[str, tuple[Tensor, Tensor]]) -> tuple[Tensor, Tensor]:
        """Target embeddings ``[N, d]``, projected neighbours per type ``[N_Φ, d]`` and the samples per type
        (``[N, k_Φ]`` ids, ``[N]`` mask) → :math:`z^{sc}` ``[N, d]`` and the type weights ``[len(types)]``."""
        per_type = []
        for node_type in self.neighbour_types:
            index, mask = samples[node_type]
            per_type.append(self.intra[node_type](h_neighbours[node_type][index], h_target, mask))
        return self.inter(per_type)


class _MetaPathGCNLayer(nn.Module):
    """One GCN layer of HeCo's meta-path view: :math:`\\mathrm{PReLU}(\\hat A H W + b)`."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.lin = nn.Linear(channels, channels, bias=False)
        self.bias = nn.Parameter(torch.empty(channels))
        self.act = nn.PReLU(init=0.25)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_normal_(self.lin.weight, gain=1.414)
        nn.init.zeros_(self.bias)
        nn.init.constant_(self.act.weight, 0.25)

    def forward(self, h: Tensor, adjacency: SparseAdjacency) -> Tensor:
        return self.act(adjacency @ self.lin(h) + self.bias)


class MetaPathViewEncoder(nn.Module):
    """HeCo's meta-path view: one GCN layer per meta-path, fused by semantic attention.

    Args:
        num_metapaths: :math:`M`.
        channels: :math:`d`.
        attn_drop: Dropout on the semantic-attention query.
    """

    def __init__(self, num_metapaths: int, channels: int, attn_drop: float) -> None:
        super().__init__()
        if num_metapaths < 1:
            raise ValueError("the meta-path view needs at least one meta-path")
        self.layers = nn.ModuleList([_MetaPathGCNLayer(channels) for _ in range(num_metapaths)])
        self.attention = SemanticAttention(channels, attn_drop)

    def reset_parameters(self) -> None:
        for module in (*self.layers, self.attention):
            module.reset_parameters()

    def forward(self, h: Tensor, adjacencies: Sequence[SparseAdjacency]) -> tuple[Tensor, Tensor]:
        """Target embeddings ``[N, d]`` and one normalised operator per meta-path → :math:`z^{mp}` ``[N, d]`` and
        the meta-path weights ``[M]``."""
        if len(adjacencies) != len(self.layers):
            raise DataError(f"{len(adjacencies)} meta-path graphs for an encoder built for {len(self.layers)}")
        return self.attention([layer(h, adj) for layer, adj in zip(self.layers, adjacencies)])
