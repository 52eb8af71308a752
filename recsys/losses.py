"""Contrastive objectives of the sequential recommenders.

* :func:`nt_xent` — the NT-Xent / InfoNCE of CL4SRec and MCLRec. For two batches ``a, b`` of ``N`` rows, stack
  ``z = [a; b]`` and ``S = z zᵀ / τ``; row ``i``'s positive is its partner (``i ↔ i + N``) and its negatives
  are the other ``2N − 2`` rows; the loss is the mean over all ``2N`` rows of the cross-entropy. This is
  exactly GRACE's symmetric InfoNCE with intra-view negatives, so it is computed by
  :class:`graphcl.losses.InfoNCE` (streaming log-sum-exp, no ``2N × 2N`` mask). MCLRec uses the raw dot product
  with ``τ = 1`` (``normalize=False``), i.e. half the paper's two-sided sum of Eq. 8.
* :class:`ContrastiveRegularizer` — MCLRec's regulariser ``R`` (paper Eq. 12), as the authors' code computes it.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from graphcl.errors import ConfigError
from graphcl.losses import InfoNCE
from graphcl.losses.infonce import check_temperature

SIMILARITIES = ("dot", "cos")


def check_contrastive_args(tau: float, similarity: str) -> None:
    """Raise :class:`~graphcl.errors.ConfigError` unless ``tau`` is a finite real number > 0 (the graph losses'
    :func:`~graphcl.losses.infonce.check_temperature`) and ``similarity`` is ``"dot"`` or ``"cos"`` (models call
    it at construction, so a bad config fails before any data is read)."""
    try:
        check_temperature(tau, minimum=0)  # the message then reads "> 0", as before
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    _check_similarity(similarity)


def _check_similarity(similarity: str) -> None:
    if similarity not in SIMILARITIES:
        raise ConfigError(f"similarity must be 'dot' or 'cos', got {similarity!r}")


def nt_xent(a: Tensor, b: Tensor, tau: float = 1.0, *, similarity: str = "dot",
            chunk_size: int | None = None) -> Tensor:
    """NT-Xent over the ``2N`` rows of ``[a; b]`` (see the module docstring).

    Args:
        a, b: ``[N, d]`` paired rows (``N >= 2``).
        tau: Temperature.
        similarity: ``"dot"`` (MCLRec, CL4SRec in the DuoRec fork) or ``"cos"``.
        chunk_size: Anchor rows per chunk of the streaming log-sum-exp, or ``None`` (default) for the dense
            ``2N × 2N`` computation. A recommendation batch's matrix is small (512² logits at batch 256), where
            the dense computation takes about half the time of the streaming one; chunk only for very large
            batches.
    """
    _check_similarity(similarity)
    return InfoNCE(tau=tau, normalize=similarity == "cos", chunk_size=chunk_size)(a, b)


class ContrastiveRegularizer(nn.Module):
    """MCLRec's contrastive regulariser ``R`` — `"Meta-optimized Contrastive Learning for Sequential
    Recommendation" <https://arxiv.org/abs/2304.07763>`_ (Qin et al., SIGIR 2023), Eq. 12, as in the code.

    With ``S = [a; b][a; b]ᵀ / τ`` (``2N × 2N``), row ``i``'s positive logit ``p_i`` (its partner) and negatives
    ``n_ij`` (the other ``2N − 2`` rows), ``m_i = max_j n_ij``, ``o_i^min = min(p_i, m_i)`` and
    ``o_i^max = max(p_i, m_i)``:

    .. math::
        R(a, b) = \\frac{1}{2N} \\sum_i [p_i - o_i^{\\min}]_+
                + \\frac{1}{2N(2N-2)} \\sum_{i,j} [o_i^{\\max} - n_{ij}]_+ .

    Choice recorded: the paper writes global min/max; the authors' code (followed here) uses the per-row values
    above. Minimising ``R`` pulls each positive down to its hardest negative and the negatives up to
    ``max(p_i, m_i)`` — it keeps contrastive pairs from becoming too easy. Gradients flow through ``min`` /
    ``max`` to the selected entries.

    Args:
        tau: Temperature (MCLRec: 1).
        similarity: ``"dot"`` or ``"cos"``.

    Shapes:
        ``a``, ``b``: ``[N, d]`` with ``N >= 2``; output: scalar.
    """

    def __init__(self, tau: float = 1.0, similarity: str = "dot") -> None:
        super().__init__()
        check_contrastive_args(tau, similarity)
        self.tau, self.similarity = float(tau), similarity

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        if a.dim() != 2 or a.shape != b.shape:
            raise ValueError(f"a and b must be equal-shape [N, d], got {tuple(a.shape)} and {tuple(b.shape)}")
        n = a.size(0)
        if n < 2:
            raise ValueError("the regulariser needs N >= 2 pairs (one positive and one negative per row)")
        z = torch.cat([a, b], 0)
        if self.similarity == "cos":
            z = nn.functional.normalize(z, dim=1)
        sim = z @ z.t() / self.tau
        rows = torch.arange(2 * n, device=z.device)
        partner = (rows + n) % (2 * n)
        positive = sim[rows, partner]
        negative_mask = torch.ones_like(sim, dtype=torch.bool)
        negative_mask[rows, rows] = False
        negative_mask[rows, partner] = False
        hardest = sim.masked_fill(~negative_mask, float("-inf")).amax(1)
        low, high = torch.minimum(positive, hardest), torch.maximum(positive, hardest)
        pull_positive = (positive - low).clamp(min=0).mean()
        lift = (high[:, None] - sim).clamp(min=0).masked_fill(~negative_mask, 0.0)
        return pull_positive + lift.sum() / (2 * n * (2 * n - 2))

    def extra_repr(self) -> str:
        return f"tau={self.tau}, similarity={self.similarity!r}"
