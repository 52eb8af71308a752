"""Exact neighbourhood-contrastive loss ("Ncontrast") over all node pairs — from Graph-MLP (`Hu et al., 2021
<https://arxiv.org/abs/2106.04051>`_) as used by SCGC (`Kulatilleke et al., 2022 <https://arxiv.org/abs/2204.12656>`_)
and as the exact baseline ("SCGC*") of PamC (`Kulatilleke et al., 2022 <https://arxiv.org/abs/2209.14067>`_).

Every node ``i`` is pulled towards the nodes that influence it (the sparse influence matrix
:math:`\\hat{A}_r`, see :func:`graphcl.functional.influence_matrix`) and pushed away from all nodes. With
:math:`s_{ij} = \\cos(z_i, z_j)` and ``τ`` a **multiplier** of the cosine (the authors' convention: larger ``τ``
is sharper; it corresponds to ``1/T`` of a temperature ``T``),

.. math::
    \\mathrm{pos}_i = \\sum_{j} \\hat{A}_{ij}\\, e^{\\tau \\tilde{s}_{ij}},\\qquad
    \\mathrm{all}_i = \\sum_{j} e^{\\tau \\tilde{s}_{ij}},\\qquad
    \\mathcal{L} = -\\frac{1}{|V^+|} \\sum_{i \\in V^+} \\log \\frac{\\mathrm{pos}_i}{\\mathrm{all}_i},

where :math:`\\tilde{s}_{ij} = s_{ij}` for ``i ≠ j`` and the self-similarity :math:`\\tilde{s}_{ii}` is set to 0
(the authors' code multiplies the cosine matrix by ``1 - I``, so every sum keeps a constant ``exp(0) = 1``
term; a self-loop of :math:`\\hat{A}` therefore contributes the constant :math:`\\hat{A}_{ii}`).
``self_similarity="exclude"`` drops the ``j = i`` term from :math:`\\mathrm{all}_i` instead (self-loops still
contribute :math:`\\hat{A}_{ii}` to the numerator). :math:`V^+` is the set of nodes with at least one positive
(every node, when :math:`\\hat{A}` has self-loops as :func:`~graphcl.functional.influence_matrix` builds it);
a node without positives has no anchor and is left out (the authors' ``log(0 + 1e-10)`` is a constant).

Cost: the positive term is edge-wise (``O(nnz · d)`` time, ``O(nnz)`` memory via :func:`graphcl.ops.edge_dot`);
the denominator is the streaming log-sum-exp of
:func:`graphcl.ops.weighted_logsumexp` (``O(N² d)`` time, ``O(chunk · N)`` memory), so the exact loss runs
wherever time allows. ``chunk_size=None`` materialises the ``N x N`` matrix (the reference path).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.utils import scatter

from graphcl.ops.edge import DEFAULT_EDGE_CHUNK_SIZE, edge_dot
from graphcl.ops.similarity import (
    DEFAULT_CHUNK_SIZE,
    check_chunk_size,
    weighted_logsumexp,
)

SELF_SIMILARITY = ("zero", "exclude")


def check_tau(tau: float) -> float:
    """``τ`` (a multiplier of the cosine) must be a positive finite number."""
    if isinstance(tau, bool) or not isinstance(tau, (int, float)) or not (0 < float(tau) < float("inf")):
        raise ValueError(f"tau must be a positive number (it multiplies the cosine similarity), got {tau!r}")
    return float(tau)


def check_self_similarity(value: str) -> str:
    """``self_similarity`` must be ``"zero"`` (the authors' zeroed diagonal) or ``"exclude"``; returns it."""
    if value not in SELF_SIMILARITY:
        raise ValueError(f"self_similarity must be one of {SELF_SIMILARITY}, got {value!r}")
    return value


def _all_finite(t: Tensor, chunk_elements: int = 1 << 20) -> bool:
    """``torch.isfinite(t).all()`` in slices of about ``chunk_elements`` entries along dim 0, so the boolean
    temporaries stay small (a full-size mask of a large ``t`` is a fresh allocation every call)."""
    rows = max(1, chunk_elements // max(1, t[0].numel() if t.dim() > 1 and t.size(0) else 1))
    return all(bool(torch.isfinite(part).all()) for part in t.split(rows))


def check_embeddings(z: Tensor, name: str = "z", min_rows: int = 2) -> None:
    """2-D, floating point, at least ``min_rows`` rows, all finite."""
    if not isinstance(z, Tensor) or z.dim() != 2:
        shape = tuple(z.shape) if isinstance(z, Tensor) else type(z).__name__
        raise ValueError(f"{name} must be a 2-D tensor [N, d], got {shape}")
    if not z.is_floating_point():
        raise ValueError(f"{name} must be floating point, got {z.dtype}")
    if z.size(0) < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} rows (nodes), got {z.size(0)}")
    if not _all_finite(z):
        bad = int((~torch.isfinite(z)).any(1).sum())
        raise ValueError(f"{name} contains NaN or inf values (in {bad} of {z.size(0)} rows)")


def check_edges(edge_index: Tensor, edge_weight: Tensor | None, num_nodes: int) -> Tensor:
    """Validate a positive-pair graph; returns the edge weights (ones when ``None``)."""
    if not isinstance(edge_index, Tensor) or edge_index.dim() != 2 or edge_index.size(0) != 2:
        shape = tuple(edge_index.shape) if isinstance(edge_index, Tensor) else type(edge_index).__name__
        raise ValueError(f"edge_index must be a [2, E] tensor, got {shape}")
    if edge_index.size(1) == 0:
        raise ValueError(
            "the positive graph has no edges: the contrastive loss needs at least one positive pair "
            "(build it with graphcl.functional.influence_matrix, which adds self-loops)"
        )
    if edge_index.dtype != torch.long:
        raise ValueError(f"edge_index must be int64, got {edge_index.dtype}")
    lo, hi = int(edge_index.min()), int(edge_index.max())
    if lo < 0 or hi >= num_nodes:
        raise ValueError(f"edge_index refers to node {lo if lo < 0 else hi}, outside [0, {num_nodes})")
    if edge_weight is None:
        return torch.ones(edge_index.size(1), device=edge_index.device)
    if edge_weight.shape != (edge_index.size(1),):
        raise ValueError(
            f"edge_weight must have shape [{edge_index.size(1)}] (one weight per edge), got {tuple(edge_weight.shape)}"
        )
    if not _all_finite(edge_weight) or bool(edge_weight.min() < 0):
        raise ValueError("edge_weight must be finite and non-negative")
    return edge_weight


def positive_log_terms(
    z: Tensor,
    edge_index: Tensor,
    edge_weight: Tensor,
    tau: float,
    edge_chunk_size: int = DEFAULT_EDGE_CHUNK_SIZE,
) -> tuple[Tensor, Tensor]:
    """``log pos_i`` of every node and the mask of nodes that have a positive (edge-wise, ``O(nnz · d)``).

    .. math::
        \\log \\mathrm{pos}_i = \\log \\sum_{e=(i,j)} w_e\\, e^{\\tau \\tilde{s}_{ij}}
            = m_i + \\log \\sum_{e=(i,j)} e^{\\tau \\tilde{s}_{ij} + \\log w_e - m_i},\\qquad
        m_i = \\max_{e=(i,j),\\, w_e > 0} \\big(\\tau \\tilde{s}_{ij} + \\log w_e\\big)

    The shift by each row's own maximum (a log-sum-exp) keeps the largest term at ``1``, so the sum neither
    overflows nor underflows for any ``τ`` (a fixed shift by the largest possible cosine, 1, underflows to
    ``log 0`` in float32 once ``τ`` exceeds about 100 for a row whose positives all have cosine near 0, e.g. a
    lone self-loop). Self-loop similarities are 0 (see the module docstring). Rows without edges (or with
    zero total weight) get ``log pos = 0`` and ``False`` in the mask. The edge cosines come from
    :func:`graphcl.ops.edge_dot` (chunked, no ``E x d`` tensors, no normalised copy of ``z``), so the memory
    is ``O(E)`` plus ``O(edge_chunk_size · d)`` and one ``N x d`` gradient buffer.

    Args:
        z: Embeddings ``[N, d]`` (the cosines normalise them inside, as :func:`torch.nn.functional.normalize`).
        edge_index: ``[2, E]`` (source ``i`` = anchor, target ``j`` = positive).
        edge_weight: ``[E]`` non-negative weights :math:`\\hat{A}_{ij}`.
        tau: Multiplier of the cosine.
        edge_chunk_size: Edges per chunk of the edge-wise dot products (default: ``16384``).

    Returns:
        ``(log_pos [N], has_positive [N] bool)``.
    """
    n = z.size(0)
    src, dst = edge_index
    sim = edge_dot(z, z, edge_index, edge_chunk_size, normalize=True)
    sim = torch.where(src == dst, torch.zeros_like(sim), sim)
    weight = edge_weight.to(sim.dtype)
    logits = tau * sim + torch.log(weight)  # -inf for a zero weight: that term is exactly 0
    shift = scatter(logits.detach(), src, dim=0, dim_size=n, reduce="max")
    shift = torch.where(torch.isfinite(shift), shift, torch.zeros_like(shift))  # rows with no positive weight
    pos = scatter(torch.exp(logits - shift[src]), src, dim=0, dim_size=n, reduce="sum")
    has_positive = scatter(weight, src, dim=0, dim_size=n, reduce="sum") > 0
    safe = torch.where(has_positive, pos, torch.ones_like(pos))
    return torch.where(has_positive, torch.log(safe) + shift, torch.zeros_like(pos)), has_positive


def ncontrast_loss(
    z: Tensor,
    edge_index: Tensor,
    edge_weight: Tensor | None = None,
    *,
    tau: float = 1.0,
    self_similarity: str = "zero",
    chunk_size: int | None = DEFAULT_CHUNK_SIZE,
) -> Tensor:
    """SCGC* / Graph-MLP neighbourhood contrast (Kulatilleke et al., 2022, arXiv:2204.12656), functional form of
    :class:`NContrastLoss`; see the module docstring for the maths.

    Args:
        z: Embeddings ``[N, d]`` (normalised inside).
        edge_index: Positive pairs ``[2, E]``, e.g. the influence matrix's indices.
        edge_weight: ``[E]`` weights (default: ones).
        tau: Multiplier of the cosine (``1/T``).
        self_similarity: ``"zero"`` (authors: the ``j = i`` term is ``exp(0) = 1``) or ``"exclude"``.
        chunk_size: Rows per chunk of the streaming log-sum-exp; ``None`` = dense ``N x N`` (reference).

    Returns:
        Scalar loss.
    """
    check_embeddings(z)
    tau = check_tau(tau)
    check_self_similarity(self_similarity)
    check_chunk_size(chunk_size, allow_none=True)
    n = z.size(0)
    edge_weight = check_edges(edge_index, edge_weight, n)
    log_pos, has_positive = positive_log_terms(z, edge_index, edge_weight, tau)
    count = int(has_positive.sum())
    if count == 0:
        raise ValueError("no node has a positive pair of non-zero weight")
    row_weight = has_positive.to(z.dtype) / count
    zn = F.normalize(z, dim=1)
    exclude = torch.arange(n, device=z.device)
    if self_similarity == "zero":
        # A zero key adds exactly exp(τ·0) = 1 to every row: the authors' zeroed diagonal.
        keys = torch.cat([zn, zn.new_zeros(1, zn.size(1))], 0)
        log_all = weighted_logsumexp(
            zn, keys, scale=tau, exclude=exclude, row_weight=row_weight, chunk_size=chunk_size
        )
    else:
        log_all = weighted_logsumexp(
            zn, zn, scale=tau, exclude=exclude, row_weight=row_weight, chunk_size=chunk_size
        )
    return log_all - (row_weight * log_pos).sum()


class NContrastLoss(nn.Module):
    """Exact all-pairs neighbourhood contrast (Graph-MLP "Ncontrast", SCGC*) — `Kulatilleke et al., 2022
    <https://arxiv.org/abs/2204.12656>`_.

    .. math::
        \\mathcal{L} = -\\frac{1}{|V^+|} \\sum_{i \\in V^+}
            \\log \\frac{\\sum_j \\hat{A}_{ij} e^{\\tau \\tilde{s}_{ij}}}{\\sum_j e^{\\tau \\tilde{s}_{ij}}}

    ``τ`` multiplies the cosine (authors' convention). The denominator is streamed in chunks of
    ``chunk_size`` rows (``O(N² d)`` time, ``O(chunk · N)`` memory); use :class:`~graphcl.losses.PamCLoss`
    for linear time.

    Args:
        tau: Multiplier of the cosine similarity (default: ``1.0``).
        self_similarity: ``"zero"`` — the diagonal of the cosine matrix is set to 0, so each denominator
            keeps a constant 1, as in the authors' code — or ``"exclude"`` (default: ``"zero"``).
        chunk_size: Rows per chunk, ``None`` for the dense reference (default: ``1024``).

    Shape:
        - z: ``[N, d]``; edge_index: ``[2, E]``; edge_weight: ``[E]`` or ``None``.
        - output: scalar.
    """

    def __init__(
        self, tau: float = 1.0, self_similarity: str = "zero", chunk_size: int | None = DEFAULT_CHUNK_SIZE
    ) -> None:
        super().__init__()
        self.tau = check_tau(tau)
        self.self_similarity = check_self_similarity(self_similarity)
        self.chunk_size = check_chunk_size(chunk_size, allow_none=True)

    def forward(self, z: Tensor, edge_index: Tensor, edge_weight: Tensor | None = None) -> Tensor:
        """Loss of embeddings ``z`` ``[N, d]`` against the positive graph ``edge_index`` ``[2, E]``."""
        return ncontrast_loss(
            z, edge_index, edge_weight, tau=self.tau, self_similarity=self.self_similarity, chunk_size=self.chunk_size
        )

    def extra_repr(self) -> str:
        return f"tau={self.tau}, self_similarity={self.self_similarity!r}, chunk_size={self.chunk_size}"
