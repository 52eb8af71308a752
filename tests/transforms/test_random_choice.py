"""Tests for :class:`graphcl.transforms.RandomChoice`."""
from __future__ import annotations

import math
from collections import Counter

import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform, Compose

from graphcl.transforms import DropEdge, MaskFeature, RandomChoice


class _Tag(BaseTransform):
    def __init__(self, name: str) -> None:
        self.name = name

    def forward(self, data: Data) -> Data:
        data.trace = data.trace + (self.name,)  # a new tuple: the input's attribute is never mutated
        return data

    def __repr__(self) -> str:
        return f"_Tag({self.name!r})"


def _data() -> Data:
    return Data(x=torch.randn(3, 2), trace=())


TAGS = [_Tag(name) for name in "abcd"]


@pytest.mark.parametrize("num_choices", [0, 1, 2, 4])
def test_applies_exactly_num_choices_distinct_in_order(num_choices: int) -> None:
    torch.manual_seed(0)
    transform = RandomChoice(TAGS, num_choices=num_choices)
    data = _data()
    for _ in range(50):
        trace = transform(data).trace
        assert len(trace) == num_choices and len(set(trace)) == num_choices
        assert list(trace) == sorted(trace)  # the order given in ``transforms``
    assert data.trace == ()


def test_with_replacement_may_repeat() -> None:
    torch.manual_seed(1)
    transform = RandomChoice(TAGS[:2], num_choices=3, replace=True)
    traces = [transform(_data()).trace for _ in range(50)]
    assert all(len(trace) == 3 and list(trace) == sorted(trace) for trace in traces)
    assert any(len(set(trace)) < 3 for trace in traces)


def test_uniform_frequencies() -> None:
    torch.manual_seed(2)
    transform = RandomChoice(TAGS)
    counts = Counter(transform(_data()).trace[0] for _ in range(4000))
    for name in "abcd":
        assert abs(counts[name] / 4000 - 0.25) <= 5 * math.sqrt(0.25 * 0.75 / 4000)


def test_weights() -> None:
    torch.manual_seed(3)
    transform = RandomChoice(TAGS, weights=[0.0, 1.0, 3.0, 0.0])
    counts = Counter(transform(_data()).trace[0] for _ in range(4000))
    assert set(counts) == {"b", "c"}
    assert abs(counts["c"] / 4000 - 0.75) <= 5 * math.sqrt(0.75 * 0.25 / 4000)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"transforms": []}, "at least one"),
        ({"transforms": [1]}, "callable"),
        ({"transforms": TAGS, "num_choices": 5}, "without replacement"),
        ({"transforms": TAGS, "num_choices": -1}, "num_choices"),
        ({"transforms": TAGS, "weights": [1.0, 1.0]}, "entries"),
        ({"transforms": TAGS, "weights": [1.0, -1.0, 1.0, 1.0]}, "non-negative"),
        ({"transforms": TAGS, "weights": [0.0] * 4}, "not all zero"),
        ({"transforms": TAGS, "num_choices": 2, "weights": [1.0, 0.0, 0.0, 0.0]}, "positive weight"),
    ],
)
def test_invalid_arguments_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RandomChoice(**kwargs)


def test_repr() -> None:
    transform = RandomChoice([DropEdge(p=0.2), MaskFeature(p=0.3)])
    assert repr(transform) == "RandomChoice([\n  DropEdge(p=0.2),\n  MaskFeature(p=0.3)\n], num_choices=1)"
    transform = RandomChoice([DropEdge(p=0.2)], num_choices=2, replace=True, weights=[2])
    assert repr(transform).endswith("], num_choices=2, replace=True, weights=[2.0])")


def test_composes_with_pyg_compose() -> None:
    torch.manual_seed(4)
    view = Compose([RandomChoice(TAGS, num_choices=2), _Tag("z")])
    trace = view(_data()).trace
    assert len(trace) == 3 and trace[-1] == "z"
