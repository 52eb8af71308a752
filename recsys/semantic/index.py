"""The semantic neighbour index SRA-CL (Cui et al., 2025) trains with: item and window neighbours, built once.

For a leave-one-out split, :func:`build_semantic_index` computes

* item vectors ``[n + 1, D]`` and each item's ``k_items`` nearest other items (for semantic substitution, L_IS);
* window vectors of the *anchors* (the training windows) and of the *candidate pool*, and each anchor's
  ``k_windows`` nearest pool windows (for the synthesised positive, L_CS).

Candidate-pool policy (spec §3.13 (2); recorded in ``info`` and in every result):

* ``pool="train"`` (default): the training windows only. The reference code also retrieves validation and
  test *input* windows, which contain the user's validation target — a leak this default avoids;
* ``pool="all"``: training + validation + test input windows, as the reference code does;
* ``exclude_same_user=True`` also drops all windows of the anchor's own user (its own longer prefixes contain
  its training target). Off by default, as in the reference.

The anchor itself is excluded by index. :func:`build_random_index` is the "no semantics" ablation: the same
structure with uniformly random neighbours under the same exclusions.

Batches do not carry sample indices, so :meth:`SemanticIndex.anchor_rows` finds a batch's anchors by exact
content ``(user, window)``: a 62-bit hash located with ``searchsorted`` and then verified element-wise (a
window that is not an anchor gets ``-1``; never another window's neighbours).
"""
from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from graphcl.errors import ConfigError
from recsys.data.split import SequenceSplit
from recsys.semantic.base import SemanticSource
from recsys.semantic.cache import EmbeddingCache, content_hash
from recsys.semantic.faiss_search import FaissSearch
from recsys.semantic.retrieval import describe_backend, item_neighbours, window_neighbours

POOLS = ("train", "all")
_P1, _P2, _BASE = 2147483647, 2147483629, 1000003


def _digest(tensor: Tensor) -> str:
    return hashlib.sha256(tensor.contiguous().numpy().tobytes()).hexdigest() + str(tuple(tensor.shape))


def _row_hash(users: Tensor, windows: Tensor) -> Tensor:
    """62-bit hash of ``(user, window)`` rows (two 31-bit polynomial hashes; no int64 overflow)."""
    rows = torch.cat([users.long()[:, None], windows.long()], 1)
    h1 = torch.zeros(rows.size(0), dtype=torch.long)
    h2 = torch.zeros(rows.size(0), dtype=torch.long)
    for col in rows.t():  # over the L + 1 columns, not over samples
        h1 = (h1 * _BASE + col + 1) % _P1
        h2 = (h2 * (_BASE + 2) + col + 1) % _P2
    return h1 * (2**31) + h2


@dataclass
class SemanticIndex:
    """Neighbours for training: see the module docstring.

    Attributes:
        item_vectors: ``[n + 1, D]`` (row 0 zero).
        item_neighbours: ``[n + 1, k_items]`` long, ``-1`` = none (row 0, items without vectors).
        anchor_windows: ``[N, L]`` the training windows; ``anchor_users`` ``[N]``.
        anchor_vectors: ``[N, D_w]`` their semantic vectors.
        anchor_neighbours: ``[N, k_windows]`` long indices into the pool, ``-1`` = none.
        pool_windows: ``[P, L]``; ``pool_users`` ``[P]``; ``pool_vectors`` ``[P, D_w]``.
        info: Source description, policy, ``k``s and build times (seconds).
    """

    item_vectors: Tensor
    item_neighbours: Tensor
    anchor_windows: Tensor
    anchor_users: Tensor
    anchor_vectors: Tensor
    anchor_neighbours: Tensor
    pool_windows: Tensor
    pool_users: Tensor
    pool_vectors: Tensor
    info: dict[str, Any] = field(default_factory=dict)
    _hash: Tensor | None = field(default=None, repr=False)
    _order: Tensor | None = field(default=None, repr=False)

    def anchor_rows(self, users: Tensor, windows: Tensor) -> Tensor:
        """``[B]`` long anchor row of every ``(user, window)`` (``-1`` if it is not a training window)."""
        if self._hash is None:
            h = _row_hash(self.anchor_users, self.anchor_windows)
            self._hash, self._order = torch.sort(h)
        users, windows = users.cpu(), windows.cpu()
        if windows.size(1) != self.anchor_windows.size(1):
            raise ConfigError(
                f"batch windows have width {windows.size(1)} but the semantic index was built for "
                f"{self.anchor_windows.size(1)} (max_len must match)"
            )
        h = _row_hash(users, windows)
        pos = torch.searchsorted(self._hash, h).clamp(max=self._hash.numel() - 1)
        rows = self._order[pos]
        same = (self._hash[pos] == h) & (self.anchor_users[rows] == users) & (
            self.anchor_windows[rows] == windows).all(1)
        return torch.where(same, rows, torch.full_like(rows, -1))

    def statistics(self) -> dict[str, Any]:
        """Coverage numbers recorded with the results."""
        filled = self.anchor_neighbours >= 0
        same_user = (self.pool_users[self.anchor_neighbours.clamp(min=0)] == self.anchor_users[:, None]) & filled
        return {
            "items_without_neighbours": int((self.item_neighbours[1:, 0] < 0).sum()),
            "anchors": int(self.anchor_windows.size(0)),
            "pool": int(self.pool_windows.size(0)),
            "anchors_without_neighbours": int((~filled).all(1).sum()),
            "same_user_neighbour_share": round(float(same_user.sum()) / max(int(filled.sum()), 1), 4),
        }


def _pool(split: SequenceSplit, pool: str) -> tuple[Tensor, Tensor]:
    if pool not in POOLS:
        raise ConfigError(f"pool must be one of {POOLS}, got {pool!r}")
    parts = [split.train] if pool == "train" else [split.train, split.valid, split.test]
    return torch.cat([p.item_seq for p in parts]), torch.cat([p.user for p in parts])


def build_semantic_index(
    source: SemanticSource,
    split: SequenceSplit,
    *,
    k_items: int = 10,
    k_windows: int = 10,
    pool: str = "train",
    exclude_same_user: bool = False,
    chunk_size: int | None = None,
    cache_dir: str | os.PathLike | None = None,
    backend: str | FaissSearch = "exact",
) -> SemanticIndex:
    """Build item and window neighbours of ``split``'s training windows from ``source``.

    Args:
        source: A :class:`~recsys.semantic.base.SemanticSource`.
        split: The leave-one-out split (its ``train`` samples are the anchors).
        k_items: Item neighbours per item (substitution candidates).
        k_windows: Window neighbours per anchor (synthesiser inputs).
        pool: ``"train"`` or ``"all"`` (see the module docstring).
        exclude_same_user: Exclude the anchor's own user's windows from its neighbours.
        chunk_size: Queries per retrieval chunk.
        cache_dir: Folder caching the neighbour lists, keyed by a hash of the vectors, windows and policy (the
            exact window search is the expensive step: minutes for ~10^5 windows on 2 CPU cores).
        backend: Neighbour search: ``"exact"`` (default, torch), ``"faiss"`` (exact ``IndexFlatIP``, needs
            ``faiss-cpu``) or a :class:`~recsys.semantic.faiss_search.FaissSearch` with an approximate
            ``"ivf"`` / ``"hnsw"`` index (see :func:`~recsys.semantic.retrieval.semantic_topk`). Recorded in
            ``info["retrieval"]``; a non-exact backend is part of the cache key.
    """
    retrieval = describe_backend(backend)
    times: dict[str, float] = {}
    start = time.perf_counter()
    items = source.item_vectors(split.num_items)
    times["item_vectors_s"] = time.perf_counter() - start
    start = time.perf_counter()
    item_nbrs = item_neighbours(items, k_items, chunk_size=chunk_size, backend=backend)
    times["item_neighbours_s"] = time.perf_counter() - start

    anchors, anchor_users = split.train.item_seq, split.train.user
    pool_windows, pool_users = _pool(split, pool)
    start = time.perf_counter()
    pool_vectors = source.window_vectors(pool_windows, pool_users, num_items=split.num_items,
                                         user_ids=split.user_ids)
    anchor_vectors = pool_vectors[: anchors.size(0)]  # anchors are the first rows of every pool
    times["window_vectors_s"] = time.perf_counter() - start
    start = time.perf_counter()
    cache = EmbeddingCache(cache_dir)
    policy = [k_windows, pool, exclude_same_user] + ([] if retrieval["backend"] == "exact" else [retrieval])
    key = content_hash("window-neighbours", *policy,
                       texts=[_digest(t) for t in (pool_vectors, pool_windows, pool_users)])
    nbrs = cache.load(key)
    cached = nbrs is not None and nbrs.shape == (anchors.size(0), k_windows)
    if not cached:
        nbrs = window_neighbours(
            anchor_vectors, pool_vectors, k_windows,
            query_in_pool=torch.arange(anchors.size(0)),
            query_users=anchor_users, pool_users=pool_users,
            exclude_same_user=exclude_same_user, chunk_size=chunk_size, backend=backend,
        )
        cache.save(key, nbrs)
    times["window_neighbours_s"] = time.perf_counter() - start
    info = {
        "semantics": source.describe(),
        "pool": pool,
        "exclude_same_user": exclude_same_user,
        "k_items": k_items,
        "k_windows": k_windows,
        "retrieval": retrieval,
        "timings": {k: round(v, 3) for k, v in times.items()},
        "window_neighbours_cached": cached,
    }
    index = SemanticIndex(items, item_nbrs, anchors, anchor_users, anchor_vectors, nbrs,
                          pool_windows, pool_users, pool_vectors, info)
    info["statistics"] = index.statistics()
    return index


def _random_other(num_rows: int, k: int, size: int, self_index: Tensor, generator: torch.Generator,
                  low: int = 0) -> Tensor:
    """``[num_rows, k]`` uniform draws from ``low..size-1`` that skip ``self_index`` (with replacement)."""
    span = size - low - 1  # candidates once self is removed
    draws = torch.randint(0, span, (num_rows, k), generator=generator) + low
    return draws + (draws >= self_index[:, None]).long()  # shift past self: uniform over the others


def build_random_index(
    split: SequenceSplit,
    *,
    k_items: int = 10,
    k_windows: int = 10,
    pool: str = "train",
    exclude_same_user: bool = False,
    seed: int = 0,
) -> SemanticIndex:
    """The "no semantics" ablation: uniformly random item and window neighbours, same exclusions.

    Every item gets ``k_items`` uniform draws among the other real items, every anchor ``k_windows`` uniform
    draws among the other pool windows (with replacement, so a row can repeat a neighbour with probability
    about ``k² / 2P``); with ``exclude_same_user`` draws of the anchor's own user are redrawn (a few vectorised
    rounds; still-violating slots become ``-1``). The semantic vectors are all-zero, so the synthesiser's
    attention is uniform before its dropout (a plain mean of the neighbours at evaluation, a dropout-thinned,
    rescaled one in training).
    """
    generator = torch.Generator().manual_seed(seed)
    n = split.num_items
    start = time.perf_counter()
    item_nbrs = _random_other(n + 1, k_items, n + 1, torch.arange(n + 1), generator, low=1)
    item_nbrs[0] = -1
    anchors, anchor_users = split.train.item_seq, split.train.user
    pool_windows, pool_users = _pool(split, pool)
    count = anchors.size(0)
    nbrs = _random_other(count, k_windows, pool_windows.size(0), torch.arange(count), generator)
    if exclude_same_user:
        for _ in range(8):
            bad = pool_users[nbrs] == anchor_users[:, None]
            if not bad.any():
                break
            redraw = _random_other(count, k_windows, pool_windows.size(0), torch.arange(count), generator)
            nbrs = torch.where(bad, redraw, nbrs)
        nbrs = nbrs.masked_fill(pool_users[nbrs] == anchor_users[:, None], -1)
    elapsed = time.perf_counter() - start
    zeros = torch.zeros(pool_windows.size(0), 1)
    info = {
        "semantics": {"source": "none (random neighbours)"},
        "pool": pool,
        "exclude_same_user": exclude_same_user,
        "k_items": k_items,
        "k_windows": k_windows,
        "timings": {"random_neighbours_s": round(elapsed, 3)},
    }
    index = SemanticIndex(torch.zeros(n + 1, 1), item_nbrs, anchors, anchor_users, zeros[:count], nbrs,
                          pool_windows, pool_users, zeros, info)
    info["statistics"] = index.statistics()
    return index
