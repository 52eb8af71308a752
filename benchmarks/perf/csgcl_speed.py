"""CSGCL speed: community strength + CED weights vs a per-edge loop, Cora preprocessing, CSGCL / GRACE epochs.

Parts (``--parts``, all by default):

1. ``strength_weights``: :func:`community_strength` + :func:`communal_edge_weight` on a generated graph with about
   10^5 directed edges against a literal per-edge Python loop written here the way the authors' code works (loops
   over the nodes and neighbours of a networkx graph for the strengths, over every edge with ``.item()`` calls for
   the weights). Same partition for both; the outputs are checked to agree. The networkx graph is built outside
   the loop's timer (in the loop's favour).
2. ``preprocessing``: Cora, seeded community detection + strength + CED weights + CAV probabilities, ``cold``
   (detect, write the on-disk cache) and ``cached`` (read back from the on-disk cache); the process-level cache
   is off for both (``AddCommunities(memory_cache=False)``).
3. ``epoch``: a training epoch (forward + backward + Adam step) on Cora of GRACE, CSGCL (Team-up active, γ = 1)
   and ``csgcl_previous`` — the same CSGCL on the library's previous code path, built through documented switches:
   ``GCNEncoder(sparse=False)`` (PyG message passing, dense ``X·W``), torch's ``nn.PReLU`` kernel and
   ``TeamUpInfoNCE(stabilizer="running_max")`` — in the CSGCL authors' ``train.py`` settings (hidden 256,
   projection 32, PReLU, edge drop 0.3/0.4, feature drop 0.1/0.0, τ 0.4). The three alternate epoch by epoch
   (:func:`harness.time_calls`). Peak RSS of GRACE and CSGCL is each measured in its own fresh process (5 epochs).
"""
from __future__ import annotations

import argparse
import itertools
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import torch

from benchmarks.perf import harness

TITLE = "CSGCL speed: strength + CED weights, Cora preprocessing, training epoch"
DESCRIPTION = (
    "Vectorised community strength + CED edge weights against a per-edge Python loop (the authors' style); Cora's "
    "one-time preprocessing cold and from the on-disk cache; a training epoch of GRACE, CSGCL (γ = 1) and CSGCL on "
    "the library's previous code path (PyG message passing, torch's PReLU, running-max log-sum-exp: "
    "`GCNEncoder(sparse=False)`, `nn.PReLU`, `TeamUpInfoNCE(stabilizer=\"running_max\")`), alternating epoch by "
    "epoch in one process, in the CSGCL authors' train.py settings. Times are medians over the repeats; peak RSS "
    "is the process's own high-water mark, each model in a fresh process.")
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
SETTINGS = {"hidden_channels": 256, "proj_channels": 32, "activation": "prelu", "drop_edge_1": 0.3,
            "drop_edge_2": 0.4, "drop_feature_1": 0.1, "drop_feature_2": 0.0, "tau": 0.4}
AUTHORS = "the authors' train.py on Cora, measured on the project's reference machine (2 threads, idle)"
REFERENCE = {"csgcl_epoch_ms": 535.0, "grace_epoch_ms": 552.0, "peak_rss_gb": 1.45, "preprocessing_s": 0.20}
PARTS = ("strength_weights", "preprocessing", "epoch")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", default=str(SHARED / "planetoid"), help="Planetoid data root (Cora)")
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS)
    parser.add_argument("--epochs", type=int, default=30, help="timed epochs per model (default: 30)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed epochs per model first (default: 5)")
    parser.add_argument("--repeats", type=int, default=5, help="repeats of the other parts (default: 5)")


def loop_strength_and_weights(graph: Any, edge_index: torch.Tensor, community: torch.Tensor):
    """The per-edge reference: Python loops over nodes / neighbours and over every directed edge."""
    com = community.tolist()
    m = graph.size()
    inc: dict[int, float] = defaultdict(float)
    deg: dict[int, float] = defaultdict(float)
    for node in graph.nodes():
        c = com[node]
        deg[c] += graph.degree(node)
        for nbr in graph[node]:
            if com[nbr] == c:
                inc[c] += 1.0 if nbr == node else 0.5
    strength = [inc[c] / m - (deg[c] / (2 * m)) ** 2 for c in range(max(com) + 1)]
    raw = []
    for e in range(edge_index.size(1)):
        u, v = edge_index[0, e].item(), edge_index[1, e].item()
        raw.append(strength[com[u]] if com[u] == com[v] else -(strength[com[u]] + strength[com[v]]))
    low, high = min(raw), max(raw)
    return torch.tensor(strength), torch.tensor([(w - low) / (high - low) for w in raw])


def _cora(options: argparse.Namespace):
    """Cora, or a small generated graph in the quick mode (no data files needed)."""
    if options.quick:
        from graphcl.data.generated import make_community_graph

        return "generated-300", make_community_graph(num_nodes=300, num_communities=6, num_features=50, seed=0)
    from graphcl.data import load_dataset

    return "cora", load_dataset("cora", root=options.root)


def strength_weights(options: argparse.Namespace) -> tuple[list[dict], list[dict]]:
    from torch_geometric.data import Data
    from torch_geometric.utils import to_networkx

    from graphcl.data.generated import make_community_graph
    from graphcl.functional.community import communal_edge_weight, community_strength, detect_communities

    nodes = 400 if options.quick else 12_000
    data = make_community_graph(num_nodes=nodes, num_communities=12 if options.quick else 120, avg_degree=8.4, seed=0)
    edge_index = data.edge_index
    community = detect_communities(edge_index, data.num_nodes, "louvain", seed=0)
    graph = to_networkx(Data(edge_index=edge_index, num_nodes=data.num_nodes), to_undirected=True)
    out: dict[str, tuple] = {}

    def vectorised() -> None:
        strength = community_strength(edge_index, community, data.num_nodes)
        out["vectorised"] = (strength, communal_edge_weight(edge_index, community, strength[community]))

    def loop() -> None:
        out["loop"] = loop_strength_and_weights(graph, edge_index, community)

    case = f"strength + CED weights, {edge_index.size(1):,} edges"
    rows = harness.time_calls({"vectorised": vectorised, "per-edge loop": loop}, repeats=options.repeats,
                              warmup=1, case=case)
    (strength, weight), (ref_strength, ref_weight) = out["vectorised"], out["loop"]
    summary = [
        harness.summary_item(f"{case}: per-edge loop / vectorised", harness.ratio(rows, "per-edge loop", "vectorised"),
                             "x"),
        harness.summary_item("max |Δ strength| loop vs vectorised", float((strength.double() - ref_strength).abs().max())),
        harness.summary_item("max |Δ weight| loop vs vectorised",
                             float((weight.double() - ref_weight.double()).abs().max())),
    ]
    return rows, summary


def preprocessing(options: argparse.Namespace) -> tuple[list[dict], list[dict]]:
    from graphcl.functional.community import attribute_voting_probability, communal_edge_weight, leiden_available
    from graphcl.transforms import AddCommunities

    name, data = _cora(options)
    backend = "leiden" if leiden_available() else "louvain"
    counter = itertools.count()
    with tempfile.TemporaryDirectory() as folder:
        cached_dir = Path(folder) / "cached"

        def prepare(cache_dir: Path) -> None:
            out = AddCommunities(backend, seed=0, cache_dir=cache_dir, memory_cache=False)(data)
            communal_edge_weight(out.edge_index, out.community, out.community_strength)
            attribute_voting_probability(out.x, out.community_strength, 0.1)

        prepare(cached_dir)  # fills the on-disk cache the 'cached' variant reads
        rows = harness.time_calls({"cold": lambda: prepare(Path(folder) / f"cold-{next(counter)}"),
                                   "cached": lambda: prepare(cached_dir)},
                                  repeats=options.repeats, warmup=0, case=f"{name} preprocessing ({backend}, seed 0)")
    summary = [harness.summary_item(f"{name} preprocessing, {variant} / authors' {REFERENCE['preprocessing_s']} s "
                                    "(unseeded Leiden)", row["time_s"] / REFERENCE["preprocessing_s"], "x",
                                    source=AUTHORS)
               for variant, row in (("cold", rows[0]), ("cached", rows[1]))]
    return rows, summary


def build(name: str, num_features: int) -> torch.nn.Module:
    """GRACE, CSGCL (γ = 1) or CSGCL on the previous code path, seeded so all draw the same initial weights."""
    from torch_geometric.transforms import Compose

    from graphcl.losses import TeamUpInfoNCE
    from graphcl.models import CSGCL, GRACE
    from graphcl.nn import GCNEncoder, ProjectionHead
    from graphcl.transforms import CommunalAttributeVoting, CommunalEdgeDropping
    from graphcl.utils import seed_everything

    seed_everything(0)
    if name == "grace":
        return GRACE.build(num_features, **SETTINGS)
    if name == "csgcl":
        model = CSGCL.build(num_features, **SETTINGS, t0=0, gamma_max=1.0)
    else:  # csgcl_previous: the encoder, activation kernel and loss form before the speed work
        hidden, tau = SETTINGS["hidden_channels"], SETTINGS["tau"]
        encoder = GCNEncoder(num_features, hidden, activation=torch.nn.PReLU(), sparse=False)
        head = ProjectionHead(hidden, SETTINGS["proj_channels"], hidden, activation="elu")
        views = [Compose([CommunalEdgeDropping(SETTINGS[f"drop_edge_{i}"]),
                          CommunalAttributeVoting(SETTINGS[f"drop_feature_{i}"])]) for i in (1, 2)]
        model = CSGCL(encoder, head, *views, tau=tau,
                      loss=TeamUpInfoNCE(tau, t0=0, gamma_max=1.0, stabilizer="running_max"))
    model.set_epoch(1000)  # Team-up active, γ = 1
    return model


def train_step(model: torch.nn.Module, graph: Any, optimizer: torch.optim.Optimizer) -> float:
    optimizer.zero_grad()
    loss = model(graph)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def peak_rss_child(name: str, quick: bool, root: str) -> float:
    """Peak RSS (MiB) of this fresh process after preparing ``name`` and training it 5 epochs."""
    options = argparse.Namespace(quick=quick, root=root)
    _, data = _cora(options)
    model = build(name, data.num_features)
    graph = model.prepare(data)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-5)
    for _ in range(5):
        train_step(model, graph, optimizer)
    return harness.process_peak_rss_mb()


def epoch(options: argparse.Namespace) -> tuple[list[dict], list[dict]]:
    name, data = _cora(options)
    models = {variant: build(variant, data.num_features) for variant in ("grace", "csgcl", "csgcl_previous")}
    graphs = {variant: model.prepare(data) for variant, model in models.items()}  # communities once, untimed
    optimizers = {variant: torch.optim.Adam(m.parameters(), lr=0.01, weight_decay=1e-5) for variant, m in models.items()}
    first_loss = {variant: train_step(models[variant], graphs[variant], optimizers[variant]) for variant in models}
    epochs, warmup = (2, 1) if options.quick else (options.epochs, options.warmup)
    rows = harness.time_calls({variant: (lambda v=variant: train_step(models[v], graphs[v], optimizers[v]))
                               for variant in models}, repeats=epochs, warmup=warmup, case=f"{name} epoch")
    for row in rows:
        row["first_loss"] = first_loss[row["variant"]]
        if row["variant"] != "csgcl_previous":
            rss = (harness.process_peak_rss_mb() if options.quick else
                   harness.isolated(peak_rss_child, row["variant"], False, options.root, threads=options.threads))
            row["peak_rss_mb"] = rss
    by = {row["variant"]: row for row in rows}
    summary = [
        harness.summary_item("CSGCL / GRACE epoch, same run", harness.ratio(rows, "csgcl", "grace"), "x"),
        harness.summary_item("CSGCL / CSGCL on the previous code path, same run",
                             harness.ratio(rows, "csgcl", "csgcl_previous"), "x"),
        harness.summary_item(f"CSGCL epoch / the authors' CSGCL ({REFERENCE['csgcl_epoch_ms']:.0f} ms)",
                             1000 * by["csgcl"]["time_s"] / REFERENCE["csgcl_epoch_ms"], "x", source=AUTHORS),
        harness.summary_item(f"GRACE epoch / the authors' GRACE ({REFERENCE['grace_epoch_ms']:.0f} ms)",
                             1000 * by["grace"]["time_s"] / REFERENCE["grace_epoch_ms"], "x", source=AUTHORS),
        harness.summary_item(f"CSGCL peak RSS / the authors' ({REFERENCE['peak_rss_gb']} GB)",
                             by["csgcl"]["peak_rss_mb"] / 1024 / REFERENCE["peak_rss_gb"], "x", source=AUTHORS),
    ]
    return rows, summary


def run(options: argparse.Namespace) -> dict[str, Any]:
    if options.quick:
        options.repeats = 2
    parts = {"strength_weights": strength_weights, "preprocessing": preprocessing, "epoch": epoch}
    rows: list[dict] = []
    summary: list[dict] = []
    for part in options.parts:
        part_rows, part_summary = parts[part](options)
        rows += part_rows
        summary += part_summary
    return {"rows": rows, "summary": summary,
            "columns": ["case", "variant", "time_s", "min_s", "cpu_s", "peak_rss_mb"],
            "settings": SETTINGS | {"lr": 0.01, "weight_decay": 1e-5, "chunk_size": 1024, "csgcl_gamma": 1.0,
                                    "epochs": options.epochs, "warmup": options.warmup, "repeats": options.repeats,
                                    "parts": options.parts, "quick": options.quick}}
