"""Full-ranking evaluation against hand-computed ranks."""
from __future__ import annotations

import math

import pytest
import torch

from graphcl.errors import ConfigError, DataError
from recsys.data import SequenceDataset, leave_one_out
from recsys.eval import RankingProtocol, evaluate_ranking, rank_metrics, target_ranks


def test_ranks_exclude_padding_and_count_strictly_higher():
    scores = torch.tensor([
        [9.0, 0.1, 0.5, 0.3, 0.2],   # target 3: item 2 higher (padding's 9.0 ignored) -> rank 1
        [0.0, 0.4, 0.4, 0.9, 0.1],   # target 2: item 3 higher, item 1 tied -> optimistic 1, pessimistic 2
        [0.0, 0.9, 0.1, 0.2, 0.3],   # target 1 -> rank 0
    ])
    target = torch.tensor([3, 2, 1])
    assert target_ranks(scores, target).tolist() == [1, 1, 0]
    assert target_ranks(scores, target, ties="pessimistic").tolist() == [1, 2, 0]
    assert target_ranks(scores, target, ties="average").tolist() == [1, 1.5, 0]
    # history masking removes item 2 (in the input) from row 0's competitors
    assert target_ranks(scores, target, history=torch.tensor([[2, 0], [0, 0], [0, 0]])).tolist() == [0, 1, 0]


def test_metrics_by_hand():
    ranks = torch.tensor([0.0, 3.0, 7.0, 30.0])
    m = rank_metrics(ranks, RankingProtocol(ks=(5, 10)))
    assert m["hr@5"] == pytest.approx(2 / 4)
    assert m["hr@10"] == pytest.approx(3 / 4)
    assert m["ndcg@5"] == pytest.approx((1 + 1 / math.log2(5)) / 4)
    assert m["ndcg@10"] == pytest.approx((1 + 1 / math.log2(5) + 1 / math.log2(9)) / 4)
    assert m["mrr@5"] == pytest.approx((1 + 1 / 4) / 4)
    assert m["mrr@10"] == pytest.approx((1 + 1 / 4 + 1 / 8) / 4)
    assert list(m) == ["hr@5", "hr@10", "ndcg@5", "ndcg@10", "mrr@5", "mrr@10"]


def test_evaluate_ranking_chunks_and_prints_protocol():
    ds = SequenceDataset.from_sequences([[1, 2, 3, 4], [2, 3, 4, 1], [4, 3, 2, 1], [1, 3, 2, 4]], num_items=5)
    split = leave_one_out(ds, max_len=4)
    fixed = torch.tensor([0.0, 0.1, 0.2, 0.3, 0.4, 0.5])  # item 5 best, then 4, 3, 2, 1

    def score(batch):
        return fixed.expand(batch.item_seq.size(0), -1)

    expected = rank_metrics(torch.tensor([1.0, 4.0, 4.0, 1.0]))  # targets 4, 1, 1, 4
    for chunk in (1, 3, 100):
        result = evaluate_ranking(score, split.test, RankingProtocol(chunk_size=chunk))
        assert result.metrics == pytest.approx(expected)
    text = str(result)
    assert "full ranking" in text and "history not masked" in text and "hr@20" in text


def test_out_of_range_items_and_bad_protocol():
    ds = SequenceDataset.from_sequences([[1, 2, 3, 9]], num_items=9)
    split = leave_one_out(ds)

    class Tiny(torch.nn.Module):
        num_items = 5

        def full_sort_predict(self, batch):
            return torch.zeros(batch.item_seq.size(0), 6)

    with pytest.raises(DataError, match="item id 9 but the model knows items 1..5"):
        evaluate_ranking(Tiny(), split.test)
    with pytest.raises(ConfigError):
        RankingProtocol(ks=(0,))
    with pytest.raises(ConfigError):
        RankingProtocol(metrics=("auc",))
