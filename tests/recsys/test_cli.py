"""``recsys train`` / ``recsys eval`` end to end on tiny data."""
from __future__ import annotations

import json

import pytest
import torch

from recsys.cli import main
from recsys.data import (
    SequenceDataset,
    leave_one_out,
    make_sequence_dataset,
    read_inter,
    write_inter,
)
from recsys.eval import evaluate_ranking
from recsys.models import SASRec
from recsys.nn import SASRecEncoder, export_recbole_sasrec

TINY = ["hidden_size=16", "inner_size=16", "num_layers=1", "max_len=10", "epochs=2", "batch_size=128",
        "max_batches_per_epoch=3", "checkpoint_every=1"]


def test_train_writes_results_and_eval_rereads_the_run(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--model", "cl4srec", "--quiet", "--run-dir", str(run), *TINY]) == 0
    results = json.loads((run / "results.json").read_text())
    assert results["model"] == "cl4srec" and results["dataset"] == "generated"
    assert {"hr@5", "ndcg@10", "mrr@20"} <= set(results["metrics"])
    assert "REDUCED" in results["protocol"]["training"]
    assert "history not masked" in results["protocol"]["ranking"]["description"]
    out = capsys.readouterr().out
    assert "protocol: full ranking" in out
    assert main(["eval", "--run-dir", str(run), "--split", "test"]) == 0
    again = json.loads((run / "eval" / "results.json").read_text())
    assert again["metrics"]["hr@20"]["mean"] == results["metrics"]["hr@20"]["mean"]


def test_eval_recbole_checkpoint_on_inter_file(tmp_path, capsys):
    ds = make_sequence_dataset(num_users=120, num_items=40, num_clusters=4)
    inter = write_inter(ds, tmp_path / "Tiny.inter")
    torch.manual_seed(0)
    encoder = SASRecEncoder(40, max_len=10, hidden_size=16, inner_size=16, extra_embeddings=1)
    ckpt = export_recbole_sasrec(encoder, tmp_path / "model.pth")
    assert main(["eval", "--recbole-checkpoint", str(ckpt), "--data", str(inter), "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    # ids as RecBole sees them: remapped in order of first appearance in the .inter file
    expected = evaluate_ranking(SASRec.from_encoder(encoder.eval()), leave_one_out(read_inter(inter), max_len=10).test)
    assert results["metrics"]["ndcg@10"]["mean"] == expected.metrics["ndcg@10"]
    assert results["protocol"]["sizes"]["num_items"] == 40


def test_bad_input_exits_with_a_message(tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_text("1 1 2 3\n2 4 five 6\n")
    assert main(["train", "--data", str(bad)]) == 2
    assert "line 2, field 3" in capsys.readouterr().err
    assert main(["train", "epochz=3"]) == 2
    assert "did you mean 'epochs'" in capsys.readouterr().err.lower()
    small = SequenceDataset.from_sequences([[1, 2, 3, 4]] * 3, num_items=4)
    write_inter(small, tmp_path / "s.inter")
    encoder = SASRecEncoder(2, max_len=4, hidden_size=8, inner_size=8)
    ckpt = export_recbole_sasrec(encoder, tmp_path / "m.pth")
    assert main(["eval", "--recbole-checkpoint", str(ckpt), "--data", str(tmp_path / "s.inter")]) == 2
    assert "different dataset" in capsys.readouterr().err


def test_eval_run_dir_of_a_multi_seed_run_and_broken_config(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--quiet", "--seeds", "2", "--run-dir", str(run), *TINY, "epochs=1"]) == 0
    results = json.loads((run / "results.json").read_text())
    capsys.readouterr()
    # The run folder itself has no best.pt: the message names a seed folder to pass instead.
    assert main(["eval", "--run-dir", str(run)]) == 2
    assert f"--run-dir {run / 'seed-2020'}" in capsys.readouterr().err
    # A seed folder has no config.yaml of its own: its parent's is used.
    assert main(["eval", "--run-dir", str(run / "seed-2021"), "--split", "test"]) == 0
    again = json.loads((run / "seed-2021" / "eval" / "results.json").read_text())
    assert again["metrics"]["hr@20"]["mean"] in results["metrics"]["hr@20"]["values"]
    (run / "config.yaml").write_text("epochs: 3\n")
    assert main(["eval", "--run-dir", str(run / "seed-2021")]) == 2
    assert "no 'model' / 'dataset' key" in capsys.readouterr().err
    (run / "config.yaml").write_text("model: [sasrec\n")
    assert main(["eval", "--run-dir", str(run / "seed-2021")]) == 2
    assert "not valid YAML" in capsys.readouterr().err


def test_eval_run_dir_of_an_sracl_run(tmp_path, capsys):
    # SRA-CL's synthesiser is built from the data (prepare) and saved in best.pt; ranking needs no index.
    run = tmp_path / "sracl"
    assert main(["train", "--model", "sracl", "--quiet", "--run-dir", str(run), *TINY, "epochs=1",
                 "semantics=none", "k_items=3", "k_windows=3"]) == 0
    results = json.loads((run / "results.json").read_text())
    capsys.readouterr()
    assert main(["eval", "--run-dir", str(run), "--split", "test"]) == 0
    assert "synthesizer.weight" in capsys.readouterr().out
    again = json.loads((run / "eval" / "results.json").read_text())
    assert again["metrics"]["ndcg@10"]["mean"] == results["metrics"]["ndcg@10"]["mean"]


def test_help_lists_every_registered_model(capsys):
    from recsys.cli import MODEL_NAMES
    from recsys.models import MODELS

    assert set(MODEL_NAMES) == set(MODELS)  # the --help text cannot go stale
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert " | ".join(MODEL_NAMES) in " ".join(capsys.readouterr().out.split())


def test_dataset_options_reach_the_loader_and_the_run_reloads_them(tmp_path, capsys):
    run = tmp_path / "run"
    options = ["--dataset-option", "num_users=150", "--dataset-option", "num_items=50"]
    assert main(["train", "--quiet", "--run-dir", str(run), *options, *TINY, "epochs=1"]) == 0
    results = json.loads((run / "results.json").read_text())
    assert "150 valid / 150 test users" in results["protocol"]["data"]
    assert json.loads((run / "run.json").read_text())["data"]["options"] == {"num_users": 150, "num_items": 50}
    capsys.readouterr()
    # eval and resume rebuild the same 50-item data (the default 600 items would not fit the checkpoint).
    assert main(["eval", "--run-dir", str(run), "--split", "test"]) == 0
    again = json.loads((run / "eval" / "results.json").read_text())
    assert again["metrics"]["hr@20"]["mean"] == results["metrics"]["hr@20"]["mean"]
    assert main(["train", "--quiet", "--run-dir", str(run), "--resume", "epochs=2"]) == 0
    assert "150 valid / 150 test users" in json.loads((run / "results.json").read_text())["protocol"]["data"]
    assert main(["train", "--quiet", "--run-dir", str(run), "--resume", "epochs=3", "--dataset-option",
                 "num_users=150"]) == 0  # the recorded value: no change
    capsys.readouterr()
    assert main(["train", "--quiet", "--run-dir", str(run), "--resume", "epochs=4", "--dataset-option",
                 "num_users=99"]) == 2
    assert "--dataset-option num_users=99 would change the data of the run" in capsys.readouterr().err


def test_a_resumed_run_records_the_training_time_of_every_invocation(tmp_path):
    run = tmp_path / "run"
    assert main(["train", "--quiet", "--run-dir", str(run), *TINY, "epochs=1", "checkpoint_every=1"]) == 0
    checkpoint = torch.load(run / "last.pt", weights_only=True)
    checkpoint["history"][0]["time_s"] = 3600.0  # as if the first invocation had trained for an hour
    torch.save(checkpoint, run / "last.pt")
    assert main(["train", "--quiet", "--run-dir", str(run), "--resume", "epochs=2"]) == 0
    assert json.loads((run / "results.json").read_text())["time_s"] > 3600.0


def test_unknown_or_bad_dataset_options_are_one_line_errors(tmp_path, capsys):
    assert main(["train", "--quiet", "--dataset-option", "num_user=5"]) == 2
    err = capsys.readouterr().err.strip()
    assert "dataset 'generated' does not take the option(s) 'num_user'; valid: num_users, num_items" in err
    assert len(err.splitlines()) == 1
    assert main(["train", "--quiet", "--dataset-option", "num_items=0"]) == 2
    assert "dataset 'generated': need num_items >= num_clusters >= 1" in capsys.readouterr().err
    path = tmp_path / "Shop.txt"
    path.write_text("u1 1 2 3\nu2 2 3\n")
    assert main(["train", "--quiet", "--data", str(path), "--dataset-option", "num_users=5"]) == 2
    assert f"dataset '{path}' does not take the option(s) 'num_users'; valid: min_length" in capsys.readouterr().err
    assert main(["train", "--quiet", "--data", str(path), "--dataset-option", "min_length=0"]) == 2
    assert "min_length must be an int >= 1, got 0" in capsys.readouterr().err


def test_reader_min_length_option(tmp_path, capsys):
    from recsys.data import write_txt

    path = tmp_path / "Shop.txt"
    write_txt(make_sequence_dataset(num_users=80, num_items=30, num_clusters=3), path)
    with path.open("a") as f:
        f.write("short 4 5\n")  # 2 items: refused at the readers' default min_length=3
    run = tmp_path / "run"
    assert main(["train", "--quiet", "--data", str(path), "--run-dir", str(run), *TINY, "epochs=1"]) == 2
    assert "fewer than min_length=3" in capsys.readouterr().err
    assert main(["train", "--quiet", "--data", str(path), "--run-dir", str(run), "--dataset-option",
                 "min_length=1", *TINY, "epochs=1"]) == 0
    assert json.loads((run / "run.json").read_text())["data"]["options"] == {"min_length": 1}
    assert main(["eval", "--run-dir", str(run), "--split", "test"]) == 0  # reloads with min_length=1
