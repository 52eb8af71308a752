from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from graphcl.errors import ConfigError
from graphcl.train import FitResult, fit, load_checkpoint
from graphcl.utils.seed import seed_everything
from tests.train._toys import (
    NoisyRegressor,
    assert_same_params,
    params_of,
    regression_graph,
    regression_tensors,
)

QUIET = {"show_progress": False}


def test_full_batch_loss_decreases_one_step_per_epoch() -> None:
    seed_everything(0)
    model = NoisyRegressor(dropout=0.0)
    result = fit(model, regression_graph(), epochs=60, lr=0.03, restore_best=False, **QUIET)
    assert isinstance(result, FitResult)
    assert [r["epoch"] for r in result.history] == list(range(1, 61))
    assert len(model.step_losses) == 60  # a Data object is one batch, although it is iterable
    assert result.history[-1]["loss"] < 0.3 * result.history[0]["loss"]
    assert result.epochs_run == 60 and not result.stopped_early
    assert all(r["time_s"] >= 0 for r in result.history)
    assert result.run_dir is None


def test_set_epoch_called_with_one_based_epochs() -> None:
    model = NoisyRegressor()
    fit(model, regression_graph(), epochs=5, **QUIET)
    assert model.epochs_seen == [1, 2, 3, 4, 5]


def test_dict_loss_parts_are_summed_and_logged() -> None:
    seed_everything(1)
    with_parts = NoisyRegressor(parts=True)
    seed_everything(1)
    summed = NoisyRegressor(parts=True)
    # Same model, but the loss function hands fit the sum directly: identical training if fit sums the parts.
    data = regression_graph()
    seed_everything(2)
    result = fit(with_parts, data, epochs=8, restore_best=False, **QUIET)
    seed_everything(2)
    fit(summed, data, epochs=8, restore_best=False,
        loss_fn=lambda m, b: sum(m(b).values()), **QUIET)
    assert_same_params(with_parts, summed, atol=1e-7)
    for record in result.history:
        assert {"loss", "mse", "l2"} <= record.keys()
        assert record["loss"] == pytest.approx(record["mse"] + record["l2"], rel=1e-5)
        assert record["l2"] > 0


def test_dataloader_runs_one_step_per_batch_and_logs_mean() -> None:
    x, y = regression_tensors(num=40)
    loader = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True)
    model = NoisyRegressor()
    result = fit(model, loader, epochs=3, **QUIET)
    assert len(model.step_losses) == 3 * 5
    for epoch, record in enumerate(result.history):
        batch_losses = model.step_losses[5 * epoch: 5 * (epoch + 1)]
        assert record["loss"] == pytest.approx(sum(batch_losses) / 5, rel=1e-5)


def test_list_of_batches_and_custom_loss_fn() -> None:
    x, y = regression_tensors(num=30)
    batches = [(x[:10], y[:10]), (x[10:20], y[10:20]), (x[20:], y[20:])]
    model = NoisyRegressor()
    calls = []

    def loss_fn(m: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        calls.append(len(batch[0]))
        return m(batch)

    fit(model, batches, epochs=2, loss_fn=loss_fn, device="cpu", **QUIET)
    assert calls == [10, 10, 10] * 2


def _scripted_eval(scores: list[float], snapshots: dict[int, dict[str, torch.Tensor]], seen_modes: list[bool]):
    """An eval_fn whose score at the n-th evaluation is ``scores[n]``; keeps the weights it saw."""
    state = {"calls": 0}

    def eval_fn(model: NoisyRegressor) -> dict[str, float]:
        seen_modes.append(model.training or torch.is_grad_enabled())
        epoch = model.epochs_seen[-1]
        snapshots[epoch] = params_of(model)
        score = scores[state["calls"]]
        state["calls"] += 1
        return {"score": score, "other": -score}

    return eval_fn


@pytest.mark.parametrize(("eval_every", "expected_stop", "best_epoch"), [(1, 7, 4), (2, 14, 8)])
def test_early_stopping_counts_evaluations_and_restores_best(
    eval_every: int, expected_stop: int, best_epoch: int
) -> None:
    scores = [0.1, 0.2, 0.3, 0.9, 0.5, 0.4, 0.3, 0.95, 0.1, 0.1]
    snapshots: dict[int, dict[str, torch.Tensor]] = {}
    modes: list[bool] = []
    model = NoisyRegressor()
    result = fit(model, regression_graph(), epochs=30, lr=0.05, eval_fn=_scripted_eval(scores, snapshots, modes),
                 eval_every=eval_every, monitor="score", mode="max", patience=3, **QUIET)
    assert result.stopped_early
    assert result.epochs_run == expected_stop
    assert len(result.history) == expected_stop
    assert result.best_epoch == best_epoch and result.best_value == pytest.approx(0.9)
    assert_same_params(model, snapshots[best_epoch], atol=0)
    assert not any(modes), "eval_fn must run in eval mode without gradients"
    assert model.training
    evaluated = [r["epoch"] for r in result.history if "score" in r]
    assert evaluated == list(range(eval_every, expected_stop + 1, eval_every))


def test_last_epoch_is_always_evaluated_and_min_delta_applies() -> None:
    scores = [1.0, 1.05, 1.08, 1.2]
    model = NoisyRegressor()
    result = fit(model, regression_graph(), epochs=7, eval_fn=_scripted_eval(scores, {}, []), eval_every=3,
                 monitor="score", mode="max", min_delta=0.1, **QUIET)
    evaluated = [r["epoch"] for r in result.history if "score" in r]
    assert evaluated == [3, 6, 7]
    assert result.best_epoch == 3  # 1.05 and 1.08 are within min_delta of 1.0
    assert not result.stopped_early


def test_restore_best_on_training_loss() -> None:
    seed_everything(3)
    model = NoisyRegressor(dropout=0.5)
    result = fit(model, regression_graph(), epochs=15, lr=0.5, **QUIET)  # a large lr makes the loss oscillate
    losses = [r["loss"] for r in result.history]
    assert result.best_value == min(losses)
    assert result.best_epoch == losses.index(min(losses)) + 1


def test_nan_loss_raises_with_epoch_and_part_before_the_step() -> None:
    class Exploding(NoisyRegressor):
        def forward(self, batch):
            parts = {"mse": super().forward(batch)}
            bad = float("nan") if self.epochs_seen[-1] >= 3 else 0.0
            parts["penalty"] = self.lin2.weight.sum() * bad
            return parts

    model = Exploding()
    before: dict[str, torch.Tensor] = {}

    def eval_fn(m: nn.Module) -> dict[str, float]:
        before.update(params_of(m))
        return {"val": 0.0}

    with pytest.raises(FloatingPointError, match=r"epoch 3.*'penalty'"):
        fit(model, regression_graph(), epochs=5, eval_fn=eval_fn, **QUIET)
    assert_same_params(model, before, atol=0)  # the non-finite step never reached the weights


def test_grad_clip_bounds_the_update() -> None:
    model = NoisyRegressor(dropout=0.0)
    start = torch.nn.utils.parameters_to_vector(model.parameters()).detach().clone()
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    fit(model, regression_graph(), epochs=1, optimizer=optimizer, grad_clip=1e-3, **QUIET)
    step = torch.nn.utils.parameters_to_vector(model.parameters()).detach() - start
    assert 0 < step.norm() <= 1e-3 + 1e-7


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"epochs": 0}, "epochs"),
        ({"epochs": 2, "monitor": "acc"}, "eval_fn"),
        ({"epochs": 2, "mode": "up"}, "mode"),
        ({"epochs": 2, "patience": 0}, "patience"),
        ({"epochs": 2, "checkpoint_every": 1}, "run_dir"),
        ({"epochs": 2, "grad_clip": -1.0}, "grad_clip"),
        ({"epochs": 2, "config": {"bad": object()}}, r"config\['bad'\]"),
        ({"epochs": 2, "eval_fn": lambda m: {"a": 1.0}, "monitor": "acc"}, "'acc'.*epoch 1"),
    ],
)
def test_bad_arguments_raise_config_error(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        fit(NoisyRegressor(), regression_graph(), **kwargs, **QUIET)


def test_bad_loss_outputs_raise_clear_errors() -> None:
    data = regression_graph()
    with pytest.raises(ValueError, match="scalar"):
        fit(NoisyRegressor(), data, epochs=1, loss_fn=lambda m, b: torch.ones(3, requires_grad=True), **QUIET)
    with pytest.raises(TypeError, match="scalar Tensor or a dict"):
        fit(NoisyRegressor(), data, epochs=1, loss_fn=lambda m, b: 1.0, **QUIET)
    with pytest.raises(ValueError, match="reserved"):
        fit(NoisyRegressor(), data, epochs=1, loss_fn=lambda m, b: {"loss": m(b), "x": m(b)}, **QUIET)
    with pytest.raises(ValueError, match="require grad"):
        fit(NoisyRegressor(), data, epochs=1, loss_fn=lambda m, b: m(b).detach(), **QUIET)
    with pytest.raises(ValueError, match="val_loss"):
        fit(NoisyRegressor(), data, epochs=1, eval_fn=lambda m: {"loss": 1.0}, **QUIET)


def test_run_dir_writes_checkpoints_and_logs(tmp_path: Path) -> None:
    scores = [0.1, 0.5, 0.3, 0.2, 0.1, 0.0]
    model = NoisyRegressor(parts=True)
    result = fit(model, regression_graph(), epochs=6, eval_fn=_scripted_eval(scores, {}, []), monitor="score",
                 mode="max", run_dir=tmp_path / "run", config={"lr": 1e-3, "root": tmp_path}, **QUIET)
    run = tmp_path / "run"
    assert result.run_dir == run
    best = load_checkpoint(run / "best.pt")
    last = load_checkpoint(run / "last.pt")
    assert best["epoch"] == 2 and best["best_epoch"] == 2 and best["best_value"] == pytest.approx(0.5)
    assert last["epoch"] == 6 and last["config"] == {"lr": 1e-3, "root": str(tmp_path)}
    assert_same_params(model, best["model"], atol=0)  # restored best weights == best.pt
    with (run / "metrics.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["epoch"]) for r in rows] == list(range(1, 7))
    assert {"step", "epoch", "loss", "mse", "l2", "score", "other", "time_s"} <= rows[0].keys()
    assert math.isclose(float(rows[1]["score"]), 0.5)
    assert len((run / "events.jsonl").read_text().splitlines()) == 6


def test_checkpoint_every_writes_last_periodically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from graphcl.train import loop

    written: list[tuple[str, int]] = []
    real_save = loop.save_checkpoint

    def spy(path, model, optimizer, epoch, **extra):
        written.append((Path(path).name, epoch))
        return real_save(path, model, optimizer, epoch, **extra)

    monkeypatch.setattr(loop, "save_checkpoint", spy)
    fit(NoisyRegressor(), regression_graph(), epochs=5, checkpoint_every=2, restore_best=False,
        monitor="loss", run_dir=tmp_path, eval_fn=lambda m: {"val": 0.0}, **QUIET)
    assert [epoch for name, epoch in written if name == "last.pt"] == [2, 4, 5]


def _train(epochs: int, data: object, resume_from: Path | None = None, run_dir: Path | None = None,
           reseed: int = 0, pass_optimizer: bool = False, **kwargs: object) -> tuple[NoisyRegressor, FitResult]:
    seed_everything(reseed)
    model = NoisyRegressor(parts=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.02) if pass_optimizer else None
    result = fit(model, data, epochs=epochs, lr=0.02, optimizer=optimizer, resume_from=resume_from,
                 run_dir=run_dir, **kwargs, **QUIET)
    return model, result


def _val_eval(model: nn.Module) -> dict[str, float]:
    x, y = regression_tensors(num=20, seed=7)
    return {"val_mse": float(((model.lin2(torch.relu(model.lin1(x))).squeeze(-1) - y) ** 2).mean())}


@pytest.mark.parametrize("pass_optimizer", [False, True])
@pytest.mark.parametrize("loader_kind", ["full_batch", "shuffled_loader", "loader_with_generator"])
def test_resume_reproduces_uninterrupted_training(tmp_path: Path, loader_kind: str, pass_optimizer: bool) -> None:
    def make_data() -> object:
        if loader_kind == "full_batch":
            return regression_graph()
        x, y = regression_tensors(num=24)
        generator = torch.Generator().manual_seed(5) if loader_kind == "loader_with_generator" else None
        return DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True, generator=generator)

    common = {"eval_fn": _val_eval, "monitor": "val_mse", "eval_every": 2, "patience": 50,
              "pass_optimizer": pass_optimizer}
    straight, straight_result = _train(10, make_data(), **common)
    # The first half leaves last.pt behind; then different seeds and a fresh model + optimiser + loader.
    _train(5, make_data(), run_dir=tmp_path, **common)
    resumed, resumed_result = _train(10, make_data(), resume_from=tmp_path / "last.pt", reseed=123, **common)

    assert_same_params(resumed, straight)
    assert resumed.epochs_seen == [6, 7, 8, 9, 10]
    assert resumed_result.epochs_run == 10
    assert (resumed_result.best_epoch, resumed_result.best_value) == (straight_result.best_epoch,
                                                                     straight_result.best_value)
    assert [r["loss"] for r in resumed_result.history] == pytest.approx([r["loss"] for r in straight_result.history])


def test_resume_continues_early_stopping_state(tmp_path: Path) -> None:
    scores = [0.1, 0.9, 0.5, 0.4, 0.3, 0.2]
    fit(NoisyRegressor(), regression_graph(), epochs=3, eval_fn=_scripted_eval(scores, {}, []), monitor="score",
        mode="max", patience=3, run_dir=tmp_path, **QUIET)
    snapshots: dict[int, dict[str, torch.Tensor]] = {}
    model = NoisyRegressor()
    result = fit(model, regression_graph(), epochs=20, eval_fn=_scripted_eval(scores[3:], snapshots, []),
                 monitor="score", mode="max", patience=3, run_dir=tmp_path, resume_from=tmp_path / "last.pt",
                 **QUIET)
    # Bad evaluations at epochs 3 (from the first run), 4 and 5 -> stop at 5; best weights from epoch 2.
    assert result.stopped_early and result.epochs_run == 5
    assert result.best_epoch == 2
    assert_same_params(model, load_checkpoint(tmp_path / "best.pt")["model"], atol=0)
    with (tmp_path / "metrics.csv").open(newline="") as fh:
        assert [int(r["epoch"]) for r in csv.DictReader(fh)] == [1, 2, 3, 4, 5]


def test_resume_reports_the_earlier_invocations_training_time(tmp_path: Path) -> None:
    first = fit(NoisyRegressor(), regression_graph(), epochs=3, run_dir=tmp_path, **QUIET)
    assert first.resumed_time_s == 0.0
    resumed = fit(NoisyRegressor(), regression_graph(), epochs=5, run_dir=tmp_path, resume_from=tmp_path / "last.pt",
                  **QUIET)
    assert resumed.resumed_time_s == pytest.approx(sum(record["time_s"] for record in first.history))
    assert [record["epoch"] for record in resumed.history] == [1, 2, 3, 4, 5]


def test_resume_rejects_a_different_monitor(tmp_path: Path) -> None:
    fit(NoisyRegressor(), regression_graph(), epochs=2, run_dir=tmp_path, **QUIET)
    with pytest.raises(ConfigError, match="monitor"):
        fit(NoisyRegressor(), regression_graph(), epochs=4, resume_from=tmp_path / "last.pt",
            eval_fn=lambda m: {"acc": 1.0}, monitor="acc", mode="max", **QUIET)


def test_progress_bar_shows_loss(capsys: pytest.CaptureFixture[str]) -> None:
    fit(NoisyRegressor(), regression_graph(), epochs=3, show_progress=True)
    err = capsys.readouterr().err
    assert "loss=" in err and "3/3" in err


def test_hetero_data_is_one_batch() -> None:
    from torch_geometric.data import HeteroData

    graph = regression_graph()
    hetero = HeteroData()
    hetero["paper"].x, hetero["paper"].y = graph.x, graph.y
    model = NoisyRegressor()
    fit(model, hetero, epochs=3, loss_fn=lambda m, b: m((b["paper"].x, b["paper"].y)), **QUIET)
    assert len(model.step_losses) == 3


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_training_and_resume(tmp_path: Path) -> None:
    from graphcl.train import peak_memory_mb

    def run(epochs: int, resume: Path | None, seed: int) -> NoisyRegressor:
        seed_everything(seed)
        model = NoisyRegressor()
        fit(model, regression_graph(), epochs=epochs, device="cuda", run_dir=tmp_path if resume is None else None,
            resume_from=resume, restore_best=False, **QUIET)
        return model

    straight = run(6, None, 0)
    run(3, None, 0)
    resumed = run(6, tmp_path / "last.pt", 9)
    assert next(resumed.parameters()).is_cuda
    assert_same_params(resumed, straight)
    assert "cuda" in load_checkpoint(tmp_path / "last.pt")["rng"]
    assert peak_memory_mb("cuda") > 0
