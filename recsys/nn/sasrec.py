"""SASRec's Transformer encoder, from `"Self-Attentive Sequential Recommendation"
<https://arxiv.org/abs/1808.09781>`_ (Kang & McAuley, ICDM 2018), layer for layer as in RecBole.

**Backbone interface** (what every model and the SRA-CL code build on)::

    encoder = SASRecEncoder(num_items, max_len=50, padding="right")
    h = encoder(item_seq, item_seq_len)          # [B, L] long, [B] long  ->  [B, d] sequence representation
    H = encoder.hidden_states(item_seq)          # [B, L, d] last-layer hidden states
    scores = encoder.score_all(h)                # [B, num_items + 1] dot products with every item (col 0 = PAD)

With ``E`` the item embedding table and ``P`` the learned absolute position embeddings,

.. math::
    X^{(0)} = \\mathrm{Dropout}(\\mathrm{LN}(E[s] + P)), \\qquad
    A = \\mathrm{LN}\\big(X + \\mathrm{Dropout}(W_O\\,\\mathrm{MHA}(X, M))\\big), \\qquad
    X' = \\mathrm{LN}\\big(A + \\mathrm{Dropout}(W_2\\,\\mathrm{GELU}(W_1 A))\\big),

post-LayerNorm (BERT style, eps 1e-12), exact erf-GELU, and the additive mask ``M`` = 0 where the key is a
real item (id > 0) at or before the query position (any position with ``causal=False``, BERT4Rec's
bidirectional encoder), −10000 elsewhere (RecBole's constant, not −∞: a query
whose keys are all masked gets the constant added to every logit, hence the unmasked softmax of ``QKᵀ/√d_h``
over all ``L`` positions, future ones included, instead of NaN, exactly as in RecBole). Attention runs
through ``torch.nn.functional.scaled_dot_product_attention`` with that additive mask, which computes the same
``softmax(QKᵀ/√d_h + M)V`` (attention dropout on the probabilities in training).

Module and parameter names equal RecBole's (``item_embedding``, ``position_embedding``, ``LayerNorm``,
``trm_encoder.layer.<i>.multi_head_attention.{query,key,value,dense,LayerNorm}``,
``trm_encoder.layer.<i>.feed_forward.{dense_1,dense_2,LayerNorm}``), so a RecBole SASRec ``state_dict`` loads
unchanged (:func:`recsys.nn.load_recbole_sasrec`).

Alignment: ``padding="right"`` (RecBole / MCLRec) has items at positions ``0 … len−1`` and reads the
representation at ``len − 1``; ``padding="left"`` (SRA-CL) has the most recent item at ``L − 1`` and reads it
there.

Length buckets (``length_buckets=True``, the default): :meth:`SASRecEncoder.forward` groups the rows of a batch
by length and runs each group on a window cut to a power of two ≥ its longest row (at least 4, at most ``L``),
with the position embeddings of the kept positions. Rows are independent in the encoder and causal attention
never looks at the cut positions, so the representations are the same as on the full ``L``-wide window — on
Beauty 90 % of the 50 positions are padding, and this is most of the speed-up. One RecBole artefact differs
inside the computation: a query position whose keys are **all** padding (a padding position, or a position the
Mask augmentation set to 0 with nothing real before it) gets, in RecBole, a softmax over *every* position of
the window because −10000 is added to all logits; with buckets that softmax runs over the bucket's positions.
Such a row is never read: keys are masked by item id, so no other position attends to it, and the read-out
position always has a real key unless **every** item of the window is masked. Hence the representations equal
RecBole's up to float rounding for mask ratios below 1 (MCLRec's 0.5; tested) and for all evaluation inputs,
and differ only for fully masked windows. ``length_buckets=False`` reproduces RecBole's behaviour bit for bit.

Initialisation as RecBole: Linear and Embedding weights ~ N(0, 0.02) (the padding row included), biases 0,
LayerNorm 1 / 0. ``padding_idx=0`` only stops the *input lookups* from updating row 0; the row is still a
column of :meth:`SASRecEncoder.score_all`, so the softmax cross-entropy over all ``num_items + 1`` columns
trains it (as in RecBole, whose CE also scores the padding row).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphcl.errors import ConfigError

#: RecBole's additive attention-mask value.
MASK_VALUE = -10000.0


class Dropout(nn.Dropout):
    """Inverted dropout whose mask is drawn as ``U(0, 1) ≥ p`` from :func:`torch.rand_like`.

    The same Bernoulli(1 − p) keep mask and ``1 / (1 − p)`` scale as :class:`torch.nn.Dropout` (hence the same
    distribution of outputs), drawn with the vectorised uniform generator: on CPU, ``bernoulli_`` draws each
    element separately and costs about three times as much, which made mask generation a sixth of a SASRec
    training step. Only the random stream differs, so seeded runs are not bitwise those of ``nn.Dropout``.
    The module has no parameters; checkpoints are unaffected. ``uniform = False`` draws the mask as
    :class:`torch.nn.Dropout` does (see :attr:`SASRecEncoder.uniform_dropout`).
    """

    uniform: bool = True

    def forward(self, x: Tensor) -> Tensor:
        return dropout(x, self.p, self.training) if self.uniform else super().forward(x)


def dropout(x: Tensor, p: float, training: bool) -> Tensor:
    """Functional form of :class:`Dropout` (identity when ``not training`` or ``p == 0``)."""
    if not training or p == 0.0:
        return x
    keep = torch.rand_like(x) >= p
    return x * keep.to(x.dtype).mul_(1.0 / (1.0 - p))


def length_buckets(item_seq_len: Tensor, width: int) -> list[tuple[int, Tensor]]:
    """The rows of a batch grouped by window cut: ``[(size, rows)]`` with ``size`` the next power of two ≥ the
    row's length, clamped to ``[4, width]`` (see "Length buckets" in the module docstring)."""
    bucket = torch.exp2(torch.ceil(torch.log2(item_seq_len.clamp(min=1).float()))).long().clamp(4, width)
    return [(size, torch.nonzero(bucket == size).flatten()) for size in torch.unique(bucket).tolist()]


class MultiHeadAttention(nn.Module):
    """Self-attention block: ``LN(x + Dropout(W_O · softmax(QKᵀ/√d_h + M) V))`` (RecBole ``MultiHeadAttention``)."""

    def __init__(self, num_heads: int, hidden_size: int, hidden_dropout: float, attn_dropout: float,
                 layer_norm_eps: float) -> None:
        super().__init__()
        if hidden_size % num_heads:
            raise ConfigError(f"hidden_size {hidden_size} is not a multiple of num_heads {num_heads}")
        self.num_heads = num_heads
        self.attn_dropout = attn_dropout
        self.uniform_dropout = True
        self.query = nn.Linear(hidden_size, hidden_size)
        self.key = nn.Linear(hidden_size, hidden_size)
        self.value = nn.Linear(hidden_size, hidden_size)
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.LayerNorm = nn.LayerNorm(hidden_size, eps=layer_norm_eps)
        self.out_dropout = Dropout(hidden_dropout)

    def context(self, x: Tensor, mask: Tensor, queries: Tensor | None = None) -> Tensor:
        """``softmax(QKᵀ/√d_h + M) V`` with the heads concatenated, ``[B, Q, d]`` (before ``W_O``).

        Args:
            x: ``[B, L, d]`` layer input (keys and values; also the queries when ``queries`` is None).
            mask: Additive ``[B, 1, L, L]`` mask, or ``[B, 1, Q, L]`` matching ``queries``.
            queries: Optional ``[B, Q, d]`` query rows (default: every position of ``x``).

        In training with attention dropout, the product is written out (scores, softmax, :func:`dropout` on
        the probabilities, weighted sum): the same computation as ``scaled_dot_product_attention``, whose CPU
        training path draws its dropout mask with the slower ``bernoulli_`` (used when ``uniform_dropout`` is
        off).
        """
        b, _, d = x.shape
        queries = x if queries is None else queries
        def heads(t: Tensor) -> Tensor:
            return t.view(b, t.size(1), self.num_heads, d // self.num_heads).transpose(1, 2)
        q, k, v = heads(self.query(queries)), heads(self.key(x)), heads(self.value(x))
        if self.training and self.attn_dropout > 0 and self.uniform_dropout:
            scores = torch.matmul(q, k.transpose(-2, -1)).mul_(q.size(-1) ** -0.5) + mask
            context = dropout(scores.softmax(-1), self.attn_dropout, True) @ v
        else:
            context = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                                     dropout_p=self.attn_dropout if self.training else 0.0)
        return context.transpose(1, 2).reshape(b, queries.size(1), d)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """``x``: ``[B, L, d]``; ``mask``: additive ``[B, 1, L, L]``."""
        return self.LayerNorm(self.out_dropout(self.dense(self.context(x, mask))) + x)


class FeedForward(nn.Module):
    """Position-wise ``LN(x + Dropout(W_2 GELU(W_1 x)))`` with exact (erf) GELU (RecBole ``FeedForward``)."""

    def __init__(self, hidden_size: int, inner_size: int, hidden_dropout: float, layer_norm_eps: float) -> None:
        super().__init__()
        self.dense_1 = nn.Linear(hidden_size, inner_size)
        self.dense_2 = nn.Linear(inner_size, hidden_size)
        self.LayerNorm = nn.LayerNorm(hidden_size, eps=layer_norm_eps)
        self.dropout = Dropout(hidden_dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.LayerNorm(self.dropout(self.dense_2(F.gelu(self.dense_1(x)))) + x)


class TransformerLayer(nn.Module):
    """One post-LN Transformer layer: attention block then feed-forward block."""

    def __init__(self, num_heads: int, hidden_size: int, inner_size: int, hidden_dropout: float,
                 attn_dropout: float, layer_norm_eps: float) -> None:
        super().__init__()
        self.multi_head_attention = MultiHeadAttention(num_heads, hidden_size, hidden_dropout, attn_dropout,
                                                       layer_norm_eps)
        self.feed_forward = FeedForward(hidden_size, inner_size, hidden_dropout, layer_norm_eps)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        return self.feed_forward(self.multi_head_attention(x, mask))

    def forward_at(self, x: Tensor, mask: Tensor, index: Tensor) -> Tensor:
        """The layer's output at one position per row, ``[B, d]`` = ``forward(x, mask)[b, index[b]]``.

        Keys and values come from every position as in :meth:`forward`; the query, attention row, output
        projection, residual, LayerNorms and feed-forward block are computed for the ``B`` selected rows only.
        Every operation of the layer is position-wise apart from attention, and dropout masks are independent
        per element, so in training the selected rows have the same distribution as in :meth:`forward`.
        """
        attention = self.multi_head_attention
        rows = index.view(-1, 1, 1)
        picked = x.gather(1, rows.expand(-1, 1, x.size(-1)))                                    # [B, 1, d]
        row_mask = mask.gather(2, rows.view(-1, 1, 1, 1).expand(-1, mask.size(1), 1, mask.size(-1)))
        context = attention.context(x, row_mask, queries=picked).squeeze(1)                      # [B, d]
        a = attention.LayerNorm(attention.out_dropout(attention.dense(context)) + picked.squeeze(1))
        return self.feed_forward(a)


class TransformerEncoder(nn.Module):
    """A stack of :class:`TransformerLayer` (RecBole ``TransformerEncoder``; attribute ``layer``)."""

    def __init__(self, num_layers: int, num_heads: int, hidden_size: int, inner_size: int, hidden_dropout: float,
                 attn_dropout: float, layer_norm_eps: float) -> None:
        super().__init__()
        self.layer = nn.ModuleList(
            TransformerLayer(num_heads, hidden_size, inner_size, hidden_dropout, attn_dropout, layer_norm_eps)
            for _ in range(num_layers)
        )

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        for layer in self.layer:
            x = layer(x, mask)
        return x


class SASRecEncoder(nn.Module):
    """SASRec sequence encoder (see the module docstring for the maths, names and alignments).

    Args:
        num_items: Real items (ids ``1..num_items``; 0 is padding).
        max_len: Window width ``L`` (number of position embeddings). MCLRec 50.
        hidden_size: ``d`` (64).
        num_layers: Transformer layers (2).
        num_heads: Attention heads (2).
        inner_size: Feed-forward width (256).
        hidden_dropout: Dropout on embeddings and block outputs (MCLRec 0.5 on Amazon).
        attn_dropout: Dropout on attention probabilities (MCLRec 0.5 on Amazon).
        layer_norm_eps: LayerNorm epsilon (1e-12, RecBole/BERT).
        padding: ``"right"`` (gather at ``len − 1``) or ``"left"`` (gather at ``L − 1``).
        extra_embeddings: Extra item-table rows after the real items that are never scored (the DuoRec /
            MCLRec fork keeps one for a mask token); lets such checkpoints load unchanged.
        length_buckets: Run :meth:`forward` per length bucket on cut windows (see the module docstring).
        causal: Causal (SASRec, default) or bidirectional (BERT4Rec: every query sees every real item)
            self-attention; keys are masked by item id in both cases, so buckets stay exact.
        readout_only: In :meth:`forward`, compute the last layer at the read-out position only (default);
            ``False`` computes it at every position and reads one (the same distribution, more work).
        uniform_dropout: Draw dropout masks (hidden and attention) as ``U(0, 1) ≥ p`` (:class:`Dropout`, the
            default); ``False`` uses torch's ``bernoulli_`` masks. The same distribution either way.
    """

    def __init__(self, num_items: int, max_len: int = 50, hidden_size: int = 64, num_layers: int = 2,
                 num_heads: int = 2, inner_size: int = 256, hidden_dropout: float = 0.5, attn_dropout: float = 0.5,
                 layer_norm_eps: float = 1e-12, padding: str = "right", extra_embeddings: int = 0,
                 length_buckets: bool = True, causal: bool = True, readout_only: bool = True,
                 uniform_dropout: bool = True) -> None:
        super().__init__()
        for name, value in (("num_items", num_items), ("max_len", max_len), ("hidden_size", hidden_size),
                            ("num_layers", num_layers), ("num_heads", num_heads), ("inner_size", inner_size)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name} must be a positive int, got {value!r}")
        for name, value in (("hidden_dropout", hidden_dropout), ("attn_dropout", attn_dropout)):
            if not 0.0 <= value < 1.0:
                raise ConfigError(f"{name} must lie in [0, 1), got {value!r}")
        if padding not in ("right", "left"):
            raise ConfigError(f"padding must be 'right' or 'left', got {padding!r}")
        self.num_items = num_items
        self.max_len = max_len
        self.hidden_size = hidden_size
        self.padding = padding
        self.length_buckets = length_buckets
        self.readout_only = readout_only
        self.item_embedding = nn.Embedding(num_items + 1 + extra_embeddings, hidden_size, padding_idx=0)
        self.position_embedding = nn.Embedding(max_len, hidden_size)
        self.trm_encoder = TransformerEncoder(num_layers, num_heads, hidden_size, inner_size, hidden_dropout,
                                              attn_dropout, layer_norm_eps)
        self.LayerNorm = nn.LayerNorm(hidden_size, eps=layer_norm_eps)
        self.dropout = Dropout(hidden_dropout)
        self.causal = causal
        allowed = torch.ones(max_len, max_len, dtype=torch.bool)
        self.register_buffer("allowed", allowed.tril() if causal else allowed, persistent=False)
        self.uniform_dropout = uniform_dropout
        self.reset_parameters()

    @property
    def uniform_dropout(self) -> bool:
        """Whether dropout masks are drawn as ``U(0, 1) ≥ p`` (see :class:`Dropout`); settable."""
        return self.dropout.uniform

    @uniform_dropout.setter
    def uniform_dropout(self, value: bool) -> None:
        for module in self.modules():
            if isinstance(module, Dropout):
                module.uniform = bool(value)
            elif isinstance(module, MultiHeadAttention):
                module.uniform_dropout = bool(value)

    @property
    def num_heads(self) -> int:
        return self.trm_encoder.layer[0].multi_head_attention.num_heads

    def reset_parameters(self) -> None:
        """RecBole's ``_init_weights``: N(0, 0.02) weights, zero biases, LayerNorm (1, 0)."""
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)

    def attention_mask(self, item_seq: Tensor, dtype: torch.dtype = torch.float32) -> Tensor:
        """Additive ``[B, 1, L, L]`` mask: 0 where the key is a real item (not after the query when causal),
        −10000 elsewhere."""
        length = item_seq.size(1)
        allowed = (item_seq > 0)[:, None, None, :] & self.allowed[:length, :length]
        return torch.where(allowed, 0.0, MASK_VALUE).to(dtype)

    def _input(self, item_seq: Tensor, position_offset: int) -> tuple[Tensor, Tensor]:
        """First-layer input ``[B, L, d]`` and the additive attention mask of ``item_seq``."""
        if item_seq.dim() != 2:
            raise ValueError(f"item_seq must be [B, L], got shape {tuple(item_seq.shape)}")
        if item_seq.size(1) + position_offset > self.max_len:
            raise ValueError(f"item_seq has {item_seq.size(1)} positions but the encoder has {self.max_len}")
        positions = self.position_embedding.weight[position_offset: position_offset + item_seq.size(1)]
        x = self.dropout(self.LayerNorm(self.item_embedding(item_seq) + positions))
        return x, self.attention_mask(item_seq, x.dtype)

    def hidden_states(self, item_seq: Tensor, position_offset: int = 0) -> Tensor:
        """``[B, L]`` item ids → ``[B, L, d]`` last-layer hidden states.

        ``position_offset``: absolute position of column 0 (a window cut from the left keeps its positions).
        """
        return self.trm_encoder(*self._input(item_seq, position_offset))

    def _readout_index(self, item_seq: Tensor, item_seq_len: Tensor) -> Tensor:
        if self.padding == "left":
            return torch.full_like(item_seq_len, item_seq.size(1) - 1)
        return (item_seq_len - 1).clamp(min=0)

    def gather_last(self, hidden: Tensor, item_seq_len: Tensor) -> Tensor:
        """The representation of each sequence: position ``len − 1`` (right padding) or ``L − 1`` (left)."""
        if self.padding == "left":
            return hidden[:, -1]
        index = (item_seq_len - 1).clamp(min=0)
        return hidden.gather(1, index.view(-1, 1, 1).expand(-1, 1, hidden.size(-1))).squeeze(1)

    def _representation(self, item_seq: Tensor, item_seq_len: Tensor, position_offset: int = 0) -> Tensor:
        """``gather_last(hidden_states(item_seq))``, with the last layer computed at the read-out position only
        (:meth:`TransformerLayer.forward_at`; ``readout_only=False`` runs it at every position). In eval mode the
        values agree up to float rounding; in training the read-out rows have the same distribution (dropout
        masks are per element), and the last layer costs a small fraction of a full one."""
        if not self.readout_only:
            return self.gather_last(self.hidden_states(item_seq, position_offset), item_seq_len)
        x, mask = self._input(item_seq, position_offset)
        *layers, last = self.trm_encoder.layer
        for layer in layers:
            x = layer(x, mask)
        return last.forward_at(x, mask, self._readout_index(item_seq, item_seq_len))

    def forward(self, item_seq: Tensor, item_seq_len: Tensor) -> Tensor:
        """``[B, L]`` item ids and ``[B]`` lengths → ``[B, d]`` sequence representations."""
        if not self.length_buckets:
            return self._representation(item_seq, item_seq_len)
        width = item_seq.size(1)
        groups = length_buckets(item_seq_len, width)
        if len(groups) == 1 and groups[0][0] == width:
            return self._representation(item_seq, item_seq_len)
        outputs, rows = [], []
        for size, index in groups:
            if self.padding == "right":
                outputs.append(self._representation(item_seq[index, :size], item_seq_len[index]))
            else:
                outputs.append(self._representation(item_seq[index, width - size:], item_seq_len[index],
                                                    position_offset=width - size))
            rows.append(index)
        return torch.cat(outputs)[torch.cat(rows).argsort()]

    @property
    def item_weight(self) -> Tensor:
        """``[num_items + 1, d]`` embeddings of the scored ids (padding row 0 included; extra rows dropped)."""
        return self.item_embedding.weight[: self.num_items + 1]

    def score_all(self, representation: Tensor) -> Tensor:
        """``[B, d]`` → ``[B, num_items + 1]`` dot-product scores with every item (column 0 is padding)."""
        return representation @ self.item_weight.t()
