"""Supervised GCN — `"Semi-Supervised Classification with Graph Convolutional Networks"
<https://arxiv.org/abs/1609.02907>`_ (Kipf & Welling, ICLR 2017): the reference line of the node-classification
tables.

The library's GCN encoder trained end to end with cross-entropy on the labelled nodes of the linear probe's
training split — the very nodes the probe later fits its classifier on — so the self-supervised numbers read
against it use the same labels. After training, the probe runs on the encoder's hidden layer.
"""
from __future__ import annotations

import copy
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.nn import GCNConv

from graphcl.errors import ConfigError, DataError
from graphcl.eval.splits import random_node_split
from graphcl.models.base import GraphModel
from graphcl.models.dgi import embed_with
from graphcl.models.grace import encode
from graphcl.nn.encoders import GCNEncoder


class SupervisedGCN(GraphModel):
    """Supervised GCN (Kipf & Welling, 2017) trained on the probe's training nodes.

    .. math::
        \\hat{Y} = \\hat{A}\\,\\mathrm{drop}\\big(f(\\mathrm{drop}(X), A)\\big) W_{\\text{out}} + b,\\qquad
        \\mathcal{L} = -\\frac{1}{|\\mathcal{V}_{\\text{train}}|}\\sum_{i \\in \\mathcal{V}_{\\text{train}}}
        \\log \\operatorname{softmax}(\\hat{Y}_i)_{y_i}

    where ``f`` is :class:`~graphcl.nn.GCNEncoder` (``num_layers - 1`` GCN layers, activation after each) and the
    output layer is one more ``GCNConv`` to the ``C`` classes: with ``num_layers=2`` this is Kipf's
    ``GCNConv(F, 16) → ReLU → dropout → GCNConv(16, C)``. ``embed`` returns ``f(X, A)`` (no dropout), on which
    the linear probe is fitted.

    **The training split.** ``V_train`` is :func:`graphcl.eval.splits.random_node_split` with the probe's
    ``train_ratio`` / ``val_ratio`` and seed ``split_seed`` — the probe's first split for a run seeded with
    ``split_seed`` (:func:`graphcl.eval.linear_probe` draws split ``r`` with seed ``seed + r``). Its other splits
    would test on nodes this model was trained on, so ``probe_repeats`` must be 1 (checked by :meth:`build`).
    ``split_seed=None`` takes the seed the run was seeded with (``torch.initial_seed()`` when the model is
    built, i.e. the ``seed_everything(seed)`` of :func:`graphcl.experiment.train_model`).

    Args:
        encoder: Hidden layers ``f``: ``encoder(x, edge_index[, edge_weight]) -> [N, H]``.
        classifier: Output ``GCNConv(H, C)``.
        train_ratio: Training fraction of the split. (default: ``0.1``)
        val_ratio: Validation fraction of the split (only shifts which nodes are training nodes). (default: ``0.1``)
        split_seed: Seed of the split (``None``: the run's seed, see above). (default: ``None``)
        dropout: Dropout on the input and on the hidden layer during training. (default: ``0.5``)

    Examples:
        >>> model = SupervisedGCN.build(in_channels=1433, num_classes=7)
        >>> loss = model(data)            # cross-entropy on the training split (needs data.y)
        >>> z = model.embed(data)         # hidden layer, for the probe
    """

    needs_labels: ClassVar[bool] = True

    #: Trains with the node labels on the probe's training split of the run's seed; the runner keeps
    #: ``probe_repeats = 1`` and the probe's ``train_ratio`` / ``val_ratio`` (the build keys of the same names).
    trains_on_probe_split: ClassVar[bool] = True

    def __init__(
        self,
        encoder: nn.Module,
        classifier: nn.Module,
        train_ratio: float = 0.1,
        val_ratio: float = 0.1,
        split_seed: int | None = None,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout must lie in [0, 1), got {dropout!r}")
        self.encoder = encoder
        self.classifier = classifier
        self.train_ratio, self.val_ratio, self.dropout = float(train_ratio), float(val_ratio), float(dropout)
        self.split_seed = int(torch.initial_seed() if split_seed is None else split_seed)

    @classmethod
    def build(
        cls,
        in_channels: int,
        num_classes: int | None = None,
        hidden_channels: int = 16,
        num_layers: int = 2,
        activation: str = "relu",
        dropout: float = 0.5,
        split_seed: int | None = None,
        train_ratio: float = 0.1,
        val_ratio: float = 0.1,
        probe_repeats: int = 1,
        **unused: Any,
    ) -> SupervisedGCN:
        """Kipf's GCN on the library's encoder.

        ``train_ratio``, ``val_ratio`` and ``probe_repeats`` are the evaluation keys of the same names: the
        configuration hands the model the probe's values, so the model trains on the probe's split.

        Args:
            in_channels: Input feature size ``F``.
            num_classes: Number of classes ``C`` (required).
            hidden_channels: Width ``H`` of the hidden layers (Kipf: 16). (default: ``16``)
            num_layers: GCN layers including the output layer, ``≥ 2``. (default: ``2``)
            activation: Hidden activation. (default: ``"relu"``)
            dropout: Dropout rate (Kipf: 0.5). (default: ``0.5``)
            split_seed: Seed of the training split; ``None`` = the run's seed. (default: ``None``)
            train_ratio: The probe's training fraction. (default: ``0.1``)
            val_ratio: The probe's validation fraction. (default: ``0.1``)
            probe_repeats: The probe's number of splits; must be 1 (see the class docstring). (default: ``1``)

        Raises:
            ConfigError: ``num_classes`` missing, ``num_layers < 2`` or ``probe_repeats != 1``.
        """
        if unused:
            raise TypeError(f"SupervisedGCN.build() got unexpected arguments: {sorted(unused)}")
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise ConfigError(f"num_classes must be set to the number of classes (an int >= 2), got {num_classes!r}")
        if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers < 2:
            raise ConfigError(f"num_layers must be an int >= 2 (hidden layers + output layer), got {num_layers!r}")
        if probe_repeats != 1:
            raise ConfigError(
                f"probe_repeats must be 1 for the supervised reference (it trains on the probe's first split; the "
                f"other splits would test on its training nodes), got {probe_repeats}"
            )
        encoder = GCNEncoder(
            in_channels, hidden_channels, hidden_channels=hidden_channels, num_layers=num_layers - 1,
            activation=activation,
        )
        classifier = GCNConv(hidden_channels, num_classes)
        return cls(encoder, classifier, train_ratio, val_ratio, split_seed, dropout)

    def reset_parameters(self) -> None:
        self.encoder.reset_parameters()
        self.classifier.reset_parameters()

    def train_index(self, num_nodes: int) -> Tensor:
        """The training nodes: the first part of ``random_node_split(N, train_ratio, val_ratio, split_seed)``."""
        return random_node_split(num_nodes, self.train_ratio, self.val_ratio, seed=self.split_seed)[0]

    def logits(self, data: Data) -> Tensor:
        """Class scores ``[N, C]`` (dropout active in training mode)."""
        view = copy.copy(data)  # shallow: only x is replaced
        view.x = F.dropout(data.x, self.dropout, self.training)
        hidden = F.dropout(encode(self.encoder, view), self.dropout, self.training)
        edge_weight = getattr(data, "edge_weight", None)
        return self.classifier(hidden, data.edge_index, edge_weight)

    def forward(self, data: Data) -> Tensor:
        """Cross-entropy on the training split of ``data`` (needs ``data.y``)."""
        y = getattr(data, "y", None)
        if not isinstance(y, Tensor) or y.shape != (int(data.num_nodes),):
            raise DataError("SupervisedGCN needs node labels data.y of shape [N]")
        index = self.train_index(int(data.num_nodes)).to(y.device)
        return F.cross_entropy(self.logits(data)[index], y[index].long())

    def embed(self, data: Data) -> Tensor:
        """Hidden representation ``f(X, A)`` on the clean graph, detached, ``[N, H]``."""
        return embed_with(self, self.encoder, data)

