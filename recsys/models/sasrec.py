"""SASRec — `"Self-Attentive Sequential Recommendation" <https://arxiv.org/abs/1808.09781>`_ (Kang & McAuley,
ICDM 2018), trained as in RecBole with softmax cross-entropy over all items.

.. math::
    \\mathcal{L}_{rec} = -\\frac{1}{B}\\sum_{b} \\log \\frac{\\exp(h_b^\\top e_{t_b})}{\\sum_{i} \\exp(h_b^\\top e_i)}

where ``h_b`` is the encoder's representation of the input window and ``t_b`` the next item.
"""
from __future__ import annotations

from torch import Tensor

from recsys.data.split import SequenceBatch
from recsys.models.base import SequentialRecommender
from recsys.nn.sasrec import SASRecEncoder


class SASRec(SequentialRecommender):
    """SASRec with CE over all items (no negative sampling). ``calculate_loss`` returns ``L_rec``."""

    @classmethod
    def build(cls, num_items: int, max_len: int = 50, hidden_size: int = 64, num_layers: int = 2,
              num_heads: int = 2, inner_size: int = 256, hidden_dropout: float = 0.5, attn_dropout: float = 0.5,
              layer_norm_eps: float = 1e-12, padding: str = "right") -> SASRec:
        """A SASRec with a fresh :class:`~recsys.nn.SASRecEncoder` (arguments as there; MCLRec's Amazon values)."""
        return cls(cls.encoder_config(num_items, max_len, hidden_size, num_layers, num_heads, inner_size,
                                      hidden_dropout, attn_dropout, layer_norm_eps, padding))

    @classmethod
    def from_encoder(cls, encoder: SASRecEncoder) -> SASRec:
        """Wrap an existing encoder, e.g. one from :func:`recsys.nn.load_recbole_sasrec`."""
        return cls(encoder)

    def calculate_loss(self, batch: SequenceBatch) -> Tensor:
        return self.recommendation_loss(self.embed(batch), batch.target)
