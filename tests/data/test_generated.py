"""make_community_graph: determinism, shape, planted structure of uneven strength, informative features."""
from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from torch_geometric.utils import (
    contains_self_loops,
    is_undirected,
    to_scipy_sparse_matrix,
)

from graphcl.data import make_community_graph


@pytest.fixture(scope="module")
def graph():
    return make_community_graph()


def _probe_accuracy(features: np.ndarray, labels: np.ndarray) -> float:
    order = np.random.default_rng(0).permutation(labels.size)
    train, test = order[: labels.size // 2], order[labels.size // 2:]
    model = LogisticRegression(max_iter=1000).fit(features[train], labels[train])
    return float(model.score(features[test], labels[test]))


def test_same_seed_gives_identical_tensors_and_other_seeds_differ() -> None:
    first, second = make_community_graph(seed=7), make_community_graph(seed=7)
    for key in ("x", "edge_index", "y", "community"):
        assert torch.equal(first[key], second[key]), key
    other = make_community_graph(seed=8)
    assert (first.edge_index.shape != other.edge_index.shape
            or not torch.equal(first.edge_index, other.edge_index))
    assert not torch.equal(first.community, other.community)


def test_global_random_state_is_left_alone() -> None:
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()
    make_community_graph(num_nodes=500, num_communities=10)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert all(np.array_equal(a, b) for a, b in zip(np.random.get_state(), numpy_state, strict=True))


def test_shapes_types_and_sizes(graph) -> None:
    assert graph.num_nodes == 3000
    assert graph.x.shape == (3000, 500) and graph.x.dtype == torch.float32
    assert set(graph.x.unique().tolist()) <= {0.0, 1.0}
    assert graph.y.shape == graph.community.shape == (3000,)
    assert graph.y.dtype == graph.community.dtype == torch.long
    sizes = torch.bincount(graph.community)
    assert sizes.numel() == 30 and int(sizes.min()) >= 10
    assert int(sizes.max()) >= 5 * int(sizes.min())  # heavy-tailed
    assert 4.0 <= graph.edge_index.size(1) / graph.num_nodes <= 10.0  # Cora-like average degree


def test_undirected_coalesced_without_self_loops(graph) -> None:
    edge_index = graph.edge_index
    assert is_undirected(edge_index, num_nodes=graph.num_nodes)
    assert not contains_self_loops(edge_index)
    assert torch.unique(edge_index, dim=1).size(1) == edge_index.size(1)


def test_classes_are_non_empty_groups_of_communities(graph) -> None:
    assert torch.bincount(graph.y).min() > 0 and int(graph.y.max()) == 5
    class_of_community = torch.full((30,), -1)
    class_of_community[graph.community] = graph.y
    assert torch.equal(class_of_community[graph.community], graph.y)  # one class per community
    assert torch.bincount(class_of_community).min() >= 2  # each class is several communities


def test_community_strengths_really_differ(graph) -> None:
    src, dst = graph.edge_index
    community = graph.community
    inside = (community[src] == community[dst]).double()
    endpoints = torch.bincount(community[src], minlength=30).double()
    internal_fraction = torch.zeros(30, dtype=torch.float64).index_add_(0, community[src], inside)
    internal_fraction /= endpoints
    assert float(internal_fraction.max()) > 0.75 and float(internal_fraction.min()) < 0.2

    sizes = torch.bincount(community, minlength=30).double()
    internal_density = internal_fraction * endpoints / (sizes * (sizes - 1))
    background = float((1 - inside).sum()) / float(3000**2 - (sizes**2).sum())
    ratio = internal_density / background
    assert float(ratio.min()) < 10 and float(ratio.max()) > 100  # weak ones near the background


def test_density_ratio_makes_strong_communities_denser_and_strengths_more_uneven(graph) -> None:
    from graphcl.functional.community import community_strength

    def mean_degree_and_strength(data):
        degree = torch.bincount(data.edge_index[0], minlength=data.num_nodes).double()
        count = torch.bincount(data.community).double()
        per_community = torch.zeros_like(count).index_add_(0, data.community, degree) / count
        return per_community, community_strength(data.edge_index, data.community, data.num_nodes)

    uneven = make_community_graph(density_ratio=10.0)
    assert torch.equal(make_community_graph(density_ratio=1.0).edge_index, graph.edge_index)
    flat_degree, flat_strength = mean_degree_and_strength(graph)
    degree, strength = mean_degree_and_strength(uneven)
    assert float(flat_degree.max() / flat_degree.min()) < 2.5
    assert float(degree.max() / degree.min()) > 5
    # The densest communities are the strongest ones (same stratified position in both ranges).
    assert int(strength.argmax()) in set(degree.topk(5).indices.tolist())
    assert float(strength.max() - strength.min()) > 1.5 * float(flat_strength.max() - flat_strength.min())


def test_features_alone_are_mediocre_and_structure_helps(graph) -> None:
    x, labels = graph.x.numpy(), graph.y.numpy()
    raw = _probe_accuracy(x, labels)
    assert 0.40 <= raw <= 0.75

    adjacency = to_scipy_sparse_matrix(graph.edge_index, num_nodes=graph.num_nodes).tocsr()
    adjacency.setdiag(1.0)
    walk = adjacency.multiply(1.0 / adjacency.sum(axis=1)).tocsr()
    smoothed = _probe_accuracy(walk @ (walk @ x), labels)
    assert smoothed >= raw + 0.1


def test_default_size_is_fast() -> None:
    start = time.perf_counter()
    make_community_graph(seed=1)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("kwargs, message", [
    ({"num_classes": 31}, "num_classes must be between 1 and num_communities"),
    ({"num_nodes": 50}, "at least 2 \\* num_communities"),
    ({"num_features": 0}, "num_features must be >= 1"),
    ({"seed": -1}, "seed must be >= 0"),
    ({"mixing_range": (0.9, 0.1)}, "mixing_range"),
    ({"avg_degree": 0.0}, "avg_degree must be > 0"),
    ({"density_ratio": 0.5}, "density_ratio must be a finite number >= 1"),
    ({"class_vocab_size": 501}, "class_vocab_size must be between"),
    ({"noise_word_prob": 1.5}, "noise_word_prob must be in"),
])
def test_invalid_arguments_raise_clear_value_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_community_graph(**kwargs)


def test_non_integer_counts_are_type_errors() -> None:
    with pytest.raises(TypeError, match="seed must be an int"):
        make_community_graph(seed=1.5)
    with pytest.raises(TypeError, match="num_nodes must be an int"):
        make_community_graph(num_nodes=True)


def test_small_graphs_shrink_the_minimum_community_size() -> None:
    data = make_community_graph(num_nodes=60, num_communities=30, num_classes=3)
    assert torch.bincount(data.community).min() == 2


@pytest.mark.slow
def test_large_graph_is_sampled_without_quadratic_memory() -> None:
    start = time.perf_counter()
    data = make_community_graph(num_nodes=50_000, num_communities=300, num_classes=10)
    assert time.perf_counter() - start < 10.0
    assert 4.0 <= data.edge_index.size(1) / 50_000 <= 10.0
