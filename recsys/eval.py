"""Full-ranking evaluation of next-item recommenders: HR@K, NDCG@K, MRR@K under an explicit protocol.

The protocol of MCLRec and SRA-CL (and RecBole's full-sort evaluation): for every user the model scores
**all** items; the padding id 0 is excluded; items the user interacted with before are **not** masked. With
``r`` the 0-based rank of the single target item (the number of items scored strictly higher, see ``ties``)

.. math::
    \\mathrm{HR@K} = \\mathbb{1}[r < K], \\qquad
    \\mathrm{NDCG@K} = \\frac{\\mathbb{1}[r < K]}{\\log_2(r + 2)}, \\qquad
    \\mathrm{MRR@K} = \\frac{\\mathbb{1}[r < K]}{r + 1},

each averaged over users. HR@K is RecBole's ``Recall@K`` with one target. Every result carries its
:class:`RankingProtocol`, whose :meth:`~RankingProtocol.describe` line is printed and stored with it.

Memory: users are processed in chunks of ``chunk_size``. A model that scores as
``full_sort_predict(batch) = score_all(embed(batch))`` (every :class:`~recsys.models.SequentialRecommender`) is
never asked for its ``[chunk, num_items + 1]`` score matrix: blocks of users are scored and ranked while they are
in cache, and for a catalogue of more than ``item_chunk_size`` items the items are chunked too, so that a
block of scores stays within :data:`ITEM_BLOCK_BYTES` whatever the catalogue size (a ``[2048, 10^6]`` float
matrix would be 8 GB). The rank of the target is then accumulated over the item chunks: the items of each chunk
scored above the target (and, for ``ties``, equal to it), the target itself and the masked history excluded — the
same rule as on the whole score row. A score function (or a model with its own ``full_sort_predict``) returns
its whole ``[chunk, num_items + 1]`` matrix: choose ``chunk_size`` for it.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import torch
from torch import Tensor, nn

from graphcl.errors import ConfigError, DataError
from recsys.data.split import SequenceBatch, SequenceSamples

if TYPE_CHECKING:
    from recsys.models.base import SequentialRecommender

Ties = Literal["optimistic", "pessimistic", "average"]
METRICS = ("hr", "ndcg", "mrr")


@dataclass(frozen=True)
class RankingProtocol:
    """How ranking metrics were computed; stored in ``results.json`` and printed with every result.

    Attributes:
        ks: Cut-offs (default 5, 10, 20 as in both papers).
        metrics: Any of ``hr``, ``ndcg``, ``mrr``; names are ``"<metric>@<k>"``.
        mask_history: Exclude the items of the input window (except the target) from the ranking. Both
            papers do **not** (default ``False``).
        ties: ``"optimistic"`` (rank = items scored strictly higher; RecBole's and the papers' rule),
            ``"pessimistic"`` (items scored at least as high) or ``"average"``. With continuous scores ties
            practically never happen.
        chunk_size: Users scored at once.
        item_chunk_size: Items scored at once in a block of users, for catalogues of more than this many items
            (``None``: always the whole catalogue at once). Applies to the factorized models (see the module
            docstring); the ranks equal those of the whole score row. Default 4096 (the perf suite's
            ``recsys-scale`` compares it with whole rows).
        candidates: Free-text description of the ranked candidates (printed by :meth:`describe`; the ranking
            itself always covers every item id ``1..num_items``).
    """

    ks: tuple[int, ...] = (5, 10, 20)
    metrics: tuple[str, ...] = METRICS
    mask_history: bool = False
    ties: Ties = "optimistic"
    chunk_size: int = 2048
    item_chunk_size: int | None = 4096
    candidates: str = field(default="all items (full ranking, no negative sampling), padding id 0 excluded")

    def __post_init__(self) -> None:
        object.__setattr__(self, "ks", tuple(self.ks))
        object.__setattr__(self, "metrics", tuple(self.metrics))
        if not self.ks or any(not isinstance(k, int) or isinstance(k, bool) or k < 1 for k in self.ks):
            raise ConfigError(f"ks must be positive ints, got {self.ks!r}")
        bad = [m for m in self.metrics if m not in METRICS]
        if bad or not self.metrics:
            raise ConfigError(f"metrics must be a non-empty subset of {METRICS}, got {self.metrics!r}")
        if self.ties not in ("optimistic", "pessimistic", "average"):
            raise ConfigError(f"ties must be optimistic, pessimistic or average, got {self.ties!r}")
        if not isinstance(self.chunk_size, int) or self.chunk_size < 1:
            raise ConfigError(f"chunk_size must be a positive int, got {self.chunk_size!r}")
        if self.item_chunk_size is not None and (not isinstance(self.item_chunk_size, int)
                                                 or isinstance(self.item_chunk_size, bool) or self.item_chunk_size < 1):
            raise ConfigError(f"item_chunk_size must be a positive int or None, got {self.item_chunk_size!r}")

    @property
    def names(self) -> list[str]:
        """Metric names in output order: ``hr@5, hr@10, ..., ndcg@5, ..., mrr@20``."""
        return [f"{m}@{k}" for m in self.metrics for k in self.ks]

    def describe(self) -> str:
        return (f"full ranking over {self.candidates}; history "
                f"{'masked' if self.mask_history else 'not masked'}; ties {self.ties}; "
                f"{', '.join(m.upper() for m in self.metrics)} @ {', '.join(map(str, self.ks))}; "
                f"leave-one-out, one target per user")

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ks"], out["metrics"] = list(self.ks), list(self.metrics)
        out["description"] = self.describe()
        return out


@dataclass
class RankingResult:
    """Metric means over users, with the protocol and the split they were computed on."""

    metrics: dict[str, float]
    protocol: RankingProtocol
    split: str
    num_users: int

    def __str__(self) -> str:
        values = " | ".join(f"{name} {100 * value:.2f}" for name, value in self.metrics.items())
        return f"[{self.split}, {self.num_users:,} users, %] {values}\n  protocol: {self.protocol.describe()}"


RANK_BLOCK_BYTES = 16 * 2**20
"""Scores of one block of users ranked at a time (the block stays in the CPU caches)."""

ITEM_BLOCK_BYTES = {"cpu": 4 * 2**20, "cuda": 256 * 2**20}
"""Scores of one block of users × one chunk of items on each device type when the items are chunked (CPU: small
enough for the caches; CUDA: large enough that a few kernels per block keep the device busy)."""


def target_ranks(scores: Tensor, target: Tensor, *, ties: Ties = "optimistic",
                 history: Tensor | None = None) -> Tensor:
    """0-based rank of each row's target among all items, padding column 0 excluded.

    Rows are ranked in blocks of :data:`RANK_BLOCK_BYTES`; ``scores`` is not modified.

    Args:
        scores: ``[B, num_items + 1]`` scores (column 0 is padding and is ignored).
        target: ``[B]`` target ids in ``1..num_items``.
        ties: See :class:`RankingProtocol`.
        history: Optional ``[B, L]`` item ids (0 = padding) to exclude from the ranking, target kept.

    Returns:
        ``[B]`` float ranks (integers unless ``ties="average"``).

    Raises:
        DataError: A target score is NaN (it would rank first: nothing compares greater than NaN).
    """
    ranks = _ranks(scores, target, ties, history)
    _check_target_scores(ranks, target, "scores")
    return ranks


def _ranks(scores: Tensor, target: Tensor, ties: Ties, history: Tensor | None) -> Tensor:
    """:func:`target_ranks` without the NaN check: ranks are NaN where the target score is."""
    rows = _block_rows(scores)
    return torch.cat([
        _block_ranks(scores[start:start + rows], target[start:start + rows], ties,
                     None if history is None else history[start:start + rows], owned=False)
        for start in range(0, scores.size(0), rows)
    ]) if scores.size(0) else scores.new_zeros(0)


def _check_target_scores(ranks: Tensor, target: Tensor, what: str, offset: int = 0) -> None:
    """Raise :class:`DataError` naming the samples whose target score was NaN (their rank is NaN); ``O(B)``."""
    nan = torch.isnan(ranks)
    if bool(nan.any()):
        rows = torch.nonzero(nan).flatten()
        raise DataError(
            f"{what}: the target score of {rows.numel()} of {ranks.numel()} samples is NaN (sample rows "
            f"{(rows[:5] + offset).tolist()}, target items {target.cpu()[rows[:5]].tolist()}); a NaN target "
            f"would rank first and count as a hit"
        )


def _block_rows(scores: Tensor) -> int:
    return max(1, RANK_BLOCK_BYTES // max(1, scores.size(1) * scores.element_size()))


def _block_ranks(scores: Tensor, target: Tensor, ties: Ties, history: Tensor | None, owned: bool) -> Tensor:
    """:func:`target_ranks` of one block; ``owned``: ``scores`` may be overwritten (history masking)."""
    if history is not None:
        scores = scores if owned else scores.clone()
        keep = history != target[:, None]
        scores.scatter_(1, torch.where(keep, history, 0), -math.inf)  # column 0 (padding) too
    target_score = scores.gather(1, target[:, None])
    padding = scores[:, :1]  # excluded: counted below and subtracted (no copy of the block)
    higher = (scores > target_score).sum(1) - (padding > target_score).squeeze(1).long()
    if ties == "optimistic":
        return _nan_where_nan(higher.float(), target_score)
    equal = (scores == target_score).sum(1) - (padding == target_score).squeeze(1).long() - 1
    ranks = (higher + equal).float() if ties == "pessimistic" else higher.float() + equal.float() / 2
    return _nan_where_nan(ranks, target_score)


def _nan_where_nan(ranks: Tensor, target_score: Tensor) -> Tensor:
    """``ranks`` with NaN where the ``[B, 1]`` target score is NaN (``O(B)``, no host synchronisation)."""
    return ranks.masked_fill(torch.isnan(target_score).squeeze(1), math.nan)


def rank_metrics(ranks: Tensor, protocol: RankingProtocol | None = None) -> dict[str, float]:
    """HR / NDCG / MRR at every cut-off from 0-based ranks, averaged over users."""
    protocol = protocol or RankingProtocol()
    ranks = ranks.double()
    out: dict[str, float] = {}
    for metric in protocol.metrics:
        for k in protocol.ks:
            hit = ranks < k
            if metric == "hr":
                value = hit.double()
            elif metric == "ndcg":
                value = hit / torch.log2(ranks + 2)
            else:
                value = hit / (ranks + 1)
            out[f"{metric}@{k}"] = float(value.mean())
    return out


ScoreFn = Callable[[SequenceBatch], Tensor]


@torch.no_grad()
def evaluate_ranking(
    model: nn.Module | ScoreFn,
    samples: SequenceSamples,
    protocol: RankingProtocol | None = None,
    *,
    split: str = "test",
    device: str | torch.device | None = None,
) -> RankingResult:
    """Full-ranking metrics of ``model`` on ``samples`` (one sample per user: the valid or test split).

    Args:
        model: A recommender with ``full_sort_predict(batch) -> [B, num_items + 1]`` (put in eval mode
            here and restored afterwards), or such a function. The item ids are checked against the item table
            of a :class:`~recsys.models.SequentialRecommender` (``model.num_items``).
        samples: :attr:`~recsys.data.split.SequenceSplit.valid` or ``.test``.
        protocol: Defaults to :class:`RankingProtocol` ``()``.
        split: Name recorded in the result.
        device: Where to score; default the model's device.

    Raises:
        DataError: Item ids of ``samples`` exceed the model's item table (``model.num_items``), the scores
            are not ``[B, num_items + 1]`` (``model.num_items`` for a ``SequentialRecommender``, else
            ``samples.num_items``; a matrix without the padding column would silently shift every item by one),
            a target score is NaN (it would rank first), or, when scores are computed as representation × item
            embeddings, either of those is not finite.
    """
    protocol = protocol or RankingProtocol()
    if len(samples) == 0:
        raise DataError(f"cannot evaluate on an empty {split} split")
    predict: ScoreFn = model.full_sort_predict if isinstance(model, nn.Module) else model
    # Imported here: recsys.models imports this module.
    from recsys.models.base import SequentialRecommender

    num_items = model.num_items if isinstance(model, SequentialRecommender) else None
    if num_items is not None:
        largest = samples.max_item()
        if largest > num_items:
            raise DataError(
                f"{split} split holds item id {largest} but the model knows items 1..{num_items} "
                f"(was it trained on a different dataset?)"
            )
    if device is None and isinstance(model, nn.Module):
        device = next((p.device for p in model.parameters()), torch.device("cpu"))
    was_training = isinstance(model, nn.Module) and model.training
    if isinstance(model, nn.Module):
        model.eval()
    factorized = _factorized_scores(model)
    item_chunks = (factorized is not None and protocol.item_chunk_size is not None
                   and protocol.item_chunk_size < factorized[2] - 1)
    item_table: tuple[Tensor, Tensor | None] | None = None
    if factorized is not None:
        _check_item_weights(model, split)
    try:
        ranks = []
        for start in range(0, len(samples), protocol.chunk_size):
            index = torch.arange(start, min(start + protocol.chunk_size, len(samples)))
            batch = SequenceBatch(*(t.to(device) for t in samples[index]))
            history = batch.item_seq if protocol.mask_history else None
            if factorized is None:
                scores = predict(batch)
                _check_scores(scores, batch.target.numel(), (num_items or samples.num_items) + 1, split)
                chunk_ranks = _ranks(scores.float(), batch.target, protocol.ties, history).cpu()
            elif not item_chunks:
                chunk_ranks = _factorized_ranks(*factorized, batch, protocol.ties, history, split).cpu()
            else:
                representation = factorized[0](batch)
                if item_table is None:  # once per evaluation
                    item_table = _item_table(model, representation[:4], split)
                chunk_ranks = _item_chunked_ranks(representation, *item_table, batch.target, protocol.ties,
                                                  history, protocol.item_chunk_size, split).cpu()
            _check_target_scores(chunk_ranks, batch.target, f"{split} split", offset=start)
            ranks.append(chunk_ranks)
    finally:
        if was_training:
            model.train()
    return RankingResult(rank_metrics(torch.cat(ranks), protocol), protocol, split, len(samples))


def _check_scores(scores: Tensor, rows: int, width: int, split: str) -> None:
    if not isinstance(scores, Tensor) or scores.dim() != 2 or tuple(scores.shape) != (rows, width):
        shape = tuple(scores.shape) if isinstance(scores, Tensor) else type(scores).__name__
        raise DataError(
            f"{split} split: the scores have shape {shape}, expected [B, num_items + 1] = [{rows}, {width}] "
            f"(column 0 = padding, column i = item i)"
        )


def _factorized_scores(model: nn.Module | ScoreFn) -> tuple[ScoreFn, Callable[[Tensor], Tensor], int] | None:
    """``(embed, score_all, num_items + 1)`` when ``model.full_sort_predict(batch)`` is ``encoder.score_all(embed(batch))``.

    That is :class:`~recsys.models.base.SequentialRecommender`'s own ``full_sort_predict`` (not overridden); the
    evaluator then scores blocks of users from their representations and ranks each block while it is in
    cache, instead of materialising the ``[chunk, num_items + 1]`` score matrix. Same scores, same ranks.
    """
    from recsys.models.base import SequentialRecommender

    if isinstance(model, SequentialRecommender) and (
        type(model).full_sort_predict is SequentialRecommender.full_sort_predict
    ):
        return model.embed, model.encoder.score_all, model.num_items + 1
    return None


def _check_item_weights(model: SequentialRecommender, split: str) -> None:
    """Once per evaluation: the item embeddings that every factorized score is a dot product with are finite
    (a NaN item row would never rank above a target and pass unnoticed); the padding row is not ranked."""
    weight = model.encoder.item_weight
    if not bool(torch.isfinite(weight[1:]).all()):
        items = torch.nonzero(~torch.isfinite(weight[1:]).all(1)).flatten() + 1
        raise DataError(f"{split} split: the model's item embeddings hold NaN or inf values "
                        f"({items.numel()} of {weight.size(0) - 1} items, e.g. ids {items[:5].tolist()})")


def _factorized_ranks(embed: ScoreFn, score_all: Callable[[Tensor], Tensor], width: int, batch: SequenceBatch,
                      ties: Ties, history: Tensor | None, split: str = "test") -> Tensor:
    """:func:`target_ranks` of ``score_all(embed(batch))`` (``width`` columns), scored and ranked block by block of
    users (ranks NaN where a target score is NaN)."""
    representation = embed(batch)
    rows = max(1, RANK_BLOCK_BYTES // (4 * width))
    out = []
    for start in range(0, representation.size(0), rows):
        stop = start + rows
        scores = score_all(representation[start:stop]).float()
        out.append(_block_ranks(scores, batch.target[start:stop], ties,
                                None if history is None else history[start:stop], owned=True))
    # Checked after the blocks are queued: the caller waits for their ranks anyway, so no extra stall.
    if not bool(torch.isfinite(representation).all()):
        users = torch.nonzero(~torch.isfinite(representation).all(1)).flatten()
        raise DataError(f"{split} split: the sequence representations of {users.numel()} of "
                        f"{representation.size(0)} users hold NaN or inf values (chunk rows {users[:5].tolist()})")
    return torch.cat(out)


@torch.no_grad()
def _item_table(model: SequentialRecommender, probe: Tensor, split: str) -> tuple[Tensor, Tensor | None]:
    """``(W [num_items + 1, d], b [num_items + 1] or None)`` with ``score_all(h) = h Wᵀ + b``, for scoring the
    items chunk by chunk.

    ``W`` is the encoder's ``item_weight`` and ``b = score_all(0)`` (``None`` when it is zero: a plain dot
    product). That affine form is what every shipped encoder's ``score_all`` computes; it is checked on the
    ``probe`` representations (a few rows of the first chunk; non-finite rows are left to the representation
    check) so that another scoring fails here instead of giving other metrics.
    """
    encoder = model.encoder
    weight = encoder.item_weight.detach()
    bias = encoder.score_all(weight.new_zeros(1, weight.size(1))).float().squeeze(0)
    probe = probe[torch.isfinite(probe).all(1)]
    if probe.numel():
        expected = encoder.score_all(probe).float()[:, 1:]  # the padding column is not ranked
        affine = (probe.float() @ weight.float().t() + bias)[:, 1:]
        scale = 1 + float(expected.abs().nan_to_num(0, 0, 0).max()) if expected.numel() else 1.0
        if expected.shape != affine.shape or not torch.allclose(expected, affine, rtol=1e-4, atol=1e-4 * scale,
                                                                equal_nan=True):
            raise DataError(f"{split} split: {type(model).__name__}'s score_all is not h @ item_weight.T + bias, "
                            f"so its items cannot be ranked in chunks; set the protocol's item_chunk_size "
                            f"(eval_item_chunk_size) to None")
    return weight, (bias if bool(bias.any()) else None)


def _target_scores(h: Tensor, weight: Tensor, bias: Tensor | None, target: Tensor, rows: int = 256) -> Tensor:
    """``[B]`` scores ``h_b · w_{target_b} + bias_{target_b}``, each as an entry of a matrix product (as the chunks'
    scores are computed), in blocks of ``rows`` (a ``[rows, rows]`` product each)."""
    out = torch.cat([(h[i:i + rows] @ weight[target[i:i + rows]].float().t()).diagonal()
                     for i in range(0, h.size(0), rows)])
    return out if bias is None else out + bias[target]


def _item_chunked_ranks(representation: Tensor, weight: Tensor, bias: Tensor | None, target: Tensor, ties: Ties,
                        history: Tensor | None, item_chunk_size: int, split: str = "test") -> Tensor:
    """Ranks of ``representation @ weight.T + bias`` (items ``1..num_items``; the padding row 0 is not ranked),
    scored ``item_chunk_size`` items at a time for blocks of users whose score block fits
    :data:`ITEM_BLOCK_BYTES`.

    Per block of users the target's score ``t`` is computed first; each item chunk then adds the items scored
    above ``t`` (and equal to it) to the counts, history items set to ``-inf`` when ``history`` is given. The
    target's own column is taken out of the counts explicitly, so the rule is exactly that of
    :func:`target_ranks` on the whole row (a score may differ from the whole-row matrix product in the last bit,
    as the product's blocking differs; with exact arithmetic the ranks are identical).
    """
    num_rows = weight.size(0)  # num_items + 1
    chunk = min(item_chunk_size, num_rows - 1)
    budget = ITEM_BLOCK_BYTES.get(representation.device.type, ITEM_BLOCK_BYTES["cpu"])
    rows = max(1, budget // (4 * chunk))
    out = []
    for start in range(0, representation.size(0), rows):
        h = representation[start:start + rows].float()
        tgt = target[start:start + rows]
        t = _target_scores(h, weight, bias, tgt)
        hist = None if history is None else history[start:start + rows]
        higher = torch.zeros(h.size(0), dtype=torch.long, device=h.device)
        equal = torch.zeros_like(higher) if ties != "optimistic" else None
        for lo in range(1, num_rows, chunk):
            hi = min(lo + chunk, num_rows)
            scores = h @ weight[lo:hi].float().t()
            if bias is not None:
                scores += bias[lo:hi]
            inside = (tgt >= lo) & (tgt < hi)
            if hist is not None:
                masked = (hist >= lo) & (hist < hi) & (hist != tgt[:, None])
                flags = torch.zeros(h.size(0), hi - lo + 1, dtype=torch.bool, device=h.device)
                flags.scatter_(1, torch.where(masked, hist - lo + 1, 0), True)  # column 0: nothing masked
                scores.masked_fill_(flags[:, 1:], -math.inf)
            own = scores.gather(1, torch.where(inside, tgt - lo, 0)[:, None]).squeeze(1)
            higher += (scores > t[:, None]).sum(1) - (inside & (own > t)).long()
            if equal is not None:
                equal += (scores == t[:, None]).sum(1) - (inside & (own == t)).long()
        if ties == "optimistic":
            ranks = higher.float()
        else:
            ranks = (higher + equal).float() if ties == "pessimistic" else higher.float() + equal.float() / 2
        out.append(ranks.masked_fill(torch.isnan(t), math.nan))
    if not bool(torch.isfinite(representation).all()):
        users = torch.nonzero(~torch.isfinite(representation).all(1)).flatten()
        raise DataError(f"{split} split: the sequence representations of {users.numel()} of "
                        f"{representation.size(0)} users hold NaN or inf values (chunk rows {users[:5].tolist()})")
    return torch.cat(out)


def check_metric_names(names: Sequence[str]) -> None:
    """Raise :class:`ConfigError` for names that are not ``<hr|ndcg|mrr>@<k>``."""
    for name in names:
        metric, sep, k = name.partition("@")
        if metric not in METRICS or not sep or not k.isdigit():
            raise ConfigError(f"unknown ranking metric {name!r}; expected e.g. 'mrr@10', 'hr@20', 'ndcg@5'")
