"""The chunked log-sum-exp losses under autocast and in half precision (computed in float32 inside)."""
from __future__ import annotations

import pytest
import torch

from graphcl.losses import InfoNCE
from graphcl.ops import chunked_logsumexp, weighted_logsumexp
from recsys.losses import nt_xent


def _views(n: int = 12, d: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return (torch.randn(n, d, generator=g).requires_grad_(), torch.randn(n, d, generator=g).requires_grad_())


LOSSES = {
    "infonce": lambda a, b: InfoNCE(tau=0.5, chunk_size=5)(a, b),
    "infonce-inter-view": lambda a, b: InfoNCE(tau=0.5, intra_view_negatives=False, chunk_size=5)(a, b),
    "nt_xent-dot": lambda a, b: nt_xent(a, b, 1.0),  # CL4SRec / MCLRec (dense)
    "nt_xent-dot-chunked": lambda a, b: nt_xent(a, b, 1.0, chunk_size=5),
    "nt_xent-cos": lambda a, b: nt_xent(a, b, 0.2, similarity="cos"),
}


@pytest.mark.parametrize("name", list(LOSSES))
def test_losses_under_bf16_autocast_match_float32(name: str) -> None:
    loss_fn = LOSSES[name]
    a, b = _views()
    reference = loss_fn(a, b)
    ref_grad = torch.autograd.grad(reference, (a, b))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = loss_fn(a, b)
    grads = torch.autograd.grad(loss, (a, b))
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, reference, rtol=1e-5, atol=1e-5)
    for got, want in zip(grads, ref_grad):
        assert got.dtype == torch.float32
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


def test_losses_of_autocast_projections_run_and_backpropagate() -> None:
    """The usual AMP pattern: a linear layer under autocast feeds bfloat16 rows to the loss."""
    torch.manual_seed(0)
    layer = torch.nn.Linear(8, 16)
    x = torch.randn(10, 8)
    for loss_fn in LOSSES.values():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            a, b = layer(x), layer(x + 0.1)
            loss = loss_fn(a, b)
        assert torch.isfinite(loss)
        loss.backward()
        assert layer.weight.grad is not None and torch.isfinite(layer.weight.grad).all()
        layer.zero_grad()


def test_bfloat16_inputs_are_computed_in_float32_and_cast_back() -> None:
    a, b = _views()
    want = weighted_logsumexp(a, b, scale=2.0, chunk_size=5)
    got = weighted_logsumexp(a.bfloat16(), b.bfloat16(), scale=2.0, chunk_size=5)
    assert got.dtype == torch.bfloat16
    torch.testing.assert_close(got.float(), want, rtol=2e-2, atol=0.5)
    dense = weighted_logsumexp(a.bfloat16(), b.bfloat16(), scale=2.0)
    assert dense.dtype == torch.bfloat16
    torch.testing.assert_close(dense.float(), want, rtol=2e-2, atol=0.5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        rows = chunked_logsumexp(a.detach(), b.detach(), scale=2.0, chunk_size=5)
    assert rows.dtype == torch.float32
    torch.testing.assert_close(rows, chunked_logsumexp(a.detach(), b.detach(), scale=2.0, chunk_size=5))
