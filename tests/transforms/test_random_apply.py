"""Tests for :class:`graphcl.transforms.RandomApply`."""
from __future__ import annotations

import math

import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform

from graphcl.transforms import DropEdge, RandomApply


class _Mark(BaseTransform):
    def forward(self, data: Data) -> Data:
        data.marked = True
        return data


def _data() -> Data:
    return Data(x=torch.randn(3, 2), edge_index=torch.tensor([[0, 1], [1, 2]]))


def test_frequency_matches_p() -> None:
    torch.manual_seed(0)
    transform = RandomApply(_Mark(), p=0.3)
    data = _data()
    hits = sum("marked" in transform(data) for _ in range(4000))
    assert abs(hits / 4000 - 0.3) <= 5 * math.sqrt(0.3 * 0.7 / 4000)
    assert "marked" not in data


@pytest.mark.parametrize("p,expected", [(0.0, False), (1.0, True)])
def test_extreme_probabilities(p: float, expected: bool) -> None:
    transform = RandomApply(_Mark(), p=p)
    assert all(("marked" in transform(_data())) is expected for _ in range(50))


def test_reproducible_under_manual_seed() -> None:
    transform = RandomApply(_Mark(), p=0.5)
    torch.manual_seed(1)
    first = [("marked" in transform(_data())) for _ in range(30)]
    torch.manual_seed(1)
    assert first == [("marked" in transform(_data())) for _ in range(30)]


@pytest.mark.parametrize("bad", [1.2, -0.5, float("nan")])
def test_invalid_p_raises(bad: float) -> None:
    with pytest.raises(ValueError, match="RandomApply"):
        RandomApply(_Mark(), p=bad)


def test_non_callable_transform_raises() -> None:
    with pytest.raises(ValueError, match="callable"):
        RandomApply("DropEdge", p=0.5)  # type: ignore[arg-type]


def test_repr() -> None:
    assert repr(RandomApply(DropEdge(p=0.2), p=0.5)) == "RandomApply(DropEdge(p=0.2), p=0.5)"
