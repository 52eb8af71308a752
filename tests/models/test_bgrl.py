import copy

import pytest
import torch

from graphcl.models import BGRL
from graphcl.models.bgrl import cosine_momentum, warmup_cosine_lr
from graphcl.train import fit
from tests.models._toy import toy_graph


def model_for(data, **kw):
    kw = {"encoder_sizes": [16, 8], "predictor_hidden": 16, "epochs": 50, "lr_warmup_epochs": 5, **kw}
    return BGRL.build(data.num_features, **kw)


def test_target_starts_from_its_own_initialisation_and_receives_no_gradient():
    torch.manual_seed(0)
    data = toy_graph()
    model = model_for(data)
    online = dict(model.online_encoder.named_parameters())
    assert any(not torch.equal(p, online[n]) for n, p in model.target_encoder.named_parameters())
    assert all(not p.requires_grad for p in model.target_encoder.parameters())
    model(data).backward()
    assert all(p.grad is None for p in model.target_encoder.parameters())
    assert all(p.grad is not None for p in model.online_encoder.parameters())


def test_ema_update_is_exact_and_leaves_buffers_alone():
    torch.manual_seed(0)
    data = toy_graph()
    model = model_for(data)
    model(data)  # batch-norm running statistics move
    before = copy.deepcopy(model.target_encoder.state_dict())
    online = {n: p.detach().clone() for n, p in model.online_encoder.named_parameters()}
    model.update_target(0.9)
    for name, p in model.target_encoder.named_parameters():
        assert torch.allclose(p, 0.9 * before[name] + 0.1 * online[name], atol=1e-7)
    for name, b in model.target_encoder.named_buffers():
        assert torch.equal(b, before[name])


def test_schedules():
    assert cosine_momentum(0, 100, 0.99) == pytest.approx(0.99)
    assert cosine_momentum(50, 100, 0.99) == pytest.approx(0.995)
    assert cosine_momentum(100, 100, 0.99) == pytest.approx(1.0)
    assert warmup_cosine_lr(0, 100, 10, 1.0) == 0.0
    assert warmup_cosine_lr(5, 100, 10, 1.0) == pytest.approx(0.5)
    assert warmup_cosine_lr(10, 100, 10, 1.0) == pytest.approx(1.0)
    assert warmup_cosine_lr(55, 100, 10, 1.0) == pytest.approx(0.5)


def test_fit_steps_then_updates_the_target_once_per_step(monkeypatch):
    torch.manual_seed(0)
    data = toy_graph()
    model = model_for(data, epochs=6, lr_warmup_epochs=2)
    events = []
    original_update = model.update_target
    monkeypatch.setattr(model, "update_target", lambda m: events.append(("ema", m)) or original_update(m))
    result = fit(model, data, epochs=6, lr=0.01, show_progress=False)
    assert [e[0] for e in events] == ["ema"] * 6
    assert [e[1] for e in events] == pytest.approx([cosine_momentum(k, 6, 0.99) for k in range(6)])
    assert len(result.history) == 6 and "momentum" in result.history[0]


def test_loss_decreases_under_fit_and_embed_uses_the_online_encoder():
    torch.manual_seed(0)
    data = toy_graph()
    model = model_for(data, epochs=80, lr_warmup_epochs=5)
    result = fit(model, data, epochs=80, lr=0.01, show_progress=False)
    losses = [r["loss"] for r in result.history]
    assert sum(losses[-5:]) / 5 < sum(losses[5:10]) / 5
    z = model.embed(data)
    assert z.shape == (data.num_nodes, 8) and model.training
