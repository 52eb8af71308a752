"""Best-value tracking and patience-based early stopping on one monitored metric."""
from __future__ import annotations

import math
from typing import Any

from graphcl.errors import ConfigError


class EarlyStopping:
    """Track the best value of a monitored metric and count evaluations without improvement.

    A value improves on the best one when it is lower by more than ``min_delta`` (``mode="min"``) or higher
    by more than ``min_delta`` (``mode="max"``). The first value that is not NaN (even ``±inf``) always improves;
    NaN never does.

    Args:
        monitor: Name of the metric (only stored, for messages and checkpoints).
        mode: ``"min"`` or ``"max"``.
        patience: Stop after this many consecutive evaluations without improvement; ``None`` never stops.
        min_delta: Smallest change that counts as an improvement (``>= 0``).
    """

    def __init__(self, monitor: str = "loss", mode: str = "min", patience: int | None = None,
                 min_delta: float = 0.0) -> None:
        if mode not in ("min", "max"):
            raise ConfigError(f"mode must be 'min' or 'max', got {mode!r}")
        if patience is not None and (not isinstance(patience, int) or isinstance(patience, bool) or patience < 1):
            raise ConfigError(f"patience must be a positive int or None, got {patience!r}")
        if not math.isfinite(min_delta) or min_delta < 0:
            raise ConfigError(f"min_delta must be a finite number >= 0, got {min_delta!r}")
        self.monitor = monitor
        self.mode = mode
        self.patience = patience
        self.min_delta = float(min_delta)
        self.best_value: float | None = None
        self.best_epoch: int | None = None
        self.num_bad_evals = 0

    def improves(self, value: float) -> bool:
        """Whether ``value`` beats the best value so far (without recording it)."""
        if math.isnan(value):
            return False
        if self.best_value is None:
            return True
        if self.mode == "min":
            return value < self.best_value - self.min_delta
        return value > self.best_value + self.min_delta

    def update(self, value: float, epoch: int) -> bool:
        """Record one evaluation of the monitored metric.

        Args:
            value: The metric's value.
            epoch: The epoch it was measured at.

        Returns:
            Whether it is a new best.
        """
        value = float(value)
        if self.improves(value):
            self.best_value, self.best_epoch, self.num_bad_evals = value, int(epoch), 0
            return True
        self.num_bad_evals += 1
        return False

    @property
    def should_stop(self) -> bool:
        """``True`` once ``patience`` consecutive evaluations brought no improvement."""
        return self.patience is not None and self.num_bad_evals >= self.patience

    def state_dict(self) -> dict[str, Any]:
        """Plain-value state for checkpoints."""
        return {
            "monitor": self.monitor,
            "mode": self.mode,
            "patience": self.patience,
            "min_delta": self.min_delta,
            "best_value": self.best_value,
            "best_epoch": self.best_epoch,
            "num_bad_evals": self.num_bad_evals,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the best value, its epoch and the patience counter.

        Raises:
            ConfigError: The state was recorded for a different monitored metric or mode, so its best value
                is not comparable.
        """
        if state.get("monitor") != self.monitor or state.get("mode") != self.mode:
            raise ConfigError(
                f"cannot resume early stopping on monitor={self.monitor!r}, mode={self.mode!r}: the checkpoint "
                f"tracked monitor={state.get('monitor')!r}, mode={state.get('mode')!r}"
            )
        self.best_value = None if state["best_value"] is None else float(state["best_value"])
        self.best_epoch = state["best_epoch"]
        self.num_bad_evals = int(state["num_bad_evals"])
