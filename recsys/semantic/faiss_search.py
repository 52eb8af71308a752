"""Optional faiss backend for SRA-CL's (Cui et al., 2025) semantic neighbour retrieval (``pip install 'graphrec-cl[faiss]'``, i.e. faiss-cpu).

:func:`recsys.semantic.retrieval.semantic_topk` asks this module only for *candidates*: the ``w`` keys with the
largest inner product :math:`q^\\top x_j` of every (L2-normalised) query, i.e. the cosine neighbours. The
exclusions (the query itself, the same user's windows), the widening of ``w`` until every query has enough
allowed candidates, and the exact re-ranking of rows tied at the ``k``-th place stay in ``retrieval.py``, so every
index type returns the same structure as the exact torch path.

Index types (:class:`FaissSearch` ``index``):

* ``"flat"`` — ``IndexFlatIP``: exact inner-product search (BLAS blocks plus a per-query heap, no
  ``[chunk, M]`` similarity block kept and no full-row ``topk``). It returns the torch path's neighbours
  except where two similarities differ only by float rounding, whose order may swap.
* ``"ivf"`` — ``IndexIVFFlat``: approximate. The keys are clustered by k-means into ``nlist`` lists (default
  :math:`\\min(4\\sqrt{M},\\ M / 39)`, the 39 points per centroid faiss asks for) and a query scans the
  ``nprobe`` closest lists only; recall grows with ``nprobe / nlist`` (``nprobe = nlist`` is exact).
* ``"hnsw"`` — ``IndexHNSWFlat``: approximate, graph-based. ``hnsw_m`` links per node (memory ``~ 4 · M ·
  hnsw_m`` bytes more than the vectors), ``ef_construction`` candidates while building (build time and graph
  quality), ``ef_search`` candidates while searching (raised to the search width when smaller; recall grows
  with it). A multi-threaded HNSW build is not bit-reproducible.

Faiss runs on ``threads`` OpenMP threads (default: ``torch.get_num_threads()``); the previous faiss setting
is restored afterwards.
"""
from __future__ import annotations

import importlib
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from types import ModuleType
from typing import Any

import numpy as np
import torch
from torch import Tensor

from graphcl.errors import ConfigError

INDEX_TYPES = ("flat", "ivf", "hnsw")


def import_faiss() -> ModuleType:
    """The ``faiss`` module, or a :class:`ConfigError` naming the extra to install."""
    try:
        return importlib.import_module("faiss")
    except ImportError as exc:
        raise ConfigError(
            "retrieval backend 'faiss' needs the optional faiss package: pip install 'graphrec-cl[faiss]' (faiss-cpu)"
        ) from exc


@dataclass(frozen=True)
class FaissSearch:
    """Settings of the faiss retrieval backend (see the module docstring for what each index does).

    Args:
        index: ``"flat"`` (exact, default), ``"ivf"`` or ``"hnsw"`` (approximate).
        nlist: IVF lists (default ``min(4·sqrt(M), M / 39)``, at least 1).
        nprobe: IVF lists scanned per query (default 16, capped at ``nlist``).
        hnsw_m: HNSW links per node (default 32).
        ef_construction: HNSW build candidates (default 80).
        ef_search: HNSW search candidates (default 128; at least the search width).
        threads: OpenMP threads for faiss (default ``torch.get_num_threads()``).
        seed: Seed of the IVF k-means.
    """

    index: str = "flat"
    nlist: int | None = None
    nprobe: int = 16
    hnsw_m: int = 32
    ef_construction: int = 80
    ef_search: int = 128
    threads: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.index not in INDEX_TYPES:
            raise ConfigError(f"faiss index must be one of {INDEX_TYPES}, got {self.index!r}")
        for name in ("nprobe", "hnsw_m", "ef_construction", "ef_search"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"faiss {name} must be >= 1, got {getattr(self, name)}")
        for name in ("nlist", "threads"):
            value = getattr(self, name)
            if value is not None and int(value) < 1:
                raise ConfigError(f"faiss {name} must be >= 1 or None, got {value}")

    @property
    def exact(self) -> bool:
        """Whether the index searches exhaustively (``"flat"``)."""
        return self.index == "flat"

    def describe(self) -> dict[str, Any]:
        """The settings that determine the result (recorded with the index and in its cache key)."""
        keep = {"flat": (), "ivf": ("nlist", "nprobe", "seed"), "hnsw": ("hnsw_m", "ef_construction", "ef_search")}
        return {"backend": "faiss", **{k: v for k, v in asdict(self).items() if k == "index" or k in
                                       keep[self.index]}}

    def build(self, keys: Tensor) -> FaissKeyIndex:
        """Index the ``[M, D]`` float rows of ``keys`` (already L2-normalised, no all-zero row)."""
        return FaissKeyIndex(self, keys)


@contextmanager
def _faiss_threads(faiss: ModuleType, threads: int | None) -> Iterator[None]:
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(int(threads or torch.get_num_threads()))
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


class FaissKeyIndex:
    """A built faiss index over the keys; :meth:`search` returns inner-product candidates.

    Args:
        settings: The :class:`FaissSearch` settings.
        keys: ``[M, D]`` float keys, L2-normalised.
    """

    def __init__(self, settings: FaissSearch, keys: Tensor) -> None:
        self.faiss = import_faiss()
        self.settings = settings
        self.size = keys.size(0)
        data = np.ascontiguousarray(keys.detach().cpu().float().numpy())
        dim = data.shape[1]
        faiss = self.faiss
        with _faiss_threads(faiss, settings.threads):
            if settings.index == "flat":
                index = faiss.IndexFlatIP(dim)
            elif settings.index == "ivf":
                nlist = settings.nlist or max(1, min(round(4 * math.sqrt(self.size)), self.size // 39))
                nlist = min(nlist, max(1, self.size))
                quantizer = faiss.IndexFlatIP(dim)
                index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
                index.cp.seed = settings.seed
                index.train(data)
                index.nprobe = min(settings.nprobe, nlist)
                self._quantizer = quantizer  # the IVF index does not own it
            else:
                index = faiss.IndexHNSWFlat(dim, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
                index.hnsw.efConstruction = settings.ef_construction
            if self.size:
                index.add(data)
        self.index = index

    def search(self, queries: Tensor, width: int) -> tuple[Tensor, Tensor]:
        """``(values, labels)`` ``[R, width]``: the best ``width`` keys of every query row (label ``-1`` and
        value ``-inf`` where the index found fewer), by decreasing inner product."""
        data = np.ascontiguousarray(queries.detach().cpu().float().numpy())
        with _faiss_threads(self.faiss, self.settings.threads):
            if self.settings.index == "hnsw":
                self.index.hnsw.efSearch = max(self.settings.ef_search, width)
            values, labels = self.index.search(data, width)
        values_t, labels_t = torch.from_numpy(values), torch.from_numpy(labels).long()
        return values_t.masked_fill(labels_t < 0, float("-inf")), labels_t
