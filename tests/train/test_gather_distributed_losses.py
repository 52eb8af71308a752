"""``gather_distributed`` of CSGCL's Team-up loss, PamC's meta-node loss and GRACE's meta-node negatives, with 2 gloo
processes on CPU: the ranks' mean loss and their gradients (as ``DistributedDataParallel`` averages them) equal the
one-process loss of the concatenated batch; with world size 1 they are the plain losses; CSGCL and GRACE with PamC
negatives train on 2 processes along the one-process trajectory."""
from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch_geometric.data import Data

from graphcl.errors import ConfigError
from graphcl.losses import PamCLoss, TeamUpInfoNCE, gathered_info_nce, grace_info_nce, meta_node_info_nce, pamc_loss

WORLD = 2
ROWS = 6  # rows per rank of the two-view losses
NODES = (7, 5)  # nodes per rank of PamC's loss: they may differ between ranks
K = 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _join(rank: int, port: int) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)


def _views() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Two views of ``W·ROWS`` rows, their cluster labels (a shared numbering) and community strengths."""
    g = torch.Generator().manual_seed(0)
    z1 = torch.randn(WORLD * ROWS, 5, generator=g, dtype=torch.float64)
    z2 = z1 + 0.5 * torch.randn(WORLD * ROWS, 5, generator=g, dtype=torch.float64)
    labels = torch.tensor([0, 1, 2, 0, 1, 1, 2, 2, 0, 3, 3, 1])
    strength = 3.0 * torch.rand(WORLD * ROWS, generator=g, dtype=torch.float64)
    return z1, z2, labels, strength


def _pamc_inputs() -> dict[str, Any]:
    """Each rank's nodes ``[n_r, d]``, edges among them, soft assignment ``[n_r, K]`` and labels."""
    g = torch.Generator().manual_seed(1)
    parts = []
    for n in NODES:
        src = torch.arange(n).repeat_interleave(2)
        dst = torch.randint(0, n, (2 * n,), generator=g)
        parts.append({"z": torch.randn(n, 3, generator=g, dtype=torch.float64),
                      "edge_index": torch.stack([src, dst]),
                      "edge_weight": torch.rand(2 * n, generator=g, dtype=torch.float64),
                      "q": torch.rand(n, K, generator=g, dtype=torch.float64)})
    parts[0]["edge_weight"][:4] = 0.0  # node 0 and 1 of rank 0 have no positive: |V+| counts every rank
    parts[0]["labels"] = torch.tensor([0, 1, 2, 0, 1, 2, 0])  # K inferred: 3 here, 4 over both ranks
    parts[1]["labels"] = torch.tensor([3, 1, 3, 0, 2])
    return {"parts": parts}


PAMC_CASES = [("uniform", "zero", "q"), ("uniform", "exclude", "labels"), ("size", "zero", "labels"),
              ("size", "exclude", "q")]


def _pamc_full(weighting: str, self_similarity: str, assignment: str) -> tuple[torch.Tensor, torch.Tensor]:
    parts = _pamc_inputs()["parts"]
    z = torch.cat([p["z"] for p in parts]).requires_grad_()
    offsets = [0, NODES[0]]
    edge_index = torch.cat([p["edge_index"] + o for p, o in zip(parts, offsets)], 1)
    edge_weight = torch.cat([p["edge_weight"] for p in parts])
    assign = torch.cat([p[assignment] for p in parts])
    loss = pamc_loss(z, edge_index, assign, edge_weight, tau=0.7, weighting=weighting, self_similarity=self_similarity)
    loss.backward()
    return loss.detach(), z.grad


def _try(fn) -> str:
    try:
        fn()
    except ValueError as exc:
        return str(exc)
    return ""


def _losses_worker(rank: int, port: int, out: Path) -> None:
    _join(rank, port)
    z1, z2, labels, strength = _views()
    rows = slice(rank * ROWS, (rank + 1) * ROWS)
    results: dict[str, Any] = {}

    def local() -> tuple[torch.Tensor, torch.Tensor]:
        return z1[rows].clone().requires_grad_(), z2[rows].clone().requires_grad_()

    team_up = TeamUpInfoNCE(tau=0.5, t0=0, gamma_max=1.0, chunk_size=4, gather_distributed=True)
    team_up.set_epoch(50)  # γ = 0.5
    for name, loss_fn in {
        "team_up": lambda u, v: team_up(u, v, strength[rows]),
        "meta": lambda u, v: meta_node_info_nce(u, v, labels[rows], 0.5, gather_distributed=True),
        "meta_bias": lambda u, v: meta_node_info_nce(u, v, labels[rows], 0.5, node_bias=strength[rows],
                                                     symmetric=False, gather_distributed=True),
    }.items():
        u, v = local()
        loss = loss_fn(u, v)
        loss.backward()
        results[name] = (loss.detach(), u.grad, v.grad)

    part = _pamc_inputs()["parts"][rank]
    for weighting, self_similarity, assignment in PAMC_CASES:
        z = part["z"].clone().requires_grad_()
        loss = PamCLoss(tau=0.7, weighting=weighting, self_similarity=self_similarity, gather_distributed=True)(
            z, part["edge_index"], part[assignment], part["edge_weight"])
        loss.backward()
        results[f"pamc_{weighting}_{self_similarity}_{assignment}"] = (loss.detach(), z.grad)

    # Inputs that differ between the ranks fail on every rank with one message (no rank is left waiting).
    width = 3 if rank == 0 else 4
    results["errors"] = [
        _try(lambda: pamc_loss(part["z"], part["edge_index"], torch.rand(NODES[rank], width), gather_distributed=True)),
        _try(lambda: meta_node_info_nce(z1[:4 + rank], z2[:4 + rank], labels[:4 + rank], 0.5,
                                        gather_distributed=True)),
        _try(lambda: gathered_info_nce(z1[:4 + rank], z2[:4 + rank], 0.5)),
    ]
    torch.save(results, out / f"rank{rank}.pt")
    dist.destroy_process_group()


@pytest.fixture(scope="module")
def gathered(tmp_path_factory) -> list[dict[str, Any]]:
    out = tmp_path_factory.mktemp("gathered")
    mp.spawn(_losses_worker, args=(_free_port(), out), nprocs=WORLD, join=True)
    return [torch.load(out / f"rank{r}.pt", weights_only=True) for r in range(WORLD)]


def _two_view_full(name: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    z1, z2, labels, strength = _views()
    u, v = z1.clone().requires_grad_(), z2.clone().requires_grad_()
    if name == "team_up":
        loss_fn = TeamUpInfoNCE(tau=0.5, t0=0, gamma_max=1.0, chunk_size=None)
        loss_fn.set_epoch(50)
        loss = loss_fn(u, v, strength)
    elif name == "meta":
        loss = meta_node_info_nce(u, v, labels, 0.5)
    else:
        loss = meta_node_info_nce(u, v, labels, 0.5, node_bias=strength, symmetric=False)
    loss.backward()
    return loss.detach(), u.grad, v.grad


@pytest.mark.parametrize("name", ["team_up", "meta", "meta_bias"])
def test_gathered_two_view_losses_equal_the_one_process_loss_and_gradients(gathered, name: str) -> None:
    full, g1, g2 = _two_view_full(name)
    torch.testing.assert_close(torch.stack([r[name][0] for r in gathered]).mean(), full)
    for rank, result in enumerate(gathered):
        rows = slice(rank * ROWS, (rank + 1) * ROWS)
        # The gather's backward sums every rank's gradient; DDP then divides by the world size.
        torch.testing.assert_close(result[name][1] / WORLD, g1[rows])
        torch.testing.assert_close(result[name][2] / WORLD, g2[rows])


@pytest.mark.parametrize(("weighting", "self_similarity", "assignment"), PAMC_CASES)
def test_gathered_pamc_loss_equals_the_one_process_loss_over_all_ranks_nodes(
    gathered, weighting: str, self_similarity: str, assignment: str
) -> None:
    key = f"pamc_{weighting}_{self_similarity}_{assignment}"
    full, grad = _pamc_full(weighting, self_similarity, assignment)
    torch.testing.assert_close(torch.stack([r[key][0] for r in gathered]).mean(), full)
    start = 0
    for rank, result in enumerate(gathered):
        torch.testing.assert_close(result[key][1] / WORLD, grad[start:start + NODES[rank]])
        start += NODES[rank]


def test_inputs_that_differ_between_ranks_fail_on_every_rank(gathered) -> None:
    for result in gathered:
        clusters, meta_rows, info_rows = result["errors"]
        assert clusters == "every rank must have the same number of clusters K, got [3, 4] (in rank order)"
        assert "needs the same shape on every rank" in meta_rows
        assert "needs the same shape on every rank" in info_rows


def test_with_world_size_one_the_gathered_forms_are_the_plain_losses() -> None:
    """Outside a process group (and in one of a single rank) the gathered forms compute the plain losses."""
    z1, z2, labels, strength = _views()
    torch.testing.assert_close(gathered_info_nce(z1, z2, 0.5, node_bias=strength, chunk_size=5),
                               grace_info_nce(z1, z2, 0.5, node_bias=strength, chunk_size=None))
    team_up = TeamUpInfoNCE(tau=0.5, t0=0, gather_distributed=True)
    team_up.set_epoch(40)
    plain = TeamUpInfoNCE(tau=0.5, t0=0)
    plain.set_epoch(40)
    torch.testing.assert_close(team_up(z1, z2, strength), plain(z1, z2, strength))
    torch.testing.assert_close(meta_node_info_nce(z1, z2, labels, 0.5, node_bias=strength, gather_distributed=True),
                               meta_node_info_nce(z1, z2, labels, 0.5, node_bias=strength))
    part = _pamc_inputs()["parts"][0]
    args = (part["z"], part["edge_index"], part["q"], part["edge_weight"])
    torch.testing.assert_close(PamCLoss(weighting="size", gather_distributed=True)(*args),
                               PamCLoss(weighting="size")(*args))
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{_free_port()}", rank=0, world_size=1)
    try:
        torch.testing.assert_close(PamCLoss(gather_distributed=True)(*args), PamCLoss()(*args))
        torch.testing.assert_close(team_up(z1, z2, strength), plain(z1, z2, strength))
    finally:
        dist.destroy_process_group()


def test_bad_gather_distributed_arguments() -> None:
    with pytest.raises(ValueError, match="gather_distributed must be True or False"):
        TeamUpInfoNCE(gather_distributed="yes")
    with pytest.raises(ValueError, match="gather_distributed must be True or False"):
        PamCLoss(gather_distributed=1)
    z1, z2, _, _ = _views()
    with pytest.raises(ValueError, match=r"node_bias must be a tensor of shape \[12\]"):
        gathered_info_nce(z1, z2, 0.5, node_bias=torch.zeros(3))
    with pytest.raises(ValueError, match="the two views must have the same shape"):
        gathered_info_nce(z1, z2[:5], 0.5)
    with pytest.raises(ValueError, match="tau"):
        gathered_info_nce(z1, z2, 0.0)


def test_models_declare_gather_distributed_as_a_config_key() -> None:
    """The option is a keyword of the builders (so a config key) of the models whose losses gather; a model
    without it rejects the key instead of ignoring it."""
    from graphcl.config import resolve_config
    from graphcl.experiment import build_model

    csgcl = build_model(resolve_config("csgcl", "generated", overrides={"gather_distributed": True}), 12)
    assert csgcl.loss.gather_distributed and csgcl.gather_distributed
    grace = build_model(resolve_config("grace", "generated", overrides={"gather_distributed": True,
                                                                        "negatives": "pamc"}), 12)
    assert grace.gather_distributed
    pamc = build_model(resolve_config("pamc", "generated", overrides={"gather_distributed": True,
                                                                      "num_clusters": 3}), 12)
    assert pamc.loss.gather_distributed and pamc.gather_distributed
    assert not build_model(resolve_config("pamc", "generated", overrides={"num_clusters": 3}), 12).loss.gather_distributed
    with pytest.raises(ConfigError, match="unknown .*'gather_distributed'"):
        resolve_config("dgi", "generated", overrides={"gather_distributed": True})


# --------------------------------------------------------------------------------------------- model trajectories
def _cliques(count: int = 8, size: int = 4, features: int = 12) -> Data:
    """Disjoint cliques, each its own community: a root's 2-hop subgraph is its clique whichever roots share the
    batch, so the roots' projections do not depend on how a global batch is split over the ranks."""
    pairs = [(c * size + i, c * size + j) for c in range(count) for i in range(size) for j in range(size) if i != j]
    generator = torch.Generator().manual_seed(1)
    community = torch.arange(count).repeat_interleave(size)
    return Data(x=torch.rand(count * size, features, generator=generator),
                edge_index=torch.tensor(pairs).t().contiguous(), num_nodes=count * size, community=community,
                community_strength=(2.0 + 3.0 * torch.rand(count, generator=generator))[community])


TRAJECTORY_MODELS = {
    "csgcl": {"ced": False, "cav": False, "t0": 0, "gamma_max": 1.0, "tau": 0.5},  # γ = 0.01 · epoch
    "grace": {"negatives": "pamc"},  # meta-nodes: the graph's communities
}


def _trajectory(model_name: str, run_dir: Path, epochs: int) -> list[float]:
    from graphcl.config import resolve_config
    from graphcl.experiment import build_model, training_batches
    from graphcl.train import fit
    from graphcl.utils import seed_everything

    data = _cliques()
    cfg = resolve_config(model_name, "generated", overrides={
        "epochs": epochs, "batch_size": 16, "num_neighbors": [-1, -1], "gather_distributed": True,
        "drop_edge_1": 0.0, "drop_edge_2": 0.0, "drop_feature_1": 0.0, "drop_feature_2": 0.0,
        "hidden_channels": 8, "proj_channels": 8, "chunk_size": None, **TRAJECTORY_MODELS[model_name]})
    seed_everything(0)
    model = build_model(cfg, data.num_features)
    batches, trained = training_batches(cfg, model, model.prepare(data))
    result = fit(trained, batches, epochs=epochs, lr=0.01, run_dir=run_dir, checkpoint_every=0, restore_best=False,
                 show_progress=False, config=dict(cfg))
    return [row["loss"] for row in result.history]


def _trajectory_worker(rank: int, port: int, out: Path) -> None:
    _join(rank, port)
    for name in TRAJECTORY_MODELS:
        losses = torch.tensor(_trajectory(name, out / name, epochs=3))
        dist.all_reduce(losses)  # each rank logs its shard's loss; the global batch's loss is their mean
        if rank == 0:
            torch.save(losses / WORLD, out / f"{name}.pt")
    dist.destroy_process_group()


def _kmeans_worker(rank: int, port: int, out: Path) -> None:
    """GRACE's k-means meta-nodes under ``gather_distributed``: one set of centroids on every rank."""
    from graphcl.models import GRACE

    _join(rank, port)
    torch.manual_seed(rank)  # the ranks' generators differ (as after augmentations of different subgraphs)
    model = GRACE.build(12, hidden_channels=8, proj_channels=8, negatives="pamc", num_meta_nodes=3,
                        gather_distributed=True)
    z = torch.randn(5, 8)
    labels = model._minibatch_meta_labels(None, z, roots=5)
    torch.save({"centroids": model._meta_centroids, "labels": labels, "z": z}, out / f"kmeans{rank}.pt")
    dist.destroy_process_group()


@pytest.mark.slow  # two spawned processes training two models: about a minute on 2 shared cores
def test_two_process_csgcl_and_grace_with_pamc_negatives_follow_the_one_process_trajectory(tmp_path: Path) -> None:
    mp.spawn(_trajectory_worker, args=(_free_port(), tmp_path), nprocs=WORLD, join=True)
    for name in TRAJECTORY_MODELS:
        two = torch.load(tmp_path / f"{name}.pt", weights_only=True)
        one = torch.tensor(_trajectory(name, tmp_path / f"one-{name}", epochs=3))
        torch.testing.assert_close(two, one, rtol=1e-5, atol=1e-5)


def test_gathered_kmeans_meta_nodes_are_shared_by_the_ranks(tmp_path: Path) -> None:
    mp.spawn(_kmeans_worker, args=(_free_port(), tmp_path), nprocs=WORLD, join=True)
    parts = [torch.load(tmp_path / f"kmeans{r}.pt", weights_only=True) for r in range(WORLD)]
    torch.testing.assert_close(parts[0]["centroids"], parts[1]["centroids"])
    for part in parts:  # each rank's label: the nearest shared centroid
        unit = torch.nn.functional.normalize(part["z"], dim=1)
        assert torch.equal(part["labels"], (unit @ part["centroids"].t()).argmax(1))


def test_pamc_model_with_gather_distributed_is_unchanged_in_one_process() -> None:
    """DEC's target with the frequencies given (summed over the ranks) is the plain target when they are this
    process's; a PamC mini-batch step gives the same loss parts with and without ``gather_distributed``."""
    from graphcl.data.sampling import neighbor_loader
    from graphcl.models import PamC
    from graphcl.nn.dec import StudentTClustering

    q = torch.softmax(torch.randn(9, 3, dtype=torch.float64), 1)
    torch.testing.assert_close(StudentTClustering.target_distribution(q, q.sum(0)),
                               StudentTClustering.target_distribution(q))
    data = _cliques()
    parts = []
    for gather in (False, True):
        torch.manual_seed(0)
        model = PamC.build(data.num_features, num_clusters=3, hidden_channels=[16], embedding_dim=4,
                           pretrain_epochs=0, kmeans_n_init=1, gather_distributed=gather)
        prepared = model.prepare(data)
        batch = next(iter(neighbor_loader(prepared, 16, [-1], shuffle=False)))
        parts.append(model(batch))
    for key in parts[0]:
        torch.testing.assert_close(parts[0][key], parts[1][key])
