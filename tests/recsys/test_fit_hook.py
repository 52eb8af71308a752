"""The ``training_step(batch, optimizer)`` hook of :func:`graphcl.train.fit` that MCLRec uses."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from graphcl.errors import ConfigError
from graphcl.train import fit
from graphcl.train.hooks import TrainingHooks


class TwoGroups(TrainingHooks, nn.Module):
    """Alternates updates of two parameters with one optimiser, like MCLRec's θ / φ steps."""

    owns_optimizer_step = True

    def __init__(self, bad_at: int | None = None):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(1.0))
        self.b = nn.Parameter(torch.tensor(1.0))
        self.calls = 0
        self.bad_at = bad_at

    def training_step(self, batch, optimizer):
        self.calls += 1
        optimizer.zero_grad(set_to_none=True)
        loss_a = (self.a * batch).pow(2).mean()
        loss_a.backward()
        optimizer.step()  # only a has a gradient
        optimizer.zero_grad(set_to_none=True)
        loss_b = (self.b * batch).pow(2).mean()
        loss_b.backward()
        optimizer.step()
        total = loss_a.detach() + loss_b.detach()
        if self.bad_at == self.calls:
            total = total * float("nan")
        return {"loss": total, "part_a": loss_a.detach(), "part_b": loss_b.detach()}


def test_fit_delegates_steps_and_logs_parts():
    model = TwoGroups()
    batches = [torch.ones(3), torch.ones(3) * 2]
    result = fit(model, batches, epochs=2, lr=0.1, show_progress=False)
    assert model.calls == 4
    assert {"loss", "part_a", "part_b"} <= set(result.history[0])
    assert result.history[1]["loss"] < result.history[0]["loss"]
    assert float(model.a.detach()) < 1.0 and float(model.b.detach()) < 1.0


def test_hook_rejects_grad_clip_and_reports_nan():
    with pytest.raises(ConfigError, match="grad_clip"):
        fit(TwoGroups(), [torch.ones(2)], epochs=1, grad_clip=1.0, show_progress=False)
    with pytest.raises(FloatingPointError, match="epoch 1, batch 1"):
        fit(TwoGroups(bad_at=2), [torch.ones(2), torch.ones(2)], epochs=1, show_progress=False)
