"""Graph encoders: a GCN with the activation after every layer, GRACE / CSGCL style.

PyG's :class:`~torch_geometric.nn.models.GCN` applies no activation after its last layer; GRACE
(Zhu et al., 2020) and CSGCL (Chen et al., 2023) apply it after every layer, including the last, and share one
activation instance across layers (which matters for the learnable ``PReLU``). :class:`GCNEncoder` is PyG's
``GCN`` plus that final activation.
"""
from __future__ import annotations

from torch import Tensor, nn
from torch_geometric.nn.models import GCN
from torch_geometric.nn.resolver import activation_resolver

# CSGCL's code calls ``F.rrelu`` in functional form, whose default ``training=False`` makes it a deterministic
# leaky ReLU with the mean slope of the RReLU range [1/8, 1/3].
RRELU_EVAL_SLOPE = (1.0 / 8.0 + 1.0 / 3.0) / 2.0


def make_activation(name: str | nn.Module) -> nn.Module:
    """Activation module from a name (``relu``, ``prelu``, ``rrelu``, ``elu``, ``gelu``, ...) or pass-through.

    ``"rrelu"`` is the deterministic leaky ReLU (slope ≈ 0.229) that CSGCL's functional ``F.rrelu`` call
    actually computes; ``"prelu"`` is a single learnable slope (``nn.PReLU()``, init 0.25).
    """
    if isinstance(name, nn.Module):
        return name
    key = name.lower()
    if key == "rrelu":
        return nn.LeakyReLU(RRELU_EVAL_SLOPE)
    if key == "prelu":
        return nn.PReLU()
    try:
        return activation_resolver(key)
    except ValueError as exc:
        raise ValueError(f"unknown activation {name!r}") from exc


class GCNEncoder(nn.Module):
    """Multi-layer GCN with the activation after every layer — the encoder of GRACE and CSGCL.

    Layers: ``GCNConv(F, 2H) → act → [GCNConv(2H, 2H) → act]* → GCNConv(2H, H) → act`` with one shared
    activation instance, GCN normalisation with self-loops, no caching (the graph changes every step).

    Args:
        in_channels: Input feature size ``F``.
        out_channels: Embedding size ``H``.
        hidden_channels: Width of the inner layers (default: ``2 * out_channels``, as in GRACE).
        num_layers: Number of GCN layers (default: ``2``).
        activation: Activation name or module (default: ``"relu"``).
        dropout: Dropout between layers (default: ``0.0``).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        hidden_channels: int | None = None,
        num_layers: int = 2,
        activation: str | nn.Module = "relu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        hidden = hidden_channels or 2 * out_channels
        self.act = make_activation(activation)
        if num_layers == 1:
            hidden = out_channels
        self.gnn = GCN(in_channels, hidden, num_layers, out_channels=out_channels, dropout=dropout, act=self.act)

    def reset_parameters(self) -> None:
        self.gnn.reset_parameters()
        if isinstance(self.act, nn.PReLU):
            nn.init.constant_(self.act.weight, 0.25)

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor | None = None) -> Tensor:
        """Node embeddings ``[N, out_channels]``."""
        return self.act(self.gnn(x, edge_index, edge_weight=edge_weight))

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, "
            f"num_layers={self.gnn.num_layers}, act={self.act})"
        )


__all__ = ["RRELU_EVAL_SLOPE", "GCNEncoder", "make_activation"]
