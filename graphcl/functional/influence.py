"""Sparse multi-hop influence matrix — the positive graph of SCGC (`Kulatilleke et al., 2022
<https://arxiv.org/abs/2204.12656>`_) and PamC (`arXiv:2209.14067 <https://arxiv.org/abs/2209.14067>`_).

With :math:`\\hat{A} = D^{-1}(A + I)` the row-normalised adjacency with self-loops (``D`` the degrees of
``A + I``), the influence of order ``r`` is

.. math::
    \\hat{A}_r = \\sum_{t=1}^{r} \\hat{A}^t \\quad (\\text{cumulative, the authors' ``--influence``}),
    \\qquad \\text{or} \\qquad \\hat{A}^r \\quad (\\text{``cumulative=False``}).

Computed with sparse-sparse products (``torch.sparse.mm``), never densified: the cost is governed by
``nnz(Â_r)``, which grows roughly like ``N · k^r`` for average degree ``k``. Every row of :math:`\\hat{A}_r` sums
to ``r`` (cumulative) or 1, and every node has a self-loop, so every node has at least one positive.
"""
from __future__ import annotations

import warnings

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform
from torch_geometric.utils import coalesce, remove_self_loops, to_undirected

from graphcl.errors import ConfigError, DataError
from graphcl.functional._checks import check_edge_index


def _check_order(order: int) -> int:
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise ConfigError(f"influence order must be an int >= 1 (number of hops), got {order!r}")
    return order


def influence_matrix(
    edge_index: Tensor,
    num_nodes: int,
    order: int = 1,
    *,
    edge_weight: Tensor | None = None,
    cumulative: bool = True,
    symmetrize: bool = True,
) -> tuple[Tensor, Tensor]:
    """SCGC / PamC influence matrix (Kulatilleke et al., 2022): sparse :math:`\\hat{A}_r` as
    ``(edge_index [2, E'], edge_weight [E'])`` (coalesced, row-major).

    Args:
        edge_index: ``[2, E]`` graph edges.
        num_nodes: Number of nodes ``N``.
        order: Number of hops ``r >= 1``.
        edge_weight: Optional ``[E]`` non-negative weights of ``A`` (default: ones).
        cumulative: ``Σ_{t=1..r} Â^t`` (authors, with ``--influence``) or ``Â^r`` only.
        symmetrize: Make ``A`` undirected first with ``max(A, Aᵀ)`` (as the authors' loaders do).

    Returns:
        ``(edge_index, edge_weight)`` of :math:`\\hat{A}_r`; row ``i`` lists the positives of node ``i``.

    Raises:
        ConfigError: ``order < 1``.
        DataError: Malformed ``edge_index`` / weights.
    """
    order = _check_order(order)
    if isinstance(num_nodes, bool) or not isinstance(num_nodes, int) or num_nodes < 1:
        raise DataError(f"num_nodes must be a positive int, got {num_nodes!r}")
    check_edge_index(edge_index, num_nodes, "influence_matrix")
    device = edge_index.device
    if edge_weight is None:
        edge_weight = torch.ones(edge_index.size(1), device=device)
    elif not isinstance(edge_weight, Tensor) or edge_weight.shape != (edge_index.size(1),) or not bool(torch.isfinite(edge_weight).all()) or bool(
        (edge_weight < 0).any()
    ):
        raise DataError(f"edge_weight must be [{edge_index.size(1)}] finite non-negative values")
    edge_weight = edge_weight.float() if not edge_weight.is_floating_point() else edge_weight
    edge_index, edge_weight = remove_self_loops(edge_index.long(), edge_weight)
    if symmetrize:
        edge_index, edge_weight = to_undirected(edge_index, edge_weight, num_nodes=num_nodes, reduce="max")
    else:
        edge_index, edge_weight = coalesce(edge_index, edge_weight, num_nodes=num_nodes, reduce="max")
    loops = torch.arange(num_nodes, device=device)
    edge_index = torch.cat([edge_index, loops.repeat(2, 1)], 1)
    edge_weight = torch.cat([edge_weight, edge_weight.new_ones(num_nodes)])
    degree = torch.zeros(num_nodes, dtype=edge_weight.dtype, device=device).index_add_(0, edge_index[0], edge_weight)
    edge_weight = edge_weight / degree[edge_index[0]]
    step = torch.sparse_coo_tensor(
        edge_index, edge_weight, (num_nodes, num_nodes), check_invariants=False
    ).coalesce()
    power, total = step, step
    with warnings.catch_warnings():
        # torch.sparse.mm goes through CSR internally and warns that CSR support is "beta".
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")
        for _ in range(1, order):
            power = torch.sparse.mm(power, step).coalesce()
            total = (total + power).coalesce() if cumulative else power
    return total.indices(), total.values()


class AddInfluence(BaseTransform):
    """Stores the sparse influence matrix :math:`\\hat{A}_r` on the graph (SCGC / PamC positives).

    Kulatilleke et al., `arXiv:2209.14067 <https://arxiv.org/abs/2209.14067>`_: :math:`\\hat{A}_r =
    \\sum_{t=1}^{r} (D^{-1}(A + I))^t` (see :func:`influence_matrix`). Writes ``data.influence_index``
    ``[2, E']`` and ``data.influence_weight`` ``[E']``; ``edge_index`` is left as it is.

    Args:
        order: Number of hops ``r >= 1`` (default: ``1``).
        cumulative: Sum of the powers ``1..r`` (default) or the ``r``-th power only.
        symmetrize: Symmetrise the adjacency first with ``max(A, Aᵀ)`` (default: ``True``).
    """

    def __init__(self, order: int = 1, cumulative: bool = True, symmetrize: bool = True) -> None:
        self.order = _check_order(order)
        self.cumulative = bool(cumulative)
        self.symmetrize = bool(symmetrize)

    def forward(self, data: Data) -> Data:
        if getattr(data, "edge_index", None) is None:
            raise DataError("AddInfluence needs data.edge_index, which is missing")
        index, weight = influence_matrix(
            data.edge_index, int(data.num_nodes), self.order, edge_weight=getattr(data, "edge_weight", None),
            cumulative=self.cumulative, symmetrize=self.symmetrize,
        )
        data.influence_index, data.influence_weight = index, weight
        return data

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(order={self.order}, cumulative={self.cumulative}, "
                f"symmetrize={self.symmetrize})")
