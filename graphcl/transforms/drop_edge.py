"""Uniform random edge removal, the topology augmentation of GRACE."""
from __future__ import annotations

from typing import TypeVar

from torch_geometric.data import Data, HeteroData
from torch_geometric.data.storage import EdgeStorage
from torch_geometric.transforms import BaseTransform
from torch_geometric.utils import dropout_edge

from graphcl.errors import ConfigError, DataError
from graphcl.functional import drop_edge_weighted
from graphcl.functional._checks import check_probability
from graphcl.transforms._edges import full_probability, select_edges
from graphcl.transforms._registry import functional_name

GraphT = TypeVar("GraphT", Data, HeteroData)


@functional_name("drop_edge")
class DropEdge(BaseTransform):
    r"""Removes every edge independently with probability :math:`p` (GRACE's "removing edges").

    From Zhu et al., "Deep Graph Contrastive Representation Learning", 2020
    (`arXiv:2006.04131 <https://arxiv.org/abs/2006.04131>`_): a mask :math:`R_{ij} \sim
    \mathcal{B}(1 - p)` is drawn per edge and

    .. math::
        \tilde{\mathcal{E}} = \{ (i, j) \in \mathcal{E} : R_{ij} = 1 \}.

    A thin wrapper over :func:`torch_geometric.utils.dropout_edge` that also keeps every edge-level
    attribute (``edge_attr``, ``edge_weight``, ...) aligned. With ``force_undirected=True`` both directions
    of an undirected edge are kept or dropped together via :func:`graphcl.functional.drop_edge_weighted`,
    which (unlike ``dropout_edge``) preserves the edge order, keeps self-loops single and does not discard
    edges whose reverse is missing. On :class:`~torch_geometric.data.HeteroData` every edge type is
    augmented independently; ``force_undirected`` pairs edges only within edge types whose source and
    destination node types are the same. Node counts are untouched, so isolated nodes stay in the graph
    (give the graph ``x`` or ``num_nodes`` so that PyG need not infer it from ``edge_index``).

    Args:
        p: Drop probability of each edge, in :math:`[0, 1]`. (default: ``0.5``)
        force_undirected: If ``True``, drop both directions of an undirected edge together.
            (default: ``False``)

    Example:
        >>> from torch_geometric.transforms import Compose
        >>> view = Compose([DropEdge(p=0.2), MaskFeature(p=0.3)])(data)  # doctest: +SKIP
    """

    def __init__(self, p: float = 0.5, force_undirected: bool = False) -> None:
        self.p = check_probability(p, "p", type(self).__name__, ConfigError)
        self.force_undirected = bool(force_undirected)

    def forward(self, data: GraphT) -> GraphT:
        """Drops edges of every edge store of ``data`` (a shallow copy made by ``__call__``)."""
        for store in data.edge_stores:
            if "edge_index" not in store:
                where = "data" if store._key is None else f"data[{store._key}]"
                raise DataError(f"{type(self).__name__} needs '{where}.edge_index', which is missing")
            edge_index = store.edge_index
            if self.force_undirected and _is_homogeneous_relation(store):
                _, edge_mask = drop_edge_weighted(
                    edge_index, full_probability(self.p, edge_index), force_undirected=True
                )
            else:
                _, edge_mask = dropout_edge(edge_index, p=self.p)
            select_edges(store, edge_mask)
        return data

    def __repr__(self) -> str:
        extra = ", force_undirected=True" if self.force_undirected else ""
        return f"{type(self).__name__}(p={self.p}{extra})"


def _is_homogeneous_relation(store: EdgeStorage) -> bool:
    """Whether source and target ids of ``store`` index the same node set (always true for ``Data``)."""
    key = store._key
    return key is None or key[0] == key[-1]
