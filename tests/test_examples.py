"""Smoke runs of every script in examples/ on tiny budgets (in-process, so torch is imported once)."""
from __future__ import annotations

import importlib.util
import math
import time
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(name: str, argv: list[str]):
    started = time.process_time()
    result = _load(name).main(argv)
    # CPU time, not wall time: the budget holds on a busy shared machine too.
    assert time.process_time() - started < 20, f"{name} took too long for a smoke test"
    return result


def test_every_example_has_a_smoke_test() -> None:
    scripts = {path.stem for path in EXAMPLES.glob("*.py")}
    tested = {"node_classification_grace", "clustering_pamc", "sequential_recommendation",
              "benchmark_new_method", "bring_your_own"}
    assert scripts == tested


def test_node_classification_grace(capsys) -> None:
    acc = _run("node_classification_grace", ["--epochs", "3", "--repeats", "1"])
    assert 0.0 <= acc <= 1.0
    assert "test accuracy" in capsys.readouterr().out


def test_clustering_pamc(capsys) -> None:
    scores = _run("clustering_pamc", ["--epochs", "3", "--pretrain-epochs", "1"])
    assert set(scores) >= {"acc", "nmi", "ari"} and all(math.isfinite(v) for v in scores.values())


@pytest.mark.parametrize("model", ["cl4srec", "sasrec"])
def test_sequential_recommendation(model: str, capsys) -> None:
    metrics = _run("sequential_recommendation",
                   ["--model", model, "--epochs", "1", "--max-batches", "2", "--users", "200"])
    assert 0.0 <= metrics["hr@20"] <= 1.0


def test_benchmark_new_method(tmp_path: Path, capsys) -> None:
    from graphcl.models import MODELS

    try:
        scores = _run("benchmark_new_method", ["--epochs", "2", "--out", str(tmp_path)])
    finally:
        MODELS.pop("interview-grace", None)
    assert set(scores) == {"grace", "dgi", "interview-grace"}
    assert (tmp_path / "results" / "interview-grace.json").is_file()


def test_bring_your_own(capsys) -> None:
    acc = _run("bring_your_own", ["--epochs", "3"])
    assert 0.0 <= acc <= 1.0
