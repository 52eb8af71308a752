"""SRA-CL: substitution, synthesiser and cross-sequence loss against naive references; both backbones train."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from graphcl.errors import ConfigError
from recsys.data import SequenceDataset, batch_loader, leave_one_out, make_sequence_dataset
from recsys.losses import nt_xent
from recsys.models.sracl import SRACL, SemanticSynthesizer
from recsys.nn.gru4rec import GRU4RecEncoder
from recsys.semantic import build_random_index
from recsys.semantic.substitute import SemanticSubstitute


@pytest.fixture(scope="module")
def data():
    dataset = make_sequence_dataset(num_users=150, num_items=50, num_clusters=5, seed=2)
    return dataset, leave_one_out(dataset, max_len=10, padding="left")


def test_substitution_is_bernoulli_over_real_items_and_uses_only_neighbours():
    table = torch.full((7, 3), -1, dtype=torch.long)
    table[1] = torch.tensor([2, 3, -1])  # two neighbours: column drawn among the filled ones only
    table[2] = torch.tensor([1, 4, 5])
    seq = torch.tensor([[0, 0, 1, 2, 6]] * 4000)  # item 6 has no neighbours, 0 is padding
    out, _ = SemanticSubstitute(table, p=0.3, padding="left")(seq, torch.full((4000,), 3))
    assert (out[:, :2] == 0).all() and (out[:, 4] == 6).all()
    changed = out[:, 2:4] != seq[:, 2:4]
    assert abs(changed.float().mean().item() - 0.3) < 0.03
    assert set(out[:, 2][changed[:, 0]].tolist()) == {2, 3}
    assert set(out[:, 3][changed[:, 1]].tolist()) == {1, 4, 5}
    assert torch.equal(SemanticSubstitute(table, p=0.0)(seq, torch.full((4000,), 3))[0], seq)
    with pytest.raises(ConfigError, match="probability"):
        SemanticSubstitute(table, p=1.5)


def naive_synthesis(syn: SemanticSynthesizer, s_u, s_n, h_n, valid):
    out = []
    for b in range(s_u.size(0)):
        scores = []
        for j in range(s_n.size(1)):
            z = torch.cat([s_u[b] @ syn.weight, s_n[b, j] @ syn.weight])
            scores.append(F.leaky_relu(z @ syn.attention_vector.squeeze(1), 0.2) if valid[b, j] else
                          torch.tensor(float("-inf")))
        alpha = torch.softmax(torch.stack(scores), 0)
        out.append((alpha[:, None] * h_n[b]).sum(0))
    return torch.stack(out)


@pytest.mark.parametrize("b,k,dim,d", [(3, 4, 6, 5), (5, 1, 3, 8), (2, 10, 16, 4)])
def test_synthesiser_matches_naive_attention(b, k, dim, d):
    torch.manual_seed(b * k)
    syn = SemanticSynthesizer(dim, d, dropout=0.5).eval()  # dropout only in training
    s_u, s_n, h_n = torch.randn(b, dim), torch.randn(b, k, dim), torch.randn(b, k, d)
    valid = torch.rand(b, k) > 0.3
    valid[:, 0] = True
    assert torch.allclose(syn(s_u, s_n, h_n, valid), naive_synthesis(syn, s_u, s_n, h_n, valid), atol=1e-5)
    plain = syn.attention(s_u, s_n, valid)
    syn.train()
    alpha = syn.attention(s_u, s_n, valid)
    assert (torch.isclose(alpha, torch.zeros(())) | torch.isclose(alpha, 2 * plain)).all()  # survivors x 1/(1-p)
    assert (alpha[~valid] == 0).all()


def test_cross_sequence_loss_matches_reference(data):
    dataset, split = data
    model = SRACL.build(dataset.num_items, max_len=10, hidden_dropout=0.0, attn_dropout=0.0,
                        synthesis_dropout=0.0, semantics="none")
    index = build_random_index(split, k_items=3, k_windows=4, seed=1)
    index.anchor_neighbours[0, 2:] = -1  # partially filled row
    model.attach(index)
    model.train()
    batch = split.train[torch.arange(12)]
    h = model.embed(batch)
    loss = model.cross_sequence_loss(batch, h)
    # Reference: encode each neighbour separately, attention over the valid ones, NT-Xent.
    positives = []
    for row in range(12):
        nbrs = [j for j in index.anchor_neighbours[row].tolist() if j >= 0]
        windows = index.pool_windows[nbrs]
        h_n = model.encoder(windows, (windows > 0).sum(1))
        valid = torch.ones(1, len(nbrs), dtype=torch.bool)
        positives.append(naive_synthesis(model.synthesizer, index.anchor_vectors[row:row + 1],
                                         index.pool_vectors[nbrs][None], h_n[None], valid)[0])
    expect = nt_xent(h, torch.stack(positives), 1.0)
    assert torch.allclose(loss, expect, atol=1e-5)


@pytest.mark.parametrize("backbone", ["sasrec", "gru4rec"])
def test_training_step_reduces_loss_on_both_backbones(data, backbone):
    dataset, split = data
    torch.manual_seed(0)
    model = SRACL.build(dataset.num_items, backbone=backbone, max_len=10, semantics="none",
                        k_items=3, k_windows=3)
    model.prepare(dataset, split)
    batch = next(iter(batch_loader(split.train, 64, seed=0)))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    losses = []
    for _ in range(15):
        parts = model.calculate_loss(batch)
        assert set(parts) == {"rec", "is", "cs"}
        loss = sum(parts.values())
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0]
    assert model.synthesizer.weight.grad is not None
    model.eval()
    assert set(model.calculate_loss(batch)) == {"rec"}
    assert model.full_sort_predict(batch).shape == (64, dataset.num_items + 1)


def test_text_semantics_need_item_text_and_index_must_match(data):
    dataset, split = data
    model = SRACL.build(dataset.num_items, max_len=10)
    model.train()
    with pytest.raises(ConfigError, match="no semantic index"):
        model.calculate_loss(split.train[torch.arange(4)])
    with pytest.raises(ConfigError, match="needs semantic_file"):
        SRACL.build(dataset.num_items, semantics="precomputed")
    with pytest.raises(ConfigError, match="needs item attributes, but dataset 'generated' has none"):
        SRACL.build(dataset.num_items, semantics="attributes").prepare(dataset, split)
    untitled = SequenceDataset.from_sequences(dataset.sequences(), name="plain", num_items=dataset.num_items)
    with pytest.raises(ConfigError, match="needs item texts, but dataset 'plain' has none"):
        model.prepare(untitled, split)
    other = leave_one_out(make_sequence_dataset(num_users=80, num_items=30, seed=0), max_len=10, padding="left")
    with pytest.raises(ConfigError, match="covers 30 items"):
        model.attach(build_random_index(other, k_items=2, k_windows=2))


def test_gru4rec_encoder_padding_invariance():
    torch.manual_seed(0)
    enc = GRU4RecEncoder(20, max_len=6, padding="left").eval()
    right = GRU4RecEncoder(20, max_len=6, padding="right").eval()
    right.load_state_dict(enc.state_dict())
    left_seq = torch.tensor([[0, 0, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6]])
    right_seq = torch.tensor([[3, 4, 5, 6, 0, 0], [1, 2, 3, 4, 5, 6]])
    lengths = torch.tensor([4, 6])
    assert torch.allclose(enc(left_seq, lengths), right(right_seq, lengths), atol=1e-6)
    assert enc.score_all(enc(left_seq, lengths)).shape == (2, 21)
    with pytest.raises(ConfigError, match="padding"):
        GRU4RecEncoder(20, padding="middle")


def test_registered_and_runs_through_the_recommendation_runner(tmp_path):
    from recsys.config import resolve_config
    from recsys.models import MODELS
    from recsys.train import run_recommendation

    assert MODELS["sracl"] is SRACL
    dataset = make_sequence_dataset(num_users=60, num_items=30, num_clusters=3, seed=4)
    cfg = resolve_config("sracl", "generated", overrides={
        "semantics": "none", "backbone": "gru4rec", "max_len": 8, "k_items": 3, "k_windows": 3, "epochs": 1,
        "max_batches_per_epoch": 2, "batch_size": 32, "checkpoint_every": 0})
    results, _ = run_recommendation(cfg, dataset, seeds=(0,), run_dir=tmp_path / "run", show_progress=False)
    assert results["model"] == "sracl" and "hr@20" in results["metrics"]
    recorded = results["runs"][0]
    assert recorded["neighbour_grad"] is True and recorded["exclude_same_user"] is False
    assert recorded["semantic_source"] == "none" and 0.0 <= recorded["same_user_neighbour_share"] <= 1.0
    assert recorded["semantic_index"]["pool"] == "train"


def _with_attributes(dataset):
    """``dataset`` with one attribute per item: its latent cluster (``item % 5``), so neighbours share it."""
    from dataclasses import replace

    return replace(dataset, item_attributes=[[]] + [[f"c{item % 5}"] for item in range(1, dataset.num_items + 1)])


def test_run_info_records_the_retrieval_policy_and_the_same_user_share(data):
    dataset, split = data
    dataset = _with_attributes(dataset)
    shares = {}
    for exclude in (False, True):
        model = SRACL.build(dataset.num_items, max_len=10, semantics="attributes", semantic_cache="none",
                            k_items=3, k_windows=5, exclude_same_user=exclude, neighbour_grad=False)
        assert model.run_info() == {"neighbour_grad": False, "exclude_same_user": exclude,
                                    "semantic_source": "attributes"}  # before prepare: the configuration only
        index = model.prepare(dataset, split)
        info = model.run_info()
        windows = index.anchor_neighbours
        same = (index.pool_users[windows.clamp(min=0)] == index.anchor_users[:, None]) & (windows >= 0)
        assert info["same_user_neighbour_share"] == round(float(same.sum() / (windows >= 0).sum()), 4)
        assert info["semantic_index"]["exclude_same_user"] is exclude
        assert info["semantic_index"]["semantics"]["source"] == "attributes"
        shares[exclude] = info["same_user_neighbour_share"]
        neighbours = index.item_neighbours[1:4]  # items 1..3 retrieve items of their own cluster first
        assert ((neighbours[:, 0] % 5) == torch.arange(1, 4) % 5).all()
    assert shares[True] == 0.0 and shares[False] > 0.0


def test_the_semantic_cache_is_content_keyed_and_configurable(data, tmp_path, monkeypatch):
    from recsys.semantic.cache import semantic_cache_dir

    monkeypatch.setenv("GRAPHCL_CACHE", str(tmp_path / "root"))
    assert semantic_cache_dir("auto") == tmp_path / "root" / "semantic"
    assert semantic_cache_dir("none") is None and semantic_cache_dir(None) is None
    assert semantic_cache_dir("~/x") == Path("~/x").expanduser()
    dataset, split = data
    dataset = _with_attributes(dataset)
    cached = []
    for _ in range(2):
        model = SRACL.build(dataset.num_items, max_len=10, semantics="attributes", k_items=3, k_windows=3)
        model.prepare(dataset, split)
        cached.append(model.run_info()["semantic_index"]["window_neighbours_cached"])
    assert cached == [False, True] and list((tmp_path / "root" / "semantic" / "neighbours").glob("*.pt"))
