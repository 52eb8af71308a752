"""Top-k cosine retrieval of semantic neighbours for SRA-CL (Cui et al., 2025): exact torch path, optional faiss.

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

Backends (``backend=``): ``"exact"`` is the path above (default). ``"faiss"`` / a
:class:`~recsys.semantic.faiss_search.FaissSearch` (optional ``faiss-cpu``) indexes the allowed keys and asks
faiss for ``w`` candidates per query (``w = k + 2`` at first); candidates excluded by index or group are dropped,
and queries left with fewer than ``k + 1`` allowed candidates search again with ``w`` doubled (until ``w`` covers
every key). The allowed candidates are rescored in torch pair by pair (equal keys get equal scores, which faiss's
BLAS blocks do not guarantee) and ordered by (value desc, index asc); rows whose ``k``-th and ``(k+1)``-th
candidates tie are recomputed on the exact path, so ties are broken towards the smaller index as there. With the
``"flat"`` index the neighbours equal the exact path's except where two similarities differ only by float
rounding (e.g. parallel window vectors, cosine 1.0 against 1.0000001), whose order may swap; ``"ivf"`` /
``"hnsw"`` are approximate (see :mod:`recsys.semantic.faiss_search`).
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from graphcl.errors import ConfigError
from graphcl.ops import auto_chunk_size, topk_rows
from graphcl.utils.checks import check_positive_int
from recsys.semantic.faiss_search import FaissSearch


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


#: Backend names: the exact torch path, and faiss's exact flat index and its approximate IVF / HNSW indexes with
#: the default :class:`FaissSearch` settings.
BACKENDS = ("exact", "faiss", "faiss-ivf", "faiss-hnsw")


def resolve_backend(backend: str | FaissSearch) -> FaissSearch | None:
    """``None`` for the exact torch path, the :class:`FaissSearch` settings otherwise (``"faiss"`` = flat,
    ``"faiss-ivf"`` / ``"faiss-hnsw"`` = the approximate indexes with default settings). Does not import faiss."""
    if isinstance(backend, FaissSearch):
        return backend
    if backend not in BACKENDS:
        raise ConfigError(f"retrieval backend must be one of {BACKENDS} or a FaissSearch, got {backend!r}")
    return None if backend == "exact" else FaissSearch(index={"faiss": "flat", "faiss-ivf": "ivf",
                                                             "faiss-hnsw": "hnsw"}[backend])


def describe_backend(backend: str | FaissSearch) -> dict[str, Any]:
    """What produced the neighbours (recorded with an index; part of its cache key unless exact)."""
    settings = resolve_backend(backend)
    return {"backend": "exact"} if settings is None else settings.describe()


class _Retrieval:
    """Normalised queries / keys and the exclusions of one :func:`semantic_topk` call."""

    def __init__(self, query: Tensor, key: Tensor, exclude_index: Tensor | None, key_mask: Tensor | None,
                 query_group: Tensor | None, key_group: Tensor | None) -> None:
        self.q = F.normalize(query.float(), dim=1)
        self.x = F.normalize(key.float(), dim=1)
        self.query_ok = query.abs().sum(1) > 0
        self.allowed = key.abs().sum(1) > 0
        if key_mask is not None:
            self.allowed &= key_mask.bool()
        self.blocked = torch.nonzero(~self.allowed).flatten()
        self.exclude_index = None if exclude_index is None else exclude_index.long()
        self.query_group = None if query_group is None else query_group.long()
        self.key_group = None if key_group is None else key_group.long()
        self.groups = _GroupRanges(key_group) if query_group is not None else None

    def exact(self, rows: Tensor, width: int) -> tuple[Tensor, Tensor]:
        """Exact top-``width`` of the query ``rows`` (one ``[len(rows), M]`` block)."""
        block = self.q[rows] @ self.x.t()
        if self.blocked.numel():
            block.index_fill_(1, self.blocked, float("-inf"))
        if self.exclude_index is not None:
            ex = self.exclude_index[rows]
            hit = torch.nonzero(ex >= 0).flatten()
            block[hit, ex[hit]] = float("-inf")
        if self.groups is not None:
            r, c = self.groups.pairs(self.query_group[rows])
            block[r, c] = float("-inf")
        block[~self.query_ok[rows]] = float("-inf")
        return _exact_topk(block, width)

    def rescore(self, rows: Tensor, ids: Tensor) -> Tensor:
        """``[R, w]`` cosine of every query row with its candidate keys ``ids`` (``-1``: ``-inf``), computed pair by
        pair so that equal keys get bit-identical scores (faiss's BLAS blocks may round them apart)."""
        out = torch.full(ids.shape, float("-inf"))
        step = max(1, 2**24 // max(1, ids.size(1) * self.x.size(1)))  # [step, w, D] floats: 64 MB
        for start in range(0, rows.numel(), step):
            r, i = rows[start:start + step], ids[start:start + step]
            scores = (self.q[r, None, :] * self.x[i.clamp(min=0)]).sum(-1)
            out[start:start + step] = scores.masked_fill(i < 0, float("-inf"))
        return out

    def candidates_allowed(self, rows: Tensor, ids: Tensor) -> Tensor:
        """``[R, w]`` bool: candidate key ``ids`` (``-1`` = none) that the exclusions let through."""
        ok = ids >= 0
        if self.exclude_index is not None:
            ok &= ids != self.exclude_index[rows, None]
        if self.key_group is not None:
            ok &= self.key_group[ids.clamp(min=0)] != self.query_group[rows, None]
        return ok


def _faiss_topk(r: _Retrieval, settings: FaissSearch, k: int, chunk_size: int,
                values: Tensor, indices: Tensor) -> None:
    """Fill ``values`` / ``indices`` ``[N, k]`` from faiss candidates (see :func:`semantic_topk`)."""
    key_ids = torch.nonzero(r.allowed).flatten()
    size = key_ids.numel()
    if size == 0:
        return
    index = settings.build(r.x[key_ids])
    extra = 1 if r.exclude_index is not None else 0
    width = min(k + 1 + extra, size)  # k + 1 allowed candidates show whether the k-th place is tied
    pending = torch.nonzero(r.query_ok).flatten()
    tied_rows = []
    while pending.numel():
        short = []
        for start in range(0, pending.numel(), chunk_size):
            rows = pending[start:start + chunk_size]
            v, labels = index.search(r.q[rows], width)
            ids = torch.where(labels >= 0, key_ids[labels.clamp(min=0)], -1)
            ok = r.candidates_allowed(rows, ids)
            enough = ok.sum(1) >= k + 1
            if width < size:  # rows without k + 1 allowed candidates search again, wider
                short.append(rows[~enough])
                rows, v, ids, ok = rows[enough], v[enough], ids[enough], ok[enough]
            # the allowed candidates rescored in torch, ordered by (value desc, index asc) as on the exact path
            ids = ids.masked_fill(~ok, -1)
            v = r.rescore(rows, ids)
            ids, o = torch.sort(ids, dim=1)
            v = torch.gather(v, 1, o)
            v, o = torch.sort(v, dim=1, descending=True, stable=True)
            ids = torch.gather(ids, 1, o)
            if v.size(1) < k + 1:  # padded to k + 1 columns
                pad = k + 1 - v.size(1)
                v = torch.cat([v, v.new_full((v.size(0), pad), float("-inf"))], 1)
                ids = torch.cat([ids, ids.new_full((ids.size(0), pad), -1)], 1)
            tied = (v[:, k - 1] == v[:, k]) & torch.isfinite(v[:, k])
            tied_rows.append(rows[tied])
            v, ids = v[:, :k], ids[:, :k]
            values[rows], indices[rows] = v, ids.masked_fill(torch.isneginf(v), -1)
        pending = torch.cat(short) if short else pending[:0]
        width = min(2 * width, size)
    tied = torch.cat(tied_rows) if tied_rows else torch.zeros(0, dtype=torch.long)
    step = max(1, min(chunk_size, auto_chunk_size(r.x.size(0))))
    for start in range(0, tied.numel(), step):  # ties at the k-th place: exact (value desc, index asc)
        rows = tied[start:start + step]
        values[rows], indices[rows] = r.exact(rows, k)


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
    backend: str | FaissSearch = "exact",
) -> tuple[Tensor, Tensor]:
    """Top-``k`` cosine neighbours with index-based exclusions (see the module docstring).

    Args:
        query: ``[N, D]``.
        key: ``[M, D]``.
        k: Neighbours per query.
        exclude_index: ``[N]`` long, the key index of the query itself (``-1`` = not a key).
        key_mask: ``[M]`` bool, ``False`` for keys that may never be returned.
        query_group: ``[N]`` long group (user) id of every query; with ``key_group``, keys of the same group are
            excluded.
        key_group: ``[M]`` long group id of every key.
        chunk_size: Queries per chunk (default: a 256 MB similarity block for ``"exact"``, 65536 queries per
            faiss search).
        backend: ``"exact"`` (default, the torch path), ``"faiss"`` (exact ``IndexFlatIP``), ``"faiss-ivf"`` /
            ``"faiss-hnsw"`` (approximate, default settings) or a
            :class:`~recsys.semantic.faiss_search.FaissSearch` (an index and its parameters). Needs ``faiss-cpu``
            for anything but ``"exact"``.

    Returns:
        ``(values, indices)``, ``[N, k]`` each, by decreasing cosine similarity.
    """
    check_positive_int(k, "k")
    settings = resolve_backend(backend)
    if query.dim() != 2 or key.dim() != 2 or query.size(1) != key.size(1):
        raise ValueError(f"query [N, D] and key [M, D] must share D, got {tuple(query.shape)} and {tuple(key.shape)}")
    n, m = query.size(0), key.size(0)
    if (query_group is None) != (key_group is None):
        raise ValueError("query_group and key_group must be given together")
    for name, value, size in (("exclude_index", exclude_index, n), ("key_mask", key_mask, m),
                              ("query_group", query_group, n), ("key_group", key_group, m)):
        if value is not None and value.shape != (size,):
            raise ValueError(f"{name} must have shape [{size}], got {tuple(value.shape)}")
    retrieval = _Retrieval(query, key, exclude_index, key_mask, query_group, key_group)
    values = torch.full((n, k), float("-inf"))
    indices = torch.full((n, k), -1, dtype=torch.long)
    if settings is not None:
        _faiss_topk(retrieval, settings, k, chunk_size or 65536, values, indices)
        return values, indices
    chunk_size = chunk_size or auto_chunk_size(m)
    width = min(k, m)
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        values[start:stop, :width], indices[start:stop, :width] = retrieval.exact(torch.arange(start, stop), width)
    return values, indices


def item_neighbours(item_vectors: Tensor, k: int, *, chunk_size: int | None = None,
                    backend: str | FaissSearch = "exact") -> Tensor:
    """``[num_items + 1, k]`` long: the ``k`` most similar other items of every item (row 0 and items without
    a vector: all ``-1``); padding row 0 and the item itself are excluded by index.

    Args:
        item_vectors: ``[num_items + 1, D]`` (row 0 is padding).
        k: Neighbours per item.
        chunk_size: Queries per chunk.
        backend: ``"exact"`` (default), ``"faiss"`` or a :class:`~recsys.semantic.faiss_search.FaissSearch`
            (see :func:`semantic_topk`).
    """
    n = item_vectors.size(0)
    if not 1 <= k <= n - 2:
        raise ConfigError(f"k must be in [1, {n - 2}] (neighbours per item: the items minus the item itself), "
                          f"got {k}")
    key_mask = torch.ones(n, dtype=torch.bool)
    key_mask[0] = False
    _, idx = semantic_topk(
        item_vectors, item_vectors, k, exclude_index=torch.arange(n), key_mask=key_mask, chunk_size=chunk_size,
        backend=backend,
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
    backend: str | FaissSearch = "exact",
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
        backend: ``"exact"`` (default), ``"faiss"`` or a :class:`~recsys.semantic.faiss_search.FaissSearch`
            (see :func:`semantic_topk`).
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
        backend=backend,
    )
    return idx
