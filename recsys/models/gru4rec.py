"""GRU4Rec — `"Session-based Recommendations with Recurrent Neural Networks" <https://arxiv.org/abs/1511.06939>`_
(Hidasi et al., ICLR 2016), in RecBole's next-item form: the baseline row of the MCLRec paper's Table 3.

.. math::
    x_t = \\mathrm{Dropout}(E[s_t]), \\quad g_t = \\mathrm{GRU}(x_t, g_{t-1}), \\quad h = W g_{\\mathrm{len}} + b,
    \\qquad
    \\mathcal{L}_{rec} = -\\frac{1}{B}\\sum_b \\log \\frac{\\exp(h_b^\\top e_{t_b})}{\\sum_i \\exp(h_b^\\top e_i)}

with the item table ``E`` shared by the input and the output (tied), softmax cross-entropy over every item
(RecBole ``loss_type: CE``) and one training sample per prefix. The encoder is
:class:`recsys.nn.gru4rec.GRU4RecEncoder` (RecBole's layers: embedding → dropout → bias-free GRU → dense, read
at the last real position). Differences from the original session-based GRU4Rec (session-parallel mini-batches,
TOP1 / BPR losses with in-batch negatives, untied output) are RecBole's, and this is the version the
full-ranking tables use.
"""
from __future__ import annotations

from torch import Tensor

from recsys.data.split import SequenceBatch
from recsys.models.base import SequentialRecommender
from recsys.nn.gru4rec import GRU4RecEncoder


class GRU4Rec(SequentialRecommender):
    """GRU4Rec with CE over all items. ``calculate_loss`` returns ``L_rec``."""

    @classmethod
    def build(cls, num_items: int, max_len: int = 50, hidden_size: int = 64, gru_size: int = 128,
              num_layers: int = 1, dropout: float = 0.3, padding: str = "right") -> GRU4Rec:
        """A GRU4Rec with a fresh encoder.

        Args:
            num_items: Real items (ids ``1..num_items``; 0 is padding).
            max_len: Window width ``L`` (RecBole ``MAX_ITEM_LIST_LENGTH`` 50).
            hidden_size: Item embedding and output size ``d`` (RecBole ``embedding_size`` 64).
            gru_size: GRU state size (RecBole ``hidden_size`` 128).
            num_layers: GRU layers (1).
            dropout: Dropout on the input embeddings (RecBole ``dropout_prob`` 0.3).
            padding: ``"right"`` (RecBole) or ``"left"``.
        """
        return cls(GRU4RecEncoder(num_items, max_len=max_len, hidden_size=hidden_size, gru_size=gru_size,
                                  num_layers=num_layers, dropout=dropout, padding=padding))

    def calculate_loss(self, batch: SequenceBatch) -> Tensor:
        return self.recommendation_loss(self.embed(batch), batch.target)
