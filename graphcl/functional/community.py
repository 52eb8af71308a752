"""Communities and community strength — from `"CSGCL: Community-Strength-Enhanced Graph Contrastive Learning"
<https://arxiv.org/abs/2305.04658>`_ (Chen et al., IJCAI 2023).

A partition :math:`\\mathcal{C}` of the nodes is found once per graph (Leiden, or networkx's Louvain when
``leidenalg`` is not installed, or given by the user). The *strength* of community :math:`c` is its contribution
to the modularity of the partition,

.. math::
    \\mathcal{S}_c = \\frac{L_c}{m} - \\Big(\\frac{d_c}{2m}\\Big)^2, \\qquad \\sum_{c} \\mathcal{S}_c = Q,

with :math:`m` the number of undirected edges, :math:`L_c` the number of edges with both ends in :math:`c` and
:math:`d_c` the summed degree of its nodes. A strong community is dense inside and sparsely linked to the rest;
:math:`\\mathcal{S}_c` can be negative for a community that is sparser than chance and is ``0`` for an isolated
node. From it CSGCL derives per-edge keep probabilities (CED) and per-feature drop probabilities (CAV):

.. math::
    w^{\\text{raw}}_{uv} = \\begin{cases} \\mathcal{S}_{c(u)} & c(u) = c(v) \\\\
        -(\\mathcal{S}_{c(u)} + \\mathcal{S}_{c(v)}) & \\text{otherwise} \\end{cases},\\qquad
    p^{\\text{keep}}_{uv} = \\operatorname{clip}\\Big(\\frac{w_{uv}}{\\bar w}(1 - p),\\, 1 - t,\\, 1\\Big)

with :math:`w` the min–max normalised :math:`w^{\\text{raw}}`, and

.. math::
    v_f = \\sum_i |x_{if}|\\, \\mathcal{S}_{c(i)},\\qquad
    \\omega_f = \\frac{\\max_g \\log v_g - \\log v_f}{\\max_g \\log v_g - \\min_g \\log v_g},\\qquad
    p^{\\text{drop}}_f = \\operatorname{clip}\\Big(\\frac{\\omega_f}{\\bar\\omega}\\, p,\\, 0,\\, t\\Big).

Everything is vectorised over edges and features (``scatter`` / ``degree``); the authors' per-edge Python loops
take seconds on 10^5 edges (``python -m benchmarks.perf csgcl-speed`` measures both).
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor
from torch_geometric.utils import degree, scatter, to_undirected

from graphcl.errors import ConfigError, DataError
from graphcl.functional._checks import check_edge_index, check_probability

logger = logging.getLogger(__name__)

BACKENDS = ("leiden", "louvain")

__all__ = [
    "BACKENDS",
    "attribute_voting_probability",
    "communal_edge_weight",
    "community_strength",
    "detect_communities",
    "edge_keep_probability",
    "graph_hash",
    "leiden_available",
    "relabel_partition",
    "resolve_backend",
    "undirected_pairs",
]

_fallback_noted = False


def undirected_pairs(edge_index: Tensor, num_nodes: int) -> Tensor:
    """Each undirected edge once, as a ``[2, m]`` tensor with ``row <= col``, sorted and without duplicates.

    Both directions of an edge, repeated copies and a missing reverse all collapse to one pair; a self-loop is
    one pair ``(u, u)``. This is the simple undirected graph that networkx's ``Graph`` would hold.
    """
    if edge_index.numel() == 0:
        return edge_index.new_zeros((2, 0), dtype=torch.long)
    und = to_undirected(edge_index.long(), num_nodes=num_nodes)  # coalesced: sorted, unique
    return und[:, und[0] <= und[1]]


def graph_hash(edge_index: Tensor, num_nodes: int) -> str:
    """SHA-256 (hex, 16 characters) of the undirected simple graph: the same for any edge order or direction."""
    pairs = undirected_pairs(edge_index, num_nodes).cpu().numpy().astype(np.int64)
    digest = hashlib.sha256()
    digest.update(np.int64(num_nodes).tobytes())
    digest.update(np.ascontiguousarray(pairs).tobytes())
    return digest.hexdigest()[:16]


def leiden_available() -> bool:
    """Whether the optional ``leidenalg`` + ``igraph`` backend (extra ``community``) can be imported."""
    try:
        import igraph  # noqa: F401
        import leidenalg  # noqa: F401
    except ImportError:
        return False
    return True


def relabel_partition(partition: Tensor | Sequence[int] | np.ndarray, num_nodes: int) -> Tensor:
    """Validates a per-node community assignment and renumbers it ``0 .. C-1`` by first appearance.

    Renumbering by the smallest member makes two equal partitions (up to label names) identical tensors.

    Args:
        partition: One integer community id per node (any non-negative labels).
        num_nodes: ``N``.

    Returns:
        ``[N]`` long tensor of community ids ``0 .. C-1`` (on the CPU).

    Raises:
        DataError: If the length is not ``N``, the ids are not integers, or an id is negative.
    """
    ids = torch.as_tensor(np.asarray(partition) if not isinstance(partition, Tensor) else partition)
    if ids.dim() != 1 or ids.numel() != num_nodes:
        raise DataError(
            f"the community partition must hold one id per node: {num_nodes} entries, got shape {tuple(ids.shape)}"
        )
    if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
        raise DataError(f"community ids must be integers, got dtype {ids.dtype}")
    ids = ids.long().cpu()
    if num_nodes and int(ids.min()) < 0:
        raise DataError(f"community ids must be non-negative, found {int(ids.min())}")
    _, inverse = torch.unique(ids, return_inverse=True)
    # Order communities by their smallest node id.
    first = torch.full((int(inverse.max()) + 1 if num_nodes else 0,), num_nodes, dtype=torch.long)
    first.scatter_reduce_(0, inverse, torch.arange(num_nodes), reduce="amin")
    rank = torch.empty_like(first)
    rank[torch.argsort(first)] = torch.arange(first.numel())
    return rank[inverse]


def _leiden(pairs: np.ndarray, num_nodes: int, seed: int, resolution: float) -> list[list[int]]:
    import igraph
    import leidenalg

    graph = igraph.Graph(n=num_nodes, edges=pairs.T.tolist())
    if resolution == 1.0:
        # Plain modularity, as cdlib's default leiden() the authors call (but seeded).
        part = leidenalg.find_partition(graph, leidenalg.ModularityVertexPartition, seed=seed)
    else:
        part = leidenalg.find_partition(
            graph, leidenalg.RBConfigurationVertexPartition, resolution_parameter=resolution, seed=seed
        )
    return [list(c) for c in part]


def _louvain(pairs: np.ndarray, num_nodes: int, seed: int, resolution: float) -> list[list[int]]:
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(range(num_nodes))
    graph.add_edges_from(pairs.T.tolist())
    return [sorted(c) for c in nx.community.louvain_communities(graph, resolution=resolution, seed=seed)]


def resolve_backend(backend: str) -> str:
    """The backend that will actually run: ``"leiden"`` falls back to ``"louvain"`` (with a logged note,
    once per process) when ``leidenalg``/``igraph`` are not installed.

    Raises:
        ConfigError: On an unknown backend name.
    """
    global _fallback_noted
    if backend not in BACKENDS:
        raise ConfigError(f"unknown community detection backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "leiden" and not leiden_available():
        if not _fallback_noted:
            logger.warning(
                "leidenalg/igraph are not installed: detecting communities with networkx's Louvain instead "
                "(install the extra for Leiden: pip install 'graphrec-cl[community]')"
            )
            _fallback_noted = True
        return "louvain"
    return backend


def detect_communities(
    edge_index: Tensor,
    num_nodes: int,
    backend: str = "leiden",
    seed: int = 0,
    resolution: float = 1.0,
) -> Tensor:
    """Partitions the undirected graph into communities by modularity maximisation, deterministically.

    CSGCL (Chen et al., IJCAI 2023) detects communities once, before training, with Leiden (cdlib, unseeded in
    the authors' code; seeded here). Edges are taken as undirected and unweighted; an isolated node is a
    singleton community.

    Args:
        edge_index: ``[2, E]`` edges (either or both directions).
        num_nodes: ``N``.
        backend: ``"leiden"`` (``leidenalg`` + ``igraph``, extra ``community``; falls back to Louvain with a
            logged note when missing) or ``"louvain"`` (networkx, always available).
        seed: Seed of the detection's own random number generator.
        resolution: Modularity resolution ``γ_r`` (``1`` = plain modularity, the paper's choice).

    Returns:
        ``[N]`` long tensor of community ids ``0 .. C-1``, numbered by their smallest node.
    """
    used = resolve_backend(backend)
    if not resolution > 0:
        raise ConfigError(f"the modularity resolution must be positive, got {resolution}")
    pairs = undirected_pairs(edge_index, num_nodes).cpu().numpy()
    if num_nodes == 0:
        return torch.zeros(0, dtype=torch.long)
    if pairs.shape[1] == 0:  # no edges: every node alone (both backends agree, without calling them)
        return torch.arange(num_nodes)
    run = _leiden if used == "leiden" else _louvain
    groups = run(pairs, num_nodes, int(seed), float(resolution))
    labels = np.empty(num_nodes, dtype=np.int64)
    for cid, members in enumerate(groups):
        labels[members] = cid
    return relabel_partition(torch.from_numpy(labels), num_nodes)


def community_strength(edge_index: Tensor, community: Tensor, num_nodes: int | None = None) -> Tensor:
    """Strength of every community: its term of the modularity, ``S_c = L_c/m - (d_c/2m)^2`` (Chen et al., 2023).

    Computed on the undirected simple graph (:func:`undirected_pairs`; a self-loop adds 2 to its node's degree
    and 1 to ``L_c``, as in networkx), with ``scatter`` sums — no loop over nodes or edges. The strengths sum to
    :func:`networkx.community.modularity` of the partition. A graph without edges has modularity 0 by
    convention here (networkx divides by zero): every strength is 0.

    Args:
        edge_index: ``[2, E]`` edges.
        community: ``[N]`` community ids ``0 .. C-1``.
        num_nodes: ``N`` (default: ``community.numel()``).

    Returns:
        ``[C]`` float tensor (``C = community.max() + 1``), on ``community``'s device.

    Raises:
        DataError: ``community`` is not ``[N]`` non-negative integer ids, or ``edge_index`` is not a ``[2, E]``
            integer tensor of ids in ``[0, N)``.
    """
    if not isinstance(community, Tensor) or community.dim() != 1:
        shape = tuple(community.shape) if isinstance(community, Tensor) else type(community).__name__
        raise DataError(f"'community' must be a 1-D tensor of community ids, got {shape}")
    n = community.numel() if num_nodes is None else int(num_nodes)
    if community.numel() != n:
        raise DataError(f"'community' must have one id per node ({n}), got {community.numel()}")
    if community.is_floating_point() or community.dtype == torch.bool:
        raise DataError(f"'community' must hold integer ids, got dtype {community.dtype}")
    if n and int(community.min()) < 0:
        raise DataError(f"'community' ids must be non-negative, found {int(community.min())}")
    check_edge_index(edge_index, n, "community_strength")
    community = community.long()
    num_communities = int(community.max()) + 1 if n else 0
    pairs = undirected_pairs(edge_index.to(community.device), n)
    m = pairs.size(1)
    if m == 0:
        return torch.zeros(num_communities, device=community.device)
    row, col = pairs
    deg = degree(row, n) + degree(col, n)  # a self-loop counts twice, like networkx's degree
    deg_c = scatter(deg, community, dim=0, dim_size=num_communities, reduce="sum")
    intra = (community[row] == community[col]).to(deg.dtype)
    inc_c = scatter(intra, community[row], dim=0, dim_size=num_communities, reduce="sum")
    return inc_c / m - (deg_c / (2 * m)) ** 2


def communal_edge_weight(edge_index: Tensor, community: Tensor, node_strength: Tensor) -> Tensor:
    """CSGCL's CED edge weight (Chen et al., IJCAI 2023) in ``[0, 1]``: min–max normalised ``S_c`` (intra) / ``-(S_c(u) + S_c(v))`` (inter).

    An edge inside a strong community gets the largest weight, an edge between two strong communities the
    smallest. Computed on ``edge_index`` as given (both directions get the same weight). When all raw weights
    are equal (one community, or communities of equal strength with no inter edges) every edge gets weight 1,
    so CED reduces to uniform edge dropping instead of dividing by zero.

    Args:
        edge_index: ``[2, E]`` edges.
        community: ``[N]`` community ids.
        node_strength: ``[N]`` strength of each node's community.

    Returns:
        ``[E]`` float tensor.

    Raises:
        DataError: ``community`` and ``node_strength`` are not both ``[N]``, or ``edge_index`` refers to a node
            outside ``[0, N)``.
    """
    if community.shape != node_strength.shape or community.dim() != 1:
        raise DataError(
            f"'community' and 'node_strength' must both be [N] (one entry per node), got {tuple(community.shape)} "
            f"and {tuple(node_strength.shape)}"
        )
    check_edge_index(edge_index, community.numel(), "communal_edge_weight (one community per node)")
    row, col = edge_index
    if row.numel() == 0:
        return node_strength.new_zeros(0)
    s_row, s_col = node_strength[row], node_strength[col]
    raw = torch.where(community[row] == community[col], s_row, -(s_row + s_col))
    low, high = raw.min(), raw.max()
    span = high - low
    if not bool(span > 0):
        return torch.ones_like(raw)
    return (raw - low) / span


def edge_keep_probability(weight: Tensor, p: float, threshold: float = 1.0) -> Tensor:
    """CSGCL's CED keep probability (Chen et al., IJCAI 2023): ``clip(w / mean(w) · (1 - p), 1 - threshold, 1)``,
    mean ``1 - p`` before clipping.

    With ``threshold = 1`` (the authors' setting) the weakest edge(s) are always dropped; a smaller threshold
    keeps every edge with probability at least ``1 - threshold``.

    Raises:
        ValueError: ``p`` or ``threshold`` is not a number in ``[0, 1]``.
    """
    p = check_probability(p, "p", "edge_keep_probability")
    threshold = check_probability(threshold, "threshold", "edge_keep_probability")
    if weight.numel() == 0:
        return weight
    mean = weight.mean()
    if not bool(mean > 0):
        return torch.full_like(weight, 1.0 - p)
    return (weight / mean * (1.0 - p)).clamp(min=1.0 - threshold, max=1.0)


def attribute_voting_probability(x: Tensor, node_strength: Tensor, p: float, threshold: float = 1.0) -> Tensor:
    """CSGCL's CAV drop probability per feature (Chen et al., IJCAI 2023): features voted for by strong
    communities are kept, the rest masked.

    Votes ``v_f = Σ_i |x_if|·S_c(i)``, then ``ω = (max log v − log v) / (max log v − min log v)``,
    ``p_f = clip(ω / mean(ω) · p, 0, threshold)`` (Chen et al., 2023).

    Guards (the authors' code yields ``-inf``/NaN here): a feature that is zero for every node gets the largest
    log-vote, i.e. drop probability 0 (masking it changes nothing), as the authors' ``cav`` does; a
    non-positive vote of a non-zero feature (possible because strengths can be negative) is raised to the
    smallest positive vote, so it is among the most likely to be dropped; when no vote is positive or all log-votes
    are equal, every non-zero feature is dropped with probability ``p`` (uniform masking).

    Args:
        x: ``[N, F]`` node features.
        node_strength: ``[N]`` strength of each node's community.
        p: Mean drop probability.
        threshold: Upper bound of each drop probability.

    Returns:
        ``[F]`` float tensor in ``[0, threshold]``.

    Raises:
        ValueError: ``p`` or ``threshold`` is not a number in ``[0, 1]``.
        DataError: ``x`` is not ``[N, F]`` or ``node_strength`` is not ``[N]``.
    """
    owner = "attribute_voting_probability"
    p = check_probability(p, "p", owner)
    threshold = check_probability(threshold, "threshold", owner)
    if not isinstance(x, Tensor) or x.dim() != 2:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise DataError(f"{owner}: 'x' must be a [N, F] feature matrix, got {shape}")
    if not isinstance(node_strength, Tensor) or node_strength.shape != (x.size(0),):
        shape = tuple(node_strength.shape) if isinstance(node_strength, Tensor) else type(node_strength).__name__
        raise DataError(f"{owner}: 'node_strength' must be [N] = [{x.size(0)}] (one per row of x), got {shape}")
    magnitude = x.abs().to(node_strength.dtype)
    votes = magnitude.t() @ node_strength
    present = magnitude.amax(0) > 0 if magnitude.size(0) else torch.zeros_like(votes, dtype=torch.bool)
    positive = present & (votes > 0)
    uniform = torch.where(present, torch.full_like(votes, p), torch.zeros_like(votes)).clamp(max=threshold)
    if not bool(positive.any()):
        return uniform
    log_votes = torch.log(torch.where(positive, votes, votes[positive].min()))
    log_max, log_min = log_votes.max(), log_votes.min()
    if not bool(log_max > log_min):
        return uniform
    omega = (log_max - log_votes) / (log_max - log_min)
    omega = torch.where(present, omega, torch.zeros_like(omega))
    return (omega / omega.mean() * p).clamp(min=0.0, max=threshold)
