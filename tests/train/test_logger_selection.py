"""Loggers chosen by the ``logger`` config key / ``--logger``, ``--device auto`` and the ``amp`` key (issue 21)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
from torch import nn

from graphcl.errors import ConfigError
from graphcl.experiment import resolve_device
from graphcl.train import CSVLogger, JSONLLogger, fit
from graphcl.train.loggers import logger_names, make_loggers

HAS_TENSORBOARD = importlib.util.find_spec("tensorboard") is not None
needs_tensorboard = pytest.mark.skipif(not HAS_TENSORBOARD, reason="tensorboard is not installed")
GRAPH_TINY = ["epochs=2", "tasks=[node]", "probe_repeats=1", "hidden_channels=16",
              "proj_channels=8"]
RECSYS_TINY = ["hidden_size=16", "inner_size=16", "num_layers=1", "max_len=10", "epochs=1", "batch_size=128",
               "max_batches_per_epoch=2"]


def _scalar_tags(log_dir: Path) -> set[str]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = sorted(log_dir.glob("events.out.tfevents.*"))
    assert events, f"no event file in {log_dir}"
    acc = EventAccumulator(str(log_dir))
    acc.Reload()
    return set(acc.Tags()["scalars"])


@pytest.mark.parametrize(
    "value, expected",
    [
        ("csv,tensorboard", ["csv", "tensorboard"]),
        (["csv", "jsonl,CSV"], ["csv", "jsonl"]),
        ("none", []),
        ([], []),
        (None, []),
        (" jsonl ", ["jsonl"]),
    ],
)
def test_logger_names(value, expected) -> None:
    assert logger_names(value) == expected


def test_unknown_logger_name_suggests_the_closest() -> None:
    with pytest.raises(ConfigError, match="Did you mean 'tensorboard'"):
        logger_names("csv,tensorbord")
    with pytest.raises(ConfigError, match="must be strings"):
        logger_names([1])


def test_make_loggers_builds_the_named_ones(tmp_path: Path) -> None:
    loggers = make_loggers("jsonl,csv", tmp_path)
    assert [type(logger) for logger in loggers] == [JSONLLogger, CSVLogger]
    assert make_loggers("none", tmp_path) == []


def _toy_fit(tmp_path: Path, loggers) -> None:
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    x = torch.randn(8, 3)
    fit(model, x, epochs=2, loss_fn=lambda m, b: m(b).pow(2).mean(), run_dir=tmp_path, show_progress=False,
        loggers=loggers)


def test_fit_with_logger_names_writes_only_those(tmp_path: Path) -> None:
    _toy_fit(tmp_path, "csv")
    assert (tmp_path / "metrics.csv").is_file() and not (tmp_path / "events.jsonl").exists()
    assert len((tmp_path / "metrics.csv").read_text().strip().splitlines()) == 3  # header + 2 epochs


@needs_tensorboard
def test_fit_with_tensorboard_writes_event_files(tmp_path: Path) -> None:
    _toy_fit(tmp_path, ["tensorboard"])
    assert "loss" in _scalar_tags(tmp_path / "tensorboard")
    assert not (tmp_path / "metrics.csv").exists()


@pytest.mark.skipif(HAS_TENSORBOARD, reason="tensorboard is installed")
def test_tensorboard_without_the_package_fails_before_writing(tmp_path: Path) -> None:
    with pytest.raises(ImportError, match=r"graphrec-cl\[tensorboard\]"):
        make_loggers("csv,tensorboard", tmp_path)
    assert not (tmp_path / "metrics.csv").exists()


@needs_tensorboard
def test_graphcl_train_logger_key_writes_event_files(tmp_path: Path, capsys) -> None:
    from graphcl.cli import main

    run = tmp_path / "run"
    assert main(["train", "--run-dir", str(run), "--quiet", *GRAPH_TINY, "logger=csv,tensorboard"]) == 0
    assert "loss" in _scalar_tags(run / "tensorboard")
    assert (run / "metrics.csv").is_file() and not (run / "events.jsonl").exists()
    assert "logger:\n- csv\n- tensorboard" in (run / "config.yaml").read_text()


def test_graphcl_train_logger_option_and_device_auto(tmp_path: Path, capsys) -> None:
    from graphcl.cli import main

    run = tmp_path / "run"
    assert main(["train", "--run-dir", str(run), "--quiet", "--device", "auto", "--logger", "jsonl", *GRAPH_TINY]) == 0
    assert (run / "events.jsonl").is_file() and not (run / "metrics.csv").exists()
    # The logger may change on resume (it does not alter training).
    assert main(["train", "--run-dir", str(run), "--resume", "--quiet", "--logger", "csv,jsonl", "epochs=3"]) == 0
    assert len((run / "metrics.csv").read_text().strip().splitlines()) == 4  # replayed history + epoch 3


def test_recsys_train_logger_option_device_auto_and_amp_key(tmp_path: Path, capsys) -> None:
    from recsys.cli import main

    run = tmp_path / "run"
    # amp applies on CUDA only; on a CPU-only machine the key is accepted and training runs in float32.
    assert main(["train", "--model", "cl4srec", "--run-dir", str(run), "--quiet", "--logger", "csv",
                 *RECSYS_TINY, "amp=bf16"]) == 0
    assert (run / "metrics.csv").is_file() and not (run / "events.jsonl").exists()
    assert main(["train", "--quiet", *RECSYS_TINY, "amp=fp8", "--run-dir", str(tmp_path / "bad")]) == 2
    assert "amp must be bf16, fp16 or none" in capsys.readouterr().err
    assert main(["train", "--quiet", "--logger", "tb", "--run-dir", str(tmp_path / "bad2"), *RECSYS_TINY]) == 2
    assert "unknown logger 'tb'" in capsys.readouterr().err


def test_device_auto_resolves_to_cuda_when_present_else_cpu() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("AUTO").type == expected
    assert resolve_device(None).type == expected


def test_cli_device_defaults_are_auto() -> None:
    from graphcl.cli import build_parser as graph_parser
    from recsys.cli import build_parser as recsys_parser

    assert graph_parser().parse_args(["train"]).device == "auto"
    assert graph_parser().parse_args(["embed", "--checkpoint", "x.pt"]).device == "auto"
    assert recsys_parser().parse_args(["train"]).device == "auto"
    assert recsys_parser().parse_args(["eval"]).device == "auto"


def test_fit_rejects_bad_amp_and_fp16_with_own_optimizer_step(tmp_path: Path) -> None:
    model = nn.Linear(3, 1)
    with pytest.raises(ConfigError, match="amp must be"):
        fit(model, torch.randn(4, 3), epochs=1, loss_fn=lambda m, b: m(b).mean(), amp="fp8", show_progress=False)
