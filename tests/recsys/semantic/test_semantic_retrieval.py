"""Semantic retrieval against a brute-force reference, including self / padding / pool / same-user exclusions."""
from __future__ import annotations

import math

import pytest
import torch

from graphcl.ops import topk_similarity
from recsys.semantic import item_neighbours, semantic_topk, window_neighbours


def brute_force(query, key, k, exclude=None, key_mask=None, qg=None, kg=None):
    """Python-loop reference: sort allowed keys by (-cosine, index)."""
    values, indices = [], []
    for i in range(query.size(0)):
        scored = []
        if query[i].abs().sum() > 0:
            for j in range(key.size(0)):
                if exclude is not None and exclude[i] == j:
                    continue
                if key_mask is not None and not key_mask[j]:
                    continue
                if qg is not None and qg[i] == kg[j]:
                    continue
                if key[j].abs().sum() == 0:
                    continue
                cos = float(query[i] @ key[j] / (query[i].norm() * key[j].norm()))
                scored.append((-cos, j))
        scored.sort()
        row = scored[:k] + [(math.inf, -1)] * (k - len(scored[:k]))
        values.append([-v for v, _ in row])
        indices.append([j for _, j in row])
    return torch.tensor(values), torch.tensor(indices)


@pytest.mark.parametrize("n,m,d,k", [(7, 7, 3, 2), (20, 35, 8, 5), (33, 12, 4, 12), (5, 40, 16, 40)])
def test_semantic_topk_matches_brute_force_with_all_exclusions(n, m, d, k):
    g = torch.Generator().manual_seed(n * 100 + m)
    query, key = torch.randn(n, d, generator=g), torch.randn(m, d, generator=g)
    key[1] = 0.0  # a key without a vector is never returned
    query[-1] = 0.0  # a query without a vector gets no neighbours
    exclude = torch.randint(-1, m, (n,), generator=g)
    key_mask = torch.rand(m, generator=g) > 0.2
    qg, kg = torch.randint(0, 4, (n,), generator=g), torch.randint(0, 4, (m,), generator=g)
    for kwargs, ref_args in [
        ({}, {}),
        ({"exclude_index": exclude}, {"exclude": exclude}),
        ({"exclude_index": exclude, "key_mask": key_mask, "query_group": qg, "key_group": kg},
         {"exclude": exclude, "key_mask": key_mask, "qg": qg, "kg": kg}),
    ]:
        values, indices = semantic_topk(query, key, k, chunk_size=3, **kwargs)
        ref_v, ref_i = brute_force(query, key, k, **ref_args)
        assert torch.equal(indices, ref_i)
        finite = ref_i >= 0
        assert torch.allclose(values[finite], ref_v[finite], atol=1e-5)
        assert torch.isneginf(values[~finite]).all()


def test_agrees_with_graphcl_topk_similarity_without_ties():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(60, 10, generator=g)
    mask = torch.ones(60, dtype=torch.bool)
    mask[:5] = False
    ours = semantic_topk(x, x, 6, exclude_index=torch.arange(60), key_mask=mask, chunk_size=7)[1]
    theirs = topk_similarity(x, x, 6, exclude=torch.arange(60), key_mask=mask)[1]
    assert torch.equal(ours, theirs)


def test_ties_are_ordered_by_index():
    key = torch.tensor([[1.0, 0.0]] * 6)
    _, idx = semantic_topk(torch.tensor([[1.0, 0.0]]), key, 4, exclude_index=torch.tensor([2]))
    assert idx.tolist() == [[0, 1, 3, 4]]


def test_item_neighbours_exclude_padding_self_and_items_without_vectors():
    g = torch.Generator().manual_seed(1)
    items = torch.randn(30, 5, generator=g)
    items[0] = 0.0
    items[7] = 0.0  # no side information
    nbrs = item_neighbours(items, 4)
    assert (nbrs[0] == -1).all() and (nbrs[7] == -1).all()
    body = torch.cat([nbrs[1:7], nbrs[8:]])
    assert (body >= 1).all() and not (body == 7).any()
    assert not (nbrs == torch.arange(30)[:, None]).any()
    ref = brute_force(items, items, 4, exclude=torch.arange(30), key_mask=torch.arange(30) > 0)[1]
    ref[0] = -1
    assert torch.equal(nbrs, ref)
    with pytest.raises(ValueError, match="k must be"):
        item_neighbours(items, 29)


def test_window_neighbours_same_user_exclusion():
    g = torch.Generator().manual_seed(2)
    users = torch.randint(0, 5, (40,), generator=g)
    # Windows of one user are near-duplicates: without the exclusion they dominate the neighbours.
    vectors = torch.randn(5, 8, generator=g)[users] + 0.01 * torch.randn(40, 8, generator=g)
    plain = window_neighbours(vectors, vectors, 3, query_in_pool=torch.arange(40))
    assert (users[plain] == users[:, None]).float().mean() > 0.9
    excl = window_neighbours(vectors, vectors, 3, query_in_pool=torch.arange(40), query_users=users,
                             pool_users=users, exclude_same_user=True)
    assert not (users[excl] == users[:, None]).any()
    ref = brute_force(vectors, vectors, 3, exclude=torch.arange(40), qg=users, kg=users)[1]
    assert torch.equal(excl, ref)
    with pytest.raises(ValueError, match="exclude_same_user needs"):
        window_neighbours(vectors, vectors, 3, exclude_same_user=True)


def test_agrees_with_stable_sort_under_heavy_ties():
    g = torch.Generator().manual_seed(3)
    x = torch.randint(0, 2, (80, 3), generator=g).float() + torch.tensor([0.5, 0.0, 0.0])  # 8 distinct rows
    ours = semantic_topk(x, x, 7, exclude_index=torch.arange(80), chunk_size=9)[1]
    theirs = topk_similarity(x, x, 7, exclude=torch.arange(80))[1]
    assert torch.equal(ours, theirs)


def test_boundary_tie_fast_path_matches_full_tie_widening_with_group_masks():
    """Rows tied at the k-th value (duplicated keys) and rows without ties both match the stable-sort
    reference, with unsorted, non-contiguous user groups masked as (row, key) pairs across chunks."""
    from graphcl.ops import topk_rows

    g = torch.Generator().manual_seed(11)
    base = torch.randn(30, 6, generator=g)
    key = torch.cat([base, base[:10], base[:5]])[torch.randperm(45, generator=g)]  # 15 duplicated vectors
    query = torch.cat([key[:12], torch.randn(8, 6, generator=g)])
    kg = torch.randint(0, 7, (45,), generator=g)
    qg = torch.randint(0, 7, (20,), generator=g)
    exclude = torch.cat([torch.arange(12), torch.full((8,), -1)])
    for k in (1, 3, 4, 44):
        values, indices = semantic_topk(query, key, k, exclude_index=exclude, query_group=qg, key_group=kg,
                                        chunk_size=7)
        scores = torch.nn.functional.normalize(query, dim=1) @ torch.nn.functional.normalize(key, dim=1).t()
        scores[qg[:, None] == kg[None, :]] = float("-inf")
        rows = torch.nonzero(exclude >= 0).flatten()
        scores[rows, exclude[rows]] = float("-inf")
        ref_v, ref_i = topk_rows(scores, k)
        assert torch.equal(indices, ref_i)
        assert (kg[indices.clamp(min=0)] != qg[:, None])[indices >= 0].all()
