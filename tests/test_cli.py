"""The command line end to end on the generated graph (few epochs), and its error handling."""
import json

import pytest
import torch

from graphcl.cli import main
from graphcl.train import load_checkpoint


@pytest.fixture(scope="module")
def two_seed_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "grace-generated"
    code = main(["train", "--seeds", "2", "--run-dir", str(run_dir), "--quiet",
                 "epochs=3", "tasks=[node,clustering,link]", "probe_repeats=2", "cluster_repeats=2"])
    assert code == 0
    return run_dir


def test_results_json_schema(two_seed_run, capsys):
    results = json.loads((two_seed_run / "results.json").read_text())
    assert set(results) == {"model", "dataset", "metrics", "protocol", "config", "time_s", "peak_mem_mb", "commit"}
    assert results["model"] == "grace" and results["dataset"] == "generated"
    assert set(results["metrics"]) == {"test_acc", "val_acc", "acc", "nmi", "ari", "f1", "auc", "ap"}
    for summary in results["metrics"].values():
        assert set(summary) == {"mean", "std", "values"} and len(summary["values"]) == 2
        assert 0.0 <= summary["mean"] <= 1.0
    assert results["protocol"]["seeds"] == [0, 1]
    assert results["config"]["epochs"] == 3
    assert results["time_s"] > 0 and results["peak_mem_mb"] > 0


def test_run_folder_contents(two_seed_run):
    for name in ("config.yaml", "env.txt", "results.json"):
        assert (two_seed_run / name).is_file()
    seed_dir = two_seed_run / "seed-1"
    assert (seed_dir / "metrics.csv").is_file() and (seed_dir / "events.jsonl").is_file()
    ckpt = torch.load(seed_dir / "last.pt", weights_only=True)
    assert ckpt["epoch"] == 3
    assert load_checkpoint(seed_dir / "last.pt")["config"]["model"] == "grace"
    assert (seed_dir / "link" / "last.pt").is_file()  # the link-prediction model trained on held-out edges


def test_summary_line_is_printed(tmp_path, capsys):
    assert main(["train", "--run-dir", str(tmp_path / "r"), "--quiet", "epochs=1", "probe_repeats=1",
                 "cluster_repeats=1", "tasks=[node]"]) == 0
    out = capsys.readouterr().out
    assert "grace on generated (1 seed, metrics in %): test_acc" in out
    assert "results.json" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--dataset", "coraa"], "Did you mean 'cora'"),
        (["train", "lrr=0.1"], "Did you mean 'lr'"),
        (["train", "epochs=ten"], "'epochs' expects int"),
        (["train", "--model", "gracee"], "Did you mean 'grace'"),
        (["train", "--device", "cuda:7"] if not torch.cuda.is_available() else ["train", "--seeds", "0"],
         "CUDA is not available" if not torch.cuda.is_available() else "--seeds"),
        (["train", "--seeds", "0"], "--seeds must be >= 1"),
        (["train", "--device", "gpu"], "'gpu' is not a device name; use cpu, cuda or cuda:N"),
    ],
)
def test_bad_input_gives_clear_error_and_exit_code_2(argv, message, capsys, tmp_path):
    code = main(argv[:1] + ["--run-dir", str(tmp_path / "r"), "--quiet", "epochs=1"] + argv[1:])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_malformed_config_file(tmp_path, capsys):
    cfg = tmp_path / "broken.yaml"
    cfg.write_text("epochs: [1,\n")
    assert main(["train", "--config", str(cfg), "--quiet"]) == 2
    assert "broken.yaml at line" in capsys.readouterr().err


def test_missing_root_names_expected_files(tmp_path, capsys):
    code = main(["train", "--dataset", "cora", "--root", str(tmp_path / "nowhere"), "--quiet", "epochs=1"])
    err = capsys.readouterr().err
    assert code == 2
    assert "ind.cora.x" in err


def test_config_and_datasets_commands(capsys):
    assert main(["config", "--dataset", "cora", "tau=0.5"]) == 0
    out = capsys.readouterr().out
    assert "tau: 0.5" in out and "lr: 0.0005" in out
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    assert "cora" in out and "generated" in out


def test_resume_continues_an_interrupted_run(tmp_path):
    common = ["--quiet", "tasks=[node]", "probe_repeats=1", "checkpoint_every=1"]
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert main(["train", "--run-dir", str(straight), "epochs=4", *common]) == 0
    assert main(["train", "--run-dir", str(resumed), "epochs=2", *common]) == 0
    assert main(["train", "--run-dir", str(resumed), "--resume", "epochs=4", *common]) == 0
    a = torch.load(straight / "last.pt", weights_only=True)
    b = torch.load(resumed / "last.pt", weights_only=True)
    assert a["epoch"] == b["epoch"] == 4
    for key in a["model"]:
        torch.testing.assert_close(a["model"][key], b["model"][key])
    rows = (resumed / "metrics.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 4  # header + one row per epoch, no duplicates from the first attempt
    ra = json.loads((straight / "results.json").read_text())["metrics"]["test_acc"]["mean"]
    rb = json.loads((resumed / "results.json").read_text())["metrics"]["test_acc"]["mean"]
    assert ra == rb


def test_a_resumed_run_records_the_training_time_of_every_invocation(tmp_path):
    common = ["--quiet", "tasks=[node]", "probe_repeats=1", "checkpoint_every=1"]
    run = tmp_path / "run"
    assert main(["train", "--run-dir", str(run), "epochs=2", *common]) == 0
    checkpoint = torch.load(run / "last.pt", weights_only=True)
    for record in checkpoint["history"]:  # as if the first invocation had trained for an hour
        record["time_s"] = 1800.0
    torch.save(checkpoint, run / "last.pt")
    assert main(["train", "--run-dir", str(run), "--resume", "epochs=3", *common]) == 0
    assert json.loads((run / "results.json").read_text())["time_s"] > 3600.0


def test_resume_needs_run_dir(capsys):
    assert main(["train", "--resume", "--quiet", "epochs=1"]) == 2
    assert "--run-dir" in capsys.readouterr().err


def test_embed_writes_embeddings_of_the_checkpoint(two_seed_run, tmp_path, capsys):
    out = tmp_path / "z.pt"
    assert main(["embed", "--checkpoint", str(two_seed_run / "seed-0" / "last.pt"), "--out", str(out)]) == 0
    saved = torch.load(out, weights_only=True)
    assert saved["embeddings"].shape == (3000, 128)
    assert saved["y"].shape == (3000,)
    assert torch.isfinite(saved["embeddings"]).all()
    assert main(["embed", "--checkpoint", str(tmp_path / "missing.pt")]) == 2
    assert "missing.pt" in capsys.readouterr().err


def test_help_lists_the_models_and_examples(capsys):
    from graphcl.cli import MODEL_NAMES
    from graphcl.models import MODELS

    assert set(MODEL_NAMES) == set(MODELS)  # the --help text cannot go stale
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps long help lines
    assert " | ".join(MODEL_NAMES) in out and "graphcl datasets" in out
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "graphcl embed --checkpoint" in capsys.readouterr().out


def test_model_and_dataset_kinds_must_match_before_any_run_folder(tmp_path, capsys):
    from graphcl.config import resolve_config
    from graphcl.errors import ConfigError
    from graphcl.experiment import check_model_data
    from tests.hetero_graphs import planted_hetero_graph

    run_dir = tmp_path / "r"
    assert main(["train", "--model", "meow", "--run-dir", str(run_dir), "--quiet", "epochs=1"]) == 2
    err = capsys.readouterr().err
    assert "model 'meow' needs a heterogeneous graph" in err and "acm, dblp" in err
    assert "Traceback" not in err and not run_dir.exists()
    hetero = planted_hetero_graph()
    with pytest.raises(ConfigError, match="model 'grace' cannot train on; use meow or adameow"):
        check_model_data(resolve_config("grace", "acm"), hetero)  # was a TypeError deep inside PyG's Linear
    with pytest.raises(ConfigError, match="'link' is not evaluated for heterogeneous models"):
        check_model_data(resolve_config("meow", "acm", overrides={"tasks": ["node", "link"]}), hetero)


def test_a_run_folder_config_reruns_with_its_own_model_and_dataset(tmp_path, capsys):
    saved = tmp_path / "config.yaml"
    saved.write_text("model: csgcl\ndataset: cora\nlr: 0.002\n")
    assert main(["config", "--config", str(saved)]) == 0
    out = capsys.readouterr().out
    assert "model: csgcl" in out and "dataset: cora" in out and "lr: 0.002" in out
    assert main(["config", "--config", str(saved), "--model", "grace"]) == 2
    assert "pass --model csgcl" in capsys.readouterr().err


def test_embed_of_a_heterogeneous_model_and_into_a_new_folder(tmp_path, monkeypatch):
    import graphcl.data
    from graphcl.config import resolve_config
    from graphcl.experiment import run_experiment
    from tests.hetero_graphs import planted_hetero_graph

    cfg = resolve_config("meow", "acm", overrides={
        "epochs": 1, "hidden_channels": 8, "embed_channels": 8, "proj_channels": 8, "topk": [5], "edge_mask": [0.1],
        "num_clusters": [4, 6], "kmeans_n_init": 1, "probe_repeats": 1, "probe_iterations": 2, "tasks": ["node"],
        "checkpoint_every": 0, "embedding": "clean"})
    _, run_dir = run_experiment(cfg, planted_hetero_graph(), seeds=[0], run_dir=tmp_path / "run", show_progress=False)
    monkeypatch.setattr(graphcl.data, "load_dataset", lambda name, root=None, **_: planted_hetero_graph())
    out = tmp_path / "new" / "folder" / "z.pt"
    assert main(["embed", "--checkpoint", str(run_dir / "last.pt"), "--out", str(out)]) == 0
    saved = torch.load(out, weights_only=True)
    assert saved["embeddings"].shape == (60, 8) and saved["y"].shape == (60,)


def test_summary_line_prints_fractions_in_percent_and_weights_as_they_are():
    from graphcl.experiment import format_summary

    results = {"model": "adameow", "dataset": "acm", "time_s": 1.0, "protocol": {"seeds": [0, 1]},
               "metrics": {"nmi": {"mean": 0.5, "std": 0.01, "values": [0.49, 0.51]},
                           "mean_neg_weight": {"mean": 0.8125, "std": 0.0, "values": [0.8125]}}}
    line = format_summary(results)
    assert "nmi 50.00 ± 1.00" in line and "mean_neg_weight 0.8125 |" in line  # was "81.25 ± 0.00"
    assert "(2 seeds, metrics in %)" in line


def test_resume_with_other_training_settings_is_refused(tmp_path, capsys):
    common = ["--quiet", "tasks=[node]", "probe_repeats=1", "checkpoint_every=1"]
    run = tmp_path / "run"
    assert main(["train", "--run-dir", str(run), "epochs=2", *common]) == 0
    before = (run / "config.yaml").read_text()
    assert main(["train", "--run-dir", str(run), "--resume", "epochs=3", "lr=0.01", "tau=0.7", *common]) == 2
    err = capsys.readouterr().err
    assert "cannot resume" in err and "lr: 0.0005 -> 0.01" in err and "tau: 0.4 -> 0.7" in err
    assert len(err.strip().splitlines()) == 1
    assert (run / "config.yaml").read_text() == before  # the record of the interrupted run is kept
    # Evaluation settings are the run's too; repeating the run's own values is fine, and more epochs are allowed.
    assert main(["train", "--run-dir", str(run), "--resume", "probe_repeats=2", "--quiet"]) == 2
    assert "probe_repeats: 1 -> 2" in capsys.readouterr().err
    assert main(["train", "--run-dir", str(run), "--resume", "epochs=3", *common]) == 0
    assert "epochs 2 -> 3" in capsys.readouterr().out
