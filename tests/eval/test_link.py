import random

import numpy as np
import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.utils import coalesce, to_undirected

from graphcl.errors import DataError
from graphcl.eval import link_prediction, link_prediction_scores, split_edges


def _pair_set(edge_index: torch.Tensor) -> set[tuple[int, int]]:
    return set(map(tuple, edge_index.t().tolist()))


def _undirected_set(edge_index: torch.Tensor) -> set[tuple[int, int]]:
    return {(min(u, v), max(u, v)) for u, v in _pair_set(edge_index)}


def _edge_id(edge_index: torch.Tensor) -> torch.Tensor:
    return (edge_index.min(0).values * 1000 + edge_index.max(0).values).float()


def _graph(num_nodes: int = 60, num_edges: int = 300, seed: int = 0) -> Data:
    gen = torch.Generator().manual_seed(seed)
    edge_index = torch.randint(0, num_nodes, (2, num_edges), generator=gen)
    edge_index = edge_index[:, edge_index[0] != edge_index[1]]
    edge_index = to_undirected(edge_index, num_nodes=num_nodes)
    weight = _edge_id(edge_index)  # a symmetric attribute that identifies each undirected edge
    return Data(x=torch.randn(num_nodes, 4, generator=gen), edge_index=edge_index, edge_weight=weight,
                num_nodes=num_nodes)


def test_identical_endpoint_embeddings_give_auc_one():
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(20, 8, generator=gen)
    z[10:] = z[:10]  # node i and node i + 10 share a vector
    pos = torch.stack([torch.arange(10), torch.arange(10) + 10])
    neg = torch.stack([torch.arange(10), (torch.arange(10) + 1) % 10])
    out = link_prediction_scores(z, torch.cat([pos, neg], 1), torch.cat([torch.ones(10), torch.zeros(10)]))
    assert set(out) == {"auc", "ap"}
    assert out["auc"]["mean"] == 1.0 and out["ap"]["mean"] == 1.0
    assert out["auc"]["values"] == [1.0] and out["auc"]["std"] == 0.0


def test_random_embeddings_give_auc_one_half():
    gen = torch.Generator().manual_seed(1)
    z = torch.randn(500, 16, generator=gen)
    pairs = torch.randint(0, 500, (2, 4000), generator=gen)
    labels = torch.arange(4000) % 2
    out = link_prediction_scores(z, pairs, labels, decoder="dot")
    assert abs(out["auc"]["mean"] - 0.5) < 0.04


def test_dot_decoder_sees_norms_and_cosine_does_not():
    z = np.array([[1.0, 0.0], [10.0, 0.0], [1.0, 0.0]])
    pairs = np.array([[0, 0], [1, 2]])  # (0, 1) is the edge, (0, 2) the non-edge
    labels = np.array([1, 0])
    assert link_prediction_scores(z, pairs, labels, decoder="dot")["auc"]["mean"] == 1.0
    assert link_prediction_scores(z, pairs, labels, decoder="cosine")["auc"]["mean"] == 0.5


@pytest.mark.parametrize(
    ("pairs", "labels", "kwargs"),
    [
        ([[0, 1], [1, 2]], [1, 0], {"decoder": "l2"}),
        ([[0, 1], [1, 2]], [1, 1], {}),  # one class only
        ([[0, 1], [1, 5]], [1, 0], {}),  # node out of range
        ([[0, 1], [1, 2]], [1, 0, 1], {}),  # label count mismatch
        ([[0, 1], [1, 2]], [2, 0], {}),  # non-binary labels
    ],
)
def test_link_prediction_scores_bad_input_raises(pairs, labels, kwargs):
    with pytest.raises(ValueError):
        link_prediction_scores(np.eye(3), np.array(pairs), np.array(labels), **kwargs)


def test_split_edges_holds_out_validation_and_test_edges():
    data = _graph()
    all_edges = _undirected_set(data.edge_index)
    train, val, test = split_edges(data, val_ratio=0.1, test_ratio=0.2, seed=0)

    train_graph = _pair_set(train.edge_index)
    test_pos = test.edge_label_index[:, test.edge_label == 1]
    val_pos = val.edge_label_index[:, val.edge_label == 1]
    for u, v in test_pos.t().tolist() + val_pos.t().tolist():
        assert (u, v) not in train_graph and (v, u) not in train_graph
    # Sizes: int(ratio * M) undirected edges held out, with as many negatives.
    m = len(all_edges)
    assert val_pos.size(1) == int(0.1 * m) and test_pos.size(1) == int(0.2 * m)
    assert (val.edge_label == 0).sum() == val_pos.size(1) and (test.edge_label == 0).sum() == test_pos.size(1)
    # Training graph: the remaining edges in both directions; val reuses it; test adds the val edges.
    held_out = _undirected_set(val_pos) | _undirected_set(test_pos)
    assert _undirected_set(train.edge_index) == all_edges - held_out
    assert len(train_graph) == 2 * (m - val_pos.size(1) - test_pos.size(1))
    assert torch.equal(val.edge_index, train.edge_index)
    assert _undirected_set(test.edge_index) == _undirected_set(train.edge_index) | _undirected_set(val_pos)
    # Training labels are positives only; negatives are non-edges of the full graph, not shared.
    assert bool((train.edge_label == 1).all())
    val_neg = _pair_set(val.edge_label_index[:, val.edge_label == 0])
    test_neg = _pair_set(test.edge_label_index[:, test.edge_label == 0])
    assert not val_neg & test_neg
    assert not _undirected_set(torch.tensor(sorted(val_neg | test_neg)).t()) & all_edges
    # Edge attributes travel with their edges.
    assert torch.equal(train.edge_weight, _edge_id(train.edge_index))
    assert torch.equal(test.edge_weight, _edge_id(test.edge_index))


def test_split_edges_is_reproducible_and_leaves_global_rngs_alone():
    data = _graph()
    torch.manual_seed(0)
    random.seed(0)
    torch_state, python_state = torch.random.get_rng_state(), random.getstate()
    first = split_edges(data, seed=3)
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    assert random.getstate() == python_state
    again = split_edges(data, seed=3)
    other = split_edges(data, seed=4)
    for a, b in zip(first, again, strict=True):
        assert torch.equal(a.edge_index, b.edge_index)
        assert torch.equal(a.edge_label_index, b.edge_label_index)
    assert not torch.equal(first[2].edge_label_index, other[2].edge_label_index)


def test_split_edges_does_not_modify_its_input():
    data = _graph()
    edge_index = data.edge_index.clone()
    split_edges(data)
    assert torch.equal(data.edge_index, edge_index)
    assert "edge_label" not in data


def test_split_edges_drops_self_loops_and_symmetrises_directed_input():
    data = _graph()
    full = _undirected_set(data.edge_index)
    one_way = data.edge_index[:, data.edge_index[0] > data.edge_index[1]]  # src > dst only
    loops = torch.arange(5).repeat(2, 1)
    directed = Data(edge_index=coalesce(torch.cat([one_way, loops], 1)), num_nodes=data.num_nodes)
    train, val, test = split_edges(directed, val_ratio=0.1, test_ratio=0.1)
    held_out = _undirected_set(val.edge_label_index[:, val.edge_label == 1]) | _undirected_set(
        test.edge_label_index[:, test.edge_label == 1])
    assert _undirected_set(train.edge_index) | held_out == full  # nothing lost, no loops
    assert bool((train.edge_index[0] != train.edge_index[1]).all())


@pytest.mark.parametrize(
    ("data", "kwargs"),
    [
        (Data(num_nodes=3), {}),
        (Data(edge_index=torch.tensor([[0, 1], [1, 0]]), num_nodes=2), {}),  # too few edges for a test edge
        (Data(edge_index=torch.tensor([[0], [1]]), edge_label=torch.ones(1), num_nodes=2), {}),
        (_graph(), {"val_ratio": 0.5, "test_ratio": 0.5}),
        (_graph(), {"test_ratio": 0.0}),
    ],
)
def test_split_edges_bad_input_raises(data, kwargs):
    with pytest.raises(ValueError):
        split_edges(data, **kwargs)


def test_link_prediction_on_a_split():
    data = _graph()
    splits = split_edges(data, val_ratio=0.1, test_ratio=0.2)
    # Embeddings that encode the full adjacency score held-out edges (almost) perfectly.
    adjacency = torch.zeros(data.num_nodes, data.num_nodes)
    adjacency[data.edge_index[0], data.edge_index[1]] = 1
    z = adjacency + 3 * torch.eye(data.num_nodes)
    out = link_prediction(z, *splits)
    assert set(out) == {"auc", "ap", "val_auc", "val_ap"}
    assert out["auc"]["mean"] > 0.95
    no_val = link_prediction(z, *split_edges(data, val_ratio=0.0, test_ratio=0.2))
    assert set(no_val) == {"auc", "ap"}
    with pytest.raises(DataError, match="rows"):
        link_prediction(z[:-1], *splits)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_split_edges_and_scores_on_cuda():
    data = _graph().to("cuda")
    state = torch.cuda.get_rng_state()
    first, again = split_edges(data, seed=1), split_edges(data, seed=1)
    assert torch.equal(torch.cuda.get_rng_state(), state)
    assert torch.equal(first[2].edge_label_index, again[2].edge_label_index)
    z = torch.randn(data.num_nodes, 8, device="cuda")
    assert 0.0 <= link_prediction(z, *first)["auc"]["mean"] <= 1.0
