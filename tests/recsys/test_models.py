"""SASRec / CL4SRec / MCLRec: interfaces, losses against references, the θ/φ/θ schedule, a short training."""
from __future__ import annotations

import pytest
import torch

from recsys.data import leave_one_out, make_sequence_dataset
from recsys.eval import evaluate_ranking
from recsys.models import MODELS, CL4SRec, MCLRec, SASRec
from recsys.train import train_recommender


@pytest.fixture(scope="module")
def split():
    return leave_one_out(make_sequence_dataset(num_users=200, num_items=60, num_clusters=6, seed=1, mean_length=9,
                                               max_length=15), max_len=12)


@pytest.mark.parametrize("name", ["sasrec", "cl4srec", "mclrec"])
def test_interface_shapes(split, name):
    torch.manual_seed(0)
    model = MODELS[name].build(split.num_items, max_len=12, hidden_size=16, inner_size=32)
    batch = split.train[torch.arange(32)]
    loss = model.calculate_loss(batch)
    total = sum(loss.values()) if isinstance(loss, dict) else loss
    assert total.dim() == 0 and torch.isfinite(total)
    model.eval()
    with torch.no_grad():
        full = model.full_sort_predict(batch)
        assert full.shape == (32, split.num_items + 1)
        picked = full.gather(1, batch.target[:, None]).squeeze(1)
        assert torch.allclose(model.predict(batch), picked, atol=1e-5)
        assert model.embed(batch).shape == (32, 16)


def test_sasrec_loss_is_cross_entropy_over_all_items(split):
    torch.manual_seed(0)
    model = SASRec.build(split.num_items, max_len=12, hidden_size=16, inner_size=32)
    model.eval()
    batch = split.train[torch.arange(16)]
    h = model.embed(batch)
    logits = h @ model.encoder.item_embedding.weight.t()
    expected = -(logits.log_softmax(1)[torch.arange(16), batch.target]).mean()
    assert torch.allclose(model.calculate_loss(batch), expected, atol=1e-6)


def _params(module):
    return {n: p.detach().clone() for n, p in module.named_parameters()}


def test_mclrec_schedule_updates_theta_twice_and_phi_once(split, monkeypatch):
    torch.manual_seed(0)
    model = MCLRec.build(split.num_items, max_len=12, hidden_size=16, inner_size=32, lmd=0.1, beta=0.5)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    steps = []
    original = optimizer.step

    def spy(*args, **kwargs):
        steps.append({"theta": [p.grad is not None for p in model.encoder_parameters() if p.requires_grad],
                      "phi": [p.grad is not None for p in model.augmenter_parameters()]})
        return original(*args, **kwargs)

    monkeypatch.setattr(optimizer, "step", spy)
    before = _params(model)
    parts = model.training_step(split.train[torch.arange(64)], optimizer)
    assert len(steps) == 3
    assert any(steps[0]["theta"]) and not any(steps[0]["phi"])  # θ-step: φ frozen
    assert not any(steps[1]["theta"]) and all(steps[1]["phi"])  # φ-step: only φ
    assert any(steps[2]["theta"]) and not any(steps[2]["phi"])
    after = _params(model)
    assert not torch.equal(before["augmenter1.layers.0.weight"], after["augmenter1.layers.0.weight"])
    assert not torch.equal(before["encoder.trm_encoder.layer.0.feed_forward.dense_1.weight"],
                           after["encoder.trm_encoder.layer.0.feed_forward.dense_1.weight"])
    assert set(parts) == {"rec", "cl1", "cl2", "reg", "aug", "loss"}
    assert all(p.requires_grad for p in model.parameters())  # freezing is undone


def test_mclrec_gradient_flows_through_frozen_augmenters(split):
    torch.manual_seed(0)
    model = MCLRec.build(split.num_items, max_len=12, hidden_size=16, inner_size=32, beta=1.0)
    batch = split.train[torch.arange(32)]
    views = model.augment(batch)
    with model._frozen(model.augmenter_parameters()):
        # Only the contrastive part involving z: its gradient reaches θ through the frozen augmenters.
        _, h1, h2 = model._encode(batch, views)
        z2 = model.augmenter2(h2.detach())
        loss = (h1 * z2).sum()
        loss.backward()
    assert model.augmenter2.layers[0].weight.grad is None
    assert model.encoder.item_embedding.weight.grad is not None


def test_mclrec_skips_cl1_where_it_has_no_weight(split):
    # L_cl1 enters L_theta only with lambda > 0 and never enters L_phi: it is not computed there.
    torch.manual_seed(0)
    batch = split.train[torch.arange(32)]
    without = MCLRec.build(split.num_items, max_len=12, hidden_size=16, inner_size=32, lmd=0.0, beta=0.5)
    views = without.augment(batch)
    assert set(without.encoder_objective(batch, views)) == {"rec", "cl2", "reg"}
    with_cl1 = MCLRec.build(split.num_items, max_len=12, hidden_size=16, inner_size=32, lmd=0.1, beta=0.5)
    assert "cl1" in with_cl1.encoder_objective(batch, views)
    h1, h2 = torch.randn(32, 16), torch.randn(32, 16)
    torch.manual_seed(1)
    full = with_cl1.contrastive_terms(h1, h2)
    torch.manual_seed(1)
    partial = with_cl1.contrastive_terms(h1, h2, with_cl1=False)
    assert "cl1" not in partial
    torch.testing.assert_close(partial["cl2"], full["cl2"])


def test_mclrec_joint_variant_single_step(split):
    torch.manual_seed(0)
    model = MCLRec.build(split.num_items, max_len=12, hidden_size=16, inner_size=32, joint=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    calls = []
    original = optimizer.step
    optimizer.step = lambda *a, **k: (calls.append(1), original(*a, **k))[1]
    model.training_step(split.train[torch.arange(32)], optimizer)
    assert len(calls) == 1


@pytest.mark.parametrize("cls", [SASRec, CL4SRec, MCLRec])
def test_short_training_learns(split, cls, tmp_path):
    torch.manual_seed(0)
    model = cls.build(split.num_items, max_len=12, hidden_size=16, inner_size=32, num_layers=1,
                      hidden_dropout=0.1, attn_dropout=0.1)
    before = evaluate_ranking(model, split.valid).metrics["hr@10"]
    result = train_recommender(model, split, epochs=3, batch_size=128, lr=5e-3, show_progress=False,
                               run_dir=tmp_path, checkpoint_every=2)
    after = evaluate_ranking(model, split.valid).metrics["hr@10"]
    assert after > before + 0.05
    assert result.best_epoch is not None and "valid_mrr@10" in result.history[0]
    assert (tmp_path / "best.pt").is_file() and (tmp_path / "metrics.csv").is_file()
