"""Sanity checks of a loaded graph, with errors that name the dataset and the offending node or edge."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch_geometric.data import Data

from graphcl.errors import DataError

__all__ = ["GraphSummary", "validate_graph"]


@dataclass(frozen=True)
class GraphSummary:
    """What :func:`validate_graph` found.

    Args:
        num_nodes: Number of nodes.
        num_edges: Number of directed edges in ``edge_index``.
        num_features: Node feature dimension (``0`` when the graph has no ``x``).
        num_isolated_nodes: Nodes that appear in no edge (kept; reported only).
    """

    num_nodes: int
    num_edges: int
    num_features: int
    num_isolated_nodes: int


def validate_graph(data: Data, name: str = "graph", *, allow_edgeless: bool = False) -> GraphSummary:
    """Checks that a homogeneous graph can be trained on, without modifying it.

    Rejected: no nodes; ``x`` that is not 2-D, has the wrong number of rows, or holds NaN/inf;
    ``edge_index`` that is not an integer ``[2, E]`` tensor or points outside ``[0, num_nodes)``;
    no edges at all (contrastive graph methods need them) unless ``allow_edgeless``; ``y`` with the
    wrong length. Isolated nodes are accepted and counted.

    Args:
        data: The graph.
        name: Dataset name used in error messages. (default: ``"graph"``)
        allow_edgeless: Accept a graph without edges. (default: ``False``)

    Returns:
        A :class:`GraphSummary`.

    Raises:
        DataError: The graph is malformed; the message names ``name`` and the first offending index.
    """
    if not isinstance(data, Data):
        raise DataError(f"{name}: expected a torch_geometric.data.Data, got {type(data).__name__}")
    x = data.get("x")
    num_nodes = _num_nodes(data, x, name)
    if num_nodes == 0:
        raise DataError(f"{name}: the graph is empty (0 nodes)")

    num_features = 0
    if x is not None:
        num_features = _check_features(x, num_nodes, name)

    edge_index = data.get("edge_index")
    num_edges = 0 if edge_index is None else _check_edge_index(edge_index, num_nodes, name)
    if num_edges == 0 and not allow_edgeless:
        raise DataError(
            f"{name}: the graph has no edges; contrastive graph methods need edges "
            f"(pass allow_edgeless=True to accept it anyway)"
        )

    y = data.get("y")
    if isinstance(y, Tensor) and y.dim() >= 1 and y.size(0) != num_nodes:
        raise DataError(f"{name}: y has {y.size(0)} entries but the graph has {num_nodes} nodes")

    covered = torch.zeros(num_nodes, dtype=torch.bool, device=edge_index.device if num_edges else None)
    if num_edges:
        covered[edge_index.reshape(-1)] = True
    return GraphSummary(
        num_nodes=num_nodes,
        num_edges=num_edges,
        num_features=num_features,
        num_isolated_nodes=int(num_nodes - covered.sum().item()),
    )


def _num_nodes(data: Data, x: Tensor | None, name: str) -> int:
    if "num_nodes" in data:  # set explicitly, not inferred by PyG
        return int(data.get("num_nodes"))
    if isinstance(x, Tensor):
        return int(x.size(0)) if x.dim() >= 1 else 0
    edge_index = data.get("edge_index")
    if isinstance(edge_index, Tensor) and edge_index.numel() > 0:
        raise DataError(
            f"{name}: the number of nodes is unknown (no x and no num_nodes); set data.num_nodes"
        )
    return 0


def _check_features(x: Tensor, num_nodes: int, name: str) -> int:
    if not isinstance(x, Tensor):
        raise DataError(f"{name}: x must be a tensor, got {type(x).__name__}")
    if x.dim() != 2:
        raise DataError(f"{name}: x must be 2-D [num_nodes, num_features], got shape {tuple(x.shape)}")
    if x.size(0) != num_nodes:
        raise DataError(f"{name}: x has {x.size(0)} rows but the graph has {num_nodes} nodes")
    if x.is_floating_point() or x.is_complex():
        if x.layout == torch.strided:
            bad_rows = (~torch.isfinite(x)).any(dim=1).nonzero().view(-1)
        else:
            coo = x.to_sparse_coo().coalesce()
            bad_rows = coo.indices()[0][~torch.isfinite(coo.values())].unique()
        if bad_rows.numel():
            raise DataError(
                f"{name}: x has NaN or inf values in {bad_rows.numel()} of {num_nodes} rows "
                f"(first offending node: {int(bad_rows.min())})"
            )
    return int(x.size(1))


def _check_edge_index(edge_index: Tensor, num_nodes: int, name: str) -> int:
    if not isinstance(edge_index, Tensor):
        raise DataError(f"{name}: edge_index must be a tensor, got {type(edge_index).__name__}")
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise DataError(f"{name}: edge_index must have shape [2, num_edges], got {tuple(edge_index.shape)}")
    if edge_index.is_floating_point() or edge_index.dtype == torch.bool:
        raise DataError(f"{name}: edge_index must hold integer node ids, got dtype {edge_index.dtype}")
    if edge_index.numel() == 0:
        return 0
    out_of_range = ((edge_index < 0) | (edge_index >= num_nodes)).any(dim=0)
    if bool(out_of_range.any()):
        first = int(out_of_range.nonzero()[0])
        src, dst = (int(v) for v in edge_index[:, first])
        raise DataError(
            f"{name}: edge_index refers to nodes outside [0, {num_nodes}) in "
            f"{int(out_of_range.sum())} edges (first: edge {first} = ({src}, {dst}))"
        )
    return int(edge_index.size(1))
