"""MCLRec — `"Meta-optimized Contrastive Learning for Sequential Recommendation"
<https://arxiv.org/abs/2304.07763>`_ (Qin et al., SIGIR 2023), following the authors' code (QinHsiu/MCLRec).

Per batch, two stochastic views ``s̃₁, s̃₂`` (two distinct operators among crop / mask / reorder per sequence)
are drawn once. With the encoder ``f_θ``, the learnable augmenters ``w_φ1, w_φ2``
(:class:`~recsys.nn.LearnableAugmenter`), ``h̃_k = f_θ(s̃_k)`` (unnormalised) and ``z̃_k = w_φk(h̃_k)`` (unit norm):

.. math::
    \\mathcal{L}_{cl1} = \\mathrm{NCE}(\\tilde h_1, \\tilde h_2), \\quad
    \\mathcal{L}_{cl2} = \\mathrm{NCE}(\\tilde h_1, \\tilde z_2) + \\mathrm{NCE}(\\tilde h_2, \\tilde z_1)
                        + \\mathrm{NCE}(\\tilde z_1, \\tilde z_2), \\quad
    R_{sum} = R(\\tilde h_1, \\tilde z_2) + R(\\tilde h_2, \\tilde z_1) + R(\\tilde z_1, \\tilde z_2),

    \\mathcal{L}_\\theta = \\mathcal{L}_{rec} + \\lambda \\mathcal{L}_{cl1} + \\beta(\\mathcal{L}_{cl2} + 0.1 R_{sum}),
    \\qquad
    \\mathcal{L}_\\phi = \\mathcal{L}_{cl2} + 0.1 R_{sum},

NCE = :func:`recsys.losses.nt_xent` (dot product, τ = 1, mean over the ``2N`` rows) and ``R`` =
:class:`recsys.losses.ContrastiveRegularizer` (per-row min/max).

**Schedule** (``joint=False``, :meth:`MCLRec.training_step`, called by :func:`graphcl.train.fit`):
(1) θ-step on ``L_θ`` with φ frozen (``requires_grad`` off; gradients still flow *through* the augmenters to
θ); (2) φ-step on ``L_φ`` recomputed with the updated encoder; (3) θ-step on ``L_θ`` recomputed with the updated
augmenters. The encoder gets two Adam steps per batch and the augmenters one.

Choices recorded (see the spec's list of paper/code differences; the code is followed throughout):

* three θ/φ/θ steps per batch (the paper's Algorithm 1 omits the third);
* ``R`` on the three pairs with per-row min/max (the paper: one pair, global min/max);
* weight of ``R`` 0.1·β in ``L_θ`` and 0.1 (not 0.1·β) in ``L_φ``;
* ``L_φ`` omits ``λ L_cl1``, which has no gradient with respect to φ (the code adds it; it changes nothing).
* Step 2 runs the encoder without building its graph: the code back-propagates into θ there and then discards
  those gradients, so skipping them gives the same updates at a fraction of the cost (the encoder still runs
  in training mode, with fresh dropout masks, as in the code).
* One Adam over θ ∪ φ instead of two: torch's Adam keeps per-parameter state and skips parameters without a
  gradient, and each step here leaves the other group's gradients unset, so the updates equal those of two
  separate Adams with the same learning rate (the code's setting, lr 1e-3, no weight decay).
* The original window and both views go through the encoder as one ``[3B, L]`` batch (independent dropout
  per row, as with three calls).

``joint=True`` is the paper's MCLRec-J: one step per batch on ``L_θ`` over θ ∪ φ.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import Tensor

from graphcl.errors import ConfigError
from recsys.augment import TwoViews, make_operators
from recsys.data.split import SequenceBatch
from recsys.losses import ContrastiveRegularizer, nt_xent
from recsys.models.base import SequentialRecommender
from recsys.nn.augmenter import LearnableAugmenter
from recsys.nn.sasrec import SASRecEncoder


class MCLRec(SequentialRecommender):
    """SASRec + MCLRec's meta-optimised contrastive learning (see the module docstring).

    Args:
        encoder: The backbone ``f_θ``.
        augmentation: The stochastic two-view sampler.
        lmd: λ, weight of ``L_cl1`` (Beauty 0.0, Sports 0.04, Yelp 0.03).
        beta: β, weight of ``L_cl2 + 0.1 R`` in ``L_θ`` (Beauty 0.05, Sports 0.4, Yelp 0.1).
        reg_weight: The 0.1 in front of ``R``; ``0`` disables the regulariser (ablation "w/o R").
        augmenter_widths: Hidden widths of the augmenters (``(32, 16)``).
        tau: NT-Xent temperature (1).
        similarity: ``"dot"`` (code) or ``"cos"``.
        joint: MCLRec-J (one joint step) instead of the θ/φ/θ schedule.
        share_augmenters: One augmenter for both views (ablation E).
    """

    min_batch_size = 2  # NT-Xent needs a negative: the trainer drops a last batch of one sample
    owns_optimizer_step = True  # training_step runs the θ / φ / θ schedule with its own optimiser steps

    def __init__(self, encoder: SASRecEncoder, augmentation: TwoViews, *, lmd: float = 0.0, beta: float = 0.05,
                 reg_weight: float = 0.1, augmenter_widths: Sequence[int] = (32, 16), tau: float = 1.0,
                 similarity: str = "dot", joint: bool = False, share_augmenters: bool = False) -> None:
        super().__init__(encoder)
        for name, value in (("lmd", lmd), ("beta", beta), ("reg_weight", reg_weight)):
            if value < 0:
                raise ConfigError(f"{name} must be >= 0, got {value}")
        self.augmentation = augmentation
        self.lmd, self.beta, self.reg_weight = float(lmd), float(beta), float(reg_weight)
        self.tau, self.similarity, self.joint = tau, similarity, joint
        hidden = encoder.hidden_size
        self.augmenter1 = LearnableAugmenter(hidden, augmenter_widths)
        self.augmenter2 = self.augmenter1 if share_augmenters else LearnableAugmenter(hidden, augmenter_widths)
        self.regularizer = ContrastiveRegularizer(tau, similarity)

    @classmethod
    def build(cls, num_items: int, max_len: int = 50, hidden_size: int = 64, num_layers: int = 2,
              num_heads: int = 2, inner_size: int = 256, hidden_dropout: float = 0.5, attn_dropout: float = 0.5,
              layer_norm_eps: float = 1e-12, padding: str = "right", lmd: float = 0.0, beta: float = 0.05,
              reg_weight: float = 0.1, augmenter_widths: Sequence[int] = (32, 16), tau: float = 1.0,
              similarity: str = "dot", joint: bool = False, share_augmenters: bool = False,
              augmentations: Sequence[str] = ("crop", "mask", "reorder"), crop_keep: float = 0.5,
              mask_ratio: float = 0.5, reorder_ratio: float = 0.8) -> MCLRec:
        """Encoder arguments as :meth:`recsys.models.SASRec.build`; defaults are MCLRec's Beauty values."""
        encoder = cls.encoder_config(num_items, max_len, hidden_size, num_layers, num_heads, inner_size,
                                     hidden_dropout, attn_dropout, layer_norm_eps, padding)
        views = TwoViews(make_operators(augmentations, padding=padding, crop_keep=crop_keep, mask_ratio=mask_ratio,
                                        reorder_ratio=reorder_ratio, num_items=num_items))
        return cls(encoder, views, lmd=lmd, beta=beta, reg_weight=reg_weight, augmenter_widths=tuple(augmenter_widths),
                   tau=tau, similarity=similarity, joint=joint, share_augmenters=share_augmenters)

    # --- parameter groups ---

    def augmenter_parameters(self) -> list[torch.nn.Parameter]:
        """φ = φ1 ∪ φ2 (once each when shared)."""
        return list({id(p): p for m in (self.augmenter1, self.augmenter2) for p in m.parameters()}.values())

    def encoder_parameters(self) -> list[torch.nn.Parameter]:
        """θ: every parameter that is not an augmenter's."""
        phi = {id(p) for p in self.augmenter_parameters()}
        return [p for p in self.parameters() if id(p) not in phi]

    @contextmanager
    def _frozen(self, params: list[torch.nn.Parameter]) -> Iterator[None]:
        flags = [p.requires_grad for p in params]
        for p in params:
            p.requires_grad_(False)
        try:
            yield
        finally:
            for p, flag in zip(params, flags):
                p.requires_grad_(flag)

    # --- objectives ---

    def augment(self, batch: SequenceBatch) -> tuple[tuple[Tensor, Tensor], tuple[Tensor, Tensor]]:
        """The two stochastic views of the batch (drawn once per batch)."""
        return self.augmentation(batch.item_seq, batch.item_seq_len)

    def _encode(self, batch: SequenceBatch, views, with_original: bool = True) -> list[Tensor]:
        (s1, l1), (s2, l2) = views
        seqs = [batch.item_seq, s1, s2] if with_original else [s1, s2]
        lens = [batch.item_seq_len, l1, l2] if with_original else [l1, l2]
        return list(self.encoder(torch.cat(seqs), torch.cat(lens)).chunk(len(seqs)))

    def contrastive_terms(self, h1: Tensor, h2: Tensor, with_cl1: bool = True) -> dict[str, Tensor]:
        """``L_cl1`` (when ``with_cl1``), ``L_cl2`` and ``R_sum`` from the two views' encoder representations."""
        z1, z2 = self.augmenter1(h1), self.augmenter2(h2)
        pairs = ((h1, z2), (h2, z1), (z1, z2))
        out = {"cl2": sum(nt_xent(a, b, self.tau, similarity=self.similarity) for a, b in pairs)}
        if with_cl1:
            out["cl1"] = nt_xent(h1, h2, self.tau, similarity=self.similarity)
        out["reg"] = (sum(self.regularizer(a, b) for a, b in pairs) if self.reg_weight > 0
                      else torch.zeros((), device=h1.device))
        return out

    def encoder_objective(self, batch: SequenceBatch, views) -> dict[str, Tensor]:
        """Weighted parts of ``L_θ``: ``rec``, ``cl1`` (×λ), ``cl2`` (×β), ``reg`` (×0.1β)."""
        h, h1, h2 = self._encode(batch, views)
        terms = self.contrastive_terms(h1, h2, with_cl1=self.lmd > 0)
        parts = {"rec": self.recommendation_loss(h, batch.target), "cl2": self.beta * terms["cl2"]}
        if self.lmd > 0:
            parts["cl1"] = self.lmd * terms["cl1"]
        if self.reg_weight > 0:
            parts["reg"] = self.beta * self.reg_weight * terms["reg"]
        return parts

    def augmenter_objective(self, batch: SequenceBatch, views) -> Tensor:
        """``L_φ = L_cl2 + 0.1 R_sum`` with the encoder's outputs treated as constants."""
        with torch.no_grad():
            h1, h2 = self._encode(batch, views, with_original=False)
        terms = self.contrastive_terms(h1, h2, with_cl1=False)
        return terms["cl2"] + self.reg_weight * terms["reg"]

    def calculate_loss(self, batch: SequenceBatch) -> dict[str, Tensor]:
        """``L_θ`` parts on fresh views (the joint variant's loss; also used for validation of the θ objective)."""
        return self.encoder_objective(batch, self.augment(batch))

    # --- the per-batch schedule (graphcl.train.fit hook) ---

    def training_step(self, batch: SequenceBatch, optimizer: torch.optim.Optimizer) -> dict[str, Tensor]:
        """One batch of MCLRec training: θ-step, φ-step, θ-step (or one joint step with ``joint=True``).

        Returns:
            Detached parts of the last θ objective, ``loss`` (their sum) and ``aug`` (the φ objective).
        """
        views = self.augment(batch)
        if self.joint:
            return self._step(optimizer, self.encoder_objective(batch, views), "joint step")
        phi = self.augmenter_parameters()
        with self._frozen(phi):
            self._step(optimizer, self.encoder_objective(batch, views), "θ-step 1")
        theta = self.encoder_parameters()
        with self._frozen(theta):
            aug = self._step(optimizer, {"aug": self.augmenter_objective(batch, views)}, "φ-step")["aug"]
        with self._frozen(phi):
            parts = self._step(optimizer, self.encoder_objective(batch, views), "θ-step 2")
        parts["aug"] = aug
        return parts

    @staticmethod
    def _step(optimizer: torch.optim.Optimizer, parts: dict[str, Tensor], name: str) -> dict[str, Tensor]:
        optimizer.zero_grad(set_to_none=True)
        total = sum(parts.values())
        if not bool(torch.isfinite(total)):
            bad = {k: float(v) for k, v in parts.items()}
            raise FloatingPointError(f"MCLRec {name}: non-finite loss {bad}")
        total.backward()
        optimizer.step()
        out = {k: v.detach() for k, v in parts.items()}
        out["loss"] = total.detach()
        return out
