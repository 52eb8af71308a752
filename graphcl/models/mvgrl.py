"""MVGRL — `"Contrastive Multi-View Representation Learning on Graphs" <https://arxiv.org/abs/2006.05582>`_
(Hassani & Khasahmadi, ICML 2020), node-level part.

Two structural views of one graph — the normalised adjacency and a personalised-PageRank diffusion — each with
its own GCN encoder; every node of one view is contrasted with the graph summary of the other view (a DGI-style
bilinear discriminator, with row-shuffled features as negatives). The node embedding is the sum of the two views.
"""
from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.nn.inits import glorot, zeros
from torch_geometric.transforms import GDC
from torch_geometric.utils import coalesce

from graphcl.errors import ConfigError, DataError
from graphcl.models.base import GraphModel
from graphcl.models.grace import encode
from graphcl.nn.encoders import GCNEncoder, make_activation
from graphcl.nn.sparse import SparseFeatureCache, SparseMatrix

#: Attributes written by :meth:`MVGRL.prepare`: the sparsified diffusion matrix ``S`` as weighted edges.
DIFFUSION_INDEX, DIFFUSION_WEIGHT = "diffusion_index", "diffusion_weight"


def ppr_diffusion(data: Data, alpha: float = 0.2, eps: float = 1e-4, exact: bool = True) -> tuple[Tensor, Tensor]:
    """MVGRL's diffusion ``S = α (I − (1 − α) D̃^{-1/2}(A + I)D̃^{-1/2})^{-1}`` through PyG's ``GDC``, sparsified.

    Entries below ``eps`` are dropped (``GDC``'s ``threshold`` sparsification); no output normalisation, as MVGRL
    uses ``S`` raw.

    Args:
        data: Graph with ``edge_index`` (and ``num_nodes``).
        alpha: Teleport probability ``α``. (default: ``0.2``)
        eps: Threshold of the sparsification. (default: ``1e-4``)
        exact: Dense exact inverse (``O(N³)``, small graphs) or PyG's approximate PPR (large graphs).
            (default: ``True``)

    Returns:
        ``(index [2, nnz], weight [nnz])`` of ``S``.
    """
    if "edge_index" not in data or data.num_nodes is None:
        raise DataError("MVGRL needs data.edge_index and the number of nodes")
    graph = Data(edge_index=data.edge_index, num_nodes=int(data.num_nodes))
    if not exact:  # approximate PPR needs eps; thresholding afterwards keeps the same rule
        diffusion = {"method": "ppr", "alpha": alpha, "eps": eps}
    else:
        diffusion = {"method": "ppr", "alpha": alpha}
    gdc = GDC(
        self_loop_weight=1.0, normalization_in="sym", normalization_out=None, diffusion_kwargs=diffusion,
        sparsification_kwargs={"method": "threshold", "eps": eps}, exact=exact,
    )
    out = gdc(graph)
    index, weight = coalesce(out.edge_index, out.edge_attr, int(data.num_nodes))  # (row, column) order
    return index, weight.to(torch.get_default_dtype())


class DiffusionGCN(nn.Module):
    """One GCN layer on a given, already normalised propagation matrix: ``act(S X W + b)`` (MVGRL's ``g₂``).

    ``S`` is a constant :class:`~graphcl.nn.SparseMatrix` (a CSR product, so the dense-ish diffusion never
    materialises one message per entry); sparse features (bag of words) enter ``X W`` as a sparse matrix.
    ``forward`` takes an optional row permutation, applied to ``X W`` (``(P X) W = P (X W)``), so DGI-style
    shuffled negatives cost no second feature product.

    Args:
        in_channels: Input feature size ``F``.
        out_channels: Output size ``H``.
        activation: Activation name (default: ``"prelu"``, one learnable slope).
    """

    def __init__(self, in_channels: int, out_channels: int, activation: str = "prelu") -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels))
        self.bias = nn.Parameter(torch.empty(out_channels))
        self.act = make_activation(activation)
        self._features = SparseFeatureCache()
        self.reset_parameters()

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_features"] = SparseFeatureCache()  # weak references cannot be pickled
        return state

    def reset_parameters(self) -> None:
        glorot(self.weight)
        zeros(self.bias)
        if isinstance(self.act, nn.PReLU):
            nn.init.constant_(self.act.weight, 0.25)

    def project(self, x: Tensor) -> Tensor:
        """``X W`` (``[N, H]``), as a sparse product when at most 10% of ``x`` is non-zero."""
        if not x.requires_grad and int(torch.count_nonzero(x)) <= 0.1 * x.numel():
            return self._features.get(x).matmul(self.weight.t())
        return x @ self.weight.t()

    def forward(self, x: Tensor, propagation: SparseMatrix, permutation: Tensor | None = None) -> Tensor:
        """``act(S P X W + b)``, ``[N, H]`` (``P`` = identity when ``permutation`` is ``None``)."""
        xw = self.project(x)
        if permutation is not None:
            xw = xw[permutation]
        return self.act(propagation.matmul(xw) + self.bias)


class MVGRL(GraphModel):
    """MVGRL (Hassani & Khasahmadi, ICML 2020): cross-view node–graph contrast of adjacency and diffusion.

    .. math::
        h^1 = g_1(X, \\hat A),\\quad h^2 = g_2(X, S),\\quad c^k = \\sigma\\Big(\\frac1N\\sum_i h^k_i\\Big),\\quad
        \\mathcal{D}(h, c) = h^\\top W c + b,

    .. math::
        \\mathcal{L} = \\mathrm{BCE}\\big(\\{\\mathcal{D}(h^1_i, c^2), \\mathcal{D}(h^2_i, c^1)\\}, 1\\big)
        + \\mathrm{BCE}\\big(\\{\\mathcal{D}(\\tilde h^1_i, c^2), \\mathcal{D}(\\tilde h^2_i, c^1)\\}, 0\\big)

    averaged over the ``4N`` logits, where ``h̃`` are the encoders' outputs on row-shuffled features (one
    permutation for both views). The embedding is ``h¹ + h²`` on the full graph.

    The diffusion ``S`` (:func:`ppr_diffusion`) is a deterministic function of the graph: :meth:`prepare`
    adds it to the graph once, before training (:func:`graphcl.experiment.train_model` calls it); a graph that arrives
    without it is prepared on the spot, e.g. in :meth:`embed`.

    Decisions (spec ``baselines.md`` §2.5): ``S`` is PyG's ``GDC`` exact PPR sparsified at ``diffusion_eps`` (the
    authors keep the dense ``S`` on Cora; their CiteSeer sparsification and min–max scaling are not applied);
    training is full-batch (the authors sample four contiguous blocks of 2,000 nodes per step); the adjacency view
    is ``D̃^{-1/2}(A + I)D̃^{-1/2}`` (the authors add the identity twice); no projection head, as in the authors'
    node code.

    Args:
        adjacency_encoder: ``g₁``: ``encoder(x, edge_index) -> [N, H]``.
        diffusion_encoder: ``g₂``: ``encoder(x, S) -> [N, H]`` with ``S`` a :class:`~graphcl.nn.SparseMatrix`.
        hidden_channels: ``H``.
        alpha: PPR teleport probability. (default: ``0.2``)
        diffusion_eps: Sparsification threshold of ``S``. (default: ``1e-4``)
        diffusion_exact: Exact (dense inverse) or approximate PPR. (default: ``True``)

    Examples:
        >>> model = MVGRL.build(in_channels=1433, hidden_channels=512)
        >>> data = model.prepare(data)   # once: the diffusion
        >>> loss = model(data)
        >>> z = model.embed(data)             # h1 + h2
    """

    def __init__(
        self,
        adjacency_encoder: nn.Module,
        diffusion_encoder: nn.Module,
        hidden_channels: int,
        alpha: float = 0.2,
        diffusion_eps: float = 1e-4,
        diffusion_exact: bool = True,
    ) -> None:
        super().__init__()
        if not 0.0 < alpha < 1.0:
            raise ConfigError(f"alpha must lie in (0, 1), got {alpha!r}")
        if not diffusion_eps > 0.0:
            raise ConfigError(f"diffusion_eps must be positive, got {diffusion_eps!r}")
        self.adjacency_encoder = adjacency_encoder
        self.diffusion_encoder = diffusion_encoder
        self.discriminator = nn.Bilinear(hidden_channels, hidden_channels, 1)
        self.alpha, self.diffusion_eps, self.diffusion_exact = float(alpha), float(diffusion_eps), bool(diffusion_exact)
        self.reset_parameters()

    @classmethod
    def build(
        cls,
        in_channels: int,
        hidden_channels: int = 512,
        activation: str = "prelu",
        alpha: float = 0.2,
        diffusion_eps: float = 1e-4,
        diffusion_exact: bool = True,
        **unused: Any,
    ) -> MVGRL:
        """MVGRL's node model: two one-layer GCNs of ``H`` units with PReLU, a shared bilinear discriminator.

        Args:
            in_channels: Input feature size ``F``.
            hidden_channels: ``H`` (paper: 512). (default: ``512``)
            activation: Encoder activation. (default: ``"prelu"``)
            alpha: PPR teleport probability (paper: 0.2). (default: ``0.2``)
            diffusion_eps: Entries of ``S`` below this are dropped. (default: ``1e-4``)
            diffusion_exact: Exact dense PPR (small graphs) or PyG's approximate PPR. (default: ``True``)
        """
        if unused:
            raise TypeError(f"MVGRL.build() got unexpected arguments: {sorted(unused)}")
        adjacency = GCNEncoder(in_channels, hidden_channels, num_layers=1, activation=activation)
        diffusion = DiffusionGCN(in_channels, hidden_channels, activation=activation)
        return cls(adjacency, diffusion, hidden_channels, alpha, diffusion_eps, diffusion_exact)

    def reset_parameters(self) -> None:
        self.adjacency_encoder.reset_parameters()
        self.diffusion_encoder.reset_parameters()
        nn.init.xavier_uniform_(self.discriminator.weight)
        nn.init.zeros_(self.discriminator.bias)

    def prepare(self, data: Data) -> Data:
        """A shallow copy of ``data`` with the diffusion ``S`` (``diffusion_index``, ``diffusion_weight``)."""
        if DIFFUSION_INDEX in data and DIFFUSION_WEIGHT in data:
            return data
        index, weight = ppr_diffusion(data, self.alpha, self.diffusion_eps, self.diffusion_exact)
        out = copy.copy(data)
        out[DIFFUSION_INDEX], out[DIFFUSION_WEIGHT] = index.to(data.edge_index.device), weight.to(data.edge_index.device)
        return out

    @staticmethod
    def diffusion_matrix(data: Data) -> SparseMatrix:
        """``S`` of a prepared graph as a constant sparse matrix."""
        index, n = data[DIFFUSION_INDEX], int(data.num_nodes)
        return SparseMatrix(index[0], index[1], data[DIFFUSION_WEIGHT], (n, n), sorted_by_row=True)

    def views(self, data: Data, diffusion: SparseMatrix, permutation: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``(h¹, h²)`` on the adjacency of ``data`` and on the diffusion ``S``, of the features ``data.x`` with
        their rows permuted by ``permutation`` (``None``: as they are)."""
        adjacency = copy.copy(data)
        if permutation is not None:
            adjacency.x = data.x[permutation]
        h1 = encode(self.adjacency_encoder, adjacency)
        return h1, self.diffusion_encoder(data.x, diffusion, permutation)

    def forward(self, data: Data) -> Tensor:
        """Cross-view BCE loss of the prepared graph ``data`` and one row-shuffled corruption.

        Raises:
            DataError: ``data`` has no diffusion: call ``data = model.prepare(data)`` once before training.
        """
        if DIFFUSION_INDEX not in data or DIFFUSION_WEIGHT not in data:
            raise DataError("MVGRL trains on a graph with its diffusion S: call data = model.prepare(data) once "
                            "before training")
        diffusion = self.diffusion_matrix(data)
        h1, h2 = self.views(data, diffusion)
        n1, n2 = self.views(data, diffusion, torch.randperm(data.x.size(0), device=data.x.device))
        c1, c2 = torch.sigmoid(h1.mean(0)), torch.sigmoid(h2.mean(0))

        def score(h: Tensor, c: Tensor) -> Tensor:  # nn.Bilinear's h W c + b, with W c computed once
            return h @ (self.discriminator.weight[0] @ c) + self.discriminator.bias

        positives = torch.cat([score(h1, c2), score(h2, c1)])
        negatives = torch.cat([score(n1, c2), score(n2, c1)])
        logits = torch.cat([positives, negatives])
        labels = torch.cat([torch.ones_like(positives), torch.zeros_like(negatives)])
        return F.binary_cross_entropy_with_logits(logits, labels)

    def embed(self, data: Data) -> Tensor:
        """``h¹ + h²`` on the full graph, detached, ``[N, H]``."""
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                prepared = self.prepare(data)
                h1, h2 = self.views(prepared, self.diffusion_matrix(prepared))
                return h1 + h2
        finally:
            self.train(was_training)
