"""HeCo and DMGI train from the CLI on small HeCo-format folders; the loader reads HeCo's optional pos.npz."""
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from graphcl.cli import main
from graphcl.config import resolve_config
from graphcl.data import HECO_DATASETS, load_heco
from graphcl.errors import DataError
from tests.data.test_heco_cli import write_positives, write_small_heco_folder


def small_folder(root: Path, name: str) -> int:
    sizes = write_small_heco_folder(root, name)
    n = sizes[HECO_DATASETS[name].target]
    write_positives(root / name, n)
    return n


def test_the_loader_reads_pos_npz_as_positive_pairs(tmp_path):
    n = small_folder(tmp_path, "acm")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*loading it as a subset")
        data = load_heco("acm", tmp_path, cache=False)
    expected = sp.load_npz(tmp_path / "acm" / "pos.npz").tocsr()
    pairs = data["paper"].positive_index
    assert pairs.shape == (2, expected.nnz)
    assert set(map(tuple, pairs.t().tolist())) == set(zip(*expected.nonzero()))
    sp.save_npz(tmp_path / "acm" / "pos.npz", sp.coo_matrix(np.eye(n + 1)))
    with pytest.raises(DataError, match=f"pos.npz: expected an {n} x {n} matrix"), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*loading it as a subset")
        load_heco("acm", tmp_path, cache=False)


@pytest.mark.parametrize("model, name, extra", [
    ("heco", "acm", ["neighbour_samples=[3,1]"]),
    ("heco", "dblp", []),
    ("dmgi", "acm", []),
    ("dmgi", "dblp", ["attention=false"]),
])
def test_trains_from_the_cli_on_a_small_heco_folder(tmp_path, model, name, extra):
    small_folder(tmp_path / "data", name)
    run_dir = tmp_path / "run"
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*loading it as a subset")
        code = main(["train", "--model", model, "--dataset", name, "--root", str(tmp_path / "data"), "--quiet",
                     "--run-dir", str(run_dir), "epochs=3", "hidden_channels=8", "probe_repeats=2",
                     "probe_iterations=3", "cluster_repeats=1", *extra])
    assert code == 0
    results = json.loads((run_dir / "results.json").read_text())
    assert results["model"] == model and results["dataset"] == name
    assert {"macro_f1@20", "micro_f1@20", "auc@20", "nmi", "ari"} <= set(results["metrics"])
    assert "embedding_mode" not in results["protocol"] and "eval-mode" in results["protocol"]["embeddings"] \
        if model == "heco" else "consensus" in results["protocol"]["embeddings"]


@pytest.mark.parametrize("model", ["heco", "dmgi"])
@pytest.mark.parametrize("name", ["acm", "dblp", "aminer", "freebase"])
def test_shipped_configs_resolve_and_match_the_dataset(model, name):
    path = Path(__file__).resolve().parents[2] / "graphcl" / "configs" / model / f"{name}.yaml"
    if not path.is_file():
        pytest.skip(f"no shipped {model} config for {name}")
    cfg = resolve_config(model, name)
    for line in path.read_text().splitlines():
        if line and not line.startswith("#") and ":" in line:
            assert "#" in line, f"{path.name}: key without a comment: {line}"
    if model == "heco":
        description = HECO_DATASETS[name]
        types = {t.name for t in description.node_types} - {description.target}
        assert set(cfg["neighbour_types"]) <= types
        assert len(cfg["neighbour_samples"]) == len(cfg["neighbour_types"])
