"""Gradient-ratio diagnostic: per-part gradient norms on the encoder, against a direct computation."""
from __future__ import annotations

import math

import pytest
import torch

from recsys.data import leave_one_out, make_sequence_dataset
from recsys.diagnostics import gradient_ratios
from recsys.models import CL4SRec, SASRec


def _split():
    torch.manual_seed(0)
    data = make_sequence_dataset(num_users=80, num_items=30, num_clusters=3)
    return data, leave_one_out(data, max_len=8)


def test_ratios_match_a_direct_gradient_computation() -> None:
    data, split = _split()
    model = CL4SRec.build(data.num_items, hidden_size=16, inner_size=16, num_layers=1, max_len=8,
                          hidden_dropout=0.0, attn_dropout=0.0)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(1)
    records = gradient_ratios(model, split, batches=3, batch_size=16)
    assert [r["step"] for r in records] == [1, 2, 3]
    assert all(r["cl_ratio"] > 0 and -1 <= r["cl_cos"] <= 1 for r in records)

    # The first record, recomputed by hand from the same weights and the same first batch.
    model.load_state_dict(state)
    torch.manual_seed(1)
    from recsys.data.loader import batch_loader

    batch = next(iter(batch_loader(split.train, 16, shuffle=True, max_batches=3)))
    parts = model.calculate_loss(batch)
    params = list(model.encoder.parameters())
    norms = {}
    for name in ("rec", "cl"):
        grads = torch.autograd.grad(parts[name], params, retain_graph=True, allow_unused=True)
        norms[name] = math.sqrt(sum(float(g.pow(2).sum()) for g in grads if g is not None))
    assert math.isclose(records[0]["rec_norm"], norms["rec"], rel_tol=1e-4)
    assert math.isclose(records[0]["cl_ratio"], norms["cl"] / norms["rec"], rel_tol=1e-4)


def test_a_model_without_parts_is_refused() -> None:
    data, split = _split()
    model = SASRec.build(data.num_items, hidden_size=16, inner_size=16, num_layers=1, max_len=8)
    with pytest.raises(ValueError, match="must return a dict with a 'rec' part"):
        gradient_ratios(model, split, batches=1, batch_size=16)
