"""DuoRec: same-target positive sampling and every contrastive mode against a naive reference."""
from __future__ import annotations

import pytest
import torch

from graphcl.errors import ConfigError
from recsys.data import leave_one_out, make_sequence_dataset
from recsys.models import DuoRec
from recsys.models.duorec import SameTargetSampler


@pytest.fixture(scope="module")
def split():
    return leave_one_out(make_sequence_dataset(num_users=150, num_items=30, num_clusters=4, seed=2, mean_length=10,
                                               max_length=25), max_len=8)


def test_positive_shares_the_target_and_is_never_the_row_itself(split):
    train = split.train
    sampler = SameTargetSampler().fit(train)
    rows = torch.arange(len(train))
    batch = train[rows]
    counts = torch.bincount(train.target, minlength=split.num_items + 1)
    for seed in range(3):
        torch.manual_seed(seed)
        sample = sampler.draw(batch)
        has_other = sample >= 0
        assert torch.equal(has_other, counts[batch.target] > 1)  # a unique training target has no other
        assert torch.equal(train.target[sample[has_other]], batch.target[has_other])
        assert not (sample == rows).any()
        torch.manual_seed(seed)
        seq, length, flag = sampler(batch)
        assert torch.equal(flag, has_other)
        assert torch.equal(seq[has_other], train.item_seq[sample[has_other]])
        assert torch.equal(length[has_other], train.item_seq_len[sample[has_other]])
        assert torch.equal(seq[~has_other], batch.item_seq[~has_other])  # fallback: the row's own window
        assert torch.equal(length[~has_other], batch.item_seq_len[~has_other])


def test_positive_is_uniform_over_the_other_same_target_samples(split):
    train = split.train
    sampler = SameTargetSampler().fit(train)
    counts = torch.bincount(train.target, minlength=split.num_items + 1)
    item = int(torch.nonzero(counts == counts[counts > 3].min()).flatten()[0])
    members = torch.nonzero(train.target == item).flatten()
    anchor = int(members[len(members) // 2])
    torch.manual_seed(1)
    sample = sampler.draw(train[torch.full((4000,), anchor)])
    hits = torch.bincount(sample, minlength=len(train))[members]
    assert hits[members == anchor].item() == 0
    expected = 4000 / (len(members) - 1)
    assert ((hits[members != anchor] - expected).abs() < 5 * expected ** 0.5).all()


def test_rows_outside_the_training_split_draw_among_all_same_target_samples(split):
    sampler = SameTargetSampler().fit(split.train)
    batch = split.valid[torch.arange(50)]
    counts = torch.bincount(split.train.target, minlength=split.num_items + 1)
    sample = sampler.draw(batch)
    assert torch.equal(sample >= 0, counts[batch.target] > 0)
    assert torch.equal(split.train.target[sample[sample >= 0]], batch.target[sample >= 0])


def _nt_xent_reference(a, b):
    z = torch.cat([a, b])
    n = a.size(0)
    losses = []
    for i in range(2 * n):
        partner = (i + n) % (2 * n)
        logits = torch.stack([z[i] @ z[j] for j in range(2 * n) if j != i])
        target = partner - (partner > i)
        losses.append(-logits.log_softmax(0)[target])
    return torch.stack(losses).mean()


@pytest.mark.parametrize("contrast", ["us_x", "us", "un", "su"])
def test_loss_matches_a_naive_reference(split, contrast):
    torch.manual_seed(0)
    model = DuoRec.build(split.num_items, max_len=8, hidden_size=16, inner_size=32, hidden_dropout=0.0,
                         attn_dropout=0.0, contrast=contrast, lmd=0.3, lmd_sem=0.7)
    model.prepare(None, split)
    model.eval()  # no dropout: the dropout view equals h, so the reference can recompute every pass
    batch = split.train[torch.arange(20)]
    torch.manual_seed(5)
    loss = model.calculate_loss(batch)
    torch.manual_seed(5)
    positive, positive_len, _ = model.positives(batch) if contrast != "un" else (None, None, None)
    enc = model.encoder
    h = enc(batch.item_seq, batch.item_seq_len)
    rec = -(enc.score_all(h).log_softmax(1)[torch.arange(20), batch.target]).mean()
    assert torch.allclose(loss["rec"], rec, atol=1e-5)
    h_s = enc(positive, positive_len) if positive is not None else None
    if contrast in ("us", "un"):
        assert torch.allclose(loss["cl"], 0.3 * _nt_xent_reference(h, h), atol=1e-4)
    else:
        assert "cl" not in loss
    if contrast == "un":
        assert "cl_sem" not in loss
    else:
        assert torch.allclose(loss["cl_sem"], 0.7 * _nt_xent_reference(h, h_s), atol=1e-4)


def test_training_needs_the_prepared_index_and_valid_arguments(split):
    model = DuoRec.build(split.num_items, max_len=8, hidden_size=16, inner_size=32)
    with pytest.raises(ConfigError, match="prepare"):
        model.calculate_loss(split.train[torch.arange(4)])
    with pytest.raises(ConfigError, match="contrast"):
        DuoRec.build(10, contrast="both")
    with pytest.raises(ConfigError, match="lmd_sem"):
        DuoRec.build(10, lmd_sem=-1.0)
    assert DuoRec.min_batch_size == 2
    # the index is rebuilt from the data, never saved with the weights
    model.prepare(None, split)
    assert not any(key.startswith("positives.") for key in model.state_dict())
