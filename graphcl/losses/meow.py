"""MEOW's losses — Yu et al., "Heterogeneous Graph Contrastive Learning with Meta-path Contexts and Weighted
Negative Samples" (SDM 2023; arXiv:2212.13847): cluster-weighted InfoNCE and ProtoNCE.

With anchors :math:`a_i` (coarse view), samples :math:`e_j` (fine view), :math:`S_{ij} = \\exp(a_i^\\top e_j/\\tau)`
and :math:`T` k-means clusterings :math:`c_t` of the samples:

.. math::
    w_{ij} = \\sum_{t=1}^{T} \\mathbb{1}[c_t(i) \\ne c_t(j)],\\qquad
    \\mathcal{L}_{NCE} = \\frac1N \\sum_i -\\log \\frac{S_{ii}}{\\sum_j w_{ij} S_{ij}}

(the positive is **not** in the denominator since :math:`w_{ii} = 0`; pairs co-clustered in every clustering are
dropped as presumed false negatives), and PCL's ProtoNCE (Li et al., ICLR 2021) against the prototypes
:math:`\\mu_{t,k}` (L2-normalised cluster means) with concentrations :math:`\\phi_{t,k}`:

.. math::
    \\mathcal{L}_{proto} = \\frac1T \\sum_t \\frac1N \\sum_i
        -\\log \\frac{\\exp(a_i^\\top \\mu_{t,c_t(i)} / \\phi_{t,c_t(i)})}{\\sum_k \\exp(a_i^\\top \\mu_{t,k} / \\phi_{t,k})}.

The reference code's constant :math:`\\log(N/K_t)` offset of the ProtoNCE (an artefact of averaging over prototypes
and multiplying by N, spec §7.11) is dropped: it changes no gradient.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from graphcl.losses.infonce import check_temperature
from graphcl.ops.cluster import kmeans
from graphcl.ops.segment import segment_count, segment_mean

__all__ = ["ClusterPrototypes", "PositiveSets", "ProtoNCE", "WeightedInfoNCE", "cluster_prototypes",
           "cluster_weights", "positive_sets"]


def _check_pair(anchor: Tensor, sample: Tensor) -> None:
    if not isinstance(anchor, Tensor) or not isinstance(sample, Tensor):
        raise ValueError(f"anchor and sample must be tensors [N, d], got {type(anchor).__name__} and "
                         f"{type(sample).__name__}")
    if anchor.dim() != 2 or sample.dim() != 2:
        raise ValueError(f"anchor and sample must be 2-D [N, d], got {tuple(anchor.shape)} and {tuple(sample.shape)}")
    if anchor.shape != sample.shape:
        raise ValueError(f"anchor and sample must have the same shape, got {tuple(anchor.shape)} and "
                         f"{tuple(sample.shape)}")


def _check_tau(tau: float, owner: str) -> float:
    try:
        return check_temperature(tau)
    except ValueError as exc:
        raise ValueError(f"{owner}: {exc}") from None


def _check_chunk_size(chunk_size: int | None) -> int | None:
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"chunk_size must be a positive integer or None, got {chunk_size!r}")
    return chunk_size


def cluster_weights(labels: Tensor) -> Tensor:
    """The dense ``[N, N]`` weights :math:`w_{ij} = \\sum_t \\mathbb{1}[c_t(i) \\ne c_t(j)]` from ``[T, N]`` labels."""
    labels = labels.reshape(-1, labels.size(-1))
    return (labels.unsqueeze(2) != labels.unsqueeze(1)).sum(0).to(torch.float32)


class WeightedInfoNCE(nn.Module):
    """MEOW's weighted InfoNCE (Yu et al., SDM 2023): negatives weighted by how many clusterings separate them.

    .. math::
        \\mathcal{L} = \\frac1N \\sum_i \\Big[-\\frac{a_i^\\top e_i}{\\tau}
            + \\log \\sum_j w_{ij} \\exp(a_i^\\top e_j / \\tau)\\Big]

    Weights come from cluster labels (``[T, N]``, :math:`w_{ij}` = number of clusterings in which ``i`` and ``j``
    differ; computed per row chunk, never as an ``N × N`` matrix), from an explicit ``[N, N]`` matrix, or are 1
    for every ``j ≠ i``. With ``include_positive`` the positive term :math:`S_{ii}` is added to the denominator
    with weight 1 (the usual InfoNCE; MEOW's code leaves it out). Rows whose denominator is empty (co-clustered
    with every node in every clustering) carry no signal and are left out of the mean.

    **Several positives** (``positive_index``, e.g. HeCo's meta-path positives; not in MEOW's paper or code): each
    anchor's positive set :math:`P_i` holds ``i`` and the given pairs ``(i, j)``, and

    .. math::
        \\mathcal{L} = \\frac1N \\sum_i \\Big[-\\log \\sum_{j \\in P_i} \\exp(a_i^\\top e_j / \\tau)
            + \\log \\sum_j w'_{ij} \\exp(a_i^\\top e_j / \\tau)\\Big],\\qquad
        w'_{ij} = \\begin{cases} 0 \\;(1 \\text{ with } \\texttt{include\\_positive}) & j \\in P_i \\\\
            w_{ij} & \\text{otherwise} \\end{cases}

    so a positive is never pushed away as a negative (MEOW's rule for :math:`w_{ii}` extended to :math:`P_i`);
    with ``include_positive`` and unit weights this is HeCo's multi-positive InfoNCE. ``positive_index=None`` is
    the single-positive loss above, unchanged.

    Args:
        tau: Temperature :math:`\\tau > 0`.
        include_positive: Add :math:`S_{ii}` to the denominator. (default: ``False``)
        chunk_size: Anchor rows per chunk (each chunk is recomputed in backward, so memory is
            ``O(chunk_size · N)``); ``None`` computes all rows at once.

    Shapes:
        - anchor, sample: ``[N, d]`` (used as given; MEOW passes L2-normalised projections).
        - labels: ``[T, N]`` integer cluster ids, or weight: ``[N, N]`` non-negative (constants: no gradient flows
          into them).
        - positive_index: ``[2, P]`` pairs ``(anchor i, sample j)`` (any order, duplicates and self pairs allowed),
          or the same sets made once with :func:`positive_sets` (what a training loop should pass: the pairs are
          then not sorted and deduplicated again at every step).
        - output: scalar.
    """

    def __init__(self, tau: float = 0.5, *, include_positive: bool = False, chunk_size: int | None = 1024) -> None:
        super().__init__()
        self.tau = _check_tau(tau, type(self).__name__)
        self.include_positive = bool(include_positive)
        self.chunk_size = _check_chunk_size(chunk_size)

    def forward(self, anchor: Tensor, sample: Tensor, labels: Tensor | None = None,
                weight: Tensor | None = None, positive_index: Tensor | PositiveSets | None = None) -> Tensor:
        """Loss of anchors / samples ``[N, d]`` with weights from ``labels [T, N]``, ``weight [N, N]`` or neither, and
        the positives ``i`` (default) or ``i`` plus the pairs of ``positive_index`` (``[2, P]`` or
        :class:`PositiveSets`)."""
        _check_pair(anchor, sample)
        n = anchor.size(0)
        positives = None
        if isinstance(positive_index, PositiveSets):
            if positive_index.num_nodes != n:
                raise ValueError(f"the positive sets are for {positive_index.num_nodes} nodes, the anchors {n}")
            positives = positive_index.to(anchor.device)
        elif positive_index is not None:
            positives = positive_sets(positive_index, n).to(anchor.device)
        if labels is not None and weight is not None:
            raise ValueError("give cluster labels or a weight matrix, not both")
        if labels is not None:
            if not isinstance(labels, Tensor) or labels.is_floating_point() or labels.dtype == torch.bool:
                got = labels.dtype if isinstance(labels, Tensor) else type(labels).__name__
                raise ValueError(f"labels must be an integer tensor of cluster ids [T, N], got {got}")
            labels = labels.reshape(-1, labels.size(-1)) if labels.dim() == 1 else labels
            if labels.dim() != 2 or labels.size(1) != n:
                raise ValueError(f"labels must be [T, N] with N = {n}, got {tuple(labels.shape)}")
        if weight is not None:
            if not isinstance(weight, Tensor) or weight.shape != (n, n):
                shape = tuple(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__
                raise ValueError(f"weight must be [N, N] = [{n}, {n}], got {shape}")
            if not bool(torch.isfinite(weight).all()) or bool((weight < 0).any()):
                raise ValueError("weight must hold finite, non-negative values")
        chunk = n if self.chunk_size is None else self.chunk_size
        losses, valid = [], []
        for start in range(0, n, chunk):
            stop = min(start + chunk, n)
            rows = torch.arange(start, stop, device=anchor.device)
            block_weight = None if weight is None else weight[start:stop]
            block_labels = None if labels is None else labels
            block_positives = None if positives is None else _block_positives(positives, start, stop)
            args = (anchor[start:stop], sample, rows, block_labels, block_weight, block_positives)
            if chunk < n and torch.is_grad_enabled() and (anchor.requires_grad or sample.requires_grad):
                loss, ok = checkpoint(self._rows, *args, use_reentrant=False)
            else:
                loss, ok = self._rows(*args)
            losses.append(loss)
            valid.append(ok)
        loss, ok = torch.cat(losses), torch.cat(valid)
        if not bool(ok.any()):
            raise ValueError("every anchor has an empty denominator (all weights zero): nothing to contrast")
        return loss[ok].mean()

    def _rows(self, anchor: Tensor, sample: Tensor, rows: Tensor, labels: Tensor | None,
              weight: Tensor | None, positives: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        logits = anchor @ sample.t() / self.tau  # [B, N]
        local = torch.arange(rows.numel(), device=rows.device)
        # (row within the block, sample) pairs of P_i: the diagonal, or the block's positive sets.
        pos_rows, pos_cols = (local, rows) if positives is None else positives
        if positives is None:
            positive = logits[local, rows]
        else:  # log Σ_{j ∈ P_i} exp(logit_ij), over the pairs only
            values = logits[pos_rows, pos_cols]
            peak = logits.new_full((rows.numel(),), float("-inf")).scatter_reduce(0, pos_rows, values.detach(),
                                                                                  "amax")
            total = logits.new_zeros(rows.numel()).index_add(0, pos_rows, (values - peak[pos_rows]).exp())
            positive = peak + total.log()
        with torch.no_grad():  # log w_ij: constant weights, -inf where w_ij = 0
            if labels is not None:
                log_w = torch.zeros_like(logits)
                for labels_t in labels:  # w_ij = number of clusterings that separate i and j
                    log_w += labels_t[rows].unsqueeze(1) != labels_t.unsqueeze(0)
                log_w.log_()
            elif weight is not None:
                log_w = weight.to(logits.dtype).log()
            else:
                log_w = torch.zeros_like(logits)
            if positives is not None or weight is None or self.include_positive:  # an explicit w_ii stays
                log_w[pos_rows, pos_cols] = 0.0 if self.include_positive else float("-inf")
        denominator = torch.logsumexp(logits + log_w, dim=1)
        ok = torch.isfinite(denominator)
        return torch.where(ok, denominator - positive, torch.zeros_like(denominator)), ok

    def extra_repr(self) -> str:
        return f"tau={self.tau}, include_positive={self.include_positive}, chunk_size={self.chunk_size}"


class PositiveSets(NamedTuple):
    """Each anchor's positive set :math:`P_i` (``i`` itself and its given pairs) in compressed rows, made once by
    :func:`positive_sets`.

    Attributes:
        ptr: ``[N + 1]`` row pointer: the positives of ``i`` are ``col[ptr[i]:ptr[i + 1]]``.
        col: ``[nnz]`` sample ids, sorted within each row, no duplicates.
        num_nodes: ``N``.
    """

    ptr: Tensor
    col: Tensor
    num_nodes: int

    def to(self, device: torch.device | str) -> PositiveSets:
        """The sets on ``device`` (no copy when they are there already)."""
        return PositiveSets(self.ptr.to(device), self.col.to(device), self.num_nodes)


def positive_sets(positive_index: Tensor, num_nodes: int) -> PositiveSets:
    """The :class:`PositiveSets` of the pairs ``positive_index`` ``[2, P]`` (any order, duplicates and self pairs
    allowed) plus every ``(i, i)``, over ``num_nodes`` anchors.

    Raises:
        ValueError: ``positive_index`` is not an integer ``[2, P]`` tensor, or holds ids outside ``[0, num_nodes)``.
    """
    if (not isinstance(positive_index, Tensor) or positive_index.dim() != 2 or positive_index.size(0) != 2
            or positive_index.is_floating_point() or positive_index.dtype == torch.bool):
        shape = tuple(positive_index.shape) if isinstance(positive_index, Tensor) else type(positive_index).__name__
        raise ValueError(f"positive_index must be an integer tensor of pairs [2, P], got {shape}")
    n, device = int(num_nodes), positive_index.device
    pairs = positive_index.to(dtype=torch.long)
    if pairs.numel() and (int(pairs.min()) < 0 or int(pairs.max()) >= n):
        raise ValueError(f"positive_index holds node ids outside [0, {n}): min {int(pairs.min())}, "
                         f"max {int(pairs.max())}")
    pairs = torch.cat([pairs, torch.arange(n, device=device).repeat(2, 1)], dim=1)
    key = torch.unique(pairs[0] * n + pairs[1])  # sorted
    row, col = key // n, key % n
    ptr = torch.searchsorted(row, torch.arange(n + 1, device=device))
    return PositiveSets(ptr, col, n)


def _block_positives(positives: PositiveSets, start: int, stop: int) -> tuple[Tensor, Tensor]:
    """The ``(row within the block, sample)`` pairs of the positive sets of anchors ``start .. stop - 1``."""
    ptr, col, _ = positives
    lo, hi = int(ptr[start]), int(ptr[stop])
    counts = ptr[start + 1:stop + 1] - ptr[start:stop]
    local_rows = torch.repeat_interleave(torch.arange(stop - start, device=col.device), counts)
    return local_rows, col[lo:hi]


@dataclass
class ClusterPrototypes:
    """T clusterings of the sample embeddings.

    Attributes:
        labels: ``[T, N]`` cluster ids.
        centroids: ``T`` tensors ``[K_t, d]``, L2-normalised cluster means.
        concentration: ``T`` tensors ``[K_t]`` (φ, mean τ).
    """

    labels: Tensor
    centroids: list[Tensor]
    concentration: list[Tensor]


def cluster_prototypes(
    x: Tensor,
    num_clusters: Sequence[int],
    tau: float,
    *,
    n_init: int = 5,
    max_iter: int = 20,
    seed: int = 0,
    init: str = "k-means++",
) -> ClusterPrototypes:
    """MEOW's per-epoch clustering: T spherical k-means runs with prototypes and PCL concentrations.

    Run ``t`` uses seed ``seed + t`` (fixed, as the reference code's faiss seeds ``t``). Assignment is by cosine
    (spherical k-means from :func:`graphcl.ops.kmeans`; the reference uses faiss's inner-product index on
    L2-normalised inputs, spec §7.10). The concentration of cluster ``k`` with :math:`n_k > 1` members is

    .. math::
        \\phi_k = \\frac{\\mathrm{mean}_{i \\in k} \\sqrt{\\max(0, x_i^\\top \\bar x_k)}}{\\log(n_k + 5)}

    (:math:`\\bar x_k` the unnormalised mean; the square root of an inner product as in the reference, clipped at
    0); singletons get the largest :math:`\\phi`; then :math:`\\phi` is clipped to its 10th–90th percentiles and
    rescaled to mean :math:`\\tau`.

    Args:
        x: ``[N, d]`` embeddings (detached inside).
        num_clusters: :math:`K_t` per clustering (each ≤ N).
        tau: Mean concentration after rescaling.
        n_init: k-means restarts per clustering.
        max_iter: Lloyd iterations per restart.
        seed: Base seed.
        init: k-means initialisation, ``"k-means++"`` or ``"random"`` (faiss's, the reference's: ``k`` distinct
            random points). (default: ``"k-means++"``)

    Returns:
        :class:`ClusterPrototypes`.
    """
    if not isinstance(x, Tensor) or x.dim() != 2:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"cluster_prototypes: x must be a 2-D tensor [N, d], got {shape}")
    tau = _check_tau(tau, "cluster_prototypes")
    n = x.size(0)
    for k in num_clusters:
        if isinstance(k, bool) or not isinstance(k, Integral) or not 1 <= k <= n:
            raise ValueError(f"cluster_prototypes: every entry of num_clusters must be an int in [1, {n}] (the "
                             f"number of embeddings), got {list(num_clusters)}")
    x = x.detach()
    labels, centroids, concentration = [], [], []
    for t, k in enumerate(num_clusters):
        result = kmeans(x, int(k), n_init=n_init, max_iter=max_iter, seed=seed + t, spherical=True, init=init)
        assignment = result.labels
        means = segment_mean(x, assignment, int(k))
        counts = segment_count(assignment, int(k)).to(x.dtype)
        score = (x * means[assignment]).sum(1).clamp(min=0).sqrt()
        phi = segment_mean(score.unsqueeze(1), assignment, int(k)).squeeze(1) / torch.log(counts + 5)
        multi = counts > 1
        largest = phi[multi].max() if bool(multi.any()) else torch.tensor(tau, dtype=x.dtype, device=x.device)
        phi = torch.where(multi, phi, largest)
        low, high = torch.quantile(phi, torch.tensor([0.1, 0.9], dtype=phi.dtype, device=phi.device))
        phi = phi.clamp(min=float(low), max=float(high))
        phi = tau * phi / phi.mean().clamp(min=1e-12)
        labels.append(assignment)
        centroids.append(F.normalize(means, dim=1))
        concentration.append(phi)
    return ClusterPrototypes(torch.stack(labels), centroids, concentration)


class ProtoNCE(nn.Module):
    """ProtoNCE of PCL (Li et al., "Prototypical Contrastive Learning of Unsupervised Representations", ICLR 2021)
    as used by MEOW: anchors against the prototypes of T clusterings, temperature :math:`\\phi_{t,k}` per prototype.

    .. math::
        \\mathcal{L} = \\frac1T \\sum_t \\frac1N \\sum_i \\Big[-\\frac{a_i^\\top \\mu_{t,c_t(i)}}{\\phi_{t,c_t(i)}}
            + \\log \\sum_k \\exp\\big(a_i^\\top \\mu_{t,k} / \\phi_{t,k}\\big)\\Big]

    Shapes:
        - anchor: ``[N, d]``; prototypes: :class:`ClusterPrototypes` with ``labels [T, N]``,
          ``centroids [K_t, d]``, ``concentration [K_t]``; output: scalar.
    """

    def forward(self, anchor: Tensor, prototypes: ClusterPrototypes) -> Tensor:
        """Loss of ``anchor`` ``[N, d]`` against the ``T`` clusterings in ``prototypes``."""
        if not isinstance(anchor, Tensor) or anchor.dim() != 2:
            shape = tuple(anchor.shape) if isinstance(anchor, Tensor) else type(anchor).__name__
            raise ValueError(f"anchor must be 2-D [N, d], got {shape}")
        labels_all = prototypes.labels
        if labels_all.dim() != 2 or labels_all.size(1) != anchor.size(0):
            raise ValueError(f"labels must be [T, N] with N = {anchor.size(0)}, got {tuple(labels_all.shape)}")
        if labels_all.is_floating_point() or labels_all.dtype == torch.bool:
            raise ValueError(f"labels must hold integer cluster ids, got dtype {labels_all.dtype}")
        num = (labels_all.size(0), len(prototypes.centroids), len(prototypes.concentration))
        if len(set(num)) != 1:
            raise ValueError(f"prototypes must describe the same number T of clusterings: {num[0]} label rows, "
                             f"{num[1]} centroid tensors, {num[2]} concentration tensors")
        total = anchor.new_zeros(())
        for t, (labels, centroids, phi) in enumerate(zip(labels_all, prototypes.centroids, prototypes.concentration)):
            if centroids.dim() != 2 or centroids.size(1) != anchor.size(1) or centroids.size(0) != phi.numel():
                raise ValueError(f"clustering {t}: centroids must be [K_t, {anchor.size(1)}] with one concentration "
                                 f"each, got centroids {tuple(centroids.shape)} and {phi.numel()} concentrations")
            if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= centroids.size(0)):
                raise ValueError(f"clustering {t}: labels must lie in [0, {centroids.size(0)}) (one per centroid), "
                                 f"got [{int(labels.min())}, {int(labels.max())}]")
            if not bool(torch.isfinite(phi).all()) or not bool((phi > 0).all()):
                raise ValueError(f"clustering {t}: concentrations must be finite and positive")
            logits = anchor @ centroids.t() / phi.unsqueeze(0)
            total = total + F.cross_entropy(logits, labels)
        return total / len(prototypes.centroids)
