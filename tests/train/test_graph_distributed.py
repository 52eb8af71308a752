"""GRACE on torch.distributed with 2 gloo processes: mini-batches of roots sharded over the ranks and the gathered
InfoNCE follow the one-process loss trajectory with the same global batch, and the 2-process checkpoint resumes in
one process onto the one-process trajectory."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch_geometric.data import Data

from graphcl.config import resolve_config
from graphcl.experiment import build_model, training_batches
from graphcl.train import fit
from graphcl.utils import seed_everything

WORLD = 2


def _cliques(count: int = 8, size: int = 4, features: int = 12) -> Data:
    """Disjoint cliques: a root's 2-hop subgraph is its whole clique whichever other roots share the batch, so the
    roots' embeddings (and the loss) do not depend on how a global batch is split over the ranks."""
    pairs = [(c * size + i, c * size + j) for c in range(count) for i in range(size) for j in range(size) if i != j]
    generator = torch.Generator().manual_seed(1)
    return Data(x=torch.rand(count * size, features, generator=generator),
                edge_index=torch.tensor(pairs).t().contiguous(), num_nodes=count * size)


def _losses(run_dir: Path, epochs: int, resume_from: Path | None = None) -> list[float]:
    data = _cliques()
    cfg = resolve_config("grace", "generated", overrides={
        "epochs": epochs, "batch_size": 16, "num_neighbors": [-1, -1], "gather_distributed": True,
        "drop_edge_1": 0.0, "drop_edge_2": 0.0, "drop_feature_1": 0.0, "drop_feature_2": 0.0,
        "hidden_channels": 8, "proj_channels": 8, "chunk_size": None})
    seed_everything(0)
    model = build_model(cfg, data.num_features)
    batches, trained = training_batches(cfg, model, model.prepare(data))
    result = fit(trained, batches, epochs=epochs, lr=0.01, run_dir=run_dir, checkpoint_every=1, restore_best=False,
                 show_progress=False, resume_from=resume_from, config=dict(cfg))
    return [row["loss"] for row in result.history]


def _worker(rank: int, port: int, out: Path) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)
    losses = torch.tensor(_losses(out / "run", epochs=3))  # every rank names the folder; rank 0 alone writes
    dist.all_reduce(losses)  # each rank logs its shard's loss; the global batch's loss is their mean
    if rank == 0:
        torch.save(losses / WORLD, out / "losses.pt")
    dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(("argv", "message"), [
    (["--nproc", "0"], "--nproc must be >= 1"),
    (["--nproc", "2"], "--nproc needs --run-dir"),
])
def test_cli_nproc_errors_come_before_any_launch(argv: list[str], message: str, capsys) -> None:
    from graphcl.cli import main

    env_world = os.environ.pop("WORLD_SIZE", None)
    try:
        assert main(["train", "--quiet", *argv, "epochs=1", "batch_size=64"]) == 2
    finally:
        if env_world is not None:
            os.environ["WORLD_SIZE"] = env_world
    assert message in capsys.readouterr().err


def test_a_distributed_graph_run_needs_mini_batches(tmp_path: Path) -> None:
    """Inside a process group (here of one gloo rank) full-batch training is refused, mini-batches are sharded and
    the model is wrapped in DistributedDataParallel."""
    from graphcl.errors import ConfigError

    data = _cliques()
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{_free_port()}", rank=0, world_size=1)
    try:
        full = resolve_config("grace", "generated", overrides={"hidden_channels": 8, "proj_channels": 8})
        model = build_model(full, data.num_features)
        with pytest.raises(ConfigError, match="needs mini-batches"):
            training_batches(full, model, data)
        batched = resolve_config("grace", "generated", overrides={
            "hidden_channels": 8, "proj_channels": 8, "batch_size": 16, "num_neighbors": [-1]})
        loader, wrapped = training_batches(batched, model, data)
        assert isinstance(wrapped, torch.nn.parallel.DistributedDataParallel) and wrapped.module is model
        assert sum(batch.batch_size for batch in loader) == data.num_nodes
    finally:
        dist.destroy_process_group()


@pytest.mark.slow  # two spawned processes: about 30 s on 2 shared cores
def test_two_process_grace_follows_the_one_process_trajectory_and_resumes_in_one(tmp_path: Path) -> None:
    mp.spawn(_worker, args=(_free_port(), tmp_path), nprocs=WORLD, join=True)
    two = torch.load(tmp_path / "losses.pt", weights_only=True)
    one = _losses(tmp_path / "one", epochs=5)
    torch.testing.assert_close(two, torch.tensor(one[:3]), rtol=1e-5, atol=1e-5)
    checkpoint = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert checkpoint["epoch"] == 3 and not any(key.startswith("module.") for key in checkpoint["model"])
    resumed = _losses(tmp_path / "run", epochs=5, resume_from=tmp_path / "run" / "last.pt")
    # Epochs 1-3 of the resumed history are rank 0's records (its shard's loss); 4-5 ran in one process.
    torch.testing.assert_close(torch.tensor(resumed[3:]), torch.tensor(one[3:]), rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_cli_nproc_trains_under_torchrun_and_resumes_in_one_process(tmp_path: Path) -> None:
    run = tmp_path / "run"
    common = [sys.executable, "-m", "graphcl.cli", "train", "--quiet", "--run-dir", str(run)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    first = subprocess.run([*common, "--nproc", "2", "--dataset-option", "num_nodes=600", "epochs=2",
                            "batch_size=128", "tasks=[node]", "probe_repeats=1"],
                           capture_output=True, text=True, env=env, timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    assert (run / "results.json").is_file() and "test_acc" in first.stdout
    again = subprocess.run([*common, "--resume", "epochs=3"], capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "epochs 2 -> 3" in again.stdout


@pytest.mark.slow
def test_cli_nproc_reports_a_failure_of_the_processes_with_their_exit_code(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "graphcl.cli", "train", "--quiet", "--run-dir", str(tmp_path / "r"),
                           "--nproc", "2", "--model", "pamc", "batch_size=64"],  # PamC without num_clusters
                          capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300)
    assert done.returncode == 2 and "needs num_clusters" in done.stderr
    assert "processes failed (their messages are above)" in done.stderr
    assert "ChildFailedError" not in done.stderr  # no launcher traceback
