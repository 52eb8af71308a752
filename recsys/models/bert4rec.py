"""BERT4Rec — `"BERT4Rec: Sequential Recommendation with Bidirectional Encoder Representations from Transformer"
<https://arxiv.org/abs/1904.06690>`_ (Sun et al., CIKM 2019): a bidirectional Transformer trained with the
cloze (masked-item) objective, ranking all items at the position of a ``[MASK]`` appended after the history.

Every training sample of the pipeline is a prefix window ``s_1 … s_n`` with its next item ``t``. BERT4Rec
sees the sequence ``x = (s_1, …, s_n, t)`` (``n + 1 ≤ L + 1`` positions) and a random subset ``M`` of its real
positions replaced by the mask token (id ``num_items + 1``, an extra row of the item table); with
``g(h) = \\mathrm{LN}(\\mathrm{GELU}(W h + b))`` the output head, ``E`` the tied item table and ``β`` a
per-item output bias,

.. math::
    \\mathcal{L} = -\\frac{1}{\\sum_b |M_b|} \\sum_b \\sum_{p \\in M_b}
        \\log \\mathrm{softmax}\\big(g(H_{b,p}) E^\\top + \\beta\\big)_{x_{b,p}},

``H`` the last-layer hidden states of the bidirectional encoder. Masking: each real position independently with
probability ``mask_ratio`` (padding never); with probability ``ft_ratio`` a row instead masks only its last
position, the next item ``t`` — exactly the prediction setting; a row whose draw masked nothing masks its
last position (BERT4Rec's code masks at least one item per sequence). At prediction the input is
``(s_1, …, s_n, [MASK])`` and the scores are ``g(H_{n+1}) E^\\top + β`` over all items (full ranking).

The encoder is :class:`recsys.nn.SASRecEncoder` with ``causal=False`` (RecBole's layers; keys masked by item
id only) and ``L + 1`` position embeddings, so the mask slot never displaces a history item.

Choices recorded (RecBole's BERT4Rec is the reference for the pipeline, the authors' code for the head):

* the next item ``t`` is part of the masked sequence (RecBole masks the history only and ignores ``t``, so the
  last training item of a user is never a label) and ``ft_ratio`` masks ``t``, not the last history item;
* ``ft_ratio`` is drawn per row, not per batch;
* all masked positions count (RecBole keeps the last ``int(mask_ratio · L)`` of them);
* ``L + 1`` positions: RecBole's test input appends the mask inside the ``L``-wide window and drops its first
  column, so every test history loses its oldest item; here no item is dropped.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphcl.errors import ConfigError
from recsys.data.split import SequenceBatch
from recsys.models.base import SequentialRecommender
from recsys.nn.sasrec import SASRecEncoder, length_buckets


class BERT4RecEncoder(nn.Module):
    """Bidirectional Transformer with a mask slot after the history and BERT4Rec's output head.

    Backbone interface (see :mod:`recsys.models.base`): ``forward(item_seq, item_seq_len)`` appends
    ``[MASK]`` and returns the head's output there, ``[B, d]``; ``score_all(h)`` adds the output bias.

    Args:
        num_items: Real items (ids ``1..num_items``; 0 is padding, ``num_items + 1`` the mask token).
        max_len: History window ``L`` (the encoder has ``L + 1`` positions).
        hidden_size, num_layers, num_heads, inner_size, hidden_dropout, attn_dropout, layer_norm_eps, padding:
            As :class:`recsys.nn.SASRecEncoder`.
    """

    def __init__(self, num_items: int, max_len: int = 50, hidden_size: int = 64, num_layers: int = 2,
                 num_heads: int = 2, inner_size: int = 256, hidden_dropout: float = 0.2, attn_dropout: float = 0.2,
                 layer_norm_eps: float = 1e-12, padding: str = "right") -> None:
        super().__init__()
        if not isinstance(max_len, int) or isinstance(max_len, bool) or max_len < 1:
            raise ConfigError(f"max_len must be a positive int, got {max_len!r}")
        self.transformer = SASRecEncoder(num_items, max_len=max_len + 1, hidden_size=hidden_size,
                                         num_layers=num_layers, num_heads=num_heads, inner_size=inner_size,
                                         hidden_dropout=hidden_dropout, attn_dropout=attn_dropout,
                                         layer_norm_eps=layer_norm_eps, padding=padding, extra_embeddings=1,
                                         causal=False)
        self.num_items, self.max_len, self.padding = num_items, max_len, padding
        self.hidden_size = hidden_size
        self.mask_token = num_items + 1
        self.output_ffn = nn.Linear(hidden_size, hidden_size)
        self.output_ln = nn.LayerNorm(hidden_size, eps=layer_norm_eps)
        self.output_bias = nn.Parameter(torch.zeros(num_items + 1))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Transformer as RecBole (N(0, 0.02)); head N(0, 0.02) weight, zero bias, LayerNorm (1, 0); bias 0."""
        self.transformer.reset_parameters()
        nn.init.normal_(self.output_ffn.weight, std=0.02)
        nn.init.zeros_(self.output_ffn.bias)
        self.output_ln.reset_parameters()
        nn.init.zeros_(self.output_bias)

    @property
    def item_embedding(self) -> nn.Embedding:
        return self.transformer.item_embedding

    @property
    def item_weight(self) -> Tensor:
        """``[num_items + 1, d]`` embeddings of the scored ids (the mask row dropped)."""
        return self.transformer.item_weight

    def append(self, item_seq: Tensor, item_seq_len: Tensor, last: Tensor) -> tuple[Tensor, Tensor]:
        """``[B, L]`` windows with one more item per row (``last``, ``[B]``) after the history → ``[B, L + 1]``
        and the new lengths (right padding: at position ``len``; left padding: the new last column)."""
        if item_seq.dim() != 2:
            raise ValueError(f"item_seq must be [B, L], got shape {tuple(item_seq.shape)}")
        if self.padding == "left":
            return torch.cat([item_seq, last[:, None]], 1), item_seq_len + 1
        seq = torch.cat([item_seq, item_seq.new_zeros(item_seq.size(0), 1)], 1)
        return seq.scatter(1, item_seq_len[:, None], last[:, None]), item_seq_len + 1

    def last_position(self, seq: Tensor, length: Tensor) -> Tensor:
        """``[B]`` column of the appended slot in ``[B, L + 1]`` windows of the given lengths."""
        return torch.full_like(length, seq.size(1) - 1) if self.padding == "left" else length - 1

    def head(self, hidden: Tensor) -> Tensor:
        """BERT4Rec's output transform ``LN(GELU(W h + b))``."""
        return self.output_ln(F.gelu(self.output_ffn(hidden)))

    def forward(self, item_seq: Tensor, item_seq_len: Tensor) -> Tensor:
        """``[B, L]`` histories → ``[B, d]`` head output at the appended ``[MASK]``."""
        seq, length = self.append(item_seq, item_seq_len, torch.full_like(item_seq_len, self.mask_token))
        return self.head(self.transformer(seq, length))

    def masked_states(self, inputs: Tensor, length: Tensor, masked: Tensor, items: Tensor) -> tuple[Tensor, Tensor]:
        """Head outputs ``[M, d]`` at the ``M`` True entries of ``masked`` and their labels ``items[masked]``
        (``[M]``, in the same order, grouped by row bucket).

        The bidirectional pass runs per length bucket (:func:`recsys.nn.sasrec.length_buckets`) on the window
        cut to the bucket's width: the cut columns are padding, which no key attends to, so the states are those
        of the full ``L + 1`` window (on Beauty most rows are far shorter than 51).
        """
        width = inputs.size(1)
        states, labels = [], []
        for size, rows in length_buckets(length, width):
            cut = slice(0, size) if self.padding == "right" else slice(width - size, width)
            hidden = self.transformer.hidden_states(inputs[rows, cut], position_offset=cut.start)
            where = masked[rows, cut]
            states.append(hidden[where])
            labels.append(items[rows, cut][where])
        return self.head(torch.cat(states)), torch.cat(labels)

    def score_all(self, representation: Tensor) -> Tensor:
        """``[B, d]`` → ``[B, num_items + 1]`` scores ``h Eᵀ + β`` (column 0 is padding)."""
        return representation @ self.item_weight.t() + self.output_bias


class BERT4Rec(SequentialRecommender):
    """BERT4Rec with the cloze objective (see the module docstring). ``calculate_loss`` returns the mean CE over
    the masked positions of the batch.

    Args:
        encoder: The :class:`BERT4RecEncoder`.
        mask_ratio: Probability that a real position is masked (RecBole 0.2; the authors' Beauty script 0.6).
        ft_ratio: Probability that a row masks only its last item, the next-item target (RecBole 0.5).
    """

    def __init__(self, encoder: BERT4RecEncoder, *, mask_ratio: float = 0.2, ft_ratio: float = 0.5) -> None:
        super().__init__(encoder)
        if not 0.0 < mask_ratio <= 1.0:
            raise ConfigError(f"mask_ratio must lie in (0, 1], got {mask_ratio!r}")
        if not 0.0 <= ft_ratio <= 1.0:
            raise ConfigError(f"ft_ratio must lie in [0, 1], got {ft_ratio!r}")
        self.mask_ratio, self.ft_ratio = float(mask_ratio), float(ft_ratio)

    @classmethod
    def build(cls, num_items: int, max_len: int = 50, hidden_size: int = 64, num_layers: int = 2,
              num_heads: int = 2, inner_size: int = 256, hidden_dropout: float = 0.2, attn_dropout: float = 0.2,
              layer_norm_eps: float = 1e-12, padding: str = "right", mask_ratio: float = 0.2,
              ft_ratio: float = 0.5) -> BERT4Rec:
        """Encoder arguments as :class:`BERT4RecEncoder`; defaults are RecBole's ``BERT4Rec.yaml``."""
        encoder = BERT4RecEncoder(num_items, max_len=max_len, hidden_size=hidden_size, num_layers=num_layers,
                                  num_heads=num_heads, inner_size=inner_size, hidden_dropout=hidden_dropout,
                                  attn_dropout=attn_dropout, layer_norm_eps=layer_norm_eps, padding=padding)
        return cls(encoder, mask_ratio=mask_ratio, ft_ratio=ft_ratio)

    def cloze(self, batch: SequenceBatch) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """One random masking of the batch's sequences ``(s_1 … s_n, t)``.

        Returns:
            ``(inputs [B, L + 1], masked [B, L + 1] bool, items [B, L + 1], length [B])``: the masked input,
            where it was masked, the unmasked sequence (the labels at the masked positions) and the lengths.
        """
        encoder = self.encoder
        items, length = encoder.append(batch.item_seq, batch.item_seq_len, batch.target)
        real = items > 0
        masked = (torch.rand(items.shape, device=items.device) < self.mask_ratio) & real
        last = torch.zeros_like(masked).scatter(1, encoder.last_position(items, length)[:, None], True)
        last_only = torch.rand(items.size(0), device=items.device) < self.ft_ratio
        masked = torch.where(last_only[:, None] | ~masked.any(1, keepdim=True), last, masked)
        return items.masked_fill(masked, encoder.mask_token), masked, items, length

    def calculate_loss(self, batch: SequenceBatch) -> Tensor:
        inputs, masked, items, length = self.cloze(batch)
        hidden, labels = self.encoder.masked_states(inputs, length, masked, items)
        return F.cross_entropy(self.encoder.score_all(hidden), labels)

    def predict(self, batch: SequenceBatch) -> Tensor:
        """``[B]`` scores of ``batch.target`` (with the output bias)."""
        return super().predict(batch) + self.encoder.output_bias[batch.target]
