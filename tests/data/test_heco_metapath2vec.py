"""HeCo datasets with features=metapath2vec: learned once, cached on the raw files and arguments, reachable from the
CLI as a dataset option."""
from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from graphcl.data import load_dataset
from graphcl.data.heco import HECO_DATASETS, load_heco
from graphcl.errors import ConfigError
from graphcl.transforms.metapath2vec import MetaPath2VecFeatures
from tests.data.test_heco_cli import _train_small_meow, write_positives, write_small_heco_folder

FAST = {"embedding_dim": 8, "walk_length": 8, "context_size": 3, "walks_per_node": 2, "epochs": 1}


@pytest.fixture
def trainings(monkeypatch) -> list[tuple[str, ...]]:
    """Every MetaPath2VecFeatures.embed call (the training), as the types it learns."""
    calls: list[tuple[str, ...]] = []
    original = MetaPath2VecFeatures.embed

    def counting(self, data):
        out = original(self, data)
        calls.append(tuple(out))
        return out

    monkeypatch.setattr(MetaPath2VecFeatures, "embed", counting)
    return calls


def _load(root: Path, name: str = "aminer", **kwargs):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*loading it as a subset")
        return load_heco(name, root, **kwargs)


def test_learned_features_are_cached_and_reused(tmp_path: Path, trainings: list) -> None:
    sizes = write_small_heco_folder(tmp_path, "aminer")
    first = _load(tmp_path, features="metapath2vec", metapath2vec=FAST)
    assert trainings == [("paper", "author", "reference")]
    for node_type in ("paper", "author", "reference"):
        assert first[node_type].x.shape == (first[node_type].num_nodes, 8)
    assert first["paper"].num_nodes == sizes["paper"]
    files = sorted(path.name for path in (tmp_path / "aminer" / "processed").iterdir())
    assert len(files) == 2 and any("-metapath2vec-" in name for name in files)

    second = _load(tmp_path, features="metapath2vec", metapath2vec=dict(FAST))
    assert len(trainings) == 1  # read back, not trained again
    for node_type in first.node_types:
        assert torch.equal(first[node_type].x, second[node_type].x)
    # The learned features do not depend on the loader's other options.
    _load(tmp_path, features="metapath2vec", metapath2vec=FAST, compute_metapaths=False)
    assert len(trainings) == 1
    onehot = _load(tmp_path)
    assert onehot["author"].x.is_sparse and len(trainings) == 1

    _load(tmp_path, features="metapath2vec", metapath2vec={**FAST, "seed": 1})  # other arguments: trained
    assert len(trainings) == 2
    _load(tmp_path, features="metapath2vec", metapath2vec=FAST, cache=False)
    assert len(trainings) == 3
    assert len(list((tmp_path / "aminer" / "processed").glob("*-metapath2vec-*.pt"))) == 2


def test_a_changed_raw_file_or_a_bad_cache_file_trains_again(tmp_path: Path, trainings: list, caplog) -> None:
    write_small_heco_folder(tmp_path, "aminer")
    _load(tmp_path, features="metapath2vec", metapath2vec=FAST)
    (cached,) = (tmp_path / "aminer" / "processed").glob("*-metapath2vec-*.pt")
    payload = torch.load(cached, weights_only=True)
    payload["features"]["author"] = payload["features"]["author"][:-1]  # a wrong row count
    torch.save(payload, cached)
    _load(tmp_path, features="metapath2vec", metapath2vec=FAST)
    assert len(trainings) == 2 and "ignored and learned again (bad features of 'author')" in caplog.text
    with open(tmp_path / "aminer" / "pa.txt", "a") as handle:
        handle.write("0 1\n")
    _load(tmp_path, features="metapath2vec", metapath2vec=FAST)
    assert len(trainings) == 3


def test_only_the_types_without_a_feature_file_are_replaced(tmp_path: Path) -> None:
    write_small_heco_folder(tmp_path, "acm")
    onehot = _load(tmp_path, "acm")
    data = _load(tmp_path, "acm", features="metapath2vec", metapath2vec=FAST)
    assert data["subject"].x.shape == (data["subject"].num_nodes, 8) and not data["subject"].x.is_sparse
    for node_type in ("paper", "author"):
        assert torch.equal(data[node_type].x, onehot[node_type].x)
    chosen = _load(tmp_path, "acm", features="metapath2vec", metapath2vec={**FAST, "node_types": ["author"]})
    assert chosen["author"].x.shape[1] == 8 and chosen["subject"].x.is_sparse


@pytest.mark.parametrize(("options", "message"), [
    ({"features": "node2vec"}, "features='node2vec' is not one of onehot, metapath2vec"),
    ({"metapath2vec": {"epochs": 1}}, "metapath2vec options are given but features='onehot'"),
    ({"features": "metapath2vec", "metapath2vec": {"epoch": 1}}, "unknown metapath2vec option\\(s\\) \\['epoch'\\]"),
    ({"features": "metapath2vec", "metapath2vec": [1]}, "metapath2vec must be a mapping"),
    ({"features": "metapath2vec", "metapath2vec": {"epochs": 0}}, "'epochs' must be an integer >= 1"),
])
def test_bad_feature_options_are_one_line_config_errors(tmp_path: Path, options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        load_heco("aminer", tmp_path / "nowhere", **options)  # checked before any file is read
    assert "\n" not in str(info.value)


def test_a_description_with_every_feature_file_needs_named_types(tmp_path: Path) -> None:
    acm = HECO_DATASETS["acm"]
    types = tuple(dataclasses.replace(t, features=t.features or "s_feat.npz") for t in acm.node_types)
    with pytest.raises(ConfigError, match="every node type has a feature file"):
        load_heco(dataclasses.replace(acm, node_types=types), tmp_path, features="metapath2vec")


def test_meow_trains_from_the_cli_with_metapath2vec_features_and_reuses_them(tmp_path: Path, trainings: list) -> None:
    sizes = write_small_heco_folder(tmp_path / "data", "aminer")
    write_positives(tmp_path / "data" / "aminer", sizes["paper"])
    options = ["--dataset-option", "features=metapath2vec", "--dataset-option",
               "metapath2vec={embedding_dim: 8, walk_length: 8, context_size: 3, walks_per_node: 2, epochs: 1}"]
    assert _train_small_meow(tmp_path / "data", "aminer", tmp_path / "run", *options) == 0
    assert trainings == [("paper", "author", "reference")]
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert np.isfinite(results["metrics"]["macro_f1@20"]["mean"])
    recorded = json.loads((tmp_path / "run" / "run.json").read_text())["data"]["options"]
    assert recorded["features"] == "metapath2vec" and recorded["metapath2vec"]["epochs"] == 1
    assert _train_small_meow(tmp_path / "data", "aminer", tmp_path / "run2", *options) == 0
    assert len(trainings) == 1  # the second run reads the learned features back
    data = load_dataset("aminer", root=tmp_path / "data", features="metapath2vec",
                        metapath2vec={"embedding_dim": 8, "walk_length": 8, "context_size": 3, "walks_per_node": 2,
                                      "epochs": 1})
    assert data["reference"].x.shape[1] == 8 and len(trainings) == 1


def test_a_bad_feature_option_on_the_cli_is_one_line(tmp_path: Path, capsys) -> None:
    write_small_heco_folder(tmp_path / "data", "aminer")
    code = _train_small_meow(tmp_path / "data", "aminer", tmp_path / "run", "--dataset-option", "features=m2v")
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "features='m2v' is not one of onehot, metapath2vec" in err
