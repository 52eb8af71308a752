"""Tests for :class:`graphcl.transforms.DropEdge`."""
from __future__ import annotations

import math
import warnings

import pytest
import torch
from torch_geometric.data import Data, HeteroData
from torch_geometric.transforms import Compose
from torch_geometric.utils import is_undirected, to_undirected

from graphcl.errors import DataError
from graphcl.transforms import DropEdge, MaskFeature


def _graph(num_nodes: int = 100, num_edges: int = 400, undirected: bool = False) -> Data:
    edge_index = torch.randint(0, num_nodes, (2, num_edges))
    if undirected:
        edge_index = to_undirected(edge_index, num_nodes=num_nodes)
    num_edges = edge_index.size(1)
    ids = torch.arange(num_edges)
    return Data(
        x=torch.randn(num_nodes, 8),
        edge_index=edge_index,
        edge_attr=torch.stack([ids, 2 * ids, 3 * ids], dim=1).float(),  # row i encodes edge id i
        edge_weight=ids.float(),
        edge_type=ids,
        y=torch.arange(num_nodes),
    )


def test_drop_rate_matches_p_statistically() -> None:
    torch.manual_seed(0)
    data = Data(edge_index=torch.randint(0, 1000, (2, 20000)), num_nodes=1000)
    out = DropEdge(p=0.3)(data)
    dropped = 1 - out.num_edges / 20000
    assert abs(dropped - 0.3) <= 5 * math.sqrt(0.3 * 0.7 / 20000)


@pytest.mark.parametrize("force_undirected", [False, True])
def test_edge_attributes_stay_aligned(force_undirected: bool) -> None:
    torch.manual_seed(1)
    data = _graph(undirected=force_undirected)
    out = DropEdge(p=0.5, force_undirected=force_undirected)(data)
    kept = out.edge_weight.long()
    assert 0 < kept.numel() < data.num_edges
    assert torch.equal(out.edge_index, data.edge_index[:, kept])
    assert torch.equal(out.edge_attr, data.edge_attr[kept])
    assert torch.equal(out.edge_type, kept)
    assert torch.equal(out.y, data.y) and out.x is data.x  # node-level attributes untouched


def test_callers_data_is_not_modified() -> None:
    torch.manual_seed(2)
    data = _graph()
    before = {key: value.clone() for key, value in data.items()}
    tensors = {key: value for key, value in data.items()}
    out = DropEdge(p=0.5)(data)
    assert out is not data and out.num_edges < data.num_edges
    for key, value in data.items():
        assert value is tensors[key] and torch.equal(value, before[key])


def test_force_undirected_keeps_graph_undirected() -> None:
    torch.manual_seed(3)
    data = _graph(num_nodes=200, num_edges=2000, undirected=True)
    out = DropEdge(p=0.4, force_undirected=True)(data)
    assert out.num_edges < data.num_edges
    assert is_undirected(out.edge_index, num_nodes=200)


def test_isolated_nodes_and_num_nodes_are_preserved() -> None:
    data = Data(x=torch.randn(10, 2), edge_index=torch.tensor([[0, 1, 2], [1, 2, 3]]))
    out = DropEdge(p=1.0)(data)
    assert out.edge_index.shape == (2, 0) and out.num_nodes == 10
    data = Data(edge_index=torch.tensor([[0, 1], [1, 0]]), num_nodes=7)
    assert DropEdge(p=1.0, force_undirected=True)(data).num_nodes == 7


def test_declared_num_nodes_is_never_inferred() -> None:
    data = Data(edge_index=torch.randint(0, 10, (2, 10)), edge_weight=torch.rand(10), num_nodes=12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # PyG warns whenever it has to infer num_nodes from edge_index
        out = DropEdge(p=0.5, force_undirected=True)(data)
    assert out.num_nodes == 12 and out.edge_weight.numel() == out.num_edges


def test_explicit_num_edges_is_updated() -> None:
    data = Data(x=torch.randn(4, 2), edge_index=torch.tensor([[0, 1, 2], [1, 2, 3]]), num_edges=3)
    out = DropEdge(p=1.0)(data)
    assert out.num_edges == 0 and data.num_edges == 3


def test_p_zero_keeps_every_edge() -> None:
    data = _graph()
    out = DropEdge(p=0.0)(data)
    assert torch.equal(out.edge_index, data.edge_index) and torch.equal(out.edge_attr, data.edge_attr)


@pytest.mark.parametrize("force_undirected", [False, True])
def test_edgeless_graph(force_undirected: bool) -> None:
    data = Data(
        x=torch.randn(5, 3),
        edge_index=torch.empty(2, 0, dtype=torch.long),
        edge_attr=torch.empty(0, 4),
    )
    out = DropEdge(p=0.5, force_undirected=force_undirected)(data)
    assert out.edge_index.shape == (2, 0) and out.edge_attr.shape == (0, 4) and out.num_nodes == 5


def test_heterodata_every_edge_type() -> None:
    torch.manual_seed(4)
    data = HeteroData()
    data["paper"].x = torch.randn(50, 4)
    data["author"].num_nodes = 30
    data["author", "writes", "paper"].edge_index = torch.stack(
        [torch.randint(0, 30, (500,)), torch.randint(0, 50, (500,))]
    )
    data["author", "writes", "paper"].edge_attr = torch.arange(500.0)
    data["paper", "cites", "paper"].edge_index = to_undirected(torch.randint(0, 50, (2, 300)), num_nodes=50)
    out = DropEdge(p=0.5, force_undirected=True)(data)
    writes = out["author", "writes", "paper"]
    assert 0 < writes.num_edges < 500
    assert torch.equal(writes.edge_index, data["author", "writes", "paper"].edge_index[:, writes.edge_attr.long()])
    cites = out["paper", "cites", "paper"]
    assert cites.num_edges < data["paper", "cites", "paper"].num_edges
    assert is_undirected(cites.edge_index, num_nodes=50)
    assert out["paper"].x is data["paper"].x and out["author"].num_nodes == 30
    assert data["author", "writes", "paper"].num_edges == 500  # input untouched


def test_missing_edge_index_raises() -> None:
    with pytest.raises(DataError, match="edge_index"):
        DropEdge(p=0.2)(Data(x=torch.randn(3, 2)))


@pytest.mark.parametrize("bad", [1.5, -0.1, float("nan"), "0.2", True])
def test_invalid_p_raises(bad: object) -> None:
    with pytest.raises(ValueError, match="DropEdge"):
        DropEdge(p=bad)  # type: ignore[arg-type]


def test_repr() -> None:
    assert repr(DropEdge(p=0.2)) == "DropEdge(p=0.2)"
    assert repr(DropEdge(p=0.2, force_undirected=True)) == "DropEdge(p=0.2, force_undirected=True)"


def test_composes_with_pyg_compose() -> None:
    torch.manual_seed(5)
    data = _graph()
    view = Compose([DropEdge(p=0.5), MaskFeature(p=0.5)])
    out = view(data)
    assert out.num_edges < data.num_edges and (out.x == 0).any()
    assert not (data.x == 0).any()
