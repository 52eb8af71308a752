"""Semantic item substitution, the intra-sequence augmentation of SRA-CL (Cui et al., 2025).

Every real item of a window is replaced, independently with probability ``p`` (Bernoulli, the reference's
``mlm_probability`` 0.2), by a uniformly random item among its top-``k`` semantic neighbours:

.. math::
    \\tilde s_t = \\begin{cases} n_{s_t, c_t}, & m_t = 1 \\\\ s_t, & m_t = 0 \\end{cases}, \\qquad
    m_t \\sim \\mathrm{Bernoulli}(p), \\quad c_t \\sim \\mathcal{U}\\{1..k_{s_t}\\},

where :math:`k_{s_t}` is the number of neighbours the item has (items without side information have none and
are never substituted; padding is never touched, spec §3.13 (4)). One vectorised pass per batch.
Unlike :class:`recsys.augment.Substitute` (CoSeRec: exactly ``⌊ρ n⌋`` positions, full neighbour tables), the
number of substituted items is random, as in the reference, and neighbour tables may hold ``-1``.
"""
from __future__ import annotations

import torch
from torch import Tensor

from graphcl.errors import ConfigError
from recsys.augment import SequenceAugmentation


class SemanticSubstitute(SequenceAugmentation):
    """Bernoulli(``p``) substitution of items by random semantic neighbours.

    Args:
        neighbours: ``[num_items + 1, k]`` long neighbour table, ``-1`` = no neighbour (filled left to right).
        p: Substitution probability per item.
        padding: Padding side of the windows.
        generator: Optional ``torch.Generator``.
    """

    def __init__(self, neighbours: Tensor, p: float = 0.2, **kwargs) -> None:
        super().__init__(**kwargs)
        if not 0.0 <= p <= 1.0:
            raise ConfigError(f"substitution probability must lie in [0, 1], got {p}")
        if neighbours.dim() != 2 or neighbours.dtype != torch.long:
            raise ConfigError(f"neighbours must be a [num_items + 1, k] long tensor, got {tuple(neighbours.shape)}")
        self.neighbours = neighbours
        self.p = float(p)
        self.counts = (neighbours >= 0).sum(1)

    def __call__(self, item_seq, lengths=None):  # type: ignore[override]
        if lengths is None or not isinstance(item_seq, Tensor):
            return super().__call__(item_seq, lengths)
        # Position-wise and alignment-free: no need to realign.
        return self.apply(item_seq, lengths)

    def apply(self, item_seq: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        table = self.neighbours.to(item_seq.device)
        counts = self.counts.to(item_seq.device)[item_seq]
        draw = torch.rand(item_seq.shape, device=item_seq.device, generator=self.generator)
        chosen = (torch.rand(item_seq.shape, device=item_seq.device, generator=self.generator) < self.p) & (
            item_seq > 0) & (counts > 0)
        column = (draw * counts).long().clamp(max=table.size(1) - 1)
        return torch.where(chosen, table[item_seq, column], item_seq), lengths

    def __repr__(self) -> str:
        return f"SemanticSubstitute(p={self.p}, k={self.neighbours.size(1)})"
