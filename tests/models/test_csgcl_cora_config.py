"""The shipped CSGCL Cora config is the validation-selected candidate of the committed Cora selection."""
import json
from pathlib import Path

from graphcl.config import resolve_config

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


def test_shipped_cora_config_is_the_validation_selected_setting() -> None:
    selection = json.loads((RESULTS / "cora-selection-csgcl.json").read_text())
    chosen = json.loads((RESULTS / f"{selection['selected']}.json").read_text())["config"]
    cfg = resolve_config("csgcl", "cora")
    for key in ("drop_edge_1", "drop_edge_2", "drop_feature_1", "drop_feature_2", "epochs", "cav", "ced",
                "team_up", "tau", "lr"):
        assert cfg[key] == chosen[key], key
    assert (cfg["drop_edge_1"], cfg["drop_edge_2"]) == (0.6, 0.8)
