import pytest

from graphcl.config import (
    parse_overrides,
    read_yaml,
    resolve_config,
    shipped_config_path,
)
from graphcl.errors import ConfigError


def test_shipped_cora_config_has_paper_values():
    cfg = resolve_config("grace", "cora")
    assert cfg["lr"] == 0.0005 and cfg["tau"] == 0.4 and cfg["epochs"] == 200
    assert cfg["drop_edge_1"] == 0.2 and cfg["drop_feature_2"] == 0.4
    assert shipped_config_path("grace", "some-new-dataset").name == "default.yaml"


def test_overrides_are_typed_and_applied_last():
    cfg = resolve_config("grace", "cora", overrides=parse_overrides(["lr=0.01", "epochs=3", "tasks=[node,link]"]))
    assert cfg["lr"] == 0.01 and cfg["epochs"] == 3 and cfg["tasks"] == ["node", "link"]
    cfg = resolve_config("grace", "cora", overrides={"tau": 1})  # int accepted for a float key
    assert cfg["tau"] == 1.0 and isinstance(cfg["tau"], float)


def test_unknown_key_suggests_the_right_one():
    with pytest.raises(ConfigError, match="Did you mean 'lr'"):
        resolve_config("grace", "cora", overrides={"lrr": 0.1})


def test_wrong_type_names_the_key():
    with pytest.raises(ConfigError, match="'epochs' expects int"):
        resolve_config("grace", "cora", overrides=parse_overrides(["epochs=many"]))
    with pytest.raises(ConfigError, match="tasks"):
        resolve_config("grace", "cora", overrides={"tasks": ["nodes"]})


def test_malformed_yaml_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("lr: 0.1\nepochs: [1, 2\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml at line \d+"):
        read_yaml(bad)
    with pytest.raises(ConfigError, match="not found"):
        resolve_config("grace", "cora", config_file=tmp_path / "missing.yaml")
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        read_yaml(listing)


def test_unknown_key_in_file_names_the_file(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("epochz: 3\n")
    with pytest.raises(ConfigError, match=r"c\.yaml.*'epochs'"):
        resolve_config("grace", "cora", config_file=f)


def test_bad_override_syntax_and_unknown_model():
    with pytest.raises(ConfigError, match="key=value"):
        parse_overrides(["lr"])
    with pytest.raises(ConfigError, match="Did you mean 'grace'"):
        resolve_config("grase", "cora")


def test_exponent_notation_is_a_float_not_a_string(tmp_path):
    # PyYAML (YAML 1.1) reads "1e-3" as a string; learning rates are routinely written that way.
    cfg = resolve_config("grace", "cora", overrides=parse_overrides(["lr=1e-3", "weight_decay=5E-5"]))
    assert cfg["lr"] == 0.001 and cfg["weight_decay"] == 5e-5
    f = tmp_path / "exp.yaml"
    f.write_text("lr: 5e-4\ngrad_clip: 1e1\n")
    cfg = resolve_config("grace", "cora", config_file=f)
    assert cfg["lr"] == 0.0005 and cfg["grad_clip"] == 10.0
    with pytest.raises(ConfigError, match="'epochs' expects int"):
        resolve_config("grace", "cora", overrides=parse_overrides(["epochs=1.5e2"]))


def test_a_config_file_of_another_model_is_refused(tmp_path):
    f = tmp_path / "config.yaml"  # as written into every run folder
    f.write_text("model: csgcl\ndataset: cora\nlr: 0.001\n")
    with pytest.raises(ConfigError, match=r"config\.yaml is a configuration of model 'csgcl'.*--model csgcl"):
        resolve_config("grace", "cora", config_file=f)
    # Another dataset is fine: configurations are reused across datasets.
    assert resolve_config("csgcl", "citeseer", config_file=f)["lr"] == 0.001


@pytest.mark.parametrize(
    "override, message",
    [
        ("epochs=0", r"epochs must lie in \[1, inf\)"),
        ("lr=0", r"lr must lie in \(0, inf\)"),
        ("probe_repeats=0", "probe_repeats"),
        ("cluster_repeats=-1", "cluster_repeats"),
        ("patience=0", "patience"),
        ("train_ratio=1.0", "train_ratio"),
        ("link_test_ratio=0", "link_test_ratio"),
    ],
)
def test_out_of_range_values_are_refused_before_training(override, message):
    with pytest.raises(ConfigError, match=message):
        resolve_config("grace", "cora", overrides=parse_overrides([override]))


def test_split_ratios_must_leave_a_test_split():
    with pytest.raises(ConfigError, match="train_ratio \\+ val_ratio"):
        resolve_config("grace", "cora", overrides={"train_ratio": 0.6, "val_ratio": 0.4})
    assert resolve_config("grace", "cora", overrides={"patience": None, "grad_clip": None})["patience"] is None
