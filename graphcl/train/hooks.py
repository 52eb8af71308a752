"""The optional hooks :func:`graphcl.train.fit` calls on a model, declared by subclassing :class:`TrainingHooks`.

A plain ``nn.Module`` trains with ``fit`` as it is (``forward(batch)`` is the loss). A model that needs to know
the epoch (a loss schedule) or that runs its own optimisation step (several optimisers' worth of updates per
batch, an EMA target update after the step) subclasses :class:`TrainingHooks` and overrides what it needs, so the
trainer asks the model instead of probing its attributes.
"""
from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor


class TrainingHooks:
    """Mixin for models with per-epoch schedules or their own optimisation step (the base classes of
    :mod:`graphcl.models` and :mod:`recsys.models` inherit it)."""

    #: :meth:`training_step` performs the whole optimisation step of a batch (``zero_grad`` / ``backward`` /
    #: ``step``) instead of ``fit``; ``fit`` then only records the returned loss parts (and refuses ``grad_clip``,
    #: which it could not apply).
    owns_optimizer_step: ClassVar[bool] = False

    def set_epoch(self, epoch: int) -> None:
        """Called by ``fit`` with the 1-based epoch before each epoch's steps; nothing to do by default."""

    def training_step(self, batch: Any, optimizer: torch.optim.Optimizer) -> Tensor | dict[str, Tensor]:
        """One full optimisation step on ``batch``; returns the loss or its parts, detached (only for models with
        :attr:`owns_optimizer_step`)."""
        raise NotImplementedError(f"{type(self).__name__} sets owns_optimizer_step but defines no training_step")
