"""GRU4Rec: RecBole's layers and the CE loss against a naive reference."""
from __future__ import annotations

import torch

from recsys.data import leave_one_out, make_sequence_dataset
from recsys.models import GRU4Rec


def _split():
    return leave_one_out(make_sequence_dataset(num_users=120, num_items=40, num_clusters=4, seed=3, mean_length=8,
                                               max_length=14), max_len=10)


def test_defaults_are_recboles_gru4rec():
    model = GRU4Rec.build(50)
    enc = model.encoder
    assert enc.item_embedding.weight.shape == (51, 64)
    assert enc.gru.input_size == 64 and enc.gru.hidden_size == 128 and enc.gru.num_layers == 1
    assert not enc.gru.bias  # RecBole's GRU has no biases
    assert enc.dense.in_features == 128 and enc.dense.out_features == 64
    assert enc.emb_dropout.p == 0.3
    # tied: the output scores use the input item table
    h = torch.randn(3, 64)
    assert torch.allclose(enc.score_all(h), h @ enc.item_embedding.weight.t())


def test_loss_is_cross_entropy_of_the_last_state_over_all_items():
    split = _split()
    torch.manual_seed(0)
    model = GRU4Rec.build(split.num_items, max_len=10, hidden_size=8, gru_size=12).eval()
    batch = split.train[torch.arange(24)]
    enc = model.encoder
    # naive reference: run the GRU step by step over each row's real items, read the last state
    rows = []
    for seq, length in zip(batch.item_seq, batch.item_seq_len):
        state = torch.zeros(1, 1, 12)
        for item in seq[:length]:
            _, state = enc.gru(enc.item_embedding(item.view(1, 1)), state)
        rows.append(enc.dense(state[0, 0]))
    h = torch.stack(rows)
    logits = h @ enc.item_embedding.weight.t()
    expected = -logits.log_softmax(1)[torch.arange(24), batch.target].mean()
    assert torch.allclose(model.calculate_loss(batch), expected, atol=1e-5)
