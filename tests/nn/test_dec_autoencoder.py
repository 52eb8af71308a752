"""DEC head (Student-t Q, target P, KL) against formulas, and the SDCN autoencoder."""
from __future__ import annotations

import pytest
import torch

from graphcl.nn.autoencoder import MLPAutoEncoder, pretrain_autoencoder
from graphcl.nn.dec import StudentTClustering


@pytest.mark.parametrize("nu", [1.0, 2.5])
def test_student_t_target_and_kl_match_formulas(nu):
    torch.manual_seed(0)
    head = StudentTClustering(4, 3, nu=nu)
    z = torch.randn(20, 3, dtype=torch.float64)
    head = head.double()
    q = head(z)
    d2 = ((z[:, None, :] - head.centroids[None]) ** 2).sum(-1)
    ref = (1 + d2 / nu) ** (-(nu + 1) / 2)
    ref = ref / ref.sum(1, keepdim=True)
    torch.testing.assert_close(q, ref)
    p = StudentTClustering.target_distribution(q)
    w = q ** 2 / q.sum(0)
    torch.testing.assert_close(p, (w / w.sum(1, keepdim=True)).detach())
    kl = StudentTClustering.kl_loss(q, p)
    torch.testing.assert_close(kl, (p * (p.log() - q.log())).sum() / 20)


def test_kmeans_init_and_autoencoder_pretraining():
    torch.manual_seed(0)
    x = torch.cat([torch.randn(30, 5) + 4, torch.randn(30, 5) - 4])
    ae = MLPAutoEncoder(5, [16, 16, 32], embedding_dim=2)
    losses = pretrain_autoencoder(ae, x, epochs=20, batch_size=16)
    assert losses[-1] < losses[0] and all(p.grad is None for p in ae.parameters())
    head = StudentTClustering(2, 2)
    labels = head.init_kmeans(ae.encode(x).detach())
    assert len(set(labels[:30].tolist())) == 1 and labels[0] != labels[-1]
    with pytest.raises(ValueError):
        StudentTClustering(1, 2)


def test_student_t_bad_sizes_name_the_argument():
    with pytest.raises(ValueError, match="embedding_dim"):
        StudentTClustering(3, 0)
    with pytest.raises(ValueError, match="nu"):
        StudentTClustering(3, 4, nu=float("nan"))
    with pytest.raises(ValueError, match=r"z must be \[N, 4\]"):
        StudentTClustering(3, 4)(torch.randn(5, 3))
