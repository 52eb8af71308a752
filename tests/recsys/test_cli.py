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
