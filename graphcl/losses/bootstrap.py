"""Bootstrap (BYOL / BGRL) loss: predictions regress onto stop-gradient targets; no negatives.

From Grill et al., `"Bootstrap your own latent" <https://arxiv.org/abs/2006.07733>`_ (NeurIPS 2020) as used on graphs
by BGRL (Thakoor et al., `"Large-Scale Representation Learning on Graphs via Bootstrapping"
<https://arxiv.org/abs/2102.06514>`_, ICLR 2022).
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


class BootstrapLoss(nn.Module):
    """Mean normalised squared error between predictions and (detached) targets, ``2 − 2·cos``.

    .. math::
        \\mathcal{L}(q, y) = \\frac{1}{N}\\sum_{i=1}^N
        \\Big\\| \\frac{q_i}{\\|q_i\\|} - \\frac{\\mathrm{sg}(y_i)}{\\|\\mathrm{sg}(y_i)\\|} \\Big\\|_2^2
        = \\frac{1}{N}\\sum_{i=1}^N \\big(2 - 2\\cos(q_i, y_i)\\big)

    ``sg`` is the stop-gradient: no gradient ever reaches the targets. The loss lies in ``[0, 4]`` and is 0 when
    every prediction points along its target. BGRL symmetrises it over the two views,
    ``½[L(q₁, y₂) + L(q₂, y₁)] = 2 − mean cos(q₁, y₂) − mean cos(q₂, y₁)``.

    Args:
        eps: Floor of the norms in the cosine (``F.cosine_similarity``'s ``eps``). (default: ``1e-8``)

    Shape:
        - predictions: ``[N, D]``.
        - targets: ``[N, D]``.
        - output: scalar.
    """

    def __init__(self, eps: float = 1e-8) -> None:
        super().__init__()
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps > 0:
            raise ValueError(f"eps must be a positive number, got {eps!r}")
        self.eps = float(eps)

    def forward(self, predictions: Tensor, targets: Tensor) -> Tensor:
        """``mean_i (2 − 2 cos(q_i, sg(y_i)))``."""
        if not isinstance(predictions, Tensor) or not isinstance(targets, Tensor):
            raise TypeError("BootstrapLoss expects two tensors")
        if predictions.dim() != 2 or predictions.shape != targets.shape or predictions.size(0) == 0:
            raise ValueError(
                f"BootstrapLoss expects predictions and targets of the same shape [N, D] with N >= 1, got "
                f"{tuple(predictions.shape)} and {tuple(targets.shape)}"
            )
        cos = F.cosine_similarity(predictions, targets.detach(), dim=-1, eps=self.eps)
        return (2.0 - 2.0 * cos).mean()
