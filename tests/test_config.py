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
