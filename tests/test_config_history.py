"""Options added after runs were recorded: a resumed run or a benchmark result keeps the values it ran with.

When an option's default changes what a model does (MEOW's ``linear_init`` and ``pathsim_ties``), a run recorded
before the option existed lacks the key; it must be read with the value that reproduces it (the model's
``previous_defaults``), never with the new default, or resuming it would silently train something else.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import yaml

from graphcl import config as graph_config
from graphcl.bench import load_suite, refresh_results
from graphcl.cli import main
from graphcl.models import MODELS as GRAPH_MODELS
from recsys import config as recsys_config
from recsys.models import MODELS as RECSYS_MODELS
from tests.data.test_heco_cli import write_small_heco_folder

SNAPSHOT = Path(__file__).with_name("config_keys.json")
MEOW_BEFORE = {"linear_init": "xavier", "pathsim_ties": "index"}


def _current_keys() -> dict:
    return {"graphcl": {m: sorted(graph_config.model_defaults(m)) for m in sorted(GRAPH_MODELS)},
            "graphcl training": sorted(graph_config.TRAINING_DEFAULTS),
            "recsys": {m: sorted(recsys_config.model_defaults(m)) for m in sorted(RECSYS_MODELS)},
            "recsys training": sorted(recsys_config.TRAINING_DEFAULTS)}


def test_every_new_option_is_declared_with_its_previous_value_or_changes_nothing() -> None:
    """Adding a model or training option fails here until the snapshot lists it: decide then whether its default
    changes what runs recorded before it did, and if so add the old value to the model's ``previous_defaults``."""
    snapshot, current = json.loads(SNAPSHOT.read_text()), _current_keys()
    added = []
    for group, keys in current.items():
        known = snapshot.get(group, {})
        if isinstance(keys, dict):
            added += [f"{model}.{key}" for model, ks in keys.items() for key in ks if key not in known.get(model, ks)]
        else:
            added += [f"{group}: {key}" for key in keys if key not in known]
    assert not added, (
        f"new options {added}: if a default changes what earlier runs did, put the value they ran with in the "
        f"model's previous_defaults (graphcl.models.base.GraphModel / recsys.models.base.SequentialRecommender); "
        f"then add the keys to {SNAPSHOT}")


@pytest.mark.parametrize(("package", "models"), [(graph_config, GRAPH_MODELS), (recsys_config, RECSYS_MODELS)])
def test_previous_defaults_are_options_of_their_model_with_valid_values(package, models) -> None:
    for name in models:
        before = package.previous_defaults(name)
        assert set(before) <= set(package.model_defaults(name)), name
        if before:
            dataset = "acm" if package is graph_config else "ml-100k"
            cfg = package.resolve_config(name, dataset, overrides=before)
            assert {key: cfg[key] for key in before} == before
    assert graph_config.previous_defaults("meow") == MEOW_BEFORE == graph_config.previous_defaults("adameow")
    assert graph_config.previous_defaults("grace") == {}


def test_a_recorded_configuration_without_the_keys_reads_the_previous_values(tmp_path: Path) -> None:
    cfg = graph_config.resolve_config("meow", "acm")
    old = {key: value for key, value in cfg.items() if key not in MEOW_BEFORE}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(json.loads(json.dumps(old))))
    recorded = graph_config.resolve_config("meow", "acm", path, recorded=True)
    assert {key: recorded[key] for key in MEOW_BEFORE} == MEOW_BEFORE
    assert {key: graph_config.resolve_config("meow", "acm", path)[key] for key in MEOW_BEFORE} == \
        {"linear_init": "torch", "pathsim_ties": "random"}  # read as a plain file: today's defaults
    path.write_text(yaml.safe_dump(json.loads(json.dumps(cfg))))  # a run that recorded the keys keeps its values
    assert graph_config.resolve_config("meow", "acm", path, recorded=True) == cfg


def _train(root: Path, run_dir: Path, *extra: str) -> int:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*loading it as a subset")
        return main(["train", "--model", "meow", "--dataset", "dblp", "--root", str(root), "--quiet",
                     "--run-dir", str(run_dir), "hidden_channels=8", "embed_channels=8", "proj_channels=8",
                     "topk=[5]", "edge_mask=[0.2]", "num_clusters=[3,5]", "kmeans_n_init=1", "kmeans_iter=3",
                     "probe_repeats=1", "probe_iterations=2", "cluster_repeats=1", "checkpoint_every=1", *extra])


def test_resuming_a_run_recorded_before_the_options_keeps_its_behaviour(tmp_path: Path, capsys) -> None:
    write_small_heco_folder(tmp_path / "data", "dblp")
    run_dir = tmp_path / "run"
    assert _train(tmp_path / "data", run_dir, "epochs=2", "linear_init=xavier", "pathsim_ties=index") == 0
    stored = yaml.safe_load((run_dir / "config.yaml").read_text())
    for key in MEOW_BEFORE:  # as a run written before the options existed
        del stored[key]
    (run_dir / "config.yaml").write_text(yaml.safe_dump(stored))

    assert _train(tmp_path / "data", run_dir, "--resume", "epochs=3", "pathsim_ties=random") == 2
    assert "pathsim_ties: 'index' -> 'random'" in capsys.readouterr().err
    assert _train(tmp_path / "data", run_dir, "--resume", "epochs=3") == 0
    results = json.loads((run_dir / "results.json").read_text())
    assert {key: results["config"][key] for key in MEOW_BEFORE} == MEOW_BEFORE


def test_refresh_reports_a_result_recorded_before_the_options_as_stale_unless_the_cell_pins_them(
        tmp_path: Path) -> None:
    cfg = graph_config.resolve_config("meow", "acm")
    record = {"model": "meow", "dataset": "acm", "protocol": {"seeds": [0]},
              "train_command": "graphcl train --model meow --dataset acm --seeds 1",
              "config": json.loads(json.dumps({k: v for k, v in cfg.items() if k not in MEOW_BEFORE}))}
    (tmp_path / "results").mkdir()
    results = tmp_path / "results" / "meow-acm.json"
    messages: list[str] = []
    for overrides, status in (({}, "stale"), (MEOW_BEFORE, "refreshed")):
        results.write_text(json.dumps(record))
        manifest = {"suite": "s", "task": "graph", "description": "d",
                    "cells": {"meow-acm": {"model": "meow", "dataset": "acm", "overrides": overrides, "seeds": 1}}}
        (tmp_path / "suite.yaml").write_text(yaml.safe_dump(manifest))
        suite = load_suite(tmp_path / "suite.yaml", first_seed=0)
        statuses = refresh_results(suite, prog="graphcl", resolve=graph_config.resolve_config,
                                   previous_defaults=graph_config.previous_defaults,
                                   results_dir=tmp_path / "results", echo=messages.append)
        assert statuses == {"meow-acm": status}
    assert "linear_init was 'xavier', now 'torch'; pathsim_ties was 'index', now 'random'" in messages[0]
