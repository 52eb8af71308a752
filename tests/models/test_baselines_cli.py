"""Every homogeneous baseline trains from the CLI on the generated default (a few epochs, one probe split)."""
import json

import pytest

from graphcl.cli import main


@pytest.mark.parametrize("model", ["gca", "dgi", "bgrl", "mvgrl", "supervised"])
def test_trains_from_the_cli_on_the_generated_default(model, tmp_path, capsys):
    extra = {"bgrl": ["lr_warmup_epochs=1"], "mvgrl": ["diffusion_eps=0.005"]}.get(model, [])
    run_dir = tmp_path / model
    argv = ["train", "--model", model, "epochs=3", "tasks=[node]", "probe_repeats=1", "--quiet",
            "--run-dir", str(run_dir), *extra]
    assert main(argv) == 0
    results = json.loads((run_dir / "results.json").read_text())
    assert results["model"] == model and 0.0 <= results["metrics"]["test_acc"]["mean"] <= 1.0
    assert f"{model} on generated" in capsys.readouterr().out
