"""MCLRec's learnable model augmenter, from `"Meta-optimized Contrastive Learning for Sequential
Recommendation" <https://arxiv.org/abs/2304.07763>`_ (Qin et al., SIGIR 2023), Eq. 7.

.. math::
    \\tilde z = \\frac{w_\\phi(\\tilde h)}{\\lVert w_\\phi(\\tilde h) \\rVert_2}, \\qquad
    w_\\phi = W_3 \\circ \\mathrm{GELU} \\circ W_2 \\circ \\mathrm{GELU} \\circ W_1

with widths ``d → 32 → 16 → d`` (the authors hard-code 64 → 32 → 16 → 64) and exact erf-GELU. Choices
recorded from the authors' code: the output is L2-normalised **without** an epsilon (a zero vector would give
NaN, which :func:`graphcl.train.fit` reports), and the layers keep PyTorch's default Linear initialisation,
not the encoder's N(0, 0.02), because the augmenters live outside the model in the reference trainer.
"""
from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import torch.nn.functional as F
from torch import Tensor, nn


class LearnableAugmenter(nn.Module):
    """MLP ``d → widths… → d`` with GELU between layers and an L2-normalised output.

    Args:
        hidden_size: ``d``, the encoder's representation size (64).
        widths: Hidden widths (``(32, 16)``).

    Shapes:
        input ``[N, d]`` → output ``[N, d]`` with unit rows.
    """

    def __init__(self, hidden_size: int = 64, widths: Sequence[int] = (32, 16)) -> None:
        super().__init__()
        dims = [hidden_size, *widths, hidden_size]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in pairwise(dims))

    def reset_parameters(self) -> None:
        for layer in self.layers:
            layer.reset_parameters()

    def forward(self, h: Tensor) -> Tensor:
        for i, layer in enumerate(self.layers):
            h = layer(h)
            if i < len(self.layers) - 1:
                h = F.gelu(h)
        return h / h.norm(dim=-1, keepdim=True)
