"""Exact top-k cosine retrieval of semantic neighbours for SRA-CL (Cui et al., 2025).

For every query row ``q`` the neighbours are the ``k`` allowed keys with the largest cosine similarity

.. math::
    \\mathcal{N}_k(q) = \\operatorname{top-}k_{\\,j \\in \\mathcal{P}(q)} \\; \\frac{q^\\top x_j}{\\lVert q\\rVert \\lVert x_j\\rVert},

where the allowed set :math:`\\mathcal{P}(q)` removes, by index (never by "the first hit is probably me",
spec §3.13 (3)): the query itself (``exclude_index``), keys outside the candidate pool or without a vector
(``key_mask``, e.g. padding row 0), and optionally every key of the query's own user (``query_group`` /
``key_group``, the spec's leakage note §3.13 (2)). Search is exact and chunked over queries (memory
``O(chunk · M)``); ties are broken exactly towards the smaller key index (as a stable sort would). A query without a vector (all-zero row) or
with fewer than ``k`` allowed keys gets index ``-1`` (value ``-inf``) in the unfilled slots.

Cost (where the time goes for ~10^5 windows): one ``[chunk, M]`` similarity block per chunk (the matmul,
unavoidable for exact search) and one selection pass over it. The selection takes ``torch.topk`` of ``k + 1``
columns; a row whose ``k``-th and ``(k+1)``-th values differ has no tie at the boundary, so its top-``k`` is
exact once the ``k`` columns are ordered by (similarity desc, index asc). Only rows tied at the boundary go
through :func:`graphcl.ops.topk_rows` (``torch.topk`` widened to every key tied with the k-th value), which
costs several extra passes over the block and used to be applied to every row. Masks are applied sparsely:
disallowed keys as columns, the same-user exclusion as ``(row, column)`` pairs from the users' key ranges
(``O(chunk · windows per user)`` instead of an ``O(chunk · M)`` comparison).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from graphcl.errors import ConfigError
from graphcl.ops import auto_chunk_size, topk_rows
from graphcl.utils.checks import check_positive_int


def _exact_topk(block: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """Row-wise top-``k`` of ``block`` ordered by (value desc, index asc), ``-1`` for ``-inf`` slots.

    Equal to :func:`graphcl.ops.topk_rows`; the full tie-widening runs only on rows tied at the boundary.
    """
    m = block.size(1)
    if k >= m:
        return topk_rows(block, k)
    v, i = torch.topk(block, k + 1, dim=1)
    tied = (v[:, k - 1] == v[:, k]) & torch.isfinite(v[:, k - 1])
    v, i = v[:, :k], i[:, :k]
    i, order = torch.sort(i, dim=1)  # ties inside the top-k: smaller index first
    v = torch.gather(v, 1, order)
    v, order = torch.sort(v, dim=1, descending=True, stable=True)
    i = torch.gather(i, 1, order)
    rows = torch.nonzero(tied).flatten()
    if rows.numel():
        v[rows], i[rows] = topk_rows(block[rows], k)
    return v, i.masked_fill(torch.isneginf(v), -1)


class _GroupRanges:
    """Key indices of every group, for sparse same-group masking: ``pairs(groups)`` gives ``(row, key)``."""

    def __init__(self, key_group: Tensor) -> None:
        self.sorted_groups, self.order = torch.sort(key_group.long(), stable=True)

    def pairs(self, query_group: Tensor) -> tuple[Tensor, Tensor]:
        g = query_group.long()
        start = torch.searchsorted(self.sorted_groups, g)
        count = torch.searchsorted(self.sorted_groups, g, right=True) - start
        rows = torch.repeat_interleave(torch.arange(g.numel()), count)
        first = torch.repeat_interleave(start - (count.cumsum(0) - count), count)
        return rows, self.order[first + torch.arange(rows.numel())]


@torch.no_grad()
def semantic_topk(
    query: Tensor,
    key: Tensor,
    k: int,
    *,
    exclude_index: Tensor | None = None,
    key_mask: Tensor | None = None,
    query_group: Tensor | None = None,
    key_group: Tensor | None = None,
    chunk_size: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Exact top-``k`` cosine neighbours with index-based exclusions (see the module docstring).

    Args:
        query: ``[N, D]``.
        key: ``[M, D]``.
        k: Neighbours per query.
        exclude_index: ``[N]`` long, the key index of the query itself (``-1`` = not a key).
        key_mask: ``[M]`` bool, ``False`` for keys that may never be returned.
        query_group: ``[N]`` long group (user) id of every query; with ``key_group``, keys of the same group are
            excluded.
        key_group: ``[M]`` long group id of every key.
        chunk_size: Queries per chunk (default: a 256 MB similarity block).

    Returns:
        ``(values, indices)``, ``[N, k]`` each, by decreasing cosine similarity.
    """
    check_positive_int(k, "k")
    if query.dim() != 2 or key.dim() != 2 or query.size(1) != key.size(1):
        raise ValueError(f"query [N, D] and key [M, D] must share D, got {tuple(query.shape)} and {tuple(key.shape)}")
    n, m = query.size(0), key.size(0)
    if (query_group is None) != (key_group is None):
        raise ValueError("query_group and key_group must be given together")
    for name, value, size in (("exclude_index", exclude_index, n), ("key_mask", key_mask, m),
                              ("query_group", query_group, n), ("key_group", key_group, m)):
        if value is not None and value.shape != (size,):
            raise ValueError(f"{name} must have shape [{size}], got {tuple(value.shape)}")
    chunk_size = chunk_size or auto_chunk_size(m)
    q = F.normalize(query.float(), dim=1)
    x = F.normalize(key.float(), dim=1)
    query_ok = query.abs().sum(1) > 0
    allowed = key.abs().sum(1) > 0
    if key_mask is not None:
        allowed &= key_mask.bool()
    blocked = torch.nonzero(~allowed).flatten()
    groups = _GroupRanges(key_group) if query_group is not None else None
    width = min(k, m)
    values = torch.full((n, k), float("-inf"))
    indices = torch.full((n, k), -1, dtype=torch.long)
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        block = q[start:stop] @ x.t()
        if blocked.numel():
            block.index_fill_(1, blocked, float("-inf"))
        if exclude_index is not None:
            ex = exclude_index[start:stop].long()
            rows = torch.nonzero(ex >= 0).flatten()
            block[rows, ex[rows]] = float("-inf")
        if groups is not None:
            rows, cols = groups.pairs(query_group[start:stop])
            block[rows, cols] = float("-inf")
        block[~query_ok[start:stop]] = float("-inf")
        values[start:stop, :width], indices[start:stop, :width] = _exact_topk(block, width)
    return values, indices


def item_neighbours(item_vectors: Tensor, k: int, *, chunk_size: int | None = None) -> Tensor:
    """``[num_items + 1, k]`` long: the ``k`` most similar other items of every item (row 0 and items without
    a vector: all ``-1``); padding row 0 and the item itself are excluded by index."""
    n = item_vectors.size(0)
    if not 1 <= k <= n - 2:
        raise ConfigError(f"k must be in [1, {n - 2}] (neighbours per item: the items minus the item itself), "
                          f"got {k}")
    key_mask = torch.ones(n, dtype=torch.bool)
    key_mask[0] = False
    _, idx = semantic_topk(
        item_vectors, item_vectors, k, exclude_index=torch.arange(n), key_mask=key_mask, chunk_size=chunk_size
    )
    idx[0] = -1
    return idx


def window_neighbours(
    query_vectors: Tensor,
    pool_vectors: Tensor,
    k: int,
    *,
    query_in_pool: Tensor | None = None,
    query_users: Tensor | None = None,
    pool_users: Tensor | None = None,
    exclude_same_user: bool = False,
    chunk_size: int | None = None,
) -> Tensor:
    """``[N, k]`` long indices into the pool of the ``k`` most similar windows of every query window.

    Args:
        query_vectors: ``[N, D]`` semantic vectors of the anchor windows.
        pool_vectors: ``[P, D]`` semantic vectors of the candidate windows.
        k: Neighbours per anchor.
        query_in_pool: ``[N]`` pool index of every anchor (``-1`` if not in the pool): excluded by index.
        query_users: ``[N]`` user of every anchor (needed with ``exclude_same_user``).
        pool_users: ``[P]`` user of every candidate.
        exclude_same_user: Drop every candidate of the anchor's own user.
        chunk_size: Queries per chunk.
    """
    if exclude_same_user and (query_users is None or pool_users is None):
        raise ValueError("exclude_same_user needs query_users and pool_users")
    _, idx = semantic_topk(
        query_vectors,
        pool_vectors,
        k,
        exclude_index=query_in_pool,
        query_group=query_users if exclude_same_user else None,
        key_group=pool_users if exclude_same_user else None,
        chunk_size=chunk_size,
    )
    return idx
