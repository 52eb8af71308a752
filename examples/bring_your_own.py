"""Bring your own dataset, augmentation and loss, and train them with the library's pieces.

- Dataset: any ``torch_geometric.data.Data`` with ``x``, ``edge_index`` (and ``y`` for evaluation) — here a
  two-block stochastic block model built from tensors.
- Augmentation: a ``BaseTransform`` that returns a new view (here Gaussian feature noise), composed with the
  library's ``DropEdge``.
- Loss: an ``nn.Module`` taking the two views' projections ``[N, d]`` and returning a scalar (here the
  alignment + uniformity loss of Wang & Isola, 2020).

They plug into GRACE's constructor (encoder, projection head, two augmentations, loss) and train with
``graphcl.train.fit``; the embeddings are scored with the linear probe.

    python examples/bring_your_own.py
    python examples/bring_your_own.py --epochs 5
"""
from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform, Compose

from graphcl.eval import linear_probe
from graphcl.models import GRACE
from graphcl.nn import GCNEncoder, ProjectionHead
from graphcl.train import fit
from graphcl.transforms import DropEdge
from graphcl.utils import seed_everything


def block_model_graph(num_nodes: int = 400, num_features: int = 32, p_in: float = 0.05, p_out: float = 0.005,
                      seed: int = 0) -> Data:
    """Two planted blocks; features are noisy class means, so both structure and features carry the label."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(num_nodes) % 2
    same = y[:, None] == y[None, :]
    prob = torch.where(same, torch.tensor(p_in), torch.tensor(p_out))
    upper = torch.triu(torch.rand(num_nodes, num_nodes, generator=g) < prob, diagonal=1)
    edge_index = upper.nonzero().t()
    edge_index = torch.cat([edge_index, edge_index.flip(0)], 1)  # undirected: both directions
    means = torch.randn(2, num_features, generator=g)
    x = means[y] + 2.0 * torch.randn(num_nodes, num_features, generator=g)
    return Data(x=x, edge_index=edge_index, y=y)


class FeatureNoise(BaseTransform):
    """Add Gaussian noise of standard deviation ``std`` to ``x`` (a new ``Data``; the input is left unchanged)."""

    def __init__(self, std: float = 0.1) -> None:
        if std < 0:
            raise ValueError(f"std must be >= 0, got {std}")
        self.std = std

    def forward(self, data: Data) -> Data:
        out = data.clone()
        out.x = data.x + self.std * torch.randn_like(data.x)
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(std={self.std})"


class AlignmentUniformity(nn.Module):
    """Wang & Isola (2020): pull positive pairs together, spread all points on the sphere.

    ``L = mean ||u_i - v_i||^2 + (log mean exp(-t ||u_i - u_j||^2) + same for v) / 2`` on L2-normalised rows.
    """

    def __init__(self, t: float = 2.0) -> None:
        super().__init__()
        self.t = t

    def forward(self, u: Tensor, v: Tensor) -> Tensor:
        u, v = F.normalize(u, dim=1), F.normalize(v, dim=1)
        align = (u - v).pow(2).sum(1).mean()

        def uniform(z: Tensor) -> Tensor:
            return torch.pdist(z).pow(2).mul(-self.t).exp().mean().log()

        return align + 0.5 * (uniform(u) + uniform(v))


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    args = parser.parse_args(argv)

    seed_everything(0)
    data = block_model_graph()
    model = GRACE(
        encoder=GCNEncoder(data.num_features, 64, num_layers=2),
        projection_head=ProjectionHead(64, 64, 64, activation="elu"),
        augment1=Compose([DropEdge(0.2), FeatureNoise(0.5)]),
        augment2=Compose([DropEdge(0.4), FeatureNoise(0.5)]),
        loss=AlignmentUniformity(t=2.0),
    )
    fit(model, data, epochs=args.epochs, lr=1e-3, restore_best=False, show_progress=False)
    probe = linear_probe(model.embed(data), data.y, repeats=2, seed=0)
    acc = probe["test_acc"]["mean"]
    print(f"own graph ({data.num_nodes} nodes, {data.num_edges} edges), own augmentation and loss: "
          f"test accuracy {100 * acc:.2f} %")
    return acc


if __name__ == "__main__":
    main()
