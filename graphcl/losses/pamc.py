"""PamC: proxy-approximated meta-node contrast — from `"Efficient block contrastive learning via parameter-free
meta-node approximation" <https://arxiv.org/abs/2209.14067>`_ (Kulatilleke, Portmann & Chandra, 2022).

The exact neighbourhood contrast (:mod:`graphcl.losses.ncontrast`) needs every node pair for its negatives
(``O(N² d)``). PamC keeps the positives edge-wise over the sparse influence graph and replaces node-pair
negatives by **meta-node** pairs: a hard, detached assignment ``c`` of the nodes to ``K`` clusters defines
meta-nodes :math:`M_k = \\sum_{i: c_i = k} z_i` (gradients flow into ``z`` through ``M``; the assignment is a
constant), and negatives are computed between the ``K`` meta-nodes: ``O(nnz·d + N·d + K²·d)`` time, linear in
the graph size. ``τ`` **multiplies** the cosine (the authors' convention; ``τ = 1/T``).

Two conventions (``weighting``):

``"uniform"`` — the authors' code (``NcontrastCCSP``). With :math:`S^M_{kl} = \\cos(M_k, M_l)` over the
non-empty clusters :math:`\\mathcal{K}` and the diagonal set to 0 (each row keeps a constant ``exp(0) = 1``),

.. math::
    \\mathcal{L} = -\\frac{1}{|V^+|}\\sum_{i \\in V^+} \\log \\mathrm{pos}_i
        + \\frac{1}{|\\mathcal{K}|} \\sum_{k \\in \\mathcal{K}} \\log \\sum_{l \\in \\mathcal{K}} e^{\\tau S^M_{kl}}.

The two terms are averaged over different sets (nodes vs. meta-nodes) and clusters are not weighted by size:
the negative term lives on a ``log K`` scale and is a surrogate whose gradient pushes meta-nodes apart, not an
estimate of the exact value.

``"size"`` — a cluster-size-weighted form whose value approximates the exact all-pairs loss. Node ``i`` in
cluster ``a`` replaces every similarity to a node of cluster ``b`` by the mean pairwise cosine of the two
clusters, computed exactly in ``O(N d + K² d)`` from the sums :math:`U_k = \\sum_{c_i = k} \\hat{z}_i` of the
unit embeddings:

.. math::
    \\bar{s}_{ab} = \\frac{U_a^\\top U_b}{n_a n_b}\\ (a \\ne b),\\qquad
    \\bar{s}_{aa} = \\frac{\\lVert U_a \\rVert^2 - n_a}{n_a (n_a - 1)},\\qquad
    \\log \\widehat{\\mathrm{all}}_a = \\log\\Big[\\delta + (n_a - 1)\\, e^{\\tau \\bar{s}_{aa}}
        + \\sum_{b \\ne a} n_b\\, e^{\\tau \\bar{s}_{ab}}\\Big],

.. math::
    \\mathcal{L} = -\\frac{1}{|V^+|}\\sum_{i \\in V^+} \\big[\\log \\mathrm{pos}_i - \\log \\widehat{\\mathrm{all}}_{c_i}\\big],

with :math:`\\delta = 1` for the authors' zeroed self-similarity (``self_similarity="zero"``) and 0 for
``"exclude"``. By Jensen's inequality each block :math:`n_b e^{\\tau \\bar{s}_{ab}}` is at most the exact
:math:`\\sum_{j \\in b} e^{\\tau s_{ij}}` averaged over ``a``, so the value sits slightly below the exact loss;
the gap shrinks as clusters tighten or ``K`` grows. (Using mean pairwise cosines instead of the cosine of the
summed raw embeddings is our choice: it is the exact first-order quantity, and it makes ``K = N`` exact.)

Both forms equal the exact loss for ``K = N`` with the identity assignment (loss and gradients; tested).
Empty clusters are masked out of every sum (``num_classes = K`` is used, never the largest label seen), so no
``NaN`` appears. :func:`meta_node_info_nce` applies the size-weighted idea to GRACE's two-view InfoNCE.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphcl.losses.ncontrast import (
    check_edges,
    check_embeddings,
    check_self_similarity,
    check_tau,
    positive_log_terms,
)
from graphcl.ops.segment import segment_sum

WEIGHTINGS = ("uniform", "size")


def hard_assignment(assignment: Tensor, num_nodes: int, num_clusters: int | None = None) -> tuple[Tensor, int]:
    """Hard cluster labels ``[N]`` and ``K`` from labels ``[N]`` (long) or a soft assignment ``[N, K]``.

    A soft assignment is detached and arg-maxed (the meta-nodes use no gradient through the assignment).

    Raises:
        ValueError: Wrong shape, labels outside ``[0, K)``, ``K < 2`` or ``K > N``.
    """
    labels, num_clusters = _assignment_labels(assignment, num_nodes, num_clusters)
    return labels, _check_clusters(labels, num_clusters, num_nodes)


def _assignment_labels(assignment: Tensor, num_nodes: int, num_clusters: int | None) -> tuple[Tensor, int]:
    """:func:`hard_assignment` without the checks of ``K`` against the labels and the node count: labels ``[N]``
    and ``K`` as given, the soft assignment's width, or the largest label + 1 (0 without labels)."""
    if not isinstance(assignment, Tensor):
        raise ValueError(f"assignment must be a tensor, got {type(assignment).__name__}")
    if assignment.dim() == 2:
        if assignment.size(0) != num_nodes:
            raise ValueError(f"soft assignment has {assignment.size(0)} rows for {num_nodes} nodes")
        if num_clusters is not None and num_clusters != assignment.size(1):
            raise ValueError(f"num_clusters={num_clusters} but the soft assignment has {assignment.size(1)} columns")
        num_clusters = assignment.size(1)
        labels = assignment.detach().argmax(1)
    elif assignment.dim() == 1:
        if assignment.numel() != num_nodes:
            raise ValueError(f"assignment has {assignment.numel()} labels for {num_nodes} nodes")
        if assignment.is_floating_point() or assignment.dtype == torch.bool:
            raise ValueError(f"hard assignment labels must be integers, got {assignment.dtype}")
        labels = assignment.long()
        if num_clusters is None:
            num_clusters = int(labels.max()) + 1 if labels.numel() else 0
    else:
        raise ValueError(f"assignment must be [N] labels or an [N, K] soft assignment, got {tuple(assignment.shape)}")
    if isinstance(num_clusters, bool) or not isinstance(num_clusters, int):
        raise ValueError(f"num_clusters must be an int, got {num_clusters!r}")
    return labels, num_clusters


def _check_clusters(labels: Tensor, num_clusters: int, num_nodes: int) -> int:
    """``K`` checked: at least 2, at most the ``num_nodes`` nodes, and above every label; returns it."""
    if num_clusters < 2:
        raise ValueError(f"PamC needs at least 2 clusters (meta-nodes), got K={num_clusters}")
    if num_clusters > num_nodes:
        raise ValueError(f"K={num_clusters} meta-nodes is more than the N={num_nodes} nodes")
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= num_clusters):
        raise ValueError(f"cluster labels must lie in [0, {num_clusters}), got [{int(labels.min())}, {int(labels.max())}]")
    return num_clusters


def _labels_over_ranks(assignment: Tensor, num_nodes: int, num_clusters: int | None) -> tuple[Tensor, int]:
    """This rank's hard labels ``[n]`` and the ``K`` of every rank in a ``torch.distributed`` run: ``num_clusters``
    or the soft assignment's width (the same on every rank), else the largest label of any rank + 1, checked
    against the nodes of all ranks.

    Raises:
        ValueError: What :func:`hard_assignment` raises (with ``N`` the nodes of all ranks), or ranks with
            different given ``K``.
    """
    from graphcl.train.distributed import gather_with_grad, world_size

    labels, k = _assignment_labels(assignment, num_nodes, num_clusters)
    stats = gather_with_grad(torch.tensor([num_nodes, k], device=labels.device)).view(world_size(), 2)
    ks = stats[:, 1].tolist()
    if (num_clusters is not None or assignment.dim() == 2) and len(set(ks)) > 1:
        raise ValueError(f"every rank must have the same number of clusters K, got {ks} (in rank order)")
    return labels, _check_clusters(labels, max(ks), int(stats[:, 0].sum()))


def meta_nodes(z: Tensor, labels: Tensor, num_clusters: int) -> tuple[Tensor, Tensor]:
    """Meta-node embeddings :math:`M_k = \\sum_{c_i = k} z_i` ``[K, d]`` and cluster sizes ``[K]``.

    A scatter-sum, ``O(N d)`` (the authors' code builds an ``N x K x d`` broadcast); differentiable in ``z``.
    """
    return segment_sum(z, labels, num_clusters), torch.bincount(labels, minlength=num_clusters).to(z.device)


def cluster_pair_log_sums(
    sums_a: Tensor,
    sums_b: Tensor,
    counts: Tensor,
    diagonal: Tensor,
    scale: float,
    extra_one: bool = False,
    column_bias: Tensor | None = None,
) -> Tensor:
    """``log Σ_{j ≠ i} exp(scale · s̄(i, j))`` for an anchor ``i`` of every cluster, from cluster sums.

    ``sums_a[k] = Σ_{c_i=k} a_i`` and ``sums_b[k] = Σ_{c_j=k} b_j`` (unit vectors); ``diagonal[k] =
    Σ_{c_i=k} a_i·b_i`` (the self pairs to remove). The similarity of an anchor of cluster ``a`` to a node of
    cluster ``b`` is replaced by the mean pairwise cosine of the two clusters (``b = a``: over the pairs
    ``i ≠ j``). Empty clusters contribute nothing; their rows are 0.

    Args:
        sums_a: ``[K, d]``.
        sums_b: ``[K, d]``.
        counts: ``[K]`` cluster sizes.
        diagonal: ``[K]`` sums of the self-pair similarities.
        scale: Multiplier of the cosine.
        extra_one: Add a constant 1 inside the sum (the authors' zeroed self-similarity).
        column_bias: Optional ``[K]`` log-weight added to every term whose candidate lies in cluster ``b``
            (e.g. CSGCL's Team-up weight, see :func:`meta_node_info_nce`); finite for every cluster.

    Returns:
        ``[K]`` log-sums.
    """
    n = counts.to(sums_a.dtype)
    gram = sums_a @ sums_b.t()
    pair_counts = n.unsqueeze(1) * n.unsqueeze(0)
    eye = torch.eye(len(n), dtype=torch.bool, device=n.device)
    within = (n * (n - 1)).clamp(min=1)
    pair_counts = torch.where(eye, within.unsqueeze(1).expand_as(pair_counts), pair_counts)
    gram = torch.where(eye, torch.diag_embed(gram.diagonal() - diagonal), gram)
    mean_sim = gram / pair_counts.clamp(min=1)
    weight = torch.where(eye, (n - 1).unsqueeze(1).expand_as(pair_counts), n.unsqueeze(0).expand_as(pair_counts))
    logits = scale * mean_sim + torch.log(weight.clamp(min=0))  # log 0 = -inf masks empty blocks
    if column_bias is not None:
        logits = logits + column_bias.to(logits.dtype).unsqueeze(0)
    if extra_one:
        logits = torch.cat([logits, logits.new_zeros(len(n), 1)], 1)
    has_term = torch.isfinite(logits).any(1, keepdim=True)
    logits = torch.where(has_term, logits, torch.zeros_like(logits))
    out = torch.logsumexp(logits, 1)
    return torch.where(has_term.squeeze(1) & (counts > 0), out, torch.zeros_like(out))


def _uniform_negative(summed: Tensor, counts: Tensor, tau: float, self_similarity: str) -> Tensor:
    """The authors' meta-node negative term from the meta-nodes ``summed`` ``[K, d]`` and cluster sizes ``[K]``:
    mean over non-empty meta-nodes of ``log Σ_l e^{τ cos(M_k, M_l)}``."""
    occupied = torch.nonzero(counts > 0).squeeze(1)
    m = F.normalize(summed[occupied], dim=1)
    sim = tau * (m @ m.t())
    eye = torch.eye(len(occupied), dtype=torch.bool, device=summed.device)
    # "zero": exp(0) = 1 stays in every row (authors' (1 - I) mask after the cosine); "exclude": removed.
    sim = sim.masked_fill(eye, 0.0 if self_similarity == "zero" else float("-inf"))
    if len(occupied) < 2 and self_similarity == "exclude":
        return summed.sum() * 0.0  # a single occupied cluster has no negatives
    return torch.logsumexp(sim, 1).mean()


def pamc_loss(
    z: Tensor,
    edge_index: Tensor,
    assignment: Tensor,
    edge_weight: Tensor | None = None,
    *,
    tau: float = 1.0,
    num_clusters: int | None = None,
    weighting: str = "uniform",
    self_similarity: str = "zero",
    gather_distributed: bool = False,
) -> Tensor:
    """PamC's meta-node contrast (Kulatilleke et al., 2022, arXiv:2209.14067), functional form of :class:`PamCLoss`;
    see the module docstring for the maths, and :class:`PamCLoss` for ``gather_distributed``.

    Args:
        z: Embeddings ``[N, d]``.
        edge_index: Positive pairs ``[2, E]`` (e.g. the influence matrix :math:`\\hat{A}_r`).
        assignment: Cluster labels ``[N]`` or a soft assignment ``[N, K]`` (arg-maxed, detached).
        edge_weight: ``[E]`` positive weights (default: ones).
        tau: Multiplier of the cosine.
        num_clusters: ``K`` (default: the soft assignment's width, or the largest label + 1).
        weighting: ``"uniform"`` (authors) or ``"size"`` (approximates the exact value).
        self_similarity: ``"zero"`` (authors: ``exp(0) = 1`` kept) or ``"exclude"``.
        gather_distributed: In a ``torch.distributed`` run, meta-nodes over the nodes of every rank and this
            rank's share of the loss (see :class:`PamCLoss`); nothing changes in one process. (default: ``False``)

    Returns:
        Scalar loss (this rank's share with ``gather_distributed``).
    """
    from graphcl.train.distributed import sum_over_ranks, world_size

    check_embeddings(z)
    tau = check_tau(tau)
    check_self_similarity(self_similarity)
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
    n = z.size(0)
    world = world_size() if gather_distributed else 1
    if world > 1:
        edge_weight = check_edges(edge_index, edge_weight, n)  # local input errors before any collective
        labels, k = _labels_over_ranks(assignment, n, num_clusters)
    else:
        labels, k = hard_assignment(assignment, n, num_clusters)
        edge_weight = check_edges(edge_index, edge_weight, n)
    labels = labels.to(z.device)
    log_pos, has_positive = positive_log_terms(z, edge_index, edge_weight, tau)
    count = has_positive.sum()
    if world > 1:  # |V+| of all ranks; this rank's share, times W, so that the ranks' mean is the whole loss
        count = sum_over_ranks(count.reshape(1)).squeeze(0)
    count = int(count)
    if count == 0:
        raise ValueError("no node has a positive pair of non-zero weight")
    positive = (log_pos * has_positive.to(z.dtype)).sum() / count * world
    if weighting == "uniform":
        summed, counts = meta_nodes(z, labels, k)
        if world > 1:
            summed, counts = sum_over_ranks(summed), sum_over_ranks(counts)
        return _uniform_negative(summed, counts, tau, self_similarity) - positive
    sums, counts = meta_nodes(F.normalize(z, dim=1), labels, k)
    if world > 1:
        sums, counts = sum_over_ranks(sums), sum_over_ranks(counts)
    log_all = cluster_pair_log_sums(
        sums, sums, counts, counts.to(z.dtype), tau, extra_one=self_similarity == "zero"
    )
    anchors = segment_sum(has_positive.to(z.dtype).unsqueeze(1), labels, k).squeeze(1)
    return (anchors * log_all).sum() / count * world - positive


class PamCLoss(nn.Module):
    """PamC meta-node contrastive loss, linear in the graph size — `Kulatilleke et al., 2022
    <https://arxiv.org/abs/2209.14067>`_.

    .. math::
        \\mathcal{L}_{\\text{uniform}} = -\\frac{1}{|V^+|}\\sum_i \\log \\sum_j \\hat{A}_{ij} e^{\\tau \\tilde{s}_{ij}}
            + \\frac{1}{|\\mathcal{K}|}\\sum_k \\log \\sum_l e^{\\tau \\cos(M_k, M_l)[k \\ne l]}

    (the ``"size"`` form is in the module docstring). Positives are edge-wise over the sparse graph (a scatter
    on the source index, never a dense ``N x N``); negatives are between the ``K`` meta-nodes of a hard,
    detached assignment. Cost ``O(nnz·d + N·d + K²·d)``.

    Args:
        tau: Multiplier of the cosine similarity (authors' convention; default: ``1.0``).
        weighting: ``"uniform"`` — the authors' decoupled averages (positives over nodes, negatives over
            meta-nodes) — or ``"size"`` — cluster-size-weighted, approximating the exact loss's value
            (default: ``"uniform"``).
        self_similarity: ``"zero"`` — the authors' zeroed diagonal, a constant ``exp(0) = 1`` in every
            negative sum — or ``"exclude"`` (default: ``"zero"``).
        num_clusters: ``K`` when the assignment is given as labels (default: inferred).
        gather_distributed: In a ``torch.distributed`` run of ``W`` ranks, rank ``r`` holding nodes
            :math:`V^{(r)}` (their count may differ between ranks, e.g. the subgraphs of graph mini-batches), the
            loss is that of one process over all the ranks' nodes. A gathered form in lightly's sense (this
            rank's anchors against the other ranks' candidates) is ill-defined here: the candidates are the
            meta-nodes, and a meta-node is a sum over *every* node of its cluster. So the meta-nodes are
            summed over the ranks, with gradients (:func:`graphcl.train.distributed.gather_with_grad` of the
            ``[K, d]`` local sums; every rank holds the same :math:`M`), and the positive terms, which involve
            this rank's edges only, are weighted so that the ranks' mean is the whole loss:

            .. math::
                M_k = \\sum_{r} \\sum_{i \\in V^{(r)}: c_i = k} z_i,\\qquad
                \\mathcal{L}_r = -\\frac{W}{|V^+|}\\sum_{i \\in V^{(r)} \\cap V^+} \\log \\mathrm{pos}_i
                    + \\mathcal{L}^-(M),\\qquad
                \\frac{1}{W}\\sum_r \\mathcal{L}_r = \\mathcal{L}_{\\text{one process}}

            with :math:`|V^+|` the nodes with a positive on any rank and :math:`\\mathcal{L}^-` the negative term
            of ``weighting`` (for ``"size"`` the anchors of cluster ``a`` on this rank, times ``W / |V^+|``,
            weight its :math:`\\log \\widehat{\\mathrm{all}}_a` computed from the summed cluster statistics). The
            gradients averaged over the ranks, as ``DistributedDataParallel`` does, are those of the one-process
            loss. ``K`` is ``num_clusters`` or the soft assignment's width (the same on every rank) or the largest
            label of any rank + 1; edges join nodes of the same rank. Outside a process group it changes nothing.
            (default: ``False``)

    Shape:
        - z: ``[N, d]``; edge_index: ``[2, E]``; assignment: ``[N]`` labels or ``[N, K]`` soft assignment;
          edge_weight: ``[E]`` or ``None``. With ``gather_distributed``, this rank's nodes and edges.
        - output: scalar.

    Examples:
        >>> loss_fn = PamCLoss(tau=0.5)
        >>> loss = loss_fn(z, edge_index, q, edge_weight)  # doctest: +SKIP
    """

    def __init__(
        self,
        tau: float = 1.0,
        weighting: str = "uniform",
        self_similarity: str = "zero",
        num_clusters: int | None = None,
        gather_distributed: bool = False,
    ) -> None:
        super().__init__()
        self.tau = check_tau(tau)
        if not isinstance(gather_distributed, bool):
            raise ValueError(f"gather_distributed must be True or False, got {gather_distributed!r}")
        self.gather_distributed = gather_distributed
        if weighting not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
        self.weighting = weighting
        self.self_similarity = check_self_similarity(self_similarity)
        if num_clusters is not None and (isinstance(num_clusters, bool) or not isinstance(num_clusters, int)
                                         or num_clusters < 2):
            raise ValueError(f"num_clusters must be an int >= 2 (or None), got {num_clusters!r}")
        self.num_clusters = num_clusters

    def forward(
        self, z: Tensor, edge_index: Tensor, assignment: Tensor, edge_weight: Tensor | None = None
    ) -> Tensor:
        """Loss of ``z`` ``[N, d]`` with positives ``edge_index`` and meta-nodes from ``assignment``."""
        return pamc_loss(
            z, edge_index, assignment, edge_weight, tau=self.tau, num_clusters=self.num_clusters,
            weighting=self.weighting, self_similarity=self.self_similarity, gather_distributed=self.gather_distributed,
        )

    def extra_repr(self) -> str:
        return (f"tau={self.tau}, weighting={self.weighting!r}, self_similarity={self.self_similarity!r}, "
                f"gather_distributed={self.gather_distributed}")


def cluster_log_mean_exp(values: Tensor, labels: Tensor, num_clusters: int) -> Tensor:
    """``log mean_{c_j = b} exp(values_j)`` per cluster ``[K]`` (stable; 0 for empty clusters)."""
    shift = values.max() if values.numel() else values.new_zeros(())
    sums = segment_sum(torch.exp(values - shift).unsqueeze(1), labels, num_clusters).squeeze(1)
    counts = torch.bincount(labels, minlength=num_clusters).to(values)
    occupied = counts > 0
    out = torch.log(torch.where(occupied, sums / counts.clamp(min=1), torch.ones_like(sums))) + shift
    return torch.where(occupied, out, torch.zeros_like(out))


def meta_node_info_nce(
    z1: Tensor,
    z2: Tensor,
    labels: Tensor,
    tau: float,
    *,
    num_clusters: int | None = None,
    symmetric: bool = True,
    node_bias: Tensor | None = None,
    gather_distributed: bool = False,
) -> Tensor:
    """GRACE's two-view InfoNCE with PamC meta-node negatives (Kulatilleke et al., 2022, arXiv:2209.14067;
    size-weighted, our extension to two views), linear in ``N``.

    Anchor ``u_i`` (cluster ``a``) keeps its exact positive :math:`p_i = \\theta(u_i, v_i)/T`; its inter- and
    intra-view negatives are replaced by cluster blocks with the mean pairwise cosine (see
    :func:`cluster_pair_log_sums`):

    .. math::
        \\ell_i = -p_i + \\log\\Big(e^{p_i} + \\sum_{b} w_{ab}\\, e^{\\bar{\\theta}^{uv}_{ab}/T}
            + \\sum_{b} w_{ab}\\, e^{\\bar{\\theta}^{uu}_{ab}/T}\\Big),\\qquad
        w_{ab} = n_b - [a = b].

    ``O(N d + K² d)``; equals :func:`graphcl.losses.grace_info_nce` for ``K = N`` with the identity
    assignment. Here ``tau`` is GRACE's temperature ``T`` (it divides the cosine).

    ``node_bias`` (CSGCL's Team-up, :class:`~graphcl.losses.TeamUpInfoNCE`: :math:`b_j = \\gamma S_j / T`)
    weights every candidate ``j`` by :math:`e^{b_j}`, as in :func:`~graphcl.losses.grace_info_nce`: the
    positive gets its own :math:`b_i`, a block of cluster ``b`` the cluster's
    :math:`\\bar{b}_b = \\log \\operatorname{mean}_{c_j = b} e^{b_j}` (exact when the bias is constant within a
    cluster, e.g. meta-nodes = CSGCL's communities and ``S`` = community strength):

    .. math::
        \\ell_i = -(p_i + b_i) + \\log\\Big(e^{p_i + b_i}
            + \\sum_{b} w_{ab}\\, e^{\\bar{\\theta}^{uv}_{ab}/T + \\bar{b}_b}
            + \\sum_{b} w_{ab}\\, e^{\\bar{\\theta}^{uu}_{ab}/T + \\bar{b}_b}\\Big).

    Args:
        z1: First view ``[N, d]``.
        z2: Second view ``[N, d]``.
        labels: ``[N]`` cluster of every node (shared by both views).
        tau: Temperature ``T > 0``.
        num_clusters: ``K`` (default: largest label + 1).
        symmetric: Average both anchor views.
        node_bias: Optional ``[N]`` log-weight of every node as a candidate (no gradient flows into it).
        gather_distributed: In a ``torch.distributed`` run of ``W`` ranks with ``n`` rows each, contrast this
            rank's anchors with the candidates of every rank. The candidates are cluster blocks, whose statistics
            (sums :math:`U_b, V_b`, sizes :math:`n_b`, self pairs, :math:`\\bar{b}_b`) are sums over all the
            nodes of a cluster — a per-rank block would be a different loss, so the meta-nodes are made from the
            rows of every rank: the ``Wn`` rows of both views are gathered with gradients
            (:func:`graphcl.train.distributed.gather_with_grad`, as :func:`~graphcl.losses.gathered_info_nce`
            does), with their labels and ``node_bias``, the blocks are computed over them, and the loss is the
            mean of :math:`\\ell_i` over this rank's anchors:

            .. math::
                \\mathcal{L}_r = \\frac{1}{n}\\sum_{i \\in V^{(r)}} \\ell_i\\big(\\{U_b, V_b, n_b, \\bar{b}_b\\}
                    \\text{ over } V^{(0)} \\cup \\dots \\cup V^{(W-1)}\\big),\\qquad
                \\frac{1}{W}\\sum_r \\mathcal{L}_r = \\mathcal{L}_{\\text{one process}}

            (symmetric: averaged with the ``v`` anchors), gradients averaged over the ranks included. ``labels``
            must number the clusters alike on every rank (one cluster id = one meta-node on all ranks);
            ``K`` is ``num_clusters`` or the largest label of any rank + 1, checked against the ``Wn`` rows.
            Every rank passes the same ``n``. Outside a process group it changes nothing. (default: ``False``)

    Returns:
        Scalar loss (this rank's share with ``gather_distributed``).
    """
    from graphcl.train.distributed import gather_with_grad, rank, world_size

    check_embeddings(z1, "z1")
    check_embeddings(z2, "z2")
    if z1.shape != z2.shape:
        raise ValueError(f"the two views must have the same shape, got {tuple(z1.shape)} and {tuple(z2.shape)}")
    scale = 1.0 / check_tau(tau)
    n = z1.size(0)
    gather = gather_distributed and world_size() > 1
    if gather:
        local, width = _assignment_labels(labels, n, num_clusters)
        given = num_clusters if num_clusters is not None else width if labels.dim() == 2 else None
        all_labels = gather_with_grad(local.to(z1.device))
        labels, k = hard_assignment(all_labels, all_labels.numel(), given)
    else:
        labels, k = hard_assignment(labels, n, num_clusters)
    labels = labels.to(z1.device)
    if node_bias is not None:
        if not isinstance(node_bias, Tensor) or node_bias.shape != (n,) or not bool(torch.isfinite(node_bias).all()):
            shape = tuple(node_bias.shape) if isinstance(node_bias, Tensor) else type(node_bias).__name__
            raise ValueError(f"node_bias must be a finite [N] = [{n}] tensor, got {shape}")
        node_bias = node_bias.detach().to(device=z1.device, dtype=z1.dtype)
    u, v = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
    anchors = None  # this rank's rows of the gathered ones
    if gather:
        u, v = gather_with_grad(u), gather_with_grad(v)
        node_bias = None if node_bias is None else gather_with_grad(node_bias)
        anchors = rank() * n + torch.arange(n, device=z1.device)
    pair = (u * v).sum(1)
    positive = scale * pair
    block_bias = None
    if node_bias is not None:
        positive = positive + node_bias
        block_bias = cluster_log_mean_exp(node_bias, labels, k)
    su, counts = meta_nodes(u, labels, k)
    sv, _ = meta_nodes(v, labels, k)
    self_pairs = segment_sum(pair.unsqueeze(1), labels, k).squeeze(1)
    own = counts.to(u.dtype)

    def anchor_loss(s_anchor: Tensor, s_other: Tensor) -> Tensor:
        inter = cluster_pair_log_sums(s_anchor, s_other, counts, self_pairs, scale, column_bias=block_bias)
        intra = cluster_pair_log_sums(s_anchor, s_anchor, counts, own, scale, column_bias=block_bias)
        if anchors is None:
            negatives, own_positive = torch.logaddexp(inter, intra)[labels], positive
        else:
            negatives, own_positive = torch.logaddexp(inter, intra)[labels[anchors]], positive[anchors]
        return (torch.logaddexp(own_positive, negatives) - own_positive).mean()

    loss = anchor_loss(su, sv)
    if symmetric:
        loss = 0.5 * (loss + anchor_loss(sv, su))
    return loss
