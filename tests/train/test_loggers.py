from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from graphcl.train import (
    CSVLogger,
    JSONLLogger,
    Logger,
    TensorBoardLogger,
    default_loggers,
)


def test_csv_logger_widens_header_when_new_keys_appear(tmp_path: Path) -> None:
    logger = CSVLogger(tmp_path / "metrics.csv")
    logger.log(1, {"epoch": 1, "loss": torch.tensor(0.5)})
    logger.log(2, {"epoch": 2, "loss": 0.4, "acc": np.float64(0.7)})
    logger.log(3, {"epoch": 3, "loss": 0.3})
    logger.close()
    with (tmp_path / "metrics.csv").open(newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        assert reader.fieldnames == ["step", "epoch", "loss", "acc"]
    assert [r["step"] for r in rows] == ["1", "2", "3"]
    assert [r["acc"] for r in rows] == ["", "0.7", ""]
    assert float(rows[0]["loss"]) == 0.5


def test_jsonl_logger_writes_strict_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("stale\n")
    logger = JSONLLogger(path)
    logger.log(1, {"loss": 0.5, "name": "grace"})
    logger.log(2, {"loss": float("nan")})
    logger.close()
    events = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["step"] for e in events] == [1, 2]
    assert events[0]["loss"] == 0.5 and events[0]["name"] == "grace" and "wall_time" in events[0]
    assert events[1]["loss"] is None


def test_default_loggers_follow_the_protocol(tmp_path: Path) -> None:
    loggers = default_loggers(tmp_path)
    assert all(isinstance(logger, Logger) for logger in loggers)
    assert sorted(logger.path.name for logger in loggers) == ["events.jsonl", "metrics.csv"]


@pytest.mark.skipif(importlib.util.find_spec("tensorboard") is not None, reason="tensorboard is installed")
def test_tensorboard_logger_without_tensorboard_says_how_to_install(tmp_path: Path) -> None:
    with pytest.raises(ImportError, match=r"pip install 'graphrec-cl\[tensorboard\]'"):
        TensorBoardLogger(tmp_path)


@pytest.mark.skipif(importlib.util.find_spec("tensorboard") is None, reason="tensorboard is not installed")
def test_tensorboard_logger_writes_events(tmp_path: Path) -> None:
    logger = TensorBoardLogger(tmp_path)
    logger.log(1, {"loss": 0.5, "note": "skipped"})
    logger.close()
    assert any(p.name.startswith("events.out.tfevents") for p in tmp_path.iterdir())
