"""Projection heads used by the contrastive objectives (applied to the encoder output, dropped after training)."""
from __future__ import annotations

from torch import Tensor, nn
from torch_geometric.nn.inits import reset

from graphcl.nn.encoders import make_activation


class ProjectionHead(nn.Module):
    """Two-layer MLP projection head ``Linear(H, P) → act → Linear(P, H_out)`` (GRACE: ELU, ``H_out = H``).

    Following SimCLR / GRACE, the contrastive loss is computed on the projection ``g(z)`` while downstream tasks
    use ``z``; the head absorbs view-specific information the loss would otherwise force into ``z``.

    Args:
        in_channels: Encoder output size ``H``.
        hidden_channels: Hidden size ``P``.
        out_channels: Output size (default: ``in_channels``, as in GRACE).
        activation: Activation between the layers (default: ``"elu"``).
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        out_channels: int | None = None,
        activation: str | nn.Module = "elu",
    ) -> None:
        super().__init__()
        sizes = (("in_channels", in_channels), ("hidden_channels", hidden_channels), ("out_channels", out_channels))
        for name, value in sizes:
            if value is None and name == "out_channels":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"ProjectionHead: {name} must be an int >= 1, got {value!r}")
        self.fc1 = nn.Linear(in_channels, hidden_channels)
        self.act = make_activation(activation)
        self.fc2 = nn.Linear(hidden_channels, out_channels if out_channels is not None else in_channels)

    def reset_parameters(self) -> None:
        self.fc1.reset_parameters()
        self.fc2.reset_parameters()
        reset(self.act)  # a learnable activation (PReLU) too

    def forward(self, z: Tensor) -> Tensor:
        return self.fc2(self.act(self.fc1(z)))
