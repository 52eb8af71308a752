"""Metric loggers for training runs: CSV and JSON-lines by default, TensorBoard when it is installed.

A run chooses its loggers with the ``logger`` configuration key (``logger=csv,tensorboard`` on the command
line, or ``--logger csv,tensorboard``); :func:`make_loggers` turns the names into loggers.
"""
from __future__ import annotations

import csv
import difflib
import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from graphcl.errors import ConfigError
from graphcl.train._primitives import json_safe, to_primitive
from graphcl.utils.imports import require


@runtime_checkable
class Logger(Protocol):
    """What :func:`graphcl.train.fit` needs from a logger."""

    def log(self, step: int, metrics: Mapping[str, Any]) -> None:
        """Record ``metrics`` (name -> number or string) at ``step`` (the epoch, for ``fit``)."""

    def close(self) -> None:
        """Flush and release resources; called once at the end of the run."""


def _scalar_values(metrics: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k): to_primitive(v, f"metrics[{k!r}]", allow_tensors=False) for k, v in metrics.items()}


class CSVLogger:
    """Append one row per :meth:`log` call to a CSV file (``metrics.csv``), with a ``step`` column first.

    The header is the union of all keys seen so far. When a call brings new keys (e.g. evaluation metrics
    that appear only every few epochs), the file is rewritten atomically with the wider header and earlier
    rows get empty cells, so it always stays readable with :class:`csv.DictReader`.

    Args:
        path: The CSV file; an existing file is overwritten, parent folders are created.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fieldnames: list[str] = ["step"]
        self.path.write_text("")
        self._has_header = False

    def log(self, step: int, metrics: Mapping[str, Any]) -> None:
        row = {"step": int(step), **_scalar_values(metrics)}
        new_keys = [k for k in row if k not in self.fieldnames]
        if new_keys and self._has_header:
            self._rewrite(self.fieldnames + new_keys)
        elif new_keys:
            self.fieldnames += new_keys
        with self.path.open("a", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=self.fieldnames)
            if not self._has_header:
                writer.writeheader()
                self._has_header = True
            writer.writerow(row)

    def _rewrite(self, fieldnames: list[str]) -> None:
        with self.path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        with tmp.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=fieldnames)
            writer.writeheader()
            writer.writerows(rows)
        os.replace(tmp, self.path)
        self.fieldnames = fieldnames

    def close(self) -> None:
        """Nothing to release: every row is written and closed as it is logged."""


class JSONLLogger:
    """Append one JSON object per :meth:`log` call to a JSON-lines file (``events.jsonl``).

    Each line is ``{"step": ..., "wall_time": <unix seconds>, **metrics}``; NaN / infinite values are written
    as ``null`` so that every line is strict JSON.

    Args:
        path: The file; an existing file is overwritten, parent folders are created.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("")

    def log(self, step: int, metrics: Mapping[str, Any]) -> None:
        event = {"step": int(step), "wall_time": time.time(), **json_safe(dict(metrics), "metrics")}
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(event, allow_nan=False) + "\n")

    def close(self) -> None:
        """Nothing to release: every line is written and closed as it is logged."""


class TensorBoardLogger:
    """Write numeric metrics as TensorBoard scalars (needs the ``tensorboard`` extra).

    Args:
        log_dir: The event-file folder.

    Raises:
        ImportError: ``tensorboard`` is not installed (with the ``pip install`` line to fix it).
    """

    def __init__(self, log_dir: str | os.PathLike[str]) -> None:
        require("tensorboard", "tensorboard", "TensorBoardLogger")
        tb = require("torch.utils.tensorboard", "tensorboard", "TensorBoardLogger")
        self.log_dir = Path(log_dir)
        self._writer = tb.SummaryWriter(log_dir=str(self.log_dir))

    def log(self, step: int, metrics: Mapping[str, Any]) -> None:
        for name, value in _scalar_values(metrics).items():
            if isinstance(value, (int, float)):
                self._writer.add_scalar(name, float(value), global_step=int(step))

    def close(self) -> None:
        self._writer.close()


#: Logger names a run's ``logger`` configuration key accepts, and the folder or file each writes in the run folder.
LOGGER_NAMES: dict[str, str] = {"csv": "metrics.csv", "jsonl": "events.jsonl", "tensorboard": "tensorboard"}
#: What a run logs when its configuration does not say: ``metrics.csv`` and ``events.jsonl``.
DEFAULT_LOGGERS: tuple[str, ...] = ("csv", "jsonl")


def logger_names(value: str | Sequence[str] | None) -> list[str]:
    """Normalise a ``logger`` configuration value to a list of known logger names.

    Args:
        value: ``"csv,tensorboard"``, ``["csv", "tensorboard"]`` (items may hold commas too), ``"none"`` / ``[]`` /
            ``None`` for no loggers. Names are case-insensitive; duplicates are dropped, the order is kept.

    Returns:
        Names among :data:`LOGGER_NAMES`.

    Raises:
        ConfigError: An unknown name (with a "did you mean" hint).
    """
    if value is None:
        return []
    words = [value] if isinstance(value, str) else list(value)
    names: list[str] = []
    for word in words:
        if not isinstance(word, str):
            raise ConfigError(f"logger names must be strings, got {word!r}")
        for name in (part.strip().lower() for part in word.split(",")):
            if name in ("", "none"):
                continue
            if name not in LOGGER_NAMES:
                close = difflib.get_close_matches(name, LOGGER_NAMES, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise ConfigError(f"unknown logger {name!r}.{hint} Valid: {', '.join(LOGGER_NAMES)} (or none)")
            if name not in names:
                names.append(name)
    return names


def make_loggers(names: str | Sequence[str] | None, run_dir: str | os.PathLike[str]) -> list[Logger]:
    """The loggers named by a ``logger`` configuration value, writing into ``run_dir``.

    ``csv`` -> ``metrics.csv`` (:class:`CSVLogger`), ``jsonl`` -> ``events.jsonl`` (:class:`JSONLLogger`),
    ``tensorboard`` -> event files in ``tensorboard/`` (:class:`TensorBoardLogger`, needs the ``tensorboard``
    extra).

    Args:
        names: As accepted by :func:`logger_names`, e.g. ``"csv,tensorboard"``.
        run_dir: The run folder.

    Raises:
        ConfigError: An unknown logger name.
        ImportError: ``tensorboard`` is requested but not installed (nothing is created then).
    """
    run_dir = Path(run_dir)
    chosen = logger_names(names)
    if "tensorboard" in chosen:  # fail before any file is created
        require("tensorboard", "tensorboard", "the tensorboard logger")
    factories = {"csv": CSVLogger, "jsonl": JSONLLogger, "tensorboard": TensorBoardLogger}
    return [factories[name](run_dir / LOGGER_NAMES[name]) for name in chosen]


def default_loggers(run_dir: str | os.PathLike[str]) -> list[Logger]:
    """The loggers :func:`~graphcl.train.fit` uses for a run folder: ``metrics.csv`` and ``events.jsonl``."""
    return make_loggers(DEFAULT_LOGGERS, run_dir)
