"""Base class of the sequential recommenders: an encoder plus RecBole's method names.

Interface every model implements (and the SRA-CL model reuses)::

    loss = model.calculate_loss(batch)        # Tensor or {part: Tensor}; forward(batch) is the same
    scores = model.predict(batch)             # [B] score of each row's batch.target
    scores = model.full_sort_predict(batch)   # [B, num_items + 1] scores of all items (column 0 = padding)
    h = model.embed(batch)                    # [B, d] sequence representations

``batch`` is a :class:`recsys.data.SequenceBatch` (``item_seq [B, L]``, ``item_seq_len [B]``, ``target [B]``,
``user [B]``). Every model class has a ``build(num_items, **config)`` classmethod that constructs it from a flat
config (the keys of its signature are the YAML keys). What a model offers beyond that is declared on the class and
the pipeline asks for it: :attr:`~SequentialRecommender.min_batch_size`, :meth:`~SequentialRecommender.prepare`
(state computed from the training data before training), :meth:`~SequentialRecommender.run_info`, and the
training hooks of :class:`graphcl.train.hooks.TrainingHooks` (a per-batch optimisation schedule of its own).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import torch.nn.functional as F
from torch import Tensor, nn

from graphcl.train.hooks import TrainingHooks
from recsys.data.split import SequenceBatch
from recsys.nn.sasrec import SASRecEncoder

if TYPE_CHECKING:
    from recsys.data import SequenceDataset
    from recsys.data.split import SequenceSplit


class SequentialRecommender(TrainingHooks, nn.Module):
    """An encoder ``(item_seq, item_seq_len) -> [B, d]`` whose item table also scores the next item.

    Args:
        encoder: The backbone (:class:`~recsys.nn.SASRecEncoder` or anything with the same interface:
            ``forward(item_seq, item_seq_len)``, ``score_all(h)``, ``item_embedding``, ``item_weight``,
            ``num_items``).
    """

    #: Fewest samples a training batch may hold (2 for contrastive losses; the trainer drops a smaller last batch).
    min_batch_size: ClassVar[int] = 1
    #: Options added after runs had been recorded whose default changed what the model does, with the values that
    #: reproduce runs recorded before them (:func:`graphcl.config.previous_defaults`). None so far.
    previous_defaults: ClassVar[Mapping[str, Any]] = {}

    def __init__(self, encoder: SASRecEncoder) -> None:
        super().__init__()
        self.encoder = encoder

    @property
    def num_items(self) -> int:
        return self.encoder.num_items

    @staticmethod
    def encoder_config(num_items: int, max_len: int, hidden_size: int, num_layers: int, num_heads: int,
                       inner_size: int, hidden_dropout: float, attn_dropout: float, layer_norm_eps: float,
                       padding: str) -> SASRecEncoder:
        return SASRecEncoder(num_items, max_len=max_len, hidden_size=hidden_size, num_layers=num_layers,
                             num_heads=num_heads, inner_size=inner_size, hidden_dropout=hidden_dropout,
                             attn_dropout=attn_dropout, layer_norm_eps=layer_norm_eps, padding=padding)

    def prepare(self, dataset: SequenceDataset, split: SequenceSplit) -> Any:
        """Compute what the model needs from the data before training (an index over the training split, a
        semantic neighbour table); called once per training run, after the model is built and before the first
        step. Nothing to prepare by default."""
        return None

    def run_info(self) -> dict[str, Any]:
        """What the results record about how this model ran, per seed, beyond its config (as
        :meth:`graphcl.models.base.GraphModel.run_info`; e.g. SRA-CL's retrieval policy and the measured same-user
        share of its neighbours). Empty by default."""
        return {}

    def forward(self, batch: SequenceBatch) -> Any:
        return self.calculate_loss(batch)

    def recommendation_loss(self, representation: Tensor, target: Tensor) -> Tensor:
        """Softmax cross-entropy over every item (RecBole ``loss_type: CE``; the padding column takes part in
        the softmax, as in RecBole, and is never a target)."""
        return F.cross_entropy(self.encoder.score_all(representation), target)

    def calculate_loss(self, batch: SequenceBatch) -> Tensor | dict[str, Tensor]:
        raise NotImplementedError

    def embed(self, batch: SequenceBatch) -> Tensor:
        """``[B, d]`` sequence representations."""
        return self.encoder(batch.item_seq, batch.item_seq_len)

    def predict(self, batch: SequenceBatch) -> Tensor:
        """``[B]`` scores of ``batch.target``."""
        return (self.embed(batch) * self.encoder.item_embedding(batch.target)).sum(-1)

    def full_sort_predict(self, batch: SequenceBatch) -> Tensor:
        """``[B, num_items + 1]`` scores of every item id (column 0 is padding; the evaluator excludes it)."""
        return self.encoder.score_all(self.embed(batch))
