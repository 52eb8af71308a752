"""torch.distributed with 2 gloo processes on CPU: gathered InfoNCE equals the one-process loss, and 2-process
SASRec training with shards of each global batch follows the one-process loss trajectory."""
from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from graphcl.losses import InfoNCE
from graphcl.train.distributed import ShardedBatchSampler, gather_with_grad

WORLD = 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spawn(target, tmp_path: Path, *args) -> None:
    port = _free_port()
    mp.spawn(target, args=(port, tmp_path, *args), nprocs=WORLD, join=True)


def _join(rank: int, port: int) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)


def _gathered_loss_worker(rank: int, port: int, out: Path) -> None:
    _join(rank, port)
    torch.manual_seed(0)
    z1, z2 = torch.randn(8, 5, dtype=torch.float64), torch.randn(8, 5, dtype=torch.float64)
    local1 = z1[rank * 4:(rank + 1) * 4].clone().requires_grad_()
    local2 = z2[rank * 4:(rank + 1) * 4].clone().requires_grad_()
    loss = InfoNCE(tau=0.5, gather_distributed=True)(local1, local2)
    loss.backward()
    torch.save({"loss": loss.detach(), "g1": local1.grad, "g2": local2.grad,
                "gathered": gather_with_grad(local1.detach())}, out / f"rank{rank}.pt")
    dist.destroy_process_group()


def test_gathered_info_nce_equals_the_one_process_loss_and_gradient(tmp_path: Path) -> None:
    _spawn(_gathered_loss_worker, tmp_path)
    torch.manual_seed(0)
    z1 = torch.randn(8, 5, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(8, 5, dtype=torch.float64, requires_grad=True)
    full = InfoNCE(tau=0.5, chunk_size=None)(z1, z2)
    full.backward()
    parts = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(WORLD)]
    torch.testing.assert_close(torch.stack([p["loss"] for p in parts]).mean(), full.detach())
    for r, part in enumerate(parts):
        rows = slice(r * 4, (r + 1) * 4)
        # The gather's backward sums every rank's gradient; DDP then divides by the world size.
        torch.testing.assert_close(part["g1"] / WORLD, z1.grad[rows])
        torch.testing.assert_close(part["g2"] / WORLD, z2.grad[rows])
        torch.testing.assert_close(part["gathered"], z1.detach())


def test_sharded_batches_cover_each_global_batch_once() -> None:
    batches = [[0, 1, 2, 3, 4], [5, 6, 7, 8], [9]]
    shards = [list(ShardedBatchSampler(batches, rank=r, world=2)) for r in range(2)]
    assert shards[0] == [[0, 2, 4], [5, 7]] and shards[1] == [[1, 3], [6, 8]]  # [9] is dropped on both ranks
    for b, (a, c) in enumerate(zip(*shards)):
        assert sorted(a + c) == batches[b]


_TINY = {"hidden_size": 16, "inner_size": 16, "num_layers": 1, "num_heads": 1, "max_len": 8,
         "hidden_dropout": 0.0, "attn_dropout": 0.0}


def _train_history(run_dir: Path | None) -> list[float]:
    from recsys.data import leave_one_out, make_sequence_dataset
    from recsys.models import SASRec
    from recsys.train import train_recommender

    torch.manual_seed(3)
    data = make_sequence_dataset(num_users=96, num_items=30, num_clusters=3)
    split = leave_one_out(data, max_len=8)
    model = SASRec.build(data.num_items, **_TINY)
    result = train_recommender(model, split, epochs=3, batch_size=32, max_batches_per_epoch=4,
                               stopping_step=None, show_progress=False, run_dir=run_dir, checkpoint_every=1)
    return [row["loss"] for row in result.history]


def _sasrec_worker(rank: int, port: int, out: Path) -> None:
    _join(rank, port)
    losses = torch.tensor(_train_history(out / "run"))  # every rank names the folder; rank 0 alone writes
    dist.all_reduce(losses)  # each rank logs its shard's mean loss; the global batch's loss is their average
    if rank == 0:
        torch.save(losses / WORLD, out / "losses.pt")
    dist.destroy_process_group()


@pytest.mark.slow
def test_two_process_sasrec_follows_the_one_process_trajectory(tmp_path: Path) -> None:
    _spawn(_sasrec_worker, tmp_path)
    two = torch.load(tmp_path / "losses.pt", weights_only=True)
    one = torch.tensor(_train_history(tmp_path / "one"))
    torch.testing.assert_close(two, one, rtol=1e-5, atol=1e-5)
    # The checkpoint of the 2-process run resumes in one process (it holds the unwrapped model's keys).
    ckpt = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert ckpt["epoch"] == 3 and not any(key.startswith("module.") for key in ckpt["model"])
