"""The SASRec encoder against a naive RecBole-style reference; RecBole checkpoint import/export."""
from __future__ import annotations

import math

import pytest
import torch

from graphcl.errors import DataError
from recsys.augment import realign
from recsys.nn import (
    MASK_VALUE,
    SASRecEncoder,
    export_recbole_sasrec,
    load_recbole_sasrec,
)
from recsys.nn.sasrec import Dropout, MultiHeadAttention, dropout


def reference_forward(enc: SASRecEncoder, item_seq: torch.Tensor) -> torch.Tensor:
    """RecBole's SASRec forward written out: explicit softmax attention, (1 - mask) * -10000."""
    b, length = item_seq.shape
    x = enc.item_embedding(item_seq) + enc.position_embedding(torch.arange(length))[None]
    x = enc.LayerNorm(x)
    extended = (item_seq > 0)[:, None, None, :].float() * torch.tril(torch.ones(length, length))[None, None]
    mask = (1.0 - extended) * MASK_VALUE
    for layer in enc.trm_encoder.layer:
        att = layer.multi_head_attention
        h = att.num_heads
        d = x.size(-1) // h
        q = att.query(x).view(b, length, h, d).permute(0, 2, 1, 3)
        k = att.key(x).view(b, length, h, d).permute(0, 2, 3, 1)
        v = att.value(x).view(b, length, h, d).permute(0, 2, 1, 3)
        probs = torch.softmax(q @ k / math.sqrt(d) + mask, dim=-1)
        ctx = (probs @ v).permute(0, 2, 1, 3).reshape(b, length, h * d)
        x = att.LayerNorm(att.dense(ctx) + x)
        ff = layer.feed_forward
        inner = ff.dense_1(x)
        inner = inner * 0.5 * (1.0 + torch.erf(inner / math.sqrt(2.0)))
        x = ff.LayerNorm(ff.dense_2(inner) + x)
    return x


def _batch(num_items=30, b=6, length=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, length + 1, (b,), generator=g)
    lengths[0] = length
    seq = torch.randint(1, num_items + 1, (b, length), generator=g)
    seq = torch.where(torch.arange(length)[None] < lengths[:, None], seq, 0)
    return seq, lengths


@pytest.mark.parametrize(("layers", "heads", "hidden"), [(1, 1, 16), (2, 2, 64), (3, 4, 32)])
def test_matches_reference_both_alignments(layers, heads, hidden):
    torch.manual_seed(0)
    enc = SASRecEncoder(30, max_len=8, hidden_size=hidden, num_layers=layers, num_heads=heads, inner_size=2 * hidden)
    enc.eval()
    seq, lengths = _batch()
    seq[1, 0] = 0  # a masked first item (all keys of query 0 masked) behaves like RecBole too
    ref = reference_forward(enc, seq)
    with torch.no_grad():
        assert torch.allclose(enc.hidden_states(seq), ref, atol=1e-5)
        enc.length_buckets = False
        assert torch.allclose(enc(seq, lengths), ref[torch.arange(6), lengths - 1], atol=1e-5)
        enc.length_buckets = True  # cut windows: same representations (row 1's all-padding query aside)
        rows = torch.tensor([0, 2, 3, 4, 5])
        assert torch.allclose(enc(seq, lengths)[rows], ref[rows, lengths[rows] - 1], atol=1e-5)
        left = SASRecEncoder(30, max_len=8, hidden_size=hidden, num_layers=layers, num_heads=heads,
                             inner_size=2 * hidden, padding="left")
        left.load_state_dict(enc.state_dict())
        left.eval()
        left_seq = realign(seq, lengths, "right", "left")
        left_ref = reference_forward(left, left_seq)[:, -1]
        assert torch.allclose(left(left_seq, lengths)[rows], left_ref[rows], atol=1e-5)
        left.length_buckets = False
        assert torch.allclose(left(left_seq, lengths), left_ref, atol=1e-5)


def test_length_buckets_keep_gradients_and_order():
    torch.manual_seed(0)
    enc = SASRecEncoder(30, max_len=40, hidden_size=16, inner_size=16, hidden_dropout=0.0, attn_dropout=0.0)
    seq, lengths = _batch(b=20, length=40, seed=3)
    bucketed = enc(seq, lengths)
    bucketed.sum().backward()
    grad = enc.item_embedding.weight.grad.clone()
    enc.zero_grad()
    enc.length_buckets = False
    full = enc(seq, lengths)
    full.sum().backward()
    assert torch.allclose(bucketed, full, atol=1e-5)
    assert torch.allclose(grad, enc.item_embedding.weight.grad, atol=1e-5)


@pytest.mark.parametrize("padding", ["right", "left"])
def test_length_buckets_equal_the_full_window_on_masked_views(padding):
    # The all-padding-key artefact only reaches the representation when every item of a window is masked.
    from recsys.augment import Mask

    torch.manual_seed(0)
    enc = SASRecEncoder(60, max_len=32, hidden_size=16, inner_size=16, hidden_dropout=0.0, attn_dropout=0.0,
                        padding=padding)
    seq, lengths = _batch(b=64, length=32, seed=5)
    seq = realign(seq, lengths, "right", padding)
    for ratio, same in ((0.5, True), (1.0, False)):
        masked, masked_len = Mask(ratio, padding=padding)(seq, lengths)
        enc.length_buckets = True
        bucketed = enc(masked, masked_len)
        enc.length_buckets = False
        assert torch.allclose(bucketed, enc(masked, masked_len), atol=1e-5) is same


def test_initialisation_and_padding_gradient():
    torch.manual_seed(0)
    enc = SASRecEncoder(500, max_len=10, hidden_size=64)
    w = enc.item_embedding.weight
    assert abs(float(w.detach().std()) - 0.02) < 0.002
    assert float(enc.trm_encoder.layer[0].multi_head_attention.query.bias.detach().abs().max()) == 0.0
    seq, lengths = _batch(num_items=500, length=10)
    enc(seq, lengths).sum().backward()
    assert float(w.grad[0].abs().max()) == 0.0  # padding_idx row gets no gradient


def test_round_trip_export_import(tmp_path):
    torch.manual_seed(1)
    enc = SASRecEncoder(40, max_len=12, hidden_size=32, num_heads=4, inner_size=48, extra_embeddings=1)
    enc.eval()
    path = export_recbole_sasrec(enc, tmp_path / "model.pth", epoch=7)
    loaded, info = load_recbole_sasrec(path, num_heads=4, num_items=40)
    seq, lengths = _batch(num_items=40, length=12)
    with torch.no_grad():
        assert torch.equal(loaded.score_all(loaded(seq, lengths)), enc.score_all(enc(seq, lengths)))
    assert info.sizes == {"item_rows": 42, "num_items": 40, "hidden_size": 32, "max_len": 12, "num_layers": 2,
                          "num_heads": 4, "inner_size": 48}
    assert info.epoch == 7 and info.ignored_keys == []


class FakeRecBoleConfig:
    """Stands in for RecBole's pickled Config object (a class the loader must not import)."""

    def __init__(self):
        self.final_config_dict = {"model": "SASRec"}


def test_recbole_style_checkpoint_with_foreign_objects_and_cl_keys(tmp_path):
    torch.manual_seed(2)
    enc = SASRecEncoder(25, max_len=6, hidden_size=16, num_heads=2, inner_size=32)
    state = dict(enc.state_dict())
    state["projection.weight"] = torch.randn(4, 16)  # a CL variant's extra head
    path = tmp_path / "recbole.pth"
    torch.save({"config": FakeRecBoleConfig(), "epoch": 3, "state_dict": state, "other_parameter": None}, path)
    with pytest.warns(UserWarning, match="ignored 1 key"):
        loaded, info = load_recbole_sasrec(path)
    assert info.ignored_keys == ["projection.weight"]
    assert any("FakeRecBoleConfig" in name for name in info.placeholder_classes)
    seq, lengths = _batch(num_items=25, length=6)
    enc.eval()
    with torch.no_grad():
        assert torch.equal(loaded(seq, lengths), enc(seq, lengths))


def test_import_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_recbole_sasrec(tmp_path / "missing.pth")
    torch.save({"state_dict": {"foo": torch.zeros(1)}}, tmp_path / "bad.pth")
    with pytest.raises(DataError, match="lacks 'item_embedding.weight'"):
        load_recbole_sasrec(tmp_path / "bad.pth")
    enc = SASRecEncoder(10, max_len=4, hidden_size=8, inner_size=8)
    export_recbole_sasrec(enc, tmp_path / "small.pth")
    with pytest.raises(DataError, match="different dataset"):
        load_recbole_sasrec(tmp_path / "small.pth", num_items=50)
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match="cannot read"):
        load_recbole_sasrec(tmp_path / "junk.pth")


def test_restricted_loader_never_runs_pickled_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (exec, ("raise SystemExit('pwned')",))

    path = tmp_path / "evil.pth"
    enc = SASRecEncoder(5, max_len=3, hidden_size=8, inner_size=8)
    torch.save({"state_dict": enc.state_dict(), "payload": Evil()}, path)
    loaded, info = load_recbole_sasrec(path)  # exec is replaced by an inert placeholder
    assert any(name.endswith(".exec") for name in info.placeholder_classes)
    assert isinstance(loaded, SASRecEncoder)


def test_sdpa_dropout_is_active_in_training():
    torch.manual_seed(0)
    enc = SASRecEncoder(30, max_len=8, hidden_size=16, inner_size=16, hidden_dropout=0.0, attn_dropout=0.5)
    seq, lengths = _batch()
    enc.train()
    assert not torch.allclose(enc(seq, lengths), enc(seq, lengths))
    enc.eval()
    assert torch.equal(enc(seq, lengths), enc(seq, lengths))


@pytest.mark.parametrize("padding", ["right", "left"])
@pytest.mark.parametrize("layers", [1, 3])
def test_eval_readout_only_last_layer_equals_full_hidden_states(padding, layers):
    torch.manual_seed(2)
    enc = SASRecEncoder(30, max_len=12, hidden_size=16, num_layers=layers, num_heads=2, inner_size=32,
                        padding=padding, length_buckets=False).eval()
    seq, lengths = _batch(b=9, length=12, seed=5)
    if padding == "left":
        seq = realign(seq, lengths, "right", "left")
    with torch.no_grad():
        full = enc.gather_last(enc.hidden_states(seq), lengths)  # every position through every layer
        torch.testing.assert_close(enc(seq, lengths), full, rtol=1e-6, atol=1e-6)
        layer = enc.trm_encoder.layer[-1]
        x = torch.randn(9, 12, 16)
        mask = enc.attention_mask(seq)
        index = torch.randint(0, 12, (9,))
        torch.testing.assert_close(layer.forward_at(x, mask, index), layer(x, mask)[torch.arange(9), index],
                                   rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_uniform_dropout_has_torch_dropout_distribution(p):
    torch.manual_seed(0)
    x = torch.ones(200_000)
    ours = Dropout(p).train()(x)
    kept = ours != 0
    assert abs(kept.float().mean().item() - (1 - p)) < 5e-3          # Bernoulli(1 - p) keep mask
    torch.testing.assert_close(ours[kept], torch.full_like(ours[kept], 1 / (1 - p)))  # inverted scaling
    assert abs(ours.mean().item() - 1.0) < 1e-2                        # E[dropout(x)] = x
    assert torch.equal(Dropout(p).eval()(x), x)
    assert torch.equal(dropout(x, 0.0, True), x)


def test_uniform_dropout_switch_reaches_every_module():
    enc = SASRecEncoder(30, max_len=8, hidden_size=16, inner_size=16, uniform_dropout=False)
    flags = [m.uniform for m in enc.modules() if isinstance(m, Dropout)]
    flags += [m.uniform_dropout for m in enc.modules() if isinstance(m, MultiHeadAttention)]
    assert len(flags) > 4 and not any(flags) and not enc.uniform_dropout
    enc.uniform_dropout = True
    assert all(m.uniform for m in enc.modules() if isinstance(m, Dropout))
    assert all(m.uniform_dropout for m in enc.modules() if isinstance(m, MultiHeadAttention))


@pytest.mark.parametrize("uniform", [True, False])
def test_training_readout_only_equals_full_last_layer_without_dropout(uniform):
    # With dropout off, training mode is deterministic: the read-out-only last layer must give the full
    # computation's rows (with dropout on, each element's mask is independent, so the distribution is the same).
    torch.manual_seed(3)
    kwargs = dict(max_len=12, hidden_size=16, num_layers=2, inner_size=32, hidden_dropout=0.0, attn_dropout=0.0,
                  uniform_dropout=uniform)
    fast = SASRecEncoder(30, **kwargs).train()
    full = SASRecEncoder(30, readout_only=False, **kwargs).train()
    full.load_state_dict(fast.state_dict())
    seq, lengths = _batch(b=9, length=12, seed=4)
    out_fast, out_full = fast(seq, lengths), full(seq, lengths)
    torch.testing.assert_close(out_fast, out_full, rtol=1e-5, atol=1e-5)
    out_fast.sum().backward()
    out_full.sum().backward()
    for (name, a), b in zip(fast.named_parameters(), full.parameters()):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-4, atol=1e-5, msg=name)


def test_written_out_attention_dropout_is_active_and_unbiased():
    torch.manual_seed(1)
    enc = SASRecEncoder(30, max_len=8, hidden_size=16, inner_size=16, hidden_dropout=0.0, attn_dropout=0.5)
    seq, lengths = _batch()
    enc.train()
    assert not torch.allclose(enc(seq, lengths), enc(seq, lengths))
    attention = enc.trm_encoder.layer[0].multi_head_attention
    x = torch.randn(4, 8, 16)
    mask = enc.attention_mask(seq[:4])
    with torch.no_grad():
        mean = torch.stack([attention.context(x, mask) for _ in range(2000)]).mean(0)
        attention.eval()
        torch.testing.assert_close(mean, attention.context(x, mask), rtol=0, atol=0.05)
