"""validate_graph: the malformed graphs it rejects and the odd-but-fine ones it accepts."""
from __future__ import annotations

import re

import pytest
import torch
from torch_geometric.data import Data

from graphcl.data import validate_graph
from graphcl.errors import DataError


def _ring(num_nodes: int = 6, num_features: int = 3) -> Data:
    src = torch.arange(num_nodes)
    dst = (src + 1) % num_nodes
    return Data(x=torch.rand(num_nodes, num_features),
                edge_index=torch.stack([torch.cat([src, dst]), torch.cat([dst, src])]),
                y=torch.zeros(num_nodes, dtype=torch.long))


def test_a_clean_graph_passes_and_is_summarised() -> None:
    summary = validate_graph(_ring(), "ring")
    assert (summary.num_nodes, summary.num_edges, summary.num_features,
            summary.num_isolated_nodes) == (6, 12, 3, 0)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_features_report_row_count_and_first_node(bad: float) -> None:
    data = _ring()
    data.x[4, 1] = bad
    data.x[2, 0] = bad
    data.x[2, 2] = bad
    expected = re.escape("toy: x has NaN or inf values in 2 of 6 rows (first offending node: 2)")
    with pytest.raises(DataError, match=expected):
        validate_graph(data, "toy")


def test_non_finite_values_in_sparse_features_are_found() -> None:
    data = _ring()
    data.x[5, 0] = float("nan")
    data.x = data.x.to_sparse()
    with pytest.raises(DataError, match="first offending node: 5"):
        validate_graph(data)


def test_empty_graph() -> None:
    with pytest.raises(DataError, match="empty"):
        validate_graph(Data(x=torch.zeros(0, 4), edge_index=torch.zeros(2, 0, dtype=torch.long)), "void")
    with pytest.raises(DataError, match="empty"):
        validate_graph(Data())


def test_edgeless_graph_is_rejected_unless_allowed() -> None:
    data = Data(x=torch.rand(4, 2), edge_index=torch.zeros(2, 0, dtype=torch.long))
    with pytest.raises(DataError, match="no edges"):
        validate_graph(data, "lonely")
    summary = validate_graph(data, "lonely", allow_edgeless=True)
    assert summary.num_edges == 0 and summary.num_isolated_nodes == 4


@pytest.mark.parametrize("bad_edge, shown", [((0, 6), "(0, 6)"), ((-1, 2), "(-1, 2)")])
def test_out_of_range_edges_name_the_first_bad_edge(bad_edge: tuple[int, int], shown: str) -> None:
    data = _ring()
    data.edge_index = torch.cat([data.edge_index, torch.tensor([bad_edge]).t()], dim=1)
    expected = re.escape(f"outside [0, 6) in 1 edges (first: edge 12 = {shown})")
    with pytest.raises(DataError, match=expected):
        validate_graph(data, "ring")


def test_isolated_nodes_are_accepted_and_counted() -> None:
    data = _ring()
    data.x = torch.cat([data.x, torch.rand(3, 3)])
    data.y = torch.zeros(9, dtype=torch.long)
    summary = validate_graph(data, "ring+3")
    assert summary.num_nodes == 9 and summary.num_isolated_nodes == 3
    assert "isolated" not in data  # nothing attached


def test_shape_and_dtype_errors() -> None:
    data = _ring()
    data.num_nodes = 7
    with pytest.raises(DataError, match="x has 6 rows but the graph has 7 nodes"):
        validate_graph(data)
    data = _ring()
    data.edge_index = data.edge_index.float()
    with pytest.raises(DataError, match="integer node ids"):
        validate_graph(data)
    data = _ring()
    data.edge_index = data.edge_index[0]
    with pytest.raises(DataError, match=r"shape \[2, num_edges\]"):
        validate_graph(data)
    data = _ring()
    data.y = torch.zeros(5, dtype=torch.long)
    with pytest.raises(DataError, match="y has 5 entries"):
        validate_graph(data)
    with pytest.raises(DataError, match="num_nodes"):
        validate_graph(Data(edge_index=torch.tensor([[0], [1]])))


def test_graph_without_features_uses_num_nodes() -> None:
    data = Data(edge_index=torch.tensor([[0, 1], [1, 0]]), num_nodes=3)
    summary = validate_graph(data)
    assert summary.num_features == 0 and summary.num_isolated_nodes == 1
