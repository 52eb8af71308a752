"""BERT4Rec: cloze masking, the mask slot at prediction, bidirectional attention, the loss against a reference."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from graphcl.errors import ConfigError
from recsys.data import leave_one_out, make_sequence_dataset
from recsys.models import BERT4Rec
from recsys.nn import SASRecEncoder


def _split(padding="right", max_len=10):
    return leave_one_out(make_sequence_dataset(num_users=150, num_items=40, num_clusters=4, seed=4, mean_length=12,
                                               max_length=30), max_len=max_len, padding=padding)


@pytest.fixture(scope="module", params=["right", "left"])
def split(request):
    return _split(request.param)


def _model(split, **kw):
    return BERT4Rec.build(split.num_items, max_len=split.max_len, hidden_size=16, inner_size=32,
                          padding=split.padding, **kw)


def test_cloze_masks_real_items_at_the_ratio_and_never_padding(split):
    torch.manual_seed(0)
    model = _model(split, mask_ratio=0.4, ft_ratio=0.0)
    batch = split.train[torch.arange(len(split.train))]
    inputs, masked, items, length = model.cloze(batch)
    assert inputs.shape == (len(batch.target), split.max_len + 1)
    real = items > 0
    assert not (masked & ~real).any()  # padding is never masked
    assert torch.equal(length, batch.item_seq_len + 1) and torch.equal(real.sum(1), length)
    assert masked.any(1).all()  # at least one label per row
    assert (inputs[masked] == model.encoder.mask_token).all() and torch.equal(inputs[~masked], items[~masked])
    ratio = masked.sum() / real.sum()
    assert abs(float(ratio) - 0.4) < 0.03  # rows without a draw add their last item: slightly above 0.4
    # the sequence is the history followed by the next item
    last = model.encoder.last_position(items, length)
    assert torch.equal(items.gather(1, last[:, None]).squeeze(1), batch.target)


def test_ft_ratio_masks_only_the_next_item(split):
    torch.manual_seed(0)
    model = _model(split, ft_ratio=1.0)
    batch = split.train[torch.arange(64)]
    inputs, masked, items, length = model.cloze(batch)
    assert torch.equal(masked.sum(1), torch.ones(64, dtype=torch.long))
    assert torch.equal(items[masked], batch.target)


def test_prediction_input_is_the_history_with_the_mask_appended_last(split):
    model = _model(split)
    batch = split.valid[torch.arange(30)]
    mask = torch.full_like(batch.item_seq_len, model.encoder.mask_token)
    seq, length = model.encoder.append(batch.item_seq, batch.item_seq_len, mask)
    position = model.encoder.last_position(seq, length)
    assert torch.equal(seq.gather(1, position[:, None]).squeeze(1), mask)
    keep = seq.masked_fill(seq == model.encoder.mask_token, 0)
    if split.padding == "right":
        assert torch.equal(position, batch.item_seq_len) and torch.equal(keep[:, :-1], batch.item_seq)
    else:
        assert (position == split.max_len).all() and torch.equal(keep[:, :-1], batch.item_seq)
    # every history item is still there (no column dropped), and the mask is the last real position
    assert torch.equal((seq > 0).sum(1), batch.item_seq_len + 1)


def test_loss_matches_a_naive_reference(split):
    torch.manual_seed(0)
    model = _model(split, mask_ratio=0.3, ft_ratio=0.3).eval()
    batch = split.train[torch.arange(48)]
    torch.manual_seed(7)
    inputs, masked, items, _ = model.cloze(batch)
    torch.manual_seed(7)
    loss = model.calculate_loss(batch)
    enc = model.encoder
    hidden = enc.transformer.hidden_states(inputs)  # the full L + 1 window, no cut
    terms = []
    for b, p in torch.nonzero(masked).tolist():
        h = enc.output_ln(F.gelu(enc.output_ffn(hidden[b, p])))
        logits = h @ enc.transformer.item_embedding.weight[: split.num_items + 1].t() + enc.output_bias
        terms.append(-logits.log_softmax(0)[items[b, p]])
    assert torch.allclose(loss, torch.stack(terms).mean(), atol=1e-5)


def test_next_item_cloze_is_the_cross_entropy_of_full_sort_predict(split):
    torch.manual_seed(0)
    model = _model(split, ft_ratio=1.0).eval()
    batch = split.train[torch.arange(32)]
    expected = F.cross_entropy(model.full_sort_predict(batch), batch.target)
    assert torch.allclose(model.calculate_loss(batch), expected, atol=1e-5)


def test_attention_is_bidirectional():
    torch.manual_seed(0)
    seq = torch.tensor([[3, 4, 5, 6, 0, 0]])
    changed = seq.clone()
    changed[0, 3] = 9
    for causal in (True, False):
        enc = SASRecEncoder(10, max_len=6, hidden_size=8, inner_size=16, causal=causal).eval()
        first = enc.hidden_states(seq)[0, 0]
        moved = not torch.allclose(first, enc.hidden_states(changed)[0, 0])
        assert moved == (not causal)  # only the bidirectional encoder lets position 0 see a later item


def test_arguments_are_validated():
    with pytest.raises(ConfigError, match="mask_ratio"):
        BERT4Rec.build(10, mask_ratio=0.0)
    with pytest.raises(ConfigError, match="ft_ratio"):
        BERT4Rec.build(10, ft_ratio=1.5)
    model = BERT4Rec.build(10, max_len=5)
    assert model.encoder.transformer.position_embedding.num_embeddings == 6  # history + mask slot
    assert model.encoder.item_embedding.num_embeddings == 12  # padding, 10 items, mask token
    assert model.encoder.item_weight.shape[0] == 11  # the mask token is never scored
