"""Community-aware transforms of CSGCL — `"CSGCL: Community-Strength-Enhanced Graph Contrastive Learning"
<https://arxiv.org/abs/2305.04658>`_ (Chen et al., IJCAI 2023).

:class:`AddCommunities` detects communities once and stores them (with each node's community strength) on the
graph; :class:`CommunalEdgeDropping` (CED) and :class:`CommunalAttributeVoting` (CAV) are the two stochastic view
generators built on them. Their probabilities are deterministic functions of the graph, computed once per graph
and reused; each call only draws one Bernoulli mask. They compose with the other transforms:

.. code-block:: python

    from torch_geometric.transforms import Compose
    from graphcl.transforms import AddCommunities, CommunalAttributeVoting, CommunalEdgeDropping

    data = AddCommunities(seed=0)(data)
    view = Compose([CommunalEdgeDropping(p=0.3), CommunalAttributeVoting(p=0.1)])
    view_1, view_2 = view(data), view(data)

The maths is in :mod:`graphcl.functional.community`.
"""
from __future__ import annotations

import logging
import os
import tempfile
import time
from collections import OrderedDict
from collections.abc import Sequence
from numbers import Real
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data, HeteroData
from torch_geometric.transforms import BaseTransform

from graphcl.errors import ConfigError, DataError
from graphcl.functional import drop_edge_weighted, mask_feature_weighted
from graphcl.functional._checks import check_probability
from graphcl.functional.community import (
    BACKENDS,
    attribute_voting_probability,
    communal_edge_weight,
    community_strength,
    detect_communities,
    edge_keep_probability,
    graph_hash,
    relabel_partition,
    resolve_backend,
)
from graphcl.safe_load import load_torch
from graphcl.transforms._edges import select_edges
from graphcl.transforms._registry import functional_name
from graphcl.utils.cache import cache_root

logger = logging.getLogger(__name__)

_MEMORY_CACHE: OrderedDict[tuple, Tensor] = OrderedDict()
_MEMORY_CACHE_SIZE = 32


def default_cache_dir() -> Path:
    """Where detected partitions are cached: ``$GRAPHCL_CACHE/communities`` or
    ``~/.cache/graphrec-cl/communities``."""
    return cache_root() / "communities"


def _check_data(data: Data | HeteroData, owner: str) -> Data:
    if isinstance(data, HeteroData):
        raise DataError(f"{owner} works on homogeneous graphs (Data); got a HeteroData")
    if "edge_index" not in data:
        raise DataError(f"{owner} needs 'data.edge_index', which is missing")
    if data.num_nodes is None:
        raise DataError(f"{owner} needs the number of nodes: give the graph 'x' or 'num_nodes'")
    return data


@functional_name("add_communities")
class AddCommunities(BaseTransform):
    r"""Detects communities once and stores them, with their strength, on the graph (Chen et al., 2023).

    Adds ``data.community`` (``[N]`` long, ids ``0 .. C-1`` numbered by smallest member) and
    ``data.community_strength`` (``[N]`` float, the strength of each node's community):

    .. math::
        \mathcal{S}_c = \frac{L_c}{m} - \Big(\frac{d_c}{2m}\Big)^2,\qquad \sum_c \mathcal{S}_c = Q.

    The partition comes from, in order of precedence: ``partition`` (a tensor / sequence with one id per node,
    or the name of a node attribute of the graph holding them, e.g. ``"community"`` for the planted communities
    of the generated graph), else a seeded detection with ``backend``. An existing ``data.community`` is
    replaced by the detected one unless ``partition="community"`` says to use it.

    Detection is deterministic for a given seed and cached: in memory for the process and on disk under
    ``cache_dir`` (default :func:`default_cache_dir`), keyed by a hash of the undirected graph, the backend
    actually used, the seed and the resolution. Edge cases: an isolated node is a singleton community of
    strength 0; a graph without edges has only singletons, all of strength 0; a single community covering a
    connected graph has strength ``1 - 1 = 0``.

    Args:
        backend: ``"leiden"`` (needs the ``community`` extra: ``leidenalg`` + ``igraph``; without it networkx's
            Louvain is used and a note is logged) or ``"louvain"``. (default: ``"leiden"``)
        seed: Seed of the detection algorithm. The authors' Leiden call is unseeded. (default: ``0``)
        resolution: Modularity resolution; ``1`` is plain modularity as in the paper. (default: ``1.0``)
        partition: A user-supplied partition (``[N]`` ids) or the name of a node attribute holding one.
            (default: ``None``)
        cache: Read and write the on-disk cache. (default: ``True``)
        cache_dir: Folder of the on-disk cache. (default: ``None`` = :func:`default_cache_dir`)
        memory_cache: Also keep detected partitions in the process-level cache (the last 32). ``False`` goes to the
            on-disk cache (or the detection) on every call, e.g. to time cold and cached preparation.
            (default: ``True``)

    Example:
        >>> data = AddCommunities(backend="louvain", seed=0)(data)  # doctest: +SKIP
        >>> data.community_strength.unique().sum()  # ≈ modularity, when strengths are distinct  # doctest: +SKIP
    """

    def __init__(
        self,
        backend: str = "leiden",
        seed: int = 0,
        resolution: float = 1.0,
        partition: Tensor | Sequence[int] | np.ndarray | str | None = None,
        cache: bool = True,
        cache_dir: str | os.PathLike[str] | None = None,
        memory_cache: bool = True,
    ) -> None:
        name = type(self).__name__
        if backend not in BACKENDS:
            raise ConfigError(f"{name}: unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ConfigError(f"{name}: 'seed' must be an int, got {seed!r}")
        if isinstance(resolution, bool) or not isinstance(resolution, Real) or not resolution > 0:
            raise ConfigError(f"{name}: 'resolution' must be a positive number, got {resolution!r}")
        self.backend = backend
        self.seed = int(seed)
        self.resolution = float(resolution)
        self.partition = partition
        self.cache = bool(cache)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.memory_cache = bool(memory_cache)

    def forward(self, data: Data) -> Data:
        """Adds ``community`` and ``community_strength`` to ``data`` (a shallow copy made by ``__call__``)."""
        data = _check_data(data, type(self).__name__)
        num_nodes = int(data.num_nodes)
        edge_index = data.edge_index
        community = self.partition_of(data)
        strength = community_strength(edge_index.cpu(), community, num_nodes)
        device = edge_index.device
        dtype = data.x.dtype if isinstance(getattr(data, "x", None), Tensor) and data.x.is_floating_point() \
            else torch.get_default_dtype()
        data.community = community.to(device)
        data.community_strength = strength[community].to(device=device, dtype=dtype)
        return data

    def partition_of(self, data: Data) -> Tensor:
        """The ``[N]`` community ids of ``data`` (CPU), from ``partition`` or the cached / fresh detection."""
        num_nodes = int(data.num_nodes)
        if isinstance(self.partition, str):
            if self.partition not in data:
                raise DataError(
                    f"{type(self).__name__}: partition={self.partition!r} names a node attribute the graph lacks"
                )
            return relabel_partition(data[self.partition], num_nodes)
        if self.partition is not None:
            return relabel_partition(self.partition, num_nodes)
        return self._detect(data.edge_index, num_nodes)

    def _detect(self, edge_index: Tensor, num_nodes: int) -> Tensor:
        backend = resolve_backend(self.backend)
        key = (graph_hash(edge_index, num_nodes), backend, self.seed, self.resolution)
        if self.memory_cache and key in _MEMORY_CACHE:
            _MEMORY_CACHE.move_to_end(key)
            return _MEMORY_CACHE[key]
        path = self._cache_path(key)
        community = self._read(path, num_nodes) if path is not None else None
        if community is None:
            start = time.perf_counter()
            community = detect_communities(edge_index, num_nodes, backend, self.seed, self.resolution)
            logger.info(
                "%s found %d communities among %d nodes in %.2f s",
                backend, int(community.max()) + 1 if num_nodes else 0, num_nodes, time.perf_counter() - start,
            )
            if path is not None:
                self._write(path, community)
        if self.memory_cache:
            _MEMORY_CACHE[key] = community
            while len(_MEMORY_CACHE) > _MEMORY_CACHE_SIZE:
                _MEMORY_CACHE.popitem(last=False)
        return community

    def _cache_path(self, key: tuple) -> Path | None:
        if not self.cache:
            return None
        digest, backend, seed, resolution = key
        folder = self.cache_dir if self.cache_dir is not None else default_cache_dir()
        return folder / f"{digest}-{backend}-seed{seed}-res{resolution:g}.pt"

    @staticmethod
    def _read(path: Path, num_nodes: int) -> Tensor | None:
        if not path.is_file():
            return None
        try:
            community = load_torch(path, what="community cache")
            return relabel_partition(community, num_nodes)
        except (OSError, RuntimeError, ValueError, TypeError) as exc:  # DataError / UnsafeFileError included
            # A corrupt or foreign file: detect again and overwrite it.
            logger.warning("ignoring unreadable community cache %s (%s)", path, exc)
            return None

    @staticmethod
    def _write(path: Path, community: Tensor) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Atomic: concurrent runs never read a half-written file.
            with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as handle:
                torch.save(community, handle)
            os.replace(handle.name, path)
        except OSError as exc:
            logger.warning("could not write the community cache %s (%s); continuing without it", path, exc)

    def __repr__(self) -> str:
        if self.partition is not None:
            given = self.partition if isinstance(self.partition, str) else "<given>"
            return f"{type(self).__name__}(partition={given!r})"
        return f"{type(self).__name__}(backend={self.backend!r}, seed={self.seed}, resolution={self.resolution:g})"


def _community_tensors(data: Data, owner: str) -> tuple[Tensor, Tensor]:
    """``(community, community_strength)`` of ``data``, checked against the node count."""
    if "community" not in data or "community_strength" not in data:
        raise DataError(
            f"{owner} needs 'data.community' and 'data.community_strength': apply AddCommunities() first"
        )
    community, strength = data.community, data.community_strength
    n = int(data.num_nodes)
    if community.shape != (n,) or strength.shape != (n,):
        raise DataError(
            f"{owner}: 'data.community' and 'data.community_strength' must have shape [{n}] (one per node), got "
            f"{tuple(community.shape)} and {tuple(strength.shape)}"
        )
    return community, strength


@functional_name("communal_edge_dropping")
class CommunalEdgeDropping(BaseTransform):
    r"""CED — drops edges with probabilities from community strength (Chen et al., IJCAI 2023).

    An edge inside a strong community is kept with a high probability, an edge between strong communities is
    the first to go:

    .. math::
        w^{\text{raw}}_{uv} = \begin{cases} \mathcal{S}_{c(u)} & c(u) = c(v) \\
            -(\mathcal{S}_{c(u)} + \mathcal{S}_{c(v)}) & \text{otherwise} \end{cases},\qquad
        P(\text{keep } uv) = \operatorname{clip}\Big(\frac{w_{uv}}{\bar w}(1 - p),\ 1 - t,\ 1\Big),

    with :math:`w` the min–max normalisation of :math:`w^{\text{raw}}` over all edges, so the mean keep
    probability is :math:`1 - p` before clipping (clipping at 1 makes the realised drop rate somewhat larger).
    Every call computes the keep probabilities (``O(E)``, deterministic, small next to the encoder) and draws one
    Bernoulli per edge; the transform keeps no state between graphs. Edge attributes stay aligned.

    Decisions (spec quirks): with the authors' ``threshold = 1`` the weakest edge(s) get keep probability 0 and
    are always dropped — kept as is; a graph whose edges all have the same raw weight falls back to uniform
    dropping with probability ``p``; each direction is sampled independently unless ``force_undirected``.

    Args:
        p: Mean drop probability, in :math:`[0, 1]`. (default: ``0.3``)
        threshold: :math:`t`: every edge is kept with probability at least :math:`1 - t`. (default: ``1.0``)
        force_undirected: Keep or drop both directions of an undirected edge together. (default: ``False``)

    Needs ``data.community`` and ``data.community_strength`` (:class:`AddCommunities`).
    """

    def __init__(self, p: float = 0.3, threshold: float = 1.0, force_undirected: bool = False) -> None:
        name = type(self).__name__
        self.p = check_probability(p, "p", name, ConfigError)
        self.threshold = check_probability(threshold, "threshold", name, ConfigError)
        self.force_undirected = bool(force_undirected)

    def keep_probability(self, data: Data) -> Tensor:
        """``[E]`` keep probability of every edge of ``data``."""
        data = _check_data(data, type(self).__name__)
        community, strength = _community_tensors(data, type(self).__name__)
        weight = communal_edge_weight(data.edge_index, community, strength)
        return edge_keep_probability(weight, self.p, self.threshold)

    def forward(self, data: Data) -> Data:
        """Drops edges of ``data`` (a shallow copy made by ``__call__``)."""
        keep = self.keep_probability(data)
        _, edge_mask = drop_edge_weighted(data.edge_index, 1.0 - keep, force_undirected=self.force_undirected)
        select_edges(data.edge_stores[0], edge_mask)
        return data

    def __repr__(self) -> str:
        extra = "" if self.threshold == 1.0 else f", threshold={self.threshold}"
        extra += ", force_undirected=True" if self.force_undirected else ""
        return f"{type(self).__name__}(p={self.p}{extra})"


@functional_name("communal_attribute_voting")
class CommunalAttributeVoting(BaseTransform):
    r"""CAV — masks feature columns that strong communities do not vote for (Chen et al., IJCAI 2023).

    Every node votes for its features with its community's strength; weakly voted features are masked more
    often:

    .. math::
        v_f = \sum_i |x_{if}|\,\mathcal{S}_{c(i)},\quad
        \omega_f = \frac{\max_g \log v_g - \log v_f}{\max_g \log v_g - \min_g \log v_g},\quad
        P(\text{mask } f) = \operatorname{clip}\Big(\frac{\omega_f}{\bar\omega}\,p,\ 0,\ t\Big).

    One Bernoulli per feature column per call, shared by all nodes (like GRACE's feature masking); the
    probabilities are computed on every call (``O(N F)``, deterministic), the transform keeps no state. Guards against the authors' NaN on
    zero or negative votes (an all-zero feature is never masked; a non-positive vote is raised to the smallest
    positive one; no positive vote at all gives uniform masking with ``p``) are described in
    :func:`graphcl.functional.community.attribute_voting_probability`. The authors' ``cav`` and ``cav_dense``
    variants are the same maths and share this one implementation.

    Args:
        p: Mean drop probability over features, in :math:`[0, 1]`. (default: ``0.1``)
        threshold: :math:`t`, the largest drop probability of a feature; the authors pass ``1.0`` (their
            function default 0.7 is never used). (default: ``1.0``)

    Needs ``data.x``, ``data.community`` and ``data.community_strength`` (:class:`AddCommunities`).
    """

    def __init__(self, p: float = 0.1, threshold: float = 1.0) -> None:
        name = type(self).__name__
        self.p = check_probability(p, "p", name, ConfigError)
        self.threshold = check_probability(threshold, "threshold", name, ConfigError)

    def drop_probability(self, data: Data) -> Tensor:
        """``[F]`` drop probability of every feature column of ``data``."""
        name = type(self).__name__
        data = _check_data(data, name)
        x = getattr(data, "x", None)
        if not isinstance(x, Tensor) or x.dim() != 2:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise DataError(f"{name} needs node features 'data.x' of shape [N, F], got {shape}")
        _, strength = _community_tensors(data, name)
        return attribute_voting_probability(x, strength, self.p, self.threshold).to(
            x.dtype if x.is_floating_point() else torch.get_default_dtype()
        )

    def forward(self, data: Data) -> Data:
        """Masks feature columns of ``data.x`` (a shallow copy made by ``__call__``)."""
        drop = self.drop_probability(data)
        if self.p == 0.0:
            return data
        data.x, _ = mask_feature_weighted(data.x, drop, mode="col")
        return data

    def __repr__(self) -> str:
        extra = "" if self.threshold == 1.0 else f", threshold={self.threshold}"
        return f"{type(self).__name__}(p={self.p}{extra})"
