import pytest
import torch
import torch.nn.functional as F

from graphcl.losses import InfoNCE, TeamUpInfoNCE, team_up_gamma


def naive_team_up(z1, z2, strength, tau, gamma):
    """The authors' formulation, literally: exp matrices with the bias gamma * (cs_i + cs_j) on every logit."""
    h1, h2 = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
    bias = gamma * (strength[None, :] + strength[:, None])

    def one_direction(a, b):
        refl = torch.exp((a @ a.t() + bias) / tau)
        between = torch.exp((a @ b.t() + bias) / tau)
        return -torch.log(between.diag() / (refl.sum(1) + between.sum(1) - refl.diag()))

    return 0.5 * (one_direction(h1, h2) + one_direction(h2, h1)).mean()


@pytest.mark.parametrize("n,d", [(2, 3), (19, 8), (70, 16)])
@pytest.mark.parametrize("tau,gamma", [(0.4, 0.5), (0.2, 10.0), (1.0, 3.0)])
@pytest.mark.parametrize("chunk_size", [None, 6, 1024])
def test_matches_naive_reference(n, d, tau, gamma, chunk_size):
    torch.manual_seed(n + d)
    z1 = torch.randn(n, d, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(n, d, dtype=torch.float64, requires_grad=True)
    strength = torch.rand(n, dtype=torch.float64) * 0.3 - 0.05  # strengths may be negative
    loss_fn = TeamUpInfoNCE(tau, t0=0, gamma_max=gamma, chunk_size=chunk_size)
    loss_fn.gamma = gamma
    loss = loss_fn(z1, z2, strength)
    ref = naive_team_up(z1, z2, strength, tau, gamma)
    assert loss.item() == pytest.approx(ref.item(), rel=1e-9)
    for a, b in zip(torch.autograd.grad(loss, [z1, z2]), torch.autograd.grad(ref, [z1, z2])):
        torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-10)


def test_stable_at_large_gamma_small_tau_float32():
    torch.manual_seed(0)
    z1, z2 = torch.randn(300, 32, requires_grad=True), torch.randn(300, 32)
    strength = torch.rand(300) * 0.8  # exp((1 + 10 * 1.6) / 0.2) = e^85 overflows float32 in the naive form
    loss_fn = TeamUpInfoNCE(0.2, t0=0, gamma_max=10.0, chunk_size=64)
    loss_fn.gamma = 10.0
    loss = loss_fn(z1, z2, strength)
    assert torch.isfinite(loss)
    ref = naive_team_up(z1.double(), z2.double(), strength.double(), 0.2, 10.0)
    assert loss.item() == pytest.approx(ref.item(), rel=1e-4)
    loss.backward()
    assert torch.isfinite(z1.grad).all()


@pytest.mark.parametrize("chunk_size", [None, 16])
def test_gamma_zero_is_grace_exactly(chunk_size):
    torch.manual_seed(1)
    z1, z2 = torch.randn(50, 8, requires_grad=True), torch.randn(50, 8, requires_grad=True)
    strength = torch.rand(50)
    team_up = TeamUpInfoNCE(0.4, t0=10, gamma_max=2.0, chunk_size=chunk_size)
    team_up.set_epoch(10)  # still warm-up
    assert team_up.gamma == 0.0
    a = team_up(z1, z2, strength)
    b = InfoNCE(0.4, chunk_size=chunk_size)(z1, z2)
    assert torch.equal(a, b)
    ga, gb = torch.autograd.grad(a, [z1, z2]), torch.autograd.grad(b, [z1, z2])
    assert all(torch.equal(x, y) for x, y in zip(ga, gb))


def test_schedule():
    assert [team_up_gamma(e, 500, 1.0) for e in (1, 500, 501, 550, 600, 601, 3000)] == [
        0.0, 0.0, 0.01, 0.5, 1.0, 1.0, 1.0]
    assert team_up_gamma(2000, 1000, 10.0) == 10.0 and team_up_gamma(1500, 1000, 10.0) == 5.0
    loss_fn = TeamUpInfoNCE(t0=100, gamma_max=0.5)
    loss_fn.set_epoch(130)
    assert loss_fn.gamma == pytest.approx(0.3)
    loss_fn.set_epoch(10_000)
    assert loss_fn.gamma == 0.5


def test_strong_negatives_are_pushed_harder():
    torch.manual_seed(2)
    z1, z2 = torch.randn(30, 4), torch.randn(30, 4)
    weak, strong = torch.zeros(30), torch.zeros(30)
    strong[10:] = 0.5  # candidates from a strong community weigh more in every denominator
    loss_fn = TeamUpInfoNCE(0.5, t0=0, gamma_max=1.0)
    loss_fn.gamma = 1.0
    z = z1.clone().requires_grad_(True)
    grad_strong = torch.autograd.grad(loss_fn(z, z2, strong), z)[0]
    grad_weak = torch.autograd.grad(loss_fn(z, z2, weak), z)[0]
    assert not torch.allclose(grad_strong, grad_weak)


def test_bad_arguments():
    with pytest.raises(ValueError, match="tau"):
        TeamUpInfoNCE(tau=0)
    with pytest.raises(ValueError, match="t0"):
        TeamUpInfoNCE(t0=-1)
    with pytest.raises(ValueError, match="gamma_max"):
        TeamUpInfoNCE(gamma_max=-1.0)
    with pytest.raises(ValueError, match="chunk_size"):
        TeamUpInfoNCE(chunk_size=0)
    with pytest.raises(ValueError, match=r"shape \[5\]"):
        TeamUpInfoNCE()(torch.randn(5, 3), torch.randn(5, 3), torch.zeros(4))


def test_non_tensor_strength_names_the_field():
    with pytest.raises(ValueError, match="strength must hold one community strength per node"):
        TeamUpInfoNCE()(torch.randn(5, 3), torch.randn(5, 3), [0.1] * 5)
    with pytest.raises(ValueError, match="tau"):
        TeamUpInfoNCE(tau=float("nan"))


def test_running_max_stabilizer_gives_the_same_loss():
    torch.manual_seed(2)
    z1, z2, strength = torch.randn(40, 8), torch.randn(40, 8), torch.rand(40)
    values = []
    for stabilizer in ("fixed_shift", "running_max"):
        loss_fn = TeamUpInfoNCE(0.4, t0=0, gamma_max=1.0, chunk_size=16, stabilizer=stabilizer)
        loss_fn.set_epoch(100)
        values.append(loss_fn(z1, z2, strength))
    assert values[0].item() == pytest.approx(values[1].item(), rel=1e-6)
    assert InfoNCE(0.4, chunk_size=16, stabilizer="running_max")(z1, z2).item() == pytest.approx(
        InfoNCE(0.4, chunk_size=16)(z1, z2).item(), rel=1e-6)
    with pytest.raises(ValueError, match="stabilizer"):
        TeamUpInfoNCE(stabilizer="none")
