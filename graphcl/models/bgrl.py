"""BGRL — `"Large-Scale Representation Learning on Graphs via Bootstrapping" <https://arxiv.org/abs/2102.06514>`_
(Thakoor et al., ICLR 2022).

BYOL on graphs: an online encoder plus predictor learns to predict, node by node, the embedding that a slowly
moving target encoder (an exponential moving average of the online weights) gives to the other augmented view.
No negatives, so the cost is linear in the graph size.
"""
from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.nn import GCNConv
from torch_geometric.transforms import Compose

from graphcl.errors import ConfigError
from graphcl.losses.bootstrap import BootstrapLoss
from graphcl.models.base import GraphModel
from graphcl.models.dgi import embed_with
from graphcl.models.grace import Augmentation, encode
from graphcl.nn.encoders import PReLU
from graphcl.nn.sparse import SparseMatrix, gcn_propagation_matrix
from graphcl.transforms import DropEdge, MaskFeature


class BatchNormGCN(nn.Module):
    """BGRL's encoder: ``[GCNConv → BatchNorm → PReLU]`` per layer, the last layer included.

    Each layer has its own single-slope ``PReLU`` (:class:`graphcl.nn.PReLU`, ``nn.PReLU()`` with a faster CPU kernel); the batch norms use ``momentum`` in torch's convention (the
    weight of the new batch), the authors' ``0.99``, so the running statistics are close to the last batch's.
    The ``GCNConv`` layers hold the parameters; the products are evaluated as in :class:`~graphcl.nn.GCNEncoder`
    (one CSR propagation matrix per call, sparse features entering the first layer as a sparse matrix), which
    gives PyG's ``GCNConv`` results up to floating-point rounding.

    Args:
        in_channels: Input feature size ``F``.
        sizes: Output size of every layer, e.g. ``(512, 256)``.
        bn_momentum: Batch-norm momentum. (default: ``0.99``)

    Shape:
        - x: ``[N, F]``; output: ``[N, sizes[-1]]``.
    """

    def __init__(self, in_channels: int, sizes: Sequence[int], bn_momentum: float = 0.99) -> None:
        super().__init__()
        if not sizes or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
            raise ConfigError(f"encoder sizes must be a non-empty list of ints >= 1, got {sizes!r}")
        widths = [in_channels, *sizes]
        self.convs = nn.ModuleList(GCNConv(a, b) for a, b in itertools.pairwise(widths))
        self.norms = nn.ModuleList(nn.BatchNorm1d(b, momentum=bn_momentum) for b in widths[1:])
        self.acts = nn.ModuleList(PReLU() for _ in widths[1:])
        self.out_channels = widths[-1]

    def reset_parameters(self) -> None:
        for module in (*self.convs, *self.norms, *self.acts):
            module.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor | None = None) -> Tensor:
        """Node embeddings ``[N, sizes[-1]]``."""
        propagation = gcn_propagation_matrix(edge_index, edge_weight, x.size(0), dtype=x.dtype)
        for i, (conv, norm, act) in enumerate(zip(self.convs, self.norms, self.acts)):
            weight = conv.lin.weight
            sparse_input = i == 0 and not x.requires_grad and int(torch.count_nonzero(x)) <= 0.1 * x.numel()
            h = SparseMatrix.from_dense(x).matmul(weight.t()) if sparse_input else x @ weight.t()
            x = act(norm(propagation.matmul(h) + conv.bias))
        return x


def cosine_momentum(step: int, total: int, base: float) -> float:
    """BGRL's target momentum ``m_k = 1 − (1 − m₀)(1 + cos(πk/K))/2``: ``m₀`` at ``k = 0``, 1 at ``k = K``."""
    k = min(max(step, 0), total)
    return 1.0 - (1.0 - base) * (1.0 + math.cos(math.pi * k / total)) / 2.0


def warmup_cosine_lr(step: int, total: int, warmup: int, base: float) -> float:
    """BGRL's learning rate: linear warm-up from 0 over ``warmup`` steps, then cosine decay to 0 at ``total``."""
    if step < warmup:
        return base * step / warmup
    if step >= total:
        return 0.0
    return base * (1.0 + math.cos(math.pi * (step - warmup) / (total - warmup))) / 2.0


class BGRL(GraphModel):
    """BGRL (Thakoor et al., ICLR 2022): bootstrapped node representations without negatives.

    .. math::
        \\mathcal{L} = 2 - \\frac{1}{N}\\sum_i \\cos\\big(p_\\theta(h^{(1)}_i), \\mathrm{sg}(y^{(2)}_i)\\big)
        - \\frac{1}{N}\\sum_i \\cos\\big(p_\\theta(h^{(2)}_i), \\mathrm{sg}(y^{(1)}_i)\\big),\\qquad
        h^{(v)} = f_\\theta(\\tilde G_v),\\ y^{(v)} = f_\\xi(\\tilde G_v)

    (:class:`~graphcl.losses.BootstrapLoss` of each direction, averaged). After every optimiser step the target
    follows the online encoder, :math:`\\xi \\leftarrow m_k \\xi + (1 - m_k)\\theta` (parameters only; the target's
    batch-norm statistics are its own), with :math:`m_k` rising from ``momentum`` to 1 on a cosine over the ``epochs``
    steps; the learning rate warms up linearly over ``lr_warmup_epochs`` and then decays to 0 on a cosine. Both
    schedules live in :meth:`training_step`, the hook through which :func:`graphcl.train.fit` lets a model take
    its own optimiser steps; one full-batch step per epoch. Downstream tasks use the online encoder in eval mode.

    Decisions (spec ``baselines.md`` §2.4): the target starts from its own random initialisation (the authors
    re-initialise their deep copy); the optimiser is the loop's Adam with L2 weight decay (the authors: AdamW,
    decoupled; at ``wd = 1e-5`` the two differ negligibly); views are uniform directed edge dropping and column
    feature masking, as in the authors' code.

    Args:
        online_encoder: ``f_θ``: ``encoder(x, edge_index[, edge_weight]) -> [N, D]``.
        predictor: ``p_θ``: ``[N, D] -> [N, D]``.
        augment1: Transform producing the first view.
        augment2: Transform producing the second view.
        momentum: Base target momentum ``m₀``. (default: ``0.99``)
        epochs: Number of steps ``K`` of the schedules (the run's epochs). (default: ``10000``)
        lr_warmup_epochs: Linear learning-rate warm-up steps. (default: ``1000``)

    Examples:
        >>> model = BGRL.build(in_channels=1433, encoder_sizes=[512, 256], epochs=1000, lr_warmup_epochs=100)
        >>> fit(model, data, epochs=1000, lr=5e-4)   # training_step: step, then EMA of the target
        >>> z = model.embed(data)
    """

    #: :meth:`training_step` takes the whole optimisation step (scheduled learning rate, then the EMA update).
    owns_optimizer_step: ClassVar[bool] = True


    def __init__(
        self,
        online_encoder: nn.Module,
        predictor: nn.Module,
        augment1: Augmentation,
        augment2: Augmentation,
        momentum: float = 0.99,
        epochs: int = 10000,
        lr_warmup_epochs: int = 1000,
    ) -> None:
        super().__init__()
        if not 0.0 <= momentum <= 1.0:
            raise ConfigError(f"momentum must lie in [0, 1], got {momentum!r}")
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ConfigError(f"epochs must be an int >= 1, got {epochs!r}")
        if isinstance(lr_warmup_epochs, bool) or not isinstance(lr_warmup_epochs, int) or not 0 <= lr_warmup_epochs < epochs:
            raise ConfigError(f"lr_warmup_epochs must be an int in [0, epochs), got {lr_warmup_epochs!r}")
        self.online_encoder = online_encoder
        self.predictor = predictor
        self.target_encoder = copy.deepcopy(online_encoder)
        reset = getattr(self.target_encoder, "reset_parameters", None)
        if callable(reset):
            reset()
        self.target_encoder.requires_grad_(False)
        self.augment1, self.augment2 = augment1, augment2
        self.loss = BootstrapLoss()
        self.momentum, self.epochs, self.lr_warmup_epochs = float(momentum), epochs, lr_warmup_epochs
        self._step = 0  # 0-based index of the next optimiser step, set from the epoch by set_epoch

    @classmethod
    def build(
        cls,
        in_channels: int,
        encoder_sizes: Sequence[int] = (512, 256),
        predictor_hidden: int = 512,
        bn_momentum: float = 0.99,
        drop_edge_1: float = 0.2,
        drop_edge_2: float = 0.3,
        drop_feature_1: float = 0.2,
        drop_feature_2: float = 0.1,
        momentum: float = 0.99,
        lr_warmup_epochs: int = 1000,
        epochs: int = 10000,
        **unused: Any,
    ) -> BGRL:
        """BGRL with the authors' architecture (``bgrl/models.py``, ``predictors.py``).

        ``epochs`` is the training key of the same name: the configuration hands the model the run's length,
        which the momentum and learning-rate schedules span. Defaults are the authors' WikiCS values.

        Args:
            in_channels: Input feature size ``F``.
            encoder_sizes: Output size of each ``GCNConv → BatchNorm → PReLU`` layer. (default: ``(512, 256)``)
            predictor_hidden: Hidden size of the predictor ``Linear → PReLU → Linear``. (default: ``512``)
            bn_momentum: Batch-norm momentum (torch convention). (default: ``0.99``)
            drop_edge_1: Edge drop rate of view 1. (default: ``0.2``)
            drop_edge_2: Edge drop rate of view 2. (default: ``0.3``)
            drop_feature_1: Feature-column masking rate of view 1. (default: ``0.2``)
            drop_feature_2: Feature-column masking rate of view 2. (default: ``0.1``)
            momentum: Base target momentum ``m₀``. (default: ``0.99``)
            lr_warmup_epochs: Learning-rate warm-up steps. (default: ``1000``)
            epochs: Steps of the schedules. (default: ``10000``)
        """
        if unused:
            raise TypeError(f"BGRL.build() got unexpected arguments: {sorted(unused)}")
        encoder = BatchNormGCN(in_channels, list(encoder_sizes), bn_momentum=bn_momentum)
        d = encoder.out_channels
        predictor = nn.Sequential(nn.Linear(d, predictor_hidden), PReLU(), nn.Linear(predictor_hidden, d))
        aug1 = Compose([DropEdge(drop_edge_1), MaskFeature(drop_feature_1)])
        aug2 = Compose([DropEdge(drop_edge_2), MaskFeature(drop_feature_2)])
        return cls(encoder, predictor, aug1, aug2, momentum=momentum, epochs=epochs, lr_warmup_epochs=lr_warmup_epochs)

    def set_epoch(self, epoch: int) -> None:
        """Position the schedules at the (1-based) ``epoch``: its step is ``k = epoch − 1`` (one step per epoch)."""
        self._step = int(epoch) - 1

    def current_momentum(self) -> float:
        """``m_k`` for the current step."""
        return cosine_momentum(self._step, self.epochs, self.momentum)

    def forward(self, data: Data) -> Tensor:
        """Symmetrised bootstrap loss on two fresh views (the target encoder runs without gradient)."""
        view1, view2 = self.augment1(data), self.augment2(data)
        q1 = self.predictor(encode(self.online_encoder, view1))
        q2 = self.predictor(encode(self.online_encoder, view2))
        with torch.no_grad():
            y1 = encode(self.target_encoder, view1)
            y2 = encode(self.target_encoder, view2)
        return 0.5 * (self.loss(q1, y2) + self.loss(q2, y1))

    @torch.no_grad()
    def update_target(self, momentum: float) -> None:
        """``ξ ← m ξ + (1 − m) θ`` on every parameter of the target encoder (buffers are left alone)."""
        for target, online in zip(self.target_encoder.parameters(), self.online_encoder.parameters()):
            target.mul_(momentum).add_(online.detach(), alpha=1.0 - momentum)

    def training_step(self, data: Data, optimizer: torch.optim.Optimizer) -> dict[str, Tensor]:
        """One optimiser step at the scheduled learning rate, then the EMA update of the target.

        Called by :func:`graphcl.train.fit` instead of its own ``zero_grad / backward / step``. The learning rate
        of every parameter group is ``warmup_cosine_lr(k, epochs, lr_warmup_epochs, initial_lr)``, ``initial_lr``
        being the group's learning rate when first seen (stored in the group, as torch's schedulers do, so a
        resumed run continues the same schedule).

        Raises:
            FloatingPointError: The loss is NaN or infinite (raised before the weights change).
        """
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
            group["lr"] = warmup_cosine_lr(self._step, self.epochs, self.lr_warmup_epochs, group["initial_lr"])
        optimizer.zero_grad(set_to_none=True)
        loss = self(data)
        if not bool(torch.isfinite(loss)):
            raise FloatingPointError(f"non-finite BGRL loss at step {self._step}: {loss.item()}")
        loss.backward()
        optimizer.step()
        momentum = self.current_momentum()
        self.update_target(momentum)
        return {"loss": loss.detach(), "momentum": torch.tensor(momentum)}

    def embed(self, data: Data) -> Tensor:
        """Online encoder output on the clean graph in eval mode, detached, ``[N, D]``."""
        return embed_with(self, self.online_encoder, data)
