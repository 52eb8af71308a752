"""Plots: training curves, t-SNE of a checkpoint, a suite's accuracy against time, scaling curves."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from graphcl import plots
from graphcl.cli import main
from graphcl.errors import DataError
from graphcl.plots import _curve_label, growth_exponent, plot_scaling, read_metrics_csv, thin_rows

pytest.importorskip("matplotlib")

PNG = b"\x89PNG"


def test_thin_rows_keeps_the_ends_and_spaces_the_rest_evenly() -> None:
    rows = [{"epoch": float(i)} for i in range(1, 1001)]
    thinned = thin_rows(rows, 200)
    assert len(thinned) == 200 and thinned[0] == rows[0] and thinned[-1] == rows[-1]
    gaps = {b["epoch"] - a["epoch"] for a, b in zip(thinned, thinned[1:])}
    assert gaps <= {5.0, 6.0}
    assert thin_rows(rows[:50], 200) == rows[:50]
    with pytest.raises(ValueError):
        thin_rows(rows, 1)


def test_growth_exponent_is_the_least_squares_slope_from_the_large_sizes() -> None:
    points = [(10.0**k, 3 * (10.0**k) ** 2) for k in range(2, 7)]
    assert math.isclose(growth_exponent(points), 2.0)
    noisy_small = [(100.0, 50.0), *points[2:]]  # fixed costs at small n are left out
    assert math.isclose(growth_exponent(noisy_small), 2.0)
    assert growth_exponent([(1e4, 1.0)]) is None


def test_curves_of_several_runs_are_named_by_run_and_seed() -> None:
    assert _curve_label(Path("runs/sasrec-ml100k"), "seed-2020") == "sasrec-ml100k/seed-2020"
    assert _curve_label(Path("runs/sasrec-ml100k/seed-2020"), "seed-2020") == "sasrec-ml100k/seed-2020"
    assert _curve_label(Path("results/sracl-dot-ml100k.json"), "seed-2021") == "sracl-dot-ml100k/seed-2021"
    assert _curve_label(Path("runs/grace-cora"), "grace-cora") == "grace-cora"  # a single-seed run folder
    seed_record = Path("benchmarks/results/seeds/sracl-cos-ml100k/seed-2020.json")  # a cell still in progress
    assert _curve_label(seed_record, "seed-2020") == "sracl-cos-ml100k/seed-2020"


def test_a_crowded_legend_beside_the_loss_panel_keeps_clear_of_the_validation_panel(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runs = []
    for cell in ("a", "b", "c"):
        for seed in (1, 2, 3):
            folder = tmp_path / cell / f"seed-{seed}"
            folder.mkdir(parents=True)
            (folder / "metrics.csv").write_text("epoch,loss,valid_hr@20\n1,6.0,0.1\n2,5.5,0.2\n")
        runs.append(tmp_path / cell)
    drawn: dict[str, Any] = {}

    def keep(figure: Any, path: str | Path) -> Path:
        figure.canvas.draw()
        drawn["figure"] = figure
        return Path(path)

    monkeypatch.setattr(plots, "_save", keep)
    plots.plot_training_curves(runs, tmp_path / "c.png", metrics=["valid_hr@20"])
    loss_axis, valid_axis = drawn["figure"].axes
    legend = loss_axis.get_legend().get_window_extent()
    assert len(loss_axis.get_legend().get_texts()) == 9
    assert legend.x1 <= valid_axis.get_tightbbox().x0  # the legend ends before the next panel's labels begin


def test_curves_tsne_and_suite_plots_from_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    assert main(["train", "--run-dir", str(run), "--quiet", "--seeds", "2", "epochs=3", "tasks=[node]",
                 "probe_repeats=1", "checkpoint_every=1"]) == 0
    assert len(read_metrics_csv(run / "seed-0" / "metrics.csv")) == 3
    assert main(["plot", "curves", str(run), "--out", str(tmp_path / "curves.png")]) == 0
    assert (tmp_path / "curves.png").read_bytes().startswith(PNG)

    results = tmp_path / "results"
    results.mkdir()
    for name, acc, minutes in (("a", 0.8, 2), ("b", 0.85, 10)):
        (results / f"{name}.json").write_text(json.dumps({"headline": "test_acc", "time_s": 60 * minutes,
                                                          "metrics": {"test_acc": {"mean": acc, "std": 0.0}}}))
    suite = tmp_path / "suite.yaml"
    suite.write_text("suite: s\ntask: graph\ncells:\n  a: {model: grace, dataset: generated}\n"
                     "  b: {model: grace, dataset: generated}\n")
    assert main(["plot", "suite", str(suite), "--results", str(results), "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").read_bytes().startswith(PNG)
    assert main(["plot", "curves", str(tmp_path / "nowhere")]) == 2
    assert "no metrics.csv" in capsys.readouterr().err


def test_curves_draw_the_chosen_metrics_and_refuse_a_column_no_run_has(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for seed in (2020, 2021):
        folder = tmp_path / "run" / f"seed-{seed}"
        folder.mkdir(parents=True)
        (folder / "metrics.csv").write_text("epoch,loss,valid_hr@20,valid_mrr@10\n1,6.0,0.1,0.03\n2,5.5,,\n"
                                            "3,5.2,0.2,0.05\n")
    out = tmp_path / "hr.png"
    assert main(["plot", "curves", str(tmp_path / "run"), "--metric", "valid_hr@20", "--title", "t",
                 "--out", str(out)]) == 0
    assert out.read_bytes().startswith(PNG)
    assert main(["plot", "curves", str(tmp_path / "run"), "--metric", "valid_hr@50"]) == 2
    err = capsys.readouterr().err
    assert "no column valid_hr@50" in err and "valid_mrr@10" in err and "Traceback" not in err


@pytest.mark.slow
def test_tsne_of_a_checkpoint_from_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    assert main(["train", "--run-dir", str(run), "--quiet", "epochs=2", "tasks=[node]", "probe_repeats=1"]) == 0
    assert main(["plot", "tsne", "--checkpoint", str(run / "last.pt"), "--out", str(tmp_path / "tsne.png")]) == 0
    assert "silhouette" in capsys.readouterr().out and (tmp_path / "tsne.png").read_bytes().startswith(PNG)


def test_scaling_plot_reads_perf_rows(tmp_path: Path) -> None:
    perf = tmp_path / "perf.json"
    perf.write_text(json.dumps({"benchmark": "toy", "rows": [{"variant": "x", "n": n, "time_s": n / 1e4}
                                                             for n in (1e3, 1e4, 1e5)]}))
    assert plot_scaling(perf, tmp_path / "p.png").read_bytes().startswith(PNG)
    perf.write_text(json.dumps({"benchmark": "toy", "rows": [{"size": 1}]}))
    with pytest.raises(DataError, match="expected 'rows' with 'n' and 'time_s'"):
        plot_scaling(perf, tmp_path / "q.png")
