"""Tests for :func:`graphcl.functional.drop_edge_weighted`."""
from __future__ import annotations

import math

import pytest
import torch
from torch_geometric.utils import dropout_edge, is_undirected, to_undirected

from graphcl.functional import drop_edge_weighted


def _random_edges(num_nodes: int, num_edges: int) -> torch.Tensor:
    return torch.randint(0, num_nodes, (2, num_edges))


def _within_sigmas(observed: float, p: float, n: int, sigmas: float = 5.0) -> bool:
    return abs(observed - p) <= sigmas * math.sqrt(p * (1 - p) / n)


def test_drop_rate_matches_p_statistically() -> None:
    torch.manual_seed(0)
    edge_index = _random_edges(1000, 20000)
    out, mask = drop_edge_weighted(edge_index, torch.full((20000,), 0.3))
    assert mask.dtype == torch.bool and mask.shape == (20000,)
    assert torch.equal(out, edge_index[:, mask])
    assert _within_sigmas(1 - mask.float().mean().item(), 0.3, 20000)


def test_per_edge_probabilities_are_respected() -> None:
    torch.manual_seed(1)
    edge_index = _random_edges(500, 20000)
    p = torch.tensor([0.1, 0.8]).repeat(10000)  # alternating per-edge probabilities
    _, mask = drop_edge_weighted(edge_index, p)
    assert _within_sigmas(1 - mask[0::2].float().mean().item(), 0.1, 10000)
    assert _within_sigmas(1 - mask[1::2].float().mean().item(), 0.8, 10000)


def test_probabilities_zero_and_one_are_exact() -> None:
    torch.manual_seed(2)
    edge_index = _random_edges(50, 1000)
    p = (torch.arange(1000) % 2).float()  # even edges p=0 (always kept), odd edges p=1 (always dropped)
    out, mask = drop_edge_weighted(edge_index, p)
    assert torch.equal(mask, p == 0)
    assert torch.equal(out, edge_index[:, 0::2])


def test_uniform_p_reproduces_pyg_dropout_edge() -> None:
    edge_index = _random_edges(100, 500)
    torch.manual_seed(3)
    _, expected = dropout_edge(edge_index, p=0.4)
    torch.manual_seed(3)
    _, mask = drop_edge_weighted(edge_index, torch.full((500,), 0.4))
    assert torch.equal(mask, expected)


def test_training_false_is_a_no_op() -> None:
    edge_index = _random_edges(10, 30)
    out, mask = drop_edge_weighted(edge_index, torch.ones(30), training=False)
    assert out is edge_index
    assert mask.all() and mask.shape == (30,)


def test_integer_probabilities_are_accepted() -> None:
    edge_index = torch.tensor([[0, 1], [1, 2]])
    _, mask = drop_edge_weighted(edge_index, torch.tensor([0, 1]))
    assert mask.tolist() == [True, False]


@pytest.mark.parametrize("force_undirected", [False, True])
def test_edgeless_graph(force_undirected: bool) -> None:
    edge_index = torch.empty(2, 0, dtype=torch.long)
    out, mask = drop_edge_weighted(edge_index, torch.empty(0), force_undirected=force_undirected)
    assert out.shape == (2, 0) and mask.shape == (0,)


def test_shape_mismatch_names_both_shapes() -> None:
    edge_index = _random_edges(5, 4)
    with pytest.raises(ValueError, match=r"\(4,\).*\(2, 4\).*\(5,\)"):
        drop_edge_weighted(edge_index, torch.zeros(5))


@pytest.mark.parametrize("bad", [1.5, -0.1, float("nan")])
def test_probability_outside_unit_interval_raises(bad: float) -> None:
    p = torch.tensor([0.2, bad, 0.3])
    with pytest.raises(ValueError, match="outside"):
        drop_edge_weighted(_random_edges(5, 3), p)


def test_malformed_edge_index_raises() -> None:
    with pytest.raises(ValueError, match=r"\[2, E\]"):
        drop_edge_weighted(torch.zeros(3, 4, dtype=torch.long), torch.zeros(4))


def test_force_undirected_keeps_graph_undirected() -> None:
    torch.manual_seed(4)
    num_nodes = 300
    edge_index = to_undirected(_random_edges(num_nodes, 3000), num_nodes=num_nodes)
    loops = torch.arange(0, num_nodes, 7).repeat(2, 1)
    edge_index = torch.cat([edge_index, loops], dim=1)
    edge_index = edge_index[:, torch.randperm(edge_index.size(1))]  # order must not matter
    p = torch.full((edge_index.size(1),), 0.4)

    out, mask = drop_edge_weighted(edge_index, p, force_undirected=True)

    assert torch.equal(out, edge_index[:, mask])  # mask indexes the ORIGINAL order
    assert is_undirected(out, num_nodes=num_nodes)
    kept_loops = (out[0] == out[1]).sum().item()
    assert kept_loops <= loops.size(1)  # self-loops are never duplicated
    forward = edge_index[0] < edge_index[1]
    num_pairs = int(forward.sum())
    assert _within_sigmas(1 - mask[forward].float().mean().item(), 0.4, num_pairs)


def test_force_undirected_uses_the_row_lt_col_edge_per_pair() -> None:
    edge_index = torch.tensor([[0, 1, 2, 3, 1, 2], [1, 0, 3, 2, 1, 1]])
    # (0,1)/(1,0): representative p=0 -> both kept; (2,3)/(3,2): representative p=1 -> both dropped;
    # (1,1) self-loop decides alone; (2,1) has no reverse and decides alone.
    p = torch.tensor([0.0, 1.0, 1.0, 0.0, 0.0, 1.0])
    _, mask = drop_edge_weighted(edge_index, p, force_undirected=True)
    assert mask.tolist() == [True, True, False, False, True, False]


def test_force_undirected_edges_without_reverse_decide_alone() -> None:
    torch.manual_seed(5)
    row = torch.randint(1, 1000, (20000,))
    col = (row - torch.randint(1, 1000, (20000,))).clamp(min=0)
    edge_index = torch.stack([torch.maximum(row, col + 1), col])  # row > col everywhere, no reverses
    _, kept_all = drop_edge_weighted(edge_index, torch.zeros(20000), force_undirected=True)
    assert kept_all.all()  # PyG's dropout_edge(force_undirected=True) would drop all of them
    _, mask = drop_edge_weighted(edge_index, torch.full((20000,), 0.5), force_undirected=True)
    assert _within_sigmas(mask.float().mean().item(), 0.5, 20000)


def test_force_undirected_parallel_edges_follow_the_first_copy() -> None:
    edge_index = torch.tensor([[0, 0, 1], [1, 1, 0]])
    _, mask = drop_edge_weighted(edge_index, torch.tensor([0.0, 1.0, 1.0]), force_undirected=True)
    assert mask.tolist() == [True, False, True]
    _, mask = drop_edge_weighted(edge_index, torch.tensor([1.0, 0.0, 0.0]), force_undirected=True)
    assert mask.tolist() == [False, True, False]


def test_device_mismatch_raises() -> None:
    with pytest.raises(ValueError, match="device|on meta"):
        drop_edge_weighted(torch.tensor([[0], [1]]), torch.zeros(1, device="meta"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_runs_on_cuda() -> None:
    edge_index = to_undirected(_random_edges(100, 1000)).cuda()
    p = torch.full((edge_index.size(1),), 0.3, device="cuda")
    out, mask = drop_edge_weighted(edge_index, p, force_undirected=True)
    assert mask.is_cuda and is_undirected(out.cpu(), num_nodes=100)
