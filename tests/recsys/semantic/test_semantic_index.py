"""The neighbour index: pool policies, same-user exclusion, anchor lookup by content, caching, random ablation."""
from __future__ import annotations

import pytest
import torch

from graphcl.errors import ConfigError
from recsys.data import leave_one_out, make_sequence_dataset
from recsys.semantic import (
    PrecomputedSource,
    build_random_index,
    build_semantic_index,
    window_mean_vectors,
)


@pytest.fixture(scope="module")
def split():
    data = make_sequence_dataset(num_users=120, num_items=60, num_clusters=6, seed=1)
    return leave_one_out(data, max_len=8, padding="left")


@pytest.fixture()
def source(tmp_path, split):
    g = torch.Generator().manual_seed(0)
    torch.save(torch.randn(split.num_items, 6, generator=g), tmp_path / "items.pt")
    return PrecomputedSource(tmp_path / "items.pt")


def test_train_pool_index(source, split, tmp_path):
    index = build_semantic_index(source, split, k_items=4, k_windows=5, cache_dir=tmp_path / "cache")
    n = len(split.train)
    assert index.anchor_neighbours.shape == (n, 5) and index.pool_windows.shape[0] == n
    assert not (index.anchor_neighbours == torch.arange(n)[:, None]).any()  # self excluded by index
    expect = window_mean_vectors(index.item_vectors, split.train.item_seq, decay=0.9)
    assert torch.allclose(index.anchor_vectors, expect)
    assert index.info["pool"] == "train" and index.info["exclude_same_user"] is False
    assert set(index.info["timings"]) >= {"item_vectors_s", "item_neighbours_s", "window_vectors_s",
                                          "window_neighbours_s"}
    assert not index.info["window_neighbours_cached"]
    again = build_semantic_index(source, split, k_items=4, k_windows=5, cache_dir=tmp_path / "cache")
    assert again.info["window_neighbours_cached"] and torch.equal(again.anchor_neighbours, index.anchor_neighbours)


def test_anchor_lookup_by_content(source, split):
    index = build_semantic_index(source, split, k_items=4, k_windows=3)
    pick = torch.randperm(len(split.train))[:50]
    rows = index.anchor_rows(split.train.user[pick], split.train.item_seq[pick])
    # Identical (user, window) pairs may exist; then the lookup returns one of them, with identical content.
    assert torch.equal(split.train.item_seq[rows], split.train.item_seq[pick])
    assert torch.equal(split.train.user[rows], split.train.user[pick])
    assert (index.anchor_rows(split.test.user, split.test.item_seq) == -1).float().mean() > 0.9
    with pytest.raises(ConfigError, match="max_len must match"):
        index.anchor_rows(split.train.user[:2], split.train.item_seq[:2, :5])


def test_all_pool_and_same_user_exclusion(source, split):
    full = build_semantic_index(source, split, k_items=4, k_windows=5, pool="all")
    assert full.pool_windows.size(0) == len(split.train) + len(split.valid) + len(split.test)
    assert full.statistics()["same_user_neighbour_share"] > 0
    strict = build_semantic_index(source, split, k_items=4, k_windows=5, exclude_same_user=True)
    assert strict.statistics()["same_user_neighbour_share"] == 0.0
    nb = strict.anchor_neighbours
    assert not (strict.pool_users[nb.clamp(min=0)] == strict.anchor_users[:, None])[nb >= 0].any()
    with pytest.raises(ConfigError, match="pool must be one of"):
        build_semantic_index(source, split, pool="everything")


def test_random_index_is_the_no_semantics_ablation(split):
    index = build_random_index(split, k_items=4, k_windows=5, exclude_same_user=True, seed=3)
    n = len(split.train)
    assert index.item_neighbours.shape == (split.num_items + 1, 4) and (index.item_neighbours[0] == -1).all()
    assert (index.item_neighbours[1:] >= 1).all()
    assert not (index.anchor_neighbours == torch.arange(n)[:, None]).any()
    assert index.statistics()["same_user_neighbour_share"] == 0.0
    assert (index.anchor_vectors == 0).all()
