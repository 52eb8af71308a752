"""HeCo's co-contrastive loss — from `"Self-supervised Heterogeneous Graph Neural Network with Co-contrastive
Learning" <https://arxiv.org/abs/2105.09111>`_ (Wang et al., KDD 2021).

Two views of the same ``N`` target nodes, projected (``u = p(z^{mp})``, ``v = p(z^{sc})``), are contrasted with
**several positives** per node: ``P_i``, the nodes most connected to ``i`` by meta-paths (HeCo's ``pos.npz``).
With :math:`s_{ij} = \\cos(u_i, v_j) / \\tau`,

.. math::
    \\mathcal{L}^{mp}_i = -\\log\\frac{\\sum_{j \\in P_i} e^{s_{ij}}}{\\sum_{k=1}^N e^{s_{ik}}},\\qquad
    \\mathcal{L}^{sc}_i = -\\log\\frac{\\sum_{j \\in P_i} e^{s_{ji}}}{\\sum_{k=1}^N e^{s_{ki}}},\\qquad
    \\mathcal{L} = \\frac1N\\sum_i \\big[\\lambda\\,\\mathcal{L}^{mp}_i + (1-\\lambda)\\,\\mathcal{L}^{sc}_i\\big].

As in the authors' code, the schema-view direction uses the same positive sets :math:`P_i` (not their transpose;
``pos.npz`` is not symmetric), the denominators run over all ``N`` nodes of the other view (no intra-view
negatives) and :math:`\\lambda` weighs the meta-path-view anchors. The similarities are exponentiated once, shifted by
the constant :math:`1/\\tau` (which cancels; the authors add ``1e-8`` to each denominator instead, a relative
difference below ``1e-8`` here); below :math:`\\tau = 0.025` it switches to log-sum-exp with per-row shifts. A node without positives has an infinite loss, as in the authors' code.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphcl.losses.infonce import check_temperature

__all__ = ["CoContrastiveLoss", "co_contrastive_loss"]

_EXP_RANGE = 80.0  # float32 exp stays normal down to about exp(-87)


def co_contrastive_loss(u: Tensor, v: Tensor, positive_index: Tensor, tau: float, lam: float = 0.5) -> Tensor:
    """HeCo's co-contrastive loss (see the module docstring).

    Args:
        u: ``[N, d]`` projected meta-path-view embeddings.
        v: ``[N, d]`` projected network-schema-view embeddings.
        positive_index: ``[2, P]`` pairs ``(i, j)``: ``j ∈ P_i``.
        tau: Temperature :math:`\\tau`.
        lam: :math:`\\lambda`, the weight of the meta-path-view anchors (``0 <= λ <= 1``). (default: ``0.5``)

    Returns:
        The scalar loss.
    """
    tau = check_temperature(tau)
    if not 0.0 <= float(lam) <= 1.0:
        raise ValueError(f"lam must lie in [0, 1], got {lam!r}")
    if u.dim() != 2 or u.shape != v.shape:
        raise ValueError(f"the two views must be [N, d] of the same shape, got {tuple(u.shape)} and {tuple(v.shape)}")
    if positive_index.dim() != 2 or positive_index.size(0) != 2:
        raise ValueError(f"positive_index must be [2, P], got shape {tuple(positive_index.shape)}")
    n = u.size(0)
    if positive_index.numel() and (int(positive_index.min()) < 0 or int(positive_index.max()) >= n):
        raise ValueError(f"positive_index holds ids outside [0, {n})")
    row, col = positive_index
    u, v = F.normalize(u, dim=1), F.normalize(v, dim=1)
    if 2.0 / tau < _EXP_RANGE:
        # exp(cos / tau - 1 / tau) lies in [exp(-2 / tau), 1]: the constant shift cancels in every ratio and nothing
        # under- or overflows; one [N, N] matrix serves both directions (rows: mp anchors, columns: sc anchors).
        similarity = torch.addmm(u.new_full((1, 1), -1.0 / tau), u, v.t(), alpha=1.0 / tau).exp_()
        # One gather for both directions (its backward fills one [N, N] gradient instead of two).
        gathered = similarity[torch.cat([row, col]), torch.cat([col, row])]
        zeros = similarity.new_zeros(n)
        positive_mp = zeros.index_add(0, row, gathered[: row.numel()])  # sum_{j in P_i} S_ij
        positive_sc = zeros.index_add(0, row, gathered[row.numel():])  # sum_{j in P_i} S_ji
        loss_mp = torch.log(similarity.sum(1)) - torch.log(positive_mp)
        loss_sc = torch.log(similarity.sum(0)) - torch.log(positive_sc)
    else:  # a very small tau: log-sum-exp with per-row / per-column shifts
        logits = u @ v.t() / tau
        loss_mp = torch.logsumexp(logits, 1) - _log_positive_mass(logits[row, col], row, n)
        loss_sc = torch.logsumexp(logits, 0) - _log_positive_mass(logits[col, row], row, n)
    return (float(lam) * loss_mp + (1.0 - float(lam)) * loss_sc).mean()


def _log_positive_mass(values: Tensor, row: Tensor, n: int) -> Tensor:
    """``log Σ exp(values)`` per ``row`` id (``-inf`` for an id without values)."""
    shift = values.new_full((n,), float("-inf")).scatter_reduce(0, row, values.detach(), "amax")
    shift = torch.where(torch.isfinite(shift), shift, torch.zeros_like(shift))
    return torch.log(values.new_zeros(n).index_add(0, row, torch.exp(values - shift[row]))) + shift


class CoContrastiveLoss(nn.Module):
    """HeCo's co-contrastive loss as a module (see :func:`co_contrastive_loss`).

    Memory is ``O(N²)`` (one dense similarity matrix; HeCo's largest target set, AMiner, has 6,564 nodes).

    Args:
        tau: Temperature :math:`\\tau`.
        lam: :math:`\\lambda`, the weight of the meta-path-view anchors. (default: ``0.5``)
    """

    def __init__(self, tau: float, lam: float = 0.5) -> None:
        super().__init__()
        self.tau = check_temperature(tau)
        if isinstance(lam, bool) or not 0.0 <= float(lam) <= 1.0:
            raise ValueError(f"lam must lie in [0, 1], got {lam!r}")
        self.lam = float(lam)

    def forward(self, u: Tensor, v: Tensor, positive_index: Tensor) -> Tensor:
        """``u``, ``v``: ``[N, d]`` projected views; ``positive_index``: ``[2, P]``. Returns the scalar loss."""
        return co_contrastive_loss(u, v, positive_index, self.tau, self.lam)

    def extra_repr(self) -> str:
        return f"tau={self.tau}, lam={self.lam}"

