"""DuoRec — `"Contrastive Learning for Representation Degeneration Problem in Sequential Recommendation"
<https://arxiv.org/abs/2110.05730>`_ (Qiu et al., WSDM 2022): SASRec plus a contrastive regulariser whose
positives come from the model (dropout) and from the data (another sequence with the same next item).

With the encoder ``f`` in training mode (independent dropout masks on every pass), a batch of windows ``s`` with
targets ``t``, and ``s⁺`` a training window drawn uniformly among the **other** training samples whose target is
also ``t`` (:class:`SameTargetSampler`):

.. math::
    h = f(s), \\quad h' = f(s), \\quad h_s = f(s^+), \\qquad
    \\mathcal{L} = \\mathcal{L}_{rec}(h) + \\lambda_{sem}\\, \\mathrm{NTXent}(h', h_s)
    \\quad (\\texttt{contrast="us_x"}, \\text{the authors' default}),

``NTXent`` = :func:`recsys.losses.nt_xent` over the ``2B`` rows ``[a; b]``: row ``i``'s positive is its
partner, its negatives the other ``2B − 2`` rows of the batch (in-batch negatives; other rows with the same
target are **not** removed, as in the code), dot product with ``τ = 1``. Other modes of the code:
``"us"``: ``L_rec + λ NTXent(h, h') + λ_sem NTXent(h, h_s)``; ``"un"``: ``L_rec + λ NTXent(h, h')``;
``"su"``: ``L_rec + λ_sem NTXent(h, h_s)``.

The candidate lists come from the training split (:meth:`DuoRec.prepare`, run by the pipeline before
training); a target that occurs once as a training target has no other candidate and the row's own window is
its positive (the code's fallback). Choices recorded: the positive is redrawn for every batch (the code redraws
per epoch), the three passes run as one ``[3B, L]`` encoder batch (independent dropout per row, as with three
calls), and the candidate lists are rebuilt from the split at every run instead of being cached on disk.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from graphcl.errors import ConfigError
from recsys.data.sequences import SequenceDataset
from recsys.data.split import SequenceBatch, SequenceSamples, SequenceSplit
from recsys.losses import check_contrastive_args, nt_xent
from recsys.models.base import SequentialRecommender
from recsys.nn.sasrec import SASRecEncoder

CONTRASTS = ("us_x", "us", "un", "su")


class SameTargetSampler(nn.Module):
    """DuoRec's supervised positives: for each batch row, a uniformly drawn *other* training sample with the
    same target item.

    :meth:`fit` sorts the training samples by ``(target, user)`` once; a draw is then a few tensor look-ups
    per batch. A batch row is recognised as training sample ``j`` when ``j`` has the same target, user, length
    and window (training samples of one user differ in their windows, so this identifies the row's own
    sample); that sample is skipped, so a row never gets itself. Rows that are not training samples draw among
    all samples with their target.

    All state is held in non-persistent buffers: it moves with ``.to(device)`` and stays out of checkpoints
    (it is rebuilt from the data, never loaded).

    Shapes:
        ``forward(batch)`` → ``(item_seq [B, L], item_seq_len [B], has_other [B] bool)``; rows without another
        candidate get their own window and ``has_other`` False.
    """

    def __init__(self) -> None:
        super().__init__()
        for name in ("seq", "length", "order", "key", "start", "count"):
            self.register_buffer(name, None, persistent=False)
        self.num_users = 0
        self.block = 0

    @property
    def fitted(self) -> bool:
        return self.order is not None

    @torch.no_grad()
    def fit(self, samples: SequenceSamples, device: torch.device | str | None = None) -> SameTargetSampler:
        """Index ``samples`` (the training split) by target item, on ``device`` (default: the samples'); returns
        ``self``."""
        device = samples.target.device if device is None else device
        target, user = samples.target.to(device), samples.user.to(device)
        self.num_users = int(user.max()) + 1 if user.numel() else 1
        key = target * self.num_users + user
        self.order = torch.argsort(key, stable=True)
        self.key = key[self.order]
        counts = torch.bincount(target, minlength=samples.num_items + 1)
        self.count = counts
        self.start = torch.cumsum(counts, 0) - counts
        self.seq, self.length = samples.item_seq.to(device), samples.item_seq_len.to(device)
        # Largest group of training samples sharing (target, user): how many rows to compare to find self.
        self.block = int(torch.unique_consecutive(self.key, return_counts=True)[1].max()) if key.numel() else 0
        return self

    def own_position(self, batch: SequenceBatch) -> Tensor:
        """``[B]`` position in the sorted order of each row's own training sample, ``-1`` if it is none."""
        key = batch.target * self.num_users + batch.user
        first = torch.searchsorted(self.key, key)
        last = torch.searchsorted(self.key, key, right=True)
        own = torch.full_like(key, -1)
        for offset in range(self.block):
            position = (first + offset).clamp(max=self.key.numel() - 1)
            sample = self.order[position]
            same = ((first + offset < last) & (own < 0) & (self.length[sample] == batch.item_seq_len)
                    & (self.seq[sample] == batch.item_seq).all(1))
            own = torch.where(same, position, own)
        return own

    @torch.no_grad()
    def draw(self, batch: SequenceBatch) -> Tensor:
        """``[B]`` index into the fitted samples of each row's positive, ``-1`` where the row has no other
        same-target sample."""
        if not self.fitted:
            raise ConfigError("the same-target sampler is not fitted: call fit(split.train) "
                              "(DuoRec.prepare does it)")
        target = batch.target
        own = self.own_position(batch)
        found = own >= 0
        candidates = self.count[target] - found.long()
        draw = (torch.rand(target.shape, device=target.device) * candidates.clamp(min=1)).long()
        position = self.start[target] + draw.clamp(max=(candidates - 1).clamp(min=0))
        position = position + (found & (position >= own)).long()  # skip the row's own sample
        sample = self.order[position.clamp(max=self.order.numel() - 1)]
        return torch.where(candidates > 0, sample, -1)

    def forward(self, batch: SequenceBatch) -> tuple[Tensor, Tensor, Tensor]:
        sample = self.draw(batch)
        has_other = sample >= 0
        sample = sample.clamp(min=0)
        seq = torch.where(has_other[:, None], self.seq[sample], batch.item_seq)
        length = torch.where(has_other, self.length[sample], batch.item_seq_len)
        return seq, length, has_other


class DuoRec(SequentialRecommender):
    """SASRec + DuoRec's contrastive regulariser (see the module docstring).

    Args:
        encoder: The backbone.
        contrast: ``"us_x"`` (default of the authors' scripts), ``"us"``, ``"un"`` or ``"su"``.
        lmd: λ, weight of the unsupervised (dropout-view) term in ``"us"`` / ``"un"`` (0.1).
        lmd_sem: λ_sem, weight of the supervised (same-target) term in ``"us_x"`` / ``"us"`` / ``"su"`` (0.1).
        tau: NT-Xent temperature (1).
        similarity: ``"dot"`` (the code) or ``"cos"``.
    """

    min_batch_size = 2  # NT-Xent needs a negative: the trainer drops a last batch of one sample

    def __init__(self, encoder: SASRecEncoder, *, contrast: str = "us_x", lmd: float = 0.1, lmd_sem: float = 0.1,
                 tau: float = 1.0, similarity: str = "dot") -> None:
        super().__init__(encoder)
        if contrast not in CONTRASTS:
            raise ConfigError(f"contrast must be one of {CONTRASTS}, got {contrast!r}")
        for name, value in (("lmd", lmd), ("lmd_sem", lmd_sem)):
            if value < 0:
                raise ConfigError(f"{name} must be >= 0, got {value}")
        check_contrastive_args(tau, similarity)
        self.contrast, self.lmd, self.lmd_sem = contrast, float(lmd), float(lmd_sem)
        self.tau, self.similarity = tau, similarity
        self.positives = SameTargetSampler()

    @classmethod
    def build(cls, num_items: int, max_len: int = 50, hidden_size: int = 64, num_layers: int = 2,
              num_heads: int = 2, inner_size: int = 256, hidden_dropout: float = 0.5, attn_dropout: float = 0.5,
              layer_norm_eps: float = 1e-12, padding: str = "right", contrast: str = "us_x", lmd: float = 0.1,
              lmd_sem: float = 0.1, tau: float = 1.0, similarity: str = "dot") -> DuoRec:
        """Encoder arguments as :meth:`recsys.models.SASRec.build`; defaults are the DuoRec repository's
        (``DuoRec.yaml`` / ``seq.yaml``: dropout 0.5 / 0.5, λ = λ_sem = 0.1, τ = 1, dot product, ``us_x``)."""
        encoder = cls.encoder_config(num_items, max_len, hidden_size, num_layers, num_heads, inner_size,
                                     hidden_dropout, attn_dropout, layer_norm_eps, padding)
        return cls(encoder, contrast=contrast, lmd=lmd, lmd_sem=lmd_sem, tau=tau, similarity=similarity)

    def prepare(self, dataset: SequenceDataset, split: SequenceSplit) -> SameTargetSampler:
        """Index the training samples by target (the supervised positives' candidate lists)."""
        return self.positives.fit(split.train, device=self.encoder.item_embedding.weight.device)

    def calculate_loss(self, batch: SequenceBatch) -> dict[str, Tensor]:
        seqs, lengths = [batch.item_seq, batch.item_seq], [batch.item_seq_len, batch.item_seq_len]
        supervised = self.contrast != "un"
        if supervised:
            positive, positive_len, _ = self.positives(batch)
            seqs.append(positive)
            lengths.append(positive_len)
        if self.contrast == "su":  # no dropout view: h and h_s only
            del seqs[1], lengths[1]
        h, *views = self.encoder(torch.cat(seqs), torch.cat(lengths)).chunk(len(seqs))
        loss = {"rec": self.recommendation_loss(h, batch.target)}
        if self.contrast == "us_x":
            loss["cl_sem"] = self.lmd_sem * self._nce(views[0], views[1])
        if self.contrast in ("us", "un"):
            loss["cl"] = self.lmd * self._nce(h, views[0])
        if self.contrast in ("us", "su"):
            loss["cl_sem"] = self.lmd_sem * self._nce(h, views[-1])
        return loss

    def _nce(self, a: Tensor, b: Tensor) -> Tensor:
        return nt_xent(a, b, self.tau, similarity=self.similarity)
