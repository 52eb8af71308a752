"""GRU4Rec sequence encoder — `"Session-based Recommendations with Recurrent Neural Networks"
<https://arxiv.org/abs/1511.06939>`_ (Hidasi et al., ICLR 2016), in RecBole's next-item form.

Same backbone interface as :class:`recsys.nn.SASRecEncoder` (so that SRA-CL's terms plug into it unchanged)::

    h = encoder(item_seq, item_seq_len)     # [B, L], [B] -> [B, d]
    scores = encoder.score_all(h)           # [B, num_items + 1] (column 0 = padding)

.. math::
    x_t = \\mathrm{Dropout}(E[s_t]), \\qquad g_t = \\mathrm{GRU}(x_t, g_{t-1}), \\qquad h = W g_{\\mathrm{len}}

(RecBole: embedding dropout — its ``dropout_prob`` is 0.3, the default of :class:`recsys.models.GRU4Rec`;
this class keeps 0.25 for SRA-CL's backbone — a GRU of ``num_layers`` layers, a dense layer back to the embedding size,
xavier initialisation). Left-padded windows are re-aligned to the left before the GRU (a vectorised
gather), so the recurrence never runs over padding and both paddings give the same representation; rows are
grouped by length bucket (:func:`recsys.nn.sasrec.length_buckets`) and each group runs on its cut window.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from graphcl.errors import ConfigError
from recsys.nn.sasrec import length_buckets


class GRU4RecEncoder(nn.Module):
    """GRU4Rec encoder with the SASRec backbone interface.

    Args:
        num_items: Real items (ids ``1..num_items``; 0 is padding).
        max_len: Window width ``L`` (only checked).
        hidden_size: Embedding / output size ``d`` (64).
        gru_size: GRU state size (128, RecBole's ``hidden_size``).
        num_layers: GRU layers (1).
        dropout: Embedding dropout (0.25).
        padding: ``"right"`` or ``"left"``, as the split produced the windows.
    """

    def __init__(self, num_items: int, max_len: int = 50, hidden_size: int = 64, gru_size: int = 128,
                 num_layers: int = 1, dropout: float = 0.25, padding: str = "right") -> None:
        super().__init__()
        for name, value in (("num_items", num_items), ("max_len", max_len), ("hidden_size", hidden_size),
                            ("gru_size", gru_size), ("num_layers", num_layers)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name} must be a positive int, got {value!r}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout must lie in [0, 1), got {dropout!r}")
        if padding not in ("right", "left"):
            raise ConfigError(f"padding must be 'right' or 'left', got {padding!r}")
        self.num_items, self.max_len, self.hidden_size, self.padding = num_items, max_len, hidden_size, padding
        self.item_embedding = nn.Embedding(num_items + 1, hidden_size, padding_idx=0)
        self.emb_dropout = nn.Dropout(dropout)
        self.gru = nn.GRU(hidden_size, gru_size, num_layers=num_layers, bias=False, batch_first=True)
        self.dense = nn.Linear(gru_size, hidden_size)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """RecBole's GRU4Rec init: xavier-normal embeddings, xavier-uniform GRU weights, PyTorch's default for the
        dense layer. One difference: the padding row 0 is zeroed afterwards (RecBole's xavier init leaves it
        random); it never reaches a read-out state and column 0 is excluded from ranking, but it does enter the
        training softmax of :meth:`score_all`."""
        nn.init.xavier_normal_(self.item_embedding.weight)
        with torch.no_grad():
            self.item_embedding.weight[0].zero_()
        for weight in self.gru.parameters():
            nn.init.xavier_uniform_(weight)
        self.dense.reset_parameters()

    def forward(self, item_seq: Tensor, item_seq_len: Tensor) -> Tensor:
        """``[B, L]`` item ids and ``[B]`` lengths → ``[B, d]``."""
        if item_seq.dim() != 2:
            raise ValueError(f"item_seq must be [B, L], got shape {tuple(item_seq.shape)}")
        length = item_seq.size(1)
        if self.padding == "left":
            # Rotate each row so that its items start at position 0 (padding moves to the end).
            shift = (length - item_seq_len).clamp(min=0)
            index = (torch.arange(length, device=item_seq.device)[None, :] + shift[:, None]) % length
            item_seq = item_seq.gather(1, index)
        last = (item_seq_len - 1).clamp(min=0, max=length - 1)
        groups = length_buckets(last + 1, length)
        if len(groups) == 1:
            return self._last_states(item_seq[:, : groups[0][0]], last)
        # The recurrence is causal: each length bucket runs on the window cut to its width (exact, and on
        # Beauty most rows are far shorter than the 50 positions).
        out = torch.cat([self._last_states(item_seq[rows, :size], last[rows]) for size, rows in groups])
        return out[torch.cat([rows for _, rows in groups]).argsort()]

    def _last_states(self, item_seq: Tensor, last: Tensor) -> Tensor:
        """``dense(g_last)`` of left-aligned windows ``[B, W]`` read at column ``last`` ``[B]``."""
        states, _ = self.gru(self.emb_dropout(self.item_embedding(item_seq)))
        out = states.gather(1, last.view(-1, 1, 1).expand(-1, 1, states.size(-1))).squeeze(1)
        return self.dense(out)

    @property
    def item_weight(self) -> Tensor:
        """``[num_items + 1, d]`` item embeddings (row 0 = padding)."""
        return self.item_embedding.weight

    def score_all(self, representation: Tensor) -> Tensor:
        """``[B, d]`` → ``[B, num_items + 1]`` dot-product scores with every item."""
        return representation @ self.item_weight.t()
