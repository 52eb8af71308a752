"""Tiny models and data for the training-loop tests."""
from __future__ import annotations

import random

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Data

from graphcl.train.hooks import TrainingHooks


def regression_graph(num_nodes: int = 48, dim: int = 4, seed: int = 0) -> Data:
    """A ``Data`` object with features and a linear target (full-batch training input)."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(num_nodes, dim, generator=gen)
    weight = torch.randn(dim, generator=gen)
    return Data(x=x, y=x @ weight + 0.5)


def regression_tensors(num: int = 40, dim: int = 4, seed: int = 0) -> tuple[Tensor, Tensor]:
    data = regression_graph(num, dim, seed)
    return data.x, data.y


class NoisyRegressor(TrainingHooks, nn.Module):
    """Linear -> ReLU -> Dropout -> Linear with random input noise from torch, NumPy and Python ``random``.

    Every RNG the loop must restore on resume influences the loss. Accepts a ``Data`` (``x``, ``y``) or an
    ``(x, y)`` pair. Records the epochs passed to ``set_epoch`` and the per-step losses.
    """

    def __init__(self, dim: int = 4, hidden: int = 8, dropout: float = 0.2, parts: bool = False) -> None:
        super().__init__()
        self.lin1 = nn.Linear(dim, hidden)
        self.drop = nn.Dropout(dropout)
        self.lin2 = nn.Linear(hidden, 1)
        self.parts = parts
        self.epochs_seen: list[int] = []
        self.step_losses: list[float] = []

    def set_epoch(self, epoch: int) -> None:
        self.epochs_seen.append(epoch)

    def forward(self, batch: Data | tuple[Tensor, Tensor]) -> Tensor | dict[str, Tensor]:
        x, y = (batch.x, batch.y) if isinstance(batch, Data) else batch
        noise = 0.05 * torch.randn_like(x) + 0.01 * float(np.random.rand()) + 0.01 * random.random()
        pred = self.lin2(self.drop(torch.relu(self.lin1(x + noise)))).squeeze(-1)
        mse = F.mse_loss(pred, y)
        self.step_losses.append(mse.item())
        if self.parts:
            return {"mse": mse, "l2": 1e-3 * self.lin1.weight.pow(2).sum()}
        return mse


def params_of(model: nn.Module) -> dict[str, Tensor]:
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


def assert_same_params(a: nn.Module | dict[str, Tensor], b: nn.Module | dict[str, Tensor], atol: float = 1e-6) -> None:
    sa = a.state_dict() if isinstance(a, nn.Module) else a
    sb = b.state_dict() if isinstance(b, nn.Module) else b
    assert sa.keys() == sb.keys()
    for name in sa:
        assert torch.allclose(sa[name], sb[name], atol=atol, rtol=0), name
