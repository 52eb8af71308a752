"""Full-ranking evaluation of next-item recommenders: HR@K, NDCG@K, MRR@K under an explicit protocol.

The protocol of MCLRec and SRA-CL (and RecBole's full-sort evaluation): for every user the model scores
**all** items; the padding id 0 is excluded; items the user interacted with before are **not** masked. With
``r`` the 0-based rank of the single target item (the number of items scored strictly higher, see ``ties``)

.. math::
    \\mathrm{HR@K} = \\mathbb{1}[r < K], \\qquad
    \\mathrm{NDCG@K} = \\frac{\\mathbb{1}[r < K]}{\\log_2(r + 2)}, \\qquad
    \\mathrm{MRR@K} = \\frac{\\mathbb{1}[r < K]}{r + 1},

each averaged over users. HR@K is RecBole's ``Recall@K`` with one target. Users are processed in chunks, so
memory stays ``O(chunk · num_items)``. Every result carries its :class:`RankingProtocol`, whose
:meth:`~RankingProtocol.describe` line is printed and stored with it.
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
        candidates: Free-text description of the ranked candidates (printed by :meth:`describe`; the ranking
            itself always covers every item id ``1..num_items``).
    """

    ks: tuple[int, ...] = (5, 10, 20)
    metrics: tuple[str, ...] = METRICS
    mask_history: bool = False
    ties: Ties = "optimistic"
    chunk_size: int = 2048
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
        largest = max(int(samples.item_seq.max()), int(samples.target.max()))
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
            else:
                chunk_ranks = _factorized_ranks(*factorized, batch, protocol.ties, history, split).cpu()
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


def check_metric_names(names: Sequence[str]) -> None:
    """Raise :class:`ConfigError` for names that are not ``<hr|ndcg|mrr>@<k>``."""
    for name in names:
        metric, sep, k = name.partition("@")
        if metric not in METRICS or not sep or not k.isdigit():
            raise ConfigError(f"unknown ranking metric {name!r}; expected e.g. 'mrr@10', 'hr@20', 'ndcg@5'")
