import itertools

import pytest
import torch

from graphcl.losses.bootstrap import BootstrapLoss


def naive_bootstrap(q, y):
    total = 0.0
    for i in range(q.size(0)):
        a = q[i] / q[i].norm()
        b = y[i] / y[i].norm()
        total += float(((a - b) ** 2).sum())
    return total / q.size(0)


@pytest.mark.parametrize("shape", [(1, 3), (7, 5), (32, 16)])
def test_matches_naive_reference(shape):
    g = torch.Generator().manual_seed(sum(shape))
    q, y = torch.randn(*shape, generator=g), torch.randn(*shape, generator=g)
    assert BootstrapLoss()(q, y).item() == pytest.approx(naive_bootstrap(q, y), rel=1e-5, abs=1e-6)


def test_zero_when_aligned_and_four_when_opposite():
    q = torch.randn(6, 4)
    assert BootstrapLoss()(q, 3.0 * q).item() == pytest.approx(0.0, abs=1e-6)
    assert BootstrapLoss()(q, -q).item() == pytest.approx(4.0, abs=1e-6)


def test_loss_decreases_as_predictions_align_with_targets():
    torch.manual_seed(0)
    y = torch.randn(20, 8)
    noise = torch.randn(20, 8)
    losses = [BootstrapLoss()(y + s * noise, y).item() for s in (4.0, 2.0, 1.0, 0.5, 0.0)]
    assert all(a > b for a, b in itertools.pairwise(losses))
    q = torch.randn(20, 8, requires_grad=True)
    opt = torch.optim.Adam([q], lr=0.1)
    first = BootstrapLoss()(q, y).item()
    for _ in range(100):
        opt.zero_grad()
        BootstrapLoss()(q, y).backward()
        opt.step()
    assert BootstrapLoss()(q, y).item() < 0.1 * first


def test_no_gradient_reaches_the_targets():
    q = torch.randn(5, 3, requires_grad=True)
    y = torch.randn(5, 3, requires_grad=True)
    BootstrapLoss()(q, y).backward()
    assert q.grad is not None and y.grad is None


def test_rejects_bad_inputs():
    with pytest.raises(ValueError, match="same shape"):
        BootstrapLoss()(torch.randn(3, 2), torch.randn(3, 4))
    with pytest.raises(ValueError, match="same shape"):
        BootstrapLoss()(torch.randn(0, 2), torch.randn(0, 2))
    with pytest.raises(ValueError, match="eps"):
        BootstrapLoss(eps=0)
