"""Tests for :class:`graphcl.transforms.MaskFeature`."""
from __future__ import annotations

import math

import pytest
import torch
from torch_geometric.data import Data, HeteroData

from graphcl.errors import DataError
from graphcl.transforms import MaskFeature


def test_whole_columns_masked_at_rate_p() -> None:
    torch.manual_seed(0)
    data = Data(x=torch.rand(6, 100) + 1, edge_index=torch.empty(2, 0, dtype=torch.long))
    transform = MaskFeature(p=0.3)
    masked_fractions = []
    for _ in range(200):
        x = transform(data).x
        masked_columns = (x == 0).all(dim=0)
        assert torch.equal((x == 0).any(dim=0), masked_columns)  # columns are masked as a whole
        masked_fractions.append(masked_columns.float().mean().item())
    mean = sum(masked_fractions) / len(masked_fractions)
    assert abs(mean - 0.3) <= 5 * math.sqrt(0.3 * 0.7 / (100 * 200))


def test_callers_data_is_not_modified() -> None:
    data = Data(x=torch.rand(5, 10) + 1, edge_index=torch.tensor([[0, 1], [1, 0]]))
    x = data.x
    before = x.clone()
    out = MaskFeature(p=1.0)(data)
    assert (out.x == 0).all()
    assert data.x is x and torch.equal(x, before)
    assert out.edge_index is data.edge_index


def test_row_mode_and_fill_value() -> None:
    torch.manual_seed(1)
    data = Data(x=torch.rand(200, 4) + 1, num_nodes=200)
    x = MaskFeature(p=0.5, mode="row", fill_value=-1.0)(data).x
    masked_rows = (x == -1).all(dim=1)
    assert torch.equal((x == -1).any(dim=1), masked_rows)
    assert 0 < int(masked_rows.sum()) < 200


def test_heterodata_masks_every_node_type_with_x() -> None:
    torch.manual_seed(2)
    data = HeteroData()
    data["a"].x = torch.rand(4, 50) + 1
    data["b"].x = torch.rand(3, 50) + 1
    data["c"].num_nodes = 5
    out = MaskFeature(p=0.5)(data)
    for node_type in ("a", "b"):
        assert (out[node_type].x == 0).any() and not (data[node_type].x == 0).any()
    assert "x" not in out["c"]


def test_missing_or_malformed_x_raises() -> None:
    with pytest.raises(DataError, match="'x'"):
        MaskFeature(p=0.2)(Data(edge_index=torch.tensor([[0], [1]]), num_nodes=2))
    with pytest.raises(DataError, match=r"\[N, F\]"):
        MaskFeature(p=0.2)(Data(x=torch.rand(4)))


@pytest.mark.parametrize("bad", [2.0, -0.01, float("nan"), None])
def test_invalid_p_raises(bad: object) -> None:
    with pytest.raises(ValueError, match="MaskFeature"):
        MaskFeature(p=bad)  # type: ignore[arg-type]


def test_invalid_mode_raises() -> None:
    with pytest.raises(ValueError, match="mode"):
        MaskFeature(p=0.2, mode="columns")


def test_repr() -> None:
    assert repr(MaskFeature(p=0.3)) == "MaskFeature(p=0.3)"
    assert repr(MaskFeature(p=0.3, mode="row", fill_value=-1)) == "MaskFeature(p=0.3, mode='row', fill_value=-1.0)"
