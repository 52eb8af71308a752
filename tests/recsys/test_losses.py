"""NT-Xent and MCLRec's regulariser against naive per-row references (several shapes)."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from recsys.losses import ContrastiveRegularizer, nt_xent


def naive_nt_xent(a, b, tau, cos=False):
    """The MCLRec/DuoRec info_nce written out: per row, CE with the positive first then 2N-2 negatives."""
    z = torch.cat([a, b])
    if cos:
        z = F.normalize(z, dim=1)
    n2 = z.size(0)
    n = n2 // 2
    sim = z @ z.t() / tau
    losses = []
    for i in range(n2):
        partner = (i + n) % n2
        negatives = [sim[i, j] for j in range(n2) if j not in (i, partner)]
        logits = torch.stack([sim[i, partner], *negatives])
        losses.append(-torch.log_softmax(logits, 0)[0])
    return torch.stack(losses).mean()


def naive_regularizer(a, b, tau=1.0):
    z = torch.cat([a, b])
    n2 = z.size(0)
    n = n2 // 2
    sim = z @ z.t() / tau
    first, second, count = [], [], 0
    for i in range(n2):
        partner = (i + n) % n2
        p = sim[i, partner]
        negatives = torch.stack([sim[i, j] for j in range(n2) if j not in (i, partner)])
        m = negatives.max()
        low, high = torch.minimum(p, m), torch.maximum(p, m)
        first.append(torch.relu(p - low))
        second.append(torch.relu(high - negatives).sum())
        count += negatives.numel()
    return torch.stack(first).mean() + torch.stack(second).sum() / count


@pytest.mark.parametrize(("n", "d", "tau"), [(2, 3, 1.0), (7, 16, 1.0), (33, 8, 0.5)])
def test_nt_xent_matches_reference(n, d, tau):
    torch.manual_seed(n)
    a = torch.randn(n, d, requires_grad=True)
    b = torch.randn(n, d, requires_grad=True)
    ours = nt_xent(a, b, tau)
    ref = naive_nt_xent(a, b, tau)
    assert torch.allclose(ours, ref, atol=1e-5)
    ga = torch.autograd.grad(ours, (a, b))
    gr = torch.autograd.grad(ref, (a, b))
    assert all(torch.allclose(x, y, atol=1e-5) for x, y in zip(ga, gr))
    assert torch.allclose(nt_xent(a, b, tau, similarity="cos"), naive_nt_xent(a, b, tau, cos=True), atol=1e-5)
    chunked = nt_xent(a, b, tau, chunk_size=5)  # the streaming form gives the dense loss and gradients
    assert torch.allclose(chunked, ref, atol=1e-5)
    assert all(torch.allclose(x, y, atol=1e-5) for x, y in zip(torch.autograd.grad(chunked, (a, b)), gr))


@pytest.mark.parametrize(("n", "d"), [(2, 4), (9, 5), (20, 16)])
def test_regularizer_matches_reference(n, d):
    torch.manual_seed(n)
    a = torch.randn(n, d, requires_grad=True)
    b = torch.randn(n, d, requires_grad=True)
    ours = ContrastiveRegularizer()(a, b)
    ref = naive_regularizer(a, b)
    assert torch.allclose(ours, ref, atol=1e-5)
    ga = torch.autograd.grad(ours, (a, b))
    gr = torch.autograd.grad(ref, (a, b))
    assert all(torch.allclose(x, y, atol=1e-5) for x, y in zip(ga, gr))


def test_regularizer_is_zero_only_when_positive_equals_every_negative():
    a = torch.ones(4, 3)
    assert float(ContrastiveRegularizer()(a, a.clone())) == 0.0
    torch.manual_seed(0)
    assert float(ContrastiveRegularizer()(torch.randn(4, 3), torch.randn(4, 3))) > 0


def test_bad_inputs():
    with pytest.raises(ValueError):
        ContrastiveRegularizer()(torch.randn(1, 3), torch.randn(1, 3))
    with pytest.raises(ValueError):
        ContrastiveRegularizer()(torch.randn(4, 3), torch.randn(5, 3))
    with pytest.raises(ValueError):
        nt_xent(torch.randn(4, 3), torch.randn(4, 3), similarity="l2")


def test_bad_contrastive_settings_fail_when_the_model_is_built():
    from graphcl.errors import ConfigError
    from recsys.models import SRACL, CL4SRec, MCLRec

    for cls in (CL4SRec, MCLRec, SRACL):
        with pytest.raises(ConfigError, match="similarity must be 'dot' or 'cos', got 'cosine'"):
            cls.build(10, max_len=5, hidden_size=8, inner_size=8, similarity="cosine")
        with pytest.raises(ConfigError, match="tau"):
            cls.build(10, max_len=5, hidden_size=8, inner_size=8, tau=0.0)
    for key, value, message in (("pool", "everything", "pool must be one of"),
                                ("k_items", 0, "k_items must be a positive int"),
                                ("substitution_prob", 1.5, "substitution_prob"),
                                ("synthesis_dropout", 1.0, "synthesis_dropout")):
        with pytest.raises(ConfigError, match=message):  # before any semantic index is built
            SRACL.build(10, max_len=5, hidden_size=8, inner_size=8, **{key: value})


def test_contrastive_args_share_the_graph_losses_temperature_check():
    import numpy as np

    from graphcl.errors import ConfigError
    from recsys.losses import check_contrastive_args

    check_contrastive_args(np.float32(0.5), "cos")  # any real number, as graphcl's check_temperature
    for bad in (0.0, -1.0, float("inf"), float("nan"), True, "0.5"):
        with pytest.raises(ConfigError, match=r"tau \(the temperature\) must be a finite number > 0, got"):
            check_contrastive_args(bad, "dot")
    with pytest.raises(ConfigError, match="similarity must be 'dot' or 'cos', got 'l2'"):
        check_contrastive_args(1.0, "l2")
