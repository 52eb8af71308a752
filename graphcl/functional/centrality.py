"""Node centralities and the centrality-adaptive drop probabilities of GCA.

From Zhu et al., `"Graph Contrastive Learning with Adaptive Augmentation" <https://arxiv.org/abs/2010.14945>`_
(WWW 2021): an edge or a feature that matters (high centrality) is dropped less often than an unimportant one.
With a node centrality :math:`\\varphi_c` (degree, eigenvector or PageRank),

.. math::
    s_e = \\log(\\varphi_c(v) + 1)\\ \\text{for } e = (u, v),\\qquad
    s_f = \\log\\Big(\\sum_u \\mathbb{1}[x_{uf} \\neq 0]\\,\\varphi_c(u) + 1\\Big),\\qquad
    w = \\frac{s_{\\max} - s}{s_{\\max} - \\mu_s},\\qquad
    p = \\min\\Big(\\frac{w}{\\bar w}\\,p_0,\\ p_\\tau\\Big).

:func:`centrality_drop_weights` computes ``w`` (once per graph), :func:`adaptive_drop_probability` turns it into
``p`` for a mean rate ``p₀`` and a cap ``p_τ``; the draws are :func:`~graphcl.functional.drop_edge_weighted` and
:func:`~graphcl.functional.mask_feature_weighted`.

Decisions, all as in the authors' code (``pGRACE/functional.py``, ``pGRACE/utils.py``): an edge takes the
centrality of its **target** node (``aggr='sink'``), every direction is a separate edge; the scores use
``log(φ + 1)``; PageRank is the unnormalised power iteration started from ones; degree is counted on the
symmetrised graph; eigenvector centrality is that of the directed graph with negative entries clipped to 0.
A graph whose scores are all equal (``s_max = μ_s``) gets uniform weights 1 (the authors' formula divides by 0).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch_geometric.utils import scatter, to_undirected

from graphcl.functional._checks import check_probability

SCHEMES = ("degree", "pagerank", "eigenvector")


def _check_graph(edge_index: Tensor, num_nodes: int, owner: str) -> None:
    if not isinstance(edge_index, Tensor) or edge_index.dim() != 2 or edge_index.size(0) != 2:
        shape = tuple(edge_index.shape) if isinstance(edge_index, Tensor) else type(edge_index).__name__
        raise ValueError(f"{owner}: 'edge_index' must have shape [2, E], got {shape}")
    if isinstance(num_nodes, bool) or not isinstance(num_nodes, int) or num_nodes < 1:
        raise ValueError(f"{owner}: 'num_nodes' must be an int >= 1, got {num_nodes!r}")
    if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= num_nodes):
        raise ValueError(f"{owner}: 'edge_index' holds ids outside [0, {num_nodes})")


def degree_centrality(edge_index: Tensor, num_nodes: int) -> Tensor:
    """Degree of every node in the symmetrised graph (GCA-DE).

    Args:
        edge_index: ``[2, E]`` edges (one direction is enough: the graph is symmetrised first).
        num_nodes: ``N``.

    Returns:
        ``[N]`` float degrees.
    """
    _check_graph(edge_index, num_nodes, "degree_centrality")
    undirected = to_undirected(edge_index, num_nodes=num_nodes)
    ones = torch.ones(undirected.size(1), device=edge_index.device)
    return scatter(ones, undirected[1], dim=0, dim_size=num_nodes, reduce="sum")


def pagerank_centrality(edge_index: Tensor, num_nodes: int, damping: float = 0.85, iterations: int = 10) -> Tensor:
    """GCA's PageRank (GCA-PR): the unnormalised power iteration started from ones.

    .. math::
        x^{(0)} = \\mathbf{1},\\qquad
        x^{(t+1)}_v = (1 - d)\\,x^{(t)}_v + d \\sum_{u \\to v} \\frac{x^{(t)}_u}{\\deg^{+}(u)}

    Args:
        edge_index: ``[2, E]`` directed edges ``u → v``.
        num_nodes: ``N``.
        damping: ``d``. (default: ``0.85``)
        iterations: Power-iteration steps; the authors use 200 for the edge weights and 10 for the feature
            weights. (default: ``10``)

    Returns:
        ``[N]`` float scores (mean about 1, not a distribution).
    """
    _check_graph(edge_index, num_nodes, "pagerank_centrality")
    check_probability(damping, "damping", "pagerank_centrality")
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 0:
        raise ValueError(f"pagerank_centrality: 'iterations' must be an int >= 0, got {iterations!r}")
    src, dst = edge_index
    out_degree = scatter(torch.ones(src.numel(), device=src.device), src, dim=0, dim_size=num_nodes, reduce="sum")
    x = torch.ones(num_nodes, device=edge_index.device)
    for _ in range(iterations):
        message = x[src] / out_degree[src]
        x = (1.0 - damping) * x + damping * scatter(message, dst, dim=0, dim_size=num_nodes, reduce="sum")
    return x


def eigenvector_centrality(edge_index: Tensor, num_nodes: int) -> Tensor:
    """Eigenvector centrality of the directed graph (GCA-EV), negative entries clipped to 0.

    The leading eigenvector of ``Aᵀ`` (in-links count), unit L2 norm, sign chosen so that the entries sum to a
    positive number — what ``networkx.eigenvector_centrality_numpy`` returns, computed with SciPy's ARPACK on
    the de-duplicated adjacency.

    Args:
        edge_index: ``[2, E]`` directed edges.
        num_nodes: ``N``.

    Returns:
        ``[N]`` float scores ``≥ 0``.
    """
    import scipy.sparse as sp
    from scipy.sparse.linalg import eigs

    _check_graph(edge_index, num_nodes, "eigenvector_centrality")
    if edge_index.size(1) == 0:
        return torch.zeros(num_nodes, device=edge_index.device)
    src, dst = edge_index.cpu().numpy()
    adjacency = sp.coo_matrix((np.ones(src.size), (src, dst)), shape=(num_nodes, num_nodes)).tocsr()
    adjacency.data[:] = 1.0  # duplicates count once, as in networkx's DiGraph
    matrix = adjacency.T.astype(np.float64)
    if num_nodes < 3:
        values, vectors = np.linalg.eig(matrix.toarray())
        vector = vectors[:, int(np.argmax(values.real))].real
    else:
        _, vectors = eigs(matrix, k=1, which="LR", maxiter=50 * num_nodes, tol=0)
        vector = vectors[:, 0].real
    vector = vector * np.sign(vector.sum() or 1.0) / max(np.linalg.norm(vector), 1e-300)
    return torch.from_numpy(np.clip(vector, 0.0, None)).to(device=edge_index.device, dtype=torch.float32)


def node_centrality(edge_index: Tensor, num_nodes: int, scheme: str, pagerank_iterations: int = 10) -> Tensor:
    """``[N]`` centrality by ``scheme``: ``"degree"``, ``"pagerank"`` or ``"eigenvector"`` (see the functions above).

    Args:
        edge_index: ``[2, E]`` edges.
        num_nodes: ``N``.
        scheme: One of :data:`SCHEMES`.
        pagerank_iterations: Power-iteration steps of ``"pagerank"``. (default: ``10``)
    """
    if scheme == "degree":
        return degree_centrality(edge_index, num_nodes)
    if scheme == "pagerank":
        return pagerank_centrality(edge_index, num_nodes, iterations=pagerank_iterations)
    if scheme == "eigenvector":
        return eigenvector_centrality(edge_index, num_nodes)
    raise ValueError(f"node_centrality: 'scheme' must be one of {SCHEMES}, got {scheme!r}")


def centrality_drop_weights(centrality: Tensor) -> Tensor:
    """GCA's normalised drop weights ``w = (s_max − s) / (s_max − μ_s)`` with ``s = log(c + 1)``.

    The least central element gets the largest weight; the weights have mean 1. All-equal scores give ones.

    Args:
        centrality: ``[M]`` non-negative centralities of the elements (edges or features), ``M ≥ 1``.

    Returns:
        ``[M]`` float weights ``≥ 0`` with mean 1.
    """
    if not isinstance(centrality, Tensor) or centrality.dim() != 1 or centrality.numel() == 0:
        raise ValueError("centrality_drop_weights: 'centrality' must be a non-empty 1-D tensor")
    if bool((centrality < 0).any()) or not bool(torch.isfinite(centrality).all()):
        raise ValueError("centrality_drop_weights: centralities must be finite and >= 0")
    s = torch.log1p(centrality.to(torch.float32))
    spread = s.max() - s.mean()
    if float(spread) <= 0.0:
        return torch.ones_like(s)
    return (s.max() - s) / spread


def edge_centrality(edge_index: Tensor, centrality: Tensor) -> Tensor:
    """Centrality of every edge: its target node's (the authors' ``aggr='sink'``), ``[E]``."""
    return centrality[edge_index[1]]


def feature_centrality(x: Tensor, centrality: Tensor, dense: bool = False) -> Tensor:
    """Centrality of every feature column: ``Σ_u 1[x_uf ≠ 0] φ(u)`` (``dense``: ``Σ_u |x_uf| φ(u)``), ``[F]``.

    Args:
        x: ``[N, F]`` node features.
        centrality: ``[N]`` node centralities.
        dense: Weigh by the feature magnitude instead of its presence (the authors' WikiCS variant).
            (default: ``False``)
    """
    if not isinstance(x, Tensor) or x.dim() != 2 or centrality.shape != (x.size(0),):
        raise ValueError("feature_centrality: 'x' must be [N, F] and 'centrality' [N]")
    weights = x.abs() if dense else (x != 0)
    return weights.to(torch.float32).t() @ centrality.to(device=x.device, dtype=torch.float32)


def adaptive_drop_probability(weights: Tensor, p: float, threshold: float = 0.7) -> Tensor:
    """``min(w / w̄ · p, threshold)``: per-element drop probabilities with mean ``p`` before the cap.

    Args:
        weights: ``[M]`` non-negative drop weights (:func:`centrality_drop_weights`).
        p: Mean drop rate ``p₀`` in ``[0, 1]``.
        threshold: Cap ``p_τ`` in ``[0, 1]``; the authors pass ``0.7``. (default: ``0.7``)

    Returns:
        ``[M]`` probabilities in ``[0, threshold]``.
    """
    p = check_probability(p, "p", "adaptive_drop_probability")
    threshold = check_probability(threshold, "threshold", "adaptive_drop_probability")
    mean = weights.mean()
    if float(mean) <= 0.0:
        return torch.full_like(weights, min(p, threshold))
    return (weights / mean * p).clamp(max=threshold)
