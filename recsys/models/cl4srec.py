"""CL4SRec — `"Contrastive Learning for Sequential Recommendation" <https://arxiv.org/abs/2010.14395>`_
(Xie et al., ICDE 2022): SASRec plus NT-Xent between two augmented views of every input window.

.. math::
    \\mathcal{L} = \\mathcal{L}_{rec} + \\lambda\\, \\mathrm{NTXent}(f_\\theta(\\tilde s_1), f_\\theta(\\tilde s_2))

Views come from :class:`recsys.augment.TwoViews` (two distinct operators among crop / mask / reorder per
sequence, resampled every batch). Choices recorded: as in the DuoRec/MCLRec RecBole fork this is the baseline of
the MCLRec paper, the contrastive term uses the raw dot product with ``τ = 1`` on the un-projected
representations, and λ = 0.1.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from recsys.augment import TwoViews, make_operators
from recsys.data.split import SequenceBatch
from recsys.losses import check_contrastive_args, nt_xent
from recsys.models.base import SequentialRecommender
from recsys.nn.sasrec import SASRecEncoder


class CL4SRec(SequentialRecommender):
    """SASRec + λ·NT-Xent over two augmented views.

    Args:
        encoder: The backbone.
        augmentation: The two-view sampler.
        cl_weight: λ.
        tau: Temperature of NT-Xent.
        similarity: ``"dot"`` or ``"cos"``.
    """

    min_batch_size = 2  # NT-Xent needs a negative: the trainer drops a last batch of one sample

    def __init__(self, encoder: SASRecEncoder, augmentation: TwoViews, cl_weight: float = 0.1, tau: float = 1.0,
                 similarity: str = "dot") -> None:
        super().__init__(encoder)
        check_contrastive_args(tau, similarity)
        self.augmentation = augmentation
        self.cl_weight, self.tau, self.similarity = cl_weight, tau, similarity

    @classmethod
    def build(cls, num_items: int, max_len: int = 50, hidden_size: int = 64, num_layers: int = 2,
              num_heads: int = 2, inner_size: int = 256, hidden_dropout: float = 0.5, attn_dropout: float = 0.5,
              layer_norm_eps: float = 1e-12, padding: str = "right", cl_weight: float = 0.1, tau: float = 1.0,
              similarity: str = "dot", augmentations: Sequence[str] = ("crop", "mask", "reorder"),
              crop_keep: float = 0.5, mask_ratio: float = 0.5, reorder_ratio: float = 0.8) -> CL4SRec:
        """Encoder arguments as :meth:`recsys.models.SASRec.build`; augmentation rates of MCLRec's code."""
        encoder = cls.encoder_config(num_items, max_len, hidden_size, num_layers, num_heads, inner_size,
                                     hidden_dropout, attn_dropout, layer_norm_eps, padding)
        views = TwoViews(make_operators(augmentations, padding=padding, crop_keep=crop_keep, mask_ratio=mask_ratio,
                                        reorder_ratio=reorder_ratio, num_items=num_items))
        return cls(encoder, views, cl_weight=cl_weight, tau=tau, similarity=similarity)

    def encode_with_views(self, batch: SequenceBatch) -> tuple[Tensor, Tensor, Tensor]:
        """Representations of the original window and of its two views, from one encoder pass over ``[3B, L]``."""
        (s1, l1), (s2, l2) = self.augmentation(batch.item_seq, batch.item_seq_len)
        h = self.encoder(torch.cat([batch.item_seq, s1, s2]), torch.cat([batch.item_seq_len, l1, l2]))
        return h.chunk(3)

    def calculate_loss(self, batch: SequenceBatch) -> dict[str, Tensor]:
        h, h1, h2 = self.encode_with_views(batch)
        return {
            "rec": self.recommendation_loss(h, batch.target),
            "cl": self.cl_weight * nt_xent(h1, h2, self.tau, similarity=self.similarity),
        }
