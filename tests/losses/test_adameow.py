"""AdaMEOW's chunked learned-weight InfoNCE against the reference code's dense N × N × d form."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from graphcl.losses import adameow
from graphcl.losses.adameow import LearnedNegativeWeights


def _naive(module: LearnedNegativeWeights, a: torch.Tensor, e: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    pairs = a.unsqueeze(1) + e.unsqueeze(0)  # [N, N, d], as the reference code materialises it
    w = torch.sigmoid(module.fc2(torch.tanh(module.fc1(pairs)))).squeeze(-1)
    s = torch.exp(a @ e.t() / module.tau)
    return (-torch.log(s.diagonal() / (w * s).sum(1))).mean(), w


@pytest.mark.parametrize("n,d,chunk", [(5, 3, None), (17, 8, 4), (40, 16, 64)])
def test_learned_weights_match_the_dense_reference(n: int, d: int, chunk: int | None) -> None:
    torch.manual_seed(n)
    module = LearnedNegativeWeights(d, tau=0.9, chunk_size=chunk)
    a = F.normalize(torch.randn(n, d), dim=1).requires_grad_()
    e = F.normalize(torch.randn(n, d), dim=1).requires_grad_()
    loss = module(a, e)
    loss.backward()
    grads = [a.grad.clone(), e.grad.clone()] + [p.grad.clone() for p in module.parameters()]
    a.grad = e.grad = None
    module.zero_grad()
    expected, w = _naive(module, a, e)
    expected.backward()
    expected_grads = [a.grad, e.grad] + [p.grad for p in module.parameters()]
    assert torch.allclose(loss, expected, atol=1e-5)
    for got, want in zip(grads, expected_grads):
        assert torch.allclose(got, want, atol=1e-5)
    assert module.last_mean_weight == pytest.approx(float(w.detach().mean()), abs=1e-5)
    assert torch.allclose(module.weights(a, e), w, atol=1e-6)


@pytest.mark.parametrize("block", [1, 40 * 16 * 3])
def test_chunks_are_kept_to_the_block_size(monkeypatch: pytest.MonkeyPatch, block: int) -> None:
    """One row per chunk (a block smaller than a row) and three rows: the same loss and gradients."""
    monkeypatch.setattr(adameow, "BLOCK_ELEMENTS", block)
    test_learned_weights_match_the_dense_reference(40, 16, None)


def test_the_logistic_tanh_is_tanh_with_tanh_s_gradient() -> None:
    x = torch.linspace(-12, 12, 20001, dtype=torch.float64).requires_grad_()
    y = adameow._LogisticTanh.apply(x)
    assert torch.allclose(y, torch.tanh(x), atol=1e-15, rtol=0)
    assert torch.allclose(adameow._LogisticTanh.apply(x.float()), torch.tanh(x.float()), atol=2e-7, rtol=0)
    y.sum().backward()
    assert torch.allclose(x.grad, 1 - torch.tanh(x.detach()) ** 2, atol=1e-12)
    assert torch.autograd.gradcheck(adameow._LogisticTanh.apply, (torch.randn(7, dtype=torch.float64,
                                                                               requires_grad=True),))


def test_bad_input_raises() -> None:
    module = LearnedNegativeWeights(4)
    with pytest.raises(ValueError, match="4-dimensional"):
        module(torch.randn(3, 5), torch.randn(3, 5))
    with pytest.raises(ValueError, match="same shape"):
        module(torch.randn(3, 4), torch.randn(2, 4))
    with pytest.raises(ValueError, match="tau"):
        LearnedNegativeWeights(4, tau=-1.0)


def test_empty_and_non_tensor_input_raise_clear_errors() -> None:
    module = LearnedNegativeWeights(4)
    with pytest.raises(ValueError, match="at least one row"):
        module(torch.zeros(0, 4), torch.zeros(0, 4))
    with pytest.raises(ValueError, match="must be tensors"):
        module([[0.0] * 4], torch.zeros(1, 4))
    with pytest.raises(ValueError, match="chunk_size"):
        LearnedNegativeWeights(4, chunk_size=0)
