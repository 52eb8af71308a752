"""The SDCN autoencoder — `"Structural Deep Clustering Network" <https://arxiv.org/abs/2002.01633>`_ (Bo et al.,
2020) — whose encoder is the MLP of SCGC / PamC, and its pre-training recipe.

Encoder ``F → 500 → 500 → 2000 → d_z`` with ReLU between layers and a linear embedding; mirrored decoder
``d_z → 2000 → 500 → 500 → F``. Pre-training minimises the reconstruction error

.. math::
    \\mathcal{L}_{\\text{rec}} = \\frac{1}{N F} \\sum_i \\lVert x_i - \\hat{x}_i \\rVert^2

with Adam (SDCN: lr ``1e-3``, batch 256, 30 epochs). PamC / SCGC start from such a pre-trained encoder and
discard the decoder (the authors ship SDCN's ``.pkl`` weights; we pre-train instead).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

logger = logging.getLogger(__name__)

SDCN_HIDDEN = (500, 500, 2000)


def _mlp(sizes: Sequence[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class MLPAutoEncoder(nn.Module):
    """Symmetric MLP autoencoder of SDCN (Bo et al., 2020, arXiv:2002.01633) / DEC.

    Args:
        in_channels: Input feature size ``F``.
        hidden_channels: Encoder widths (default: ``(500, 500, 2000)``); the decoder mirrors them.
        embedding_dim: Size of the embedding ``z`` (default: ``10``).

    Shape:
        - x: ``[N, F]`` → ``encode``: ``[N, embedding_dim]``; ``forward``: ``(x_hat [N, F], z)``.
    """

    def __init__(self, in_channels: int, hidden_channels: Sequence[int] = SDCN_HIDDEN, embedding_dim: int = 10) -> None:
        super().__init__()
        hidden = [int(h) for h in hidden_channels]
        if in_channels < 1 or embedding_dim < 1 or any(h < 1 for h in hidden):
            raise ValueError(
                f"layer sizes must be positive, got in={in_channels}, hidden={hidden}, embedding={embedding_dim}"
            )
        self.in_channels = in_channels
        self.embedding_dim = embedding_dim
        self.encoder = _mlp([in_channels, *hidden, embedding_dim])
        self.decoder = _mlp([embedding_dim, *reversed(hidden), in_channels])

    def reset_parameters(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Linear):
                module.reset_parameters()

    def encode(self, x: Tensor) -> Tensor:
        """Embeddings ``z`` ``[N, embedding_dim]``."""
        return self.encoder(x)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(reconstruction, embedding)``."""
        z = self.encoder(x)
        return self.decoder(z), z


def pretrain_autoencoder(
    model: MLPAutoEncoder,
    x: Tensor,
    *,
    epochs: int = 30,
    lr: float = 1e-3,
    batch_size: int = 256,
    generator: torch.Generator | None = None,
) -> list[float]:
    """Mini-batch reconstruction pre-training (SDCN recipe: MSE, Adam, shuffled batches).

    Uses its own Adam optimiser over the autoencoder's parameters and leaves their ``.grad`` cleared.

    Args:
        model: The autoencoder (trained in place).
        x: Features ``[N, F]`` on the model's device.
        epochs: Passes over the data (``0`` skips pre-training).
        lr: Adam learning rate.
        batch_size: Rows per step.
        generator: Shuffling RNG (default: the global torch RNG).

    Returns:
        The mean reconstruction loss of every epoch.
    """
    if epochs < 0 or batch_size < 1 or lr <= 0:
        raise ValueError(f"need epochs >= 0, batch_size >= 1, lr > 0; got {epochs}, {batch_size}, {lr}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError("features contain NaN or inf")
    if epochs:  # tens of seconds before the first training epoch: say what is happening
        logger.info("pre-training the autoencoder (%d -> %d): %d epochs over %d rows", model.in_channels,
                    model.embedding_dim, epochs, x.size(0))
    started = time.perf_counter()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    was_training = model.training
    model.train()
    with torch.enable_grad():
        for _ in range(epochs):
            order = torch.randperm(x.size(0), generator=generator).to(x.device)
            total = 0.0
            for start in range(0, x.size(0), batch_size):
                batch = x[order[start:start + batch_size]]
                optimizer.zero_grad(set_to_none=True)
                loss = F.mse_loss(model(batch)[0], batch)
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * batch.size(0)
            losses.append(total / x.size(0))
    if epochs:
        logger.info("autoencoder pre-trained in %.1f s, reconstruction loss %.4g", time.perf_counter() - started,
                    losses[-1])
    model.zero_grad(set_to_none=True)
    model.train(was_training)
    return losses
