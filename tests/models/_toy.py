"""A small two-class graph shared by the baseline model tests."""
import torch
from torch_geometric.data import Data


def toy_graph(n=40, f=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = (torch.rand(n, f, generator=g) < 0.3).float() + y.unsqueeze(1).float() * (torch.arange(f) < 3).float()
    src = torch.randint(0, n, (120,), generator=g)
    dst = torch.randint(0, n, (120,), generator=g)
    ei = torch.cat([torch.stack([src, dst]), torch.stack([dst, src])], 1)
    ei = ei[:, ei[0] != ei[1]]
    return Data(x=x, edge_index=ei, y=y, num_nodes=n)


def train_losses(model, data, steps=30, lr=0.01):
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = model(data)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses
