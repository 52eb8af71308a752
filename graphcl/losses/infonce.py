"""InfoNCE in the GRACE form — from `"Deep Graph Contrastive Representation Learning"
<https://arxiv.org/abs/2006.04131>`_ (Zhu et al., 2020).

Two views ``u = g(z₁)``, ``v = g(z₂)`` of the same ``N`` nodes. For anchor ``u_i`` the positive is ``v_i``; the
negatives are every other node of the other view (inter-view) and, with ``intra_view_negatives``, every other
node of the same view (intra-view). With ``θ`` the cosine similarity,

.. math::
    \\ell(u_i, v_i) = -\\log
        \\frac{e^{\\theta(u_i, v_i)/\\tau}}
             {e^{\\theta(u_i, v_i)/\\tau} + \\sum_{k \\ne i} e^{\\theta(u_i, v_k)/\\tau}
              + \\sum_{k \\ne i} e^{\\theta(u_i, u_k)/\\tau}},
    \\qquad
    \\mathcal{L} = \\frac{1}{2N} \\sum_{i=1}^N \\big[\\ell(u_i, v_i) + \\ell(v_i, u_i)\\big].

The anchor's similarity to itself is excluded from the denominator (PyGCL re-adds it through a mask bug).
In the symmetric intra-view form this is exactly NT-Xent over the ``2N`` stacked embeddings with the diagonal
removed, which is how it is computed: one streaming log-sum-exp over ``[u; v]`` (see
:func:`graphcl.ops.weighted_logsumexp`), so memory is ``O(chunk_size · N)`` in forward and backward.
"""
from __future__ import annotations

from numbers import Real

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphcl.ops.similarity import (
    DEFAULT_CHUNK_SIZE,
    check_chunk_size,
    check_stabilizer,
    weighted_logsumexp,
)


def check_temperature(tau: float, minimum: float = 0.0) -> float:
    """``τ`` must be a finite real number above ``minimum``; returns it as a ``float``."""
    if isinstance(tau, bool) or not isinstance(tau, Real) or not minimum < float(tau) < float("inf"):
        raise ValueError(f"tau (the temperature) must be a finite number > {minimum}, got {tau!r}")
    return float(tau)


def _validate_views(z1: Tensor, z2: Tensor) -> None:
    if not isinstance(z1, Tensor) or not isinstance(z2, Tensor):
        raise ValueError(f"views must be tensors [N, d], got {type(z1).__name__} and {type(z2).__name__}")
    if z1.dim() != 2 or z2.dim() != 2:
        raise ValueError(f"views must be 2-D [N, d], got shapes {tuple(z1.shape)} and {tuple(z2.shape)}")
    if z1.shape != z2.shape:
        raise ValueError(f"the two views must have the same shape, got {tuple(z1.shape)} and {tuple(z2.shape)}")
    if z1.size(0) < 2:
        raise ValueError("InfoNCE needs at least 2 nodes (one positive and one negative)")


def grace_info_nce(
    z1: Tensor,
    z2: Tensor,
    tau: float,
    *,
    intra_view_negatives: bool = True,
    symmetric: bool = True,
    normalize: bool = True,
    node_bias: Tensor | None = None,
    chunk_size: int | None = DEFAULT_CHUNK_SIZE,
    stabilizer: str = "fixed_shift",
) -> Tensor:
    """GRACE's InfoNCE (Zhu et al., 2020, arXiv:2006.04131), functional form of :class:`InfoNCE`; see the module
    docstring for the maths.

    Args:
        z1: First view ``[N, d]``.
        z2: Second view ``[N, d]``.
        tau: Temperature ``τ > 0``.
        intra_view_negatives: Include same-view negatives (GRACE) or only the other view's (plain InfoNCE).
        symmetric: Average both directions (``u → v`` and ``v → u``) or use ``u`` as the only anchors.
        normalize: Cosine similarity (L2-normalise rows) or raw dot products.
        node_bias: Optional ``[N]`` log-weight ``b_j`` added to every logit whose *candidate* is node ``j``
            (in either view, positive included): candidate ``j`` is weighted by ``exp(b_j)``. This is how CSGCL's
            Team-up objective weights negatives by community strength (``b_j = γ·CS_j/τ``); ``None`` = GRACE.
        chunk_size: Anchor rows per chunk of the streaming log-sum-exp; ``None`` computes the dense matrix with
            plain autograd (the reference path).
        stabilizer: ``"fixed_shift"`` or ``"running_max"``: how the symmetric intra-view log-sum-exp keeps its
            exponentials in range (:func:`graphcl.ops.weighted_logsumexp`); same loss up to rounding, the running
            maximum is the slower reference form. (default: ``"fixed_shift"``)

    Returns:
        Scalar loss (mean over anchors).
    """
    _validate_views(z1, z2)
    tau = check_temperature(tau)
    n = z1.size(0)
    if node_bias is not None and (not isinstance(node_bias, Tensor) or node_bias.shape != (n,)):
        shape = tuple(node_bias.shape) if isinstance(node_bias, Tensor) else type(node_bias).__name__
        raise ValueError(f"node_bias must be a tensor of shape [{n}], got {shape}")
    if normalize:
        z1, z2 = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
    scale = 1.0 / tau
    positive = (z1 * z2).sum(1) * scale
    if node_bias is not None:
        positive = positive + node_bias

    if intra_view_negatives:
        num_anchors = 2 * n if symmetric else n
        keys = torch.cat([z1, z2], 0)
        bias = None if node_bias is None else torch.cat([node_bias, node_bias])
        anchors = keys if symmetric else z1
        exclude = torch.arange(num_anchors, device=z1.device)  # each anchor's own row in `keys`
        weight = anchors.new_full((num_anchors,), 1.0 / num_anchors)
        lse = weighted_logsumexp(
            anchors, keys, scale=scale, bias=bias, exclude=exclude, row_weight=weight, chunk_size=chunk_size,
            stabilizer=stabilizer,
        )
        return lse - positive.mean()

    weight = z1.new_full((n,), 1.0 / n)
    lse = weighted_logsumexp(z1, z2, scale=scale, bias=node_bias, row_weight=weight, chunk_size=chunk_size)
    if symmetric:
        lse_back = weighted_logsumexp(z2, z1, scale=scale, bias=node_bias, row_weight=weight, chunk_size=chunk_size)
        lse = 0.5 * (lse + lse_back)
    return lse - positive.mean()


class InfoNCE(nn.Module):
    """GRACE's contrastive loss — `"Deep Graph Contrastive Representation Learning"
    <https://arxiv.org/abs/2006.04131>`_ (Zhu et al., 2020).

    .. math::
        \\mathcal{L} = \\frac{1}{2N} \\sum_{i=1}^N \\big[\\ell(u_i, v_i) + \\ell(v_i, u_i)\\big],\\quad
        \\ell(u_i, v_i) = -\\log \\frac{e^{\\theta(u_i,v_i)/\\tau}}
            {\\sum_{k} e^{\\theta(u_i,v_k)/\\tau} + \\sum_{k\\ne i} e^{\\theta(u_i,u_k)/\\tau}}

    Positives are index-aligned rows (no dense masks); the anchor's self-similarity is excluded. The full
    ``N x N`` similarity matrix is never built unless ``chunk_size=None``: a streaming log-sum-exp processes
    ``chunk_size`` anchors at a time in both the forward and the backward pass.

    Args:
        tau: Temperature (default: ``0.5``).
        intra_view_negatives: Use same-view negatives as GRACE does (default: ``True``).
        symmetric: Average over both anchor views (default: ``True``).
        normalize: Cosine similarity; ``False`` for raw dot products (default: ``True``).
        chunk_size: Anchors per chunk, or ``None`` for the dense reference computation (default: ``1024``).
        stabilizer: ``"fixed_shift"`` or ``"running_max"`` (the slower reference form of the streaming
            log-sum-exp; :func:`graphcl.ops.weighted_logsumexp`). (default: ``"fixed_shift"``)
        gather_distributed: In a ``torch.distributed`` run, contrast this rank's anchors with the rows of *every*
            rank (gathered with gradients, :func:`graphcl.train.distributed.gather_with_grad`), so ``W`` ranks with
            ``n`` rows each optimise the loss of one process with ``W n`` rows (DDP averages the ranks' losses).
            Needs the symmetric intra-view form. Outside a process group it changes nothing. (default: ``False``)

    Shape:
        - z1, z2: ``[N, d]``, rows aligned (row ``i`` of both is node ``i``); with ``gather_distributed``, this
          rank's rows.
        - output: scalar.

    Examples:
        >>> loss_fn = InfoNCE(tau=0.4)
        >>> z1, z2 = torch.randn(100, 32), torch.randn(100, 32)
        >>> loss = loss_fn(z1, z2)
    """

    def __init__(
        self,
        tau: float = 0.5,
        intra_view_negatives: bool = True,
        symmetric: bool = True,
        normalize: bool = True,
        chunk_size: int | None = DEFAULT_CHUNK_SIZE,
        gather_distributed: bool = False,
        stabilizer: str = "fixed_shift",
    ) -> None:
        super().__init__()
        self.tau = check_temperature(tau, minimum=1e-8)
        check_chunk_size(chunk_size, allow_none=True)
        if gather_distributed and not (intra_view_negatives and symmetric):
            raise ValueError("gather_distributed needs the symmetric intra-view form (intra_view_negatives=True, "
                             "symmetric=True)")
        self.intra_view_negatives = intra_view_negatives
        self.symmetric = symmetric
        self.normalize = normalize
        self.chunk_size = chunk_size
        self.gather_distributed = bool(gather_distributed)
        self.stabilizer = check_stabilizer(stabilizer)

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        """Loss of two aligned views ``[N, d]``."""
        from graphcl.train.distributed import world_size

        if self.gather_distributed and world_size() > 1:
            return gathered_info_nce(z1, z2, self.tau, normalize=self.normalize, chunk_size=self.chunk_size)
        return grace_info_nce(
            z1,
            z2,
            self.tau,
            intra_view_negatives=self.intra_view_negatives,
            symmetric=self.symmetric,
            normalize=self.normalize,
            chunk_size=self.chunk_size,
            stabilizer=self.stabilizer,
        )

    def extra_repr(self) -> str:
        return (
            f"tau={self.tau}, intra_view_negatives={self.intra_view_negatives}, symmetric={self.symmetric}, "
            f"normalize={self.normalize}, chunk_size={self.chunk_size}, gather_distributed={self.gather_distributed}, "
            f"stabilizer={self.stabilizer!r}"
        )


def gathered_info_nce(
    z1: Tensor,
    z2: Tensor,
    tau: float,
    *,
    normalize: bool = True,
    node_bias: Tensor | None = None,
    chunk_size: int | None = DEFAULT_CHUNK_SIZE,
) -> Tensor:
    """This rank's share of the symmetric intra-view InfoNCE (:func:`grace_info_nce`) over the rows of every rank
    of a ``torch.distributed`` run (lightly's ``gather_distributed``).

    With ``W`` ranks of ``n`` rows each, :math:`U = [u^{(0)}; \\dots; u^{(W-1)}]` and ``V`` likewise gathered
    with gradients (:func:`graphcl.train.distributed.gather_with_grad`), the anchors are this rank's rows of
    ``[u; v]``, the candidates the ``2Wn`` rows of ``[U; V]`` minus the anchor itself, and the positive the anchor's
    partner in the other view:

    .. math::
        \\mathcal{L}_r = \\frac{1}{2n} \\sum_{a \\in [u^{(r)}; v^{(r)}]} \\Big[-(\\theta(a, a^+)/\\tau + b_{a^+})
            + \\log \\sum_{c \\in [U; V],\\, c \\ne a} e^{\\theta(a, c)/\\tau + b_c}\\Big],
        \\qquad \\frac{1}{W}\\sum_r \\mathcal{L}_r = \\mathcal{L}_{\\text{one process}}([U; V]).

    The mean of the ranks' losses (and of their gradients, as ``DistributedDataParallel`` averages them: the
    gather's backward sums every rank's gradient of ``[U; V]`` into the owning rank) is the one-process loss of
    :func:`grace_info_nce` on the ``Wn`` rows. Outside a process group ``W = 1`` and it *is* that loss.
    The log-sum-exp streams ``chunk_size`` anchors at a time (:func:`graphcl.ops.weighted_logsumexp`), so memory
    is ``O(chunk_size · Wn)``; the gathered rows themselves are ``O(Wn d)``, which suits mini-batches.

    Args:
        z1: This rank's first view ``[n, d]`` (the same ``n`` on every rank).
        z2: This rank's second view ``[n, d]``.
        tau: Temperature ``τ > 0``.
        normalize: Cosine similarity (L2-normalise rows) or raw dot products. (default: ``True``)
        node_bias: Optional ``[n]`` log-weight :math:`b_j` of this rank's rows as candidates, in either view,
            positive included (CSGCL's Team-up :math:`\\gamma S_j / \\tau`, see
            :class:`~graphcl.losses.TeamUpInfoNCE`); gathered without gradient. (default: ``None``)
        chunk_size: Anchors per chunk of the log-sum-exp; ``None`` = dense. (default: ``1024``)

    Returns:
        Scalar loss of this rank's anchors.

    Raises:
        ValueError: Views of different shapes or fewer than 2 rows, a ``node_bias`` of the wrong shape, or rows
            counts that differ between the ranks.
    """
    from graphcl.train.distributed import gather_with_grad, rank

    _validate_views(z1, z2)
    tau = check_temperature(tau)
    n = z1.size(0)
    if node_bias is not None and (not isinstance(node_bias, Tensor) or node_bias.shape != (n,)):
        shape = tuple(node_bias.shape) if isinstance(node_bias, Tensor) else type(node_bias).__name__
        raise ValueError(f"node_bias must be a tensor of shape [{n}], got {shape}")
    if normalize:
        z1, z2 = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
    u_all, v_all = gather_with_grad(z1), gather_with_grad(z2)
    total = u_all.size(0)
    own = rank() * n + torch.arange(n, device=z1.device)
    scale = 1.0 / tau
    positive = (z1 * z2).sum(1) * scale
    bias = None
    if node_bias is not None:
        node_bias = node_bias.detach().to(device=z1.device, dtype=z1.dtype)
        positive = positive + node_bias
        bias_all = gather_with_grad(node_bias)
        bias = torch.cat([bias_all, bias_all])
    weight = z1.new_full((2 * n,), 1.0 / (2 * n))
    lse = weighted_logsumexp(
        torch.cat([z1, z2], 0), torch.cat([u_all, v_all], 0), scale=scale, bias=bias,
        exclude=torch.cat([own, own + total]), row_weight=weight, chunk_size=chunk_size,
    )
    return lse - positive.mean()
