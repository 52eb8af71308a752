"""Full-ranking evaluation against hand-computed ranks."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from graphcl.errors import ConfigError, DataError
from recsys.data import SequenceDataset, leave_one_out
from recsys.eval import RankingProtocol, evaluate_ranking, rank_metrics, target_ranks
from recsys.models import SequentialRecommender


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

    class Tiny(SequentialRecommender):
        num_items = 5  # declared: evaluate_ranking checks the item ids against it

        def __init__(self):
            super().__init__(encoder=None)

        def full_sort_predict(self, batch):
            return torch.zeros(batch.item_seq.size(0), 6)

    with pytest.raises(DataError, match="item id 9 but the model knows items 1..5"):
        evaluate_ranking(Tiny(), split.test)
    with pytest.raises(ConfigError):
        RankingProtocol(ks=(0,))
    with pytest.raises(ConfigError):
        RankingProtocol(metrics=("auc",))


@pytest.mark.parametrize("ties", ["optimistic", "pessimistic", "average"])
@pytest.mark.parametrize("mask_history", [False, True])
def test_block_ranking_and_factorized_scoring_equal_the_full_score_matrix(monkeypatch, ties, mask_history):
    import recsys.eval as ev
    from recsys.data import make_sequence_dataset
    from recsys.models import SASRec

    split = leave_one_out(make_sequence_dataset(num_users=120, num_items=40, num_clusters=4, seed=3, mean_length=7,
                                                max_length=12), max_len=10)
    torch.manual_seed(0)
    model = SASRec.build(split.num_items, max_len=10, hidden_size=16, inner_size=32).eval()
    batch = split.test[torch.arange(len(split.test))]
    with torch.no_grad():
        scores = model.full_sort_predict(batch)
    scores[:5, 0] = 1e9  # padding scored highest: must not count
    scores[5:10] = scores[5:10].round(decimals=1)  # ties
    history = batch.item_seq if mask_history else None

    def reference(row: int) -> float:  # the definition, one row at a time
        s, target = scores[row].clone(), int(batch.target[row])
        s[0] = -math.inf
        if history is not None:
            s[[i for i in history[row].tolist() if i != target]] = -math.inf
        t = s[target]
        higher, equal = int((s > t).sum()), int((s == t).sum()) - 1
        return {"optimistic": higher, "pessimistic": higher + equal, "average": higher + equal / 2}[ties]

    expected = [reference(row) for row in range(scores.size(0))]
    monkeypatch.setattr(ev, "RANK_BLOCK_BYTES", 3 * scores.size(1) * 4)  # blocks of 3 rows, a ragged last one
    got = target_ranks(scores, batch.target, ties=ties, history=history)
    assert got.tolist() == expected
    assert not torch.isinf(scores[5:, 0]).any()  # the caller's scores were not modified
    # The evaluator scores SASRec block by block from its representations: the same ranks as the full matrix.
    protocol = RankingProtocol(ties=ties, mask_history=mask_history, chunk_size=50)
    factorized = evaluate_ranking(model, split.test, protocol)
    full = evaluate_ranking(lambda b: model.full_sort_predict(b), split.test, protocol)
    assert ev._factorized_scores(model) is not None
    assert factorized.metrics == full.metrics


def test_score_matrix_shape_is_checked():
    ds = SequenceDataset.from_sequences([[1, 2, 3, 4], [2, 3, 4, 5], [5, 4, 3, 2]], num_items=5)
    split = leave_one_out(ds, max_len=4)
    # Without the padding column every item would be shifted by one column: an error, not shifted metrics.
    with pytest.raises(DataError, match=r"shape \(3, 5\), expected \[B, num_items \+ 1\] = \[3, 6\]"):
        evaluate_ranking(lambda b: torch.zeros(b.item_seq.size(0), 5), split.test)
    with pytest.raises(DataError, match=r"expected \[B, num_items \+ 1\] = \[3, 6\]"):
        evaluate_ranking(lambda b: torch.zeros(b.item_seq.size(0)), split.test)
    assert evaluate_ranking(lambda b: torch.zeros(b.item_seq.size(0), 6), split.test).num_users == 3


@pytest.mark.parametrize("ties", ["optimistic", "pessimistic", "average"])
def test_nan_target_scores_are_an_error_not_a_hit(ties):
    # Nothing compares greater than NaN: a NaN target used to rank 0, so HR/NDCG/MRR came out 1.0.
    with pytest.raises(DataError, match=r"scores: the target score of 2 of 2 samples is NaN"):
        target_ranks(torch.full((2, 6), math.nan), torch.tensor([1, 3]), ties=ties)
    scores = torch.rand(3, 6)
    scores[1, 4] = math.nan
    with pytest.raises(DataError, match=r"1 of 3 samples is NaN \(sample rows \[1\], target items \[4\]\)"):
        target_ranks(scores, torch.tensor([1, 4, 2]), ties=ties)
    assert target_ranks(scores, torch.tensor([1, 3, 2]), ties=ties).isfinite().all()  # NaN elsewhere: ranked

    ds = SequenceDataset.from_sequences([[1, 2, 3, 4], [2, 3, 4, 5], [5, 4, 3, 2]], num_items=5)
    split = leave_one_out(ds, max_len=4)

    def score(batch):  # the sample whose target is item 2 (the third user) gets a NaN score row
        return torch.where((batch.target == 2)[:, None], math.nan, torch.rand(batch.target.numel(), 6))

    for chunk in (1, 100):
        with pytest.raises(DataError, match=r"test split: .* 1 of \d samples is NaN \(sample rows \[2\]"):
            evaluate_ranking(score, split.test, RankingProtocol(chunk_size=chunk, ties=ties))


def test_factorized_scoring_checks_representations_and_item_embeddings():
    from recsys.data import make_sequence_dataset
    from recsys.models import SASRec

    split = leave_one_out(make_sequence_dataset(num_users=30, num_items=20, num_clusters=2, seed=1), max_len=6)

    def model():
        torch.manual_seed(0)
        return SASRec.build(split.num_items, max_len=6, hidden_size=8, inner_size=8, num_layers=1)

    broken = model()
    with torch.no_grad():
        broken.encoder.item_embedding.weight[7, 2] = math.inf
    with pytest.raises(DataError, match=r"valid split: the model's item embeddings hold NaN or inf values "
                                        r"\(1 of 20 items, e\.g\. ids \[7\]\)"):
        evaluate_ranking(broken, split.valid, split="valid")
    broken = model()
    with torch.no_grad():
        broken.encoder.item_embedding.weight[0] = math.nan  # padding row: users with a padded window get NaN
    with pytest.raises(DataError, match=r"test split: the sequence representations of \d+ of 30 users hold NaN"):
        evaluate_ranking(broken, split.test)
    assert evaluate_ranking(model(), split.test).metrics["hr@5"] < 1.0  # the intact model evaluates


class _IntegerEncoder(nn.Module):
    """Integer-valued item table and representations: every score is exact in float32 and ties are common, so
    the item-chunked ranks must equal the whole-row ranks exactly."""

    def __init__(self, num_items: int, dim: int = 3, bias: bool = True, affine: bool = True) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.num_items = num_items
        self.item_embedding = nn.Embedding(num_items + 1, dim)
        with torch.no_grad():
            self.item_embedding.weight.copy_(torch.randint(-2, 3, (num_items + 1, dim), generator=generator))
            self.item_embedding.weight[0] = 0
        self.bias = torch.randint(-1, 2, (num_items + 1,), generator=generator).float() if bias else None
        self.affine = affine

    @property
    def item_weight(self) -> torch.Tensor:
        return self.item_embedding.weight

    def forward(self, item_seq: torch.Tensor, item_seq_len: torch.Tensor) -> torch.Tensor:
        return self.item_embedding(item_seq).sum(1)

    def score_all(self, representation: torch.Tensor) -> torch.Tensor:
        scores = representation @ self.item_weight.t()
        scores = scores if self.affine else scores**2
        return scores if self.bias is None else scores + self.bias


def _integer_split(num_items: int = 23):
    from recsys.data import make_sequence_dataset

    return leave_one_out(make_sequence_dataset(num_users=60, num_items=num_items, num_clusters=3, seed=4,
                                               mean_length=8, max_length=14, titles=False), max_len=6)


@pytest.mark.parametrize("ties", ["optimistic", "pessimistic", "average"])
@pytest.mark.parametrize("mask_history", [False, True])
@pytest.mark.parametrize("bias", [False, True])
def test_item_chunked_ranks_equal_whole_row_ranks(ties, mask_history, bias):
    import recsys.eval as ev

    split = _integer_split()
    model = SequentialRecommender(_IntegerEncoder(split.num_items, bias=bias)).eval()
    batch = split.test[torch.arange(len(split.test))]
    with torch.no_grad():
        scores = model.full_sort_predict(batch)
        representation = model.embed(batch)
    history = batch.item_seq if mask_history else None
    expected = target_ranks(scores, batch.target, ties=ties, history=history)
    tied = (scores[torch.arange(len(batch.target)), batch.target][:, None] == scores[:, 1:]).sum(1) > 1
    assert int(tied.sum()) >= 20  # many targets share their score with another item
    weight, table_bias = ev._item_table(model, representation[:4], "test")
    assert (table_bias is None) == (not bias)
    for chunk in (1, 2, 5, 22, 23, 100):
        got = ev._item_chunked_ranks(representation, weight, table_bias, batch.target, ties, history, chunk)
        assert torch.equal(got, expected), chunk
    # Through the evaluator: item chunks (several user blocks of a ragged size too) = the whole score matrix.
    whole = evaluate_ranking(lambda b: model.full_sort_predict(b), split.test,
                             RankingProtocol(ties=ties, mask_history=mask_history, item_chunk_size=None))
    for chunk, users in ((None, 2048), (4, 7), (7, 2048)):
        protocol = RankingProtocol(ties=ties, mask_history=mask_history, item_chunk_size=chunk, chunk_size=users)
        assert evaluate_ranking(model, split.test, protocol).metrics == whole.metrics


def test_item_chunked_ranking_blocks_users_and_checks_its_inputs(monkeypatch):
    import recsys.eval as ev

    split = _integer_split()
    model = SequentialRecommender(_IntegerEncoder(split.num_items)).eval()
    whole = evaluate_ranking(model, split.test, RankingProtocol(item_chunk_size=None))
    monkeypatch.setitem(ev.ITEM_BLOCK_BYTES, "cpu", 3 * 5 * 4)  # blocks of 3 users x 5 items, ragged last ones
    assert evaluate_ranking(model, split.test, RankingProtocol(item_chunk_size=5)).metrics == whole.metrics
    # A score_all that is not h W^T + b cannot be chunked: an error, not other metrics.
    odd = SequentialRecommender(_IntegerEncoder(split.num_items, affine=False)).eval()
    with pytest.raises(DataError, match="score_all is not h @ item_weight.T \\+ bias.*eval_item_chunk_size"):
        evaluate_ranking(odd, split.test, RankingProtocol(item_chunk_size=5))
    assert evaluate_ranking(odd, split.test, RankingProtocol(item_chunk_size=None)).num_users == len(split.test)
    broken = SequentialRecommender(_IntegerEncoder(split.num_items)).eval()
    with torch.no_grad():
        broken.encoder.item_embedding.weight[0] = math.nan  # padded windows give NaN representations
    with pytest.raises(DataError, match=r"test split: the sequence representations of \d+ of \d+ users hold NaN"):
        evaluate_ranking(broken, split.test, RankingProtocol(item_chunk_size=5))
    for bad in (0, True, 2.5):
        with pytest.raises(ConfigError, match="item_chunk_size must be a positive int or None"):
            RankingProtocol(item_chunk_size=bad)


def test_item_chunked_ranking_of_sasrec_equals_whole_rows():
    from recsys.models import SASRec

    split = _integer_split(num_items=300)
    torch.manual_seed(0)
    model = SASRec.build(split.num_items, max_len=6, hidden_size=16, inner_size=32).eval()
    whole = evaluate_ranking(model, split.test, RankingProtocol(item_chunk_size=None, mask_history=True))
    chunked = evaluate_ranking(model, split.test, RankingProtocol(item_chunk_size=64, mask_history=True))
    assert chunked.metrics == pytest.approx(whole.metrics, abs=1e-12)


def test_config_carries_the_item_chunk_size():
    from recsys.config import resolve_config
    from recsys.train import ranking_protocol

    assert ranking_protocol(resolve_config("sasrec", "generated")).item_chunk_size == 4096
    cfg = resolve_config("sasrec", "generated", overrides={"eval_item_chunk_size": None, "eval_chunk_size": 64})
    assert ranking_protocol(cfg).item_chunk_size is None and ranking_protocol(cfg).chunk_size == 64
    assert ranking_protocol(resolve_config("sasrec", "beauty", overrides={"eval_item_chunk_size": 512})).item_chunk_size == 512
