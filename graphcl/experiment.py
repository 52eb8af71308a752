"""One experiment = train a model on a dataset for several seeds, evaluate it, and write ``results.json``.

This is what ``graphcl train`` runs and what the benchmark scripts call. ``results.json`` has the one schema
every command of the library writes::

    {"model": str, "dataset": str,
     "metrics": {"<name>": {"mean": float, "std": float, "values": [per-seed values]}},
     "protocol": {...}, "config": {...}, "time_s": float, "peak_mem_mb": float, "commit": str | null}

Metric names: ``test_acc`` and ``val_acc`` (node classification on the probe's test / validation split, fractions
in [0, 1]); ``acc``, ``nmi``, ``ari``, ``f1`` (k-means clustering of the embeddings, or the clusters of a model
that predicts them itself, which adds ``<metric>_max_epoch``); ``auc``, ``ap`` (link prediction on held-out edges).
Heterogeneous models report ``macro_f1@<r>``, ``micro_f1@<r>``, ``auc@<r>`` per label rate ``r``, ``nmi`` and
``ari`` (see :mod:`graphcl.eval.hetero`). A model adds the metrics it declares in
:attr:`~graphcl.models.base.GraphModel.extra_metrics` (raw values, not fractions). ``values`` holds one number
per seed (each the mean over that seed's probe splits / k-means restarts).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch_geometric.data import Data, HeteroData

from graphcl.config import split_config
from graphcl.errors import ConfigError
from graphcl.eval import (
    clustering_scores,
    kmeans_clustering,
    linear_probe,
    link_prediction,
    split_edges,
)
from graphcl.eval.summary import MetricSummary, format_metrics, merge_summaries, seeds_label, summarize
from graphcl.models import MODELS
from graphcl.models.base import GraphModel
from graphcl.train import FitResult, fit, hold_run_dir, open_run, results_record, seed_run_dir, write_results
from graphcl.train.device import resolve_device
from graphcl.train.run import RESUMABLE_KEYS
from graphcl.utils import seed_everything

logger = logging.getLogger("graphcl")


def check_model_data(cfg: Mapping[str, Any], data: Data | HeteroData) -> None:
    """Refuse a model / dataset pair that cannot train, before any run folder is written.

    A model that declares :attr:`~graphcl.models.base.GraphModel.heterogeneous` needs a heterogeneous graph
    (``HeteroData`` with meta-paths); the other models a homogeneous ``Data``. Heterogeneous runs use the DMGI /
    HeCo protocol, which has no link-prediction task.

    Raises:
        ConfigError: The pair does not fit, naming the datasets (or models) that would.
    """
    from graphcl.data import DATASETS

    model = cfg["model"]
    wants_hetero = MODELS[model].heterogeneous
    is_hetero = isinstance(data, HeteroData)
    if wants_hetero and not is_hetero:
        hetero = [name for name, entry in DATASETS.items() if entry.format == "heco"]
        raise ConfigError(
            f"model {model!r} needs a heterogeneous graph with meta-paths, but dataset {cfg['dataset']!r} is a "
            f"homogeneous graph; use one of the HeCo datasets: {', '.join(hetero)}"
        )
    if is_hetero and not wants_hetero:
        hetero_models = [name for name, cls in MODELS.items() if cls.heterogeneous]
        raise ConfigError(
            f"dataset {cfg['dataset']!r} is a heterogeneous graph, which model {model!r} cannot train on; use "
            f"{' or '.join(hetero_models)}"
        )
    if is_hetero and "link" in cfg["tasks"]:
        raise ConfigError(
            f"tasks: 'link' is not evaluated for heterogeneous models (the DMGI / HeCo protocol has node and "
            f"clustering tasks only), got tasks={cfg['tasks']}"
        )


def check_resume_config(cfg: Mapping[str, Any], run_dir: str | Path) -> None:
    """Refuse to resume ``run_dir`` with model or training settings other than those it was started with.

    The interrupted run's ``config.yaml`` is compared with ``cfg`` on the model and training keys except
    ``epochs``, ``checkpoint_every`` and ``logger``; evaluation keys may change (they do not affect the weights).
    A key the stored file lacks counts with its :func:`~graphcl.config.previous_defaults` value when it has one.
    Without this check the run would silently continue with the new settings and ``config.yaml`` would be overwritten with them,
    so the results would describe a training that never happened.

    Raises:
        ConfigError: A model or training key differs, listing every difference.
    """
    from graphcl.config import previous_defaults, read_yaml
    from graphcl.train._primitives import yaml_safe

    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        return
    stored = {**previous_defaults(cfg["model"]), **yaml_safe(read_yaml(path), str(path))}
    model_kw, train_kw, _ = split_config(cfg)
    current = yaml_safe({**model_kw, **train_kw}, "config")
    changed = [
        f"{key}: {stored[key]!r} -> {value!r}" for key, value in current.items()
        if key in stored and key not in RESUMABLE_KEYS and stored[key] != value
    ]
    if stored.get("model", cfg["model"]) != cfg["model"]:
        changed.insert(0, f"model: {stored['model']!r} -> {cfg['model']!r}")
    if changed:
        raise ConfigError(
            f"cannot resume {run_dir} with other settings than it was started with ({path}): "
            f"{'; '.join(changed)}. Only {' and '.join(RESUMABLE_KEYS)} may change."
        )


def build_model(cfg: Mapping[str, Any], in_channels: int | HeteroData) -> GraphModel:
    """Instantiate ``cfg["model"]`` through its ``build`` classmethod."""
    model_kw, _, _ = split_config(cfg)
    return MODELS[cfg["model"]].build(in_channels, **model_kw)


def train_model(
    cfg: Mapping[str, Any],
    data: Data,
    *,
    seed: int,
    device: torch.device,
    run_dir: Path | None = None,
    show_progress: bool = True,
    resume: bool = False,
    on_fit: Callable[[FitResult], None] | None = None,
) -> GraphModel:
    """Seed everything, build the model, prepare ``data`` for it once and train it: full-batch, or with
    ``batch_size > 0`` on mini-batches of random roots with their sampled neighbourhoods
    (:func:`graphcl.data.sampling.neighbor_loader`). In a ``torch.distributed`` run (``torchrun``) the model is
    wrapped in ``DistributedDataParallel`` and every rank trains on its share of each global batch of roots.

    The preparation (:meth:`~graphcl.models.base.GraphModel.prepare`: communities, an influence graph, meta-path
    views, autoencoder pre-training, ...) runs right after the model is built, so it draws from the same seeded
    random streams on every run. With ``resume``, training continues from ``run_dir/last.pt`` when that file
    exists (model, optimiser, epoch counter and every RNG state are restored, so the result equals an
    uninterrupted run); the preparation is made again first, and what of it lives in the model's weights is then
    replaced by the checkpoint. ``on_fit``, when given, receives the :class:`~graphcl.train.FitResult`.
    """
    _, train_kw, _ = split_config(cfg)
    seed_everything(seed)
    # Heterogeneous models read their feature sizes and meta-paths from the graph itself.
    model = build_model(cfg, data if isinstance(data, HeteroData) else data.num_features).to(device)
    prepared = model.prepare(data.to(device))
    checkpoint = None if run_dir is None else run_dir / "last.pt"
    train_data, trained = training_batches(cfg, model, prepared)
    fit_result = fit(
        trained,
        train_data,
        epochs=train_kw["epochs"],
        lr=train_kw["lr"],
        weight_decay=train_kw["weight_decay"],
        patience=train_kw["patience"],
        # Without early stopping the protocol is "final weights": restoring the lowest-training-loss epoch
        # would be a model selection the papers do not make.
        restore_best=train_kw["patience"] is not None,
        grad_clip=train_kw["grad_clip"],
        checkpoint_every=train_kw["checkpoint_every"],
        device=device,
        run_dir=run_dir,
        show_progress=show_progress,
        config=dict(cfg),
        loggers=train_kw["logger"],
        resume_from=checkpoint if resume and checkpoint is not None and checkpoint.is_file() else None,
    )
    if on_fit is not None:
        on_fit(fit_result)
    return model


def training_batches(cfg: Mapping[str, Any], model: GraphModel, prepared: Data) -> tuple[Any, torch.nn.Module]:
    """What :func:`train_model` hands to :func:`~graphcl.train.fit`: ``(train_data, model)`` — the prepared graph
    (full batch) or a loader of neighbourhood mini-batches, and the model, wrapped in ``DistributedDataParallel``
    in a distributed run.

    Raises:
        ConfigError: ``batch_size > 0`` for a model without mini-batch training, or a distributed run without it.
    """
    from graphcl.data.sampling import neighbor_loader
    from graphcl.train.distributed import is_distributed

    _, train_kw, _ = split_config(cfg)
    batch_size, distributed = train_kw["batch_size"], is_distributed()
    if batch_size and not model.supports_minibatch:
        names = [name for name, cls in MODELS.items() if cls.supports_minibatch]
        raise ConfigError(f"model {cfg['model']!r} trains full-batch only (batch_size must be 0); mini-batches: "
                          f"{', '.join(names)}")
    if distributed and not batch_size:
        raise ConfigError("distributed training of a graph model needs mini-batches: set batch_size (roots per "
                          "global batch, a multiple of the number of processes)")
    if not batch_size:
        return prepared, model
    if isinstance(prepared, HeteroData):
        raise ConfigError("mini-batches are for homogeneous graphs")
    loader = neighbor_loader(prepared, batch_size, train_kw["num_neighbors"], backend=train_kw["sampler"],
                             shard=distributed)
    if distributed:
        return loader, torch.nn.parallel.DistributedDataParallel(
            model, find_unused_parameters=model.has_unused_parameters)
    return loader, model


def embed_all(model: GraphModel, data: Data, cfg: Mapping[str, Any]) -> torch.Tensor:
    """Embeddings of every node: one pass, or layer-wise in ``inference_chunk_size`` rows (default after
    mini-batch training: 65536) through :meth:`~graphcl.models.base.GraphModel.embed_chunked`."""
    _, train_kw, ev = split_config(cfg)
    chunk = ev["inference_chunk_size"] or (65536 if train_kw["batch_size"] else None)
    return model.embed(data) if chunk is None else model.embed_chunked(data, chunk)


def evaluate_seed(
    cfg: Mapping[str, Any],
    data: Data,
    *,
    seed: int,
    device: torch.device,
    run_dir: Path | None,
    show_progress: bool,
    resume: bool = False,
    run_info: dict[str, Any] | None = None,
    on_fit: Callable[[FitResult], None] | None = None,
) -> dict[str, MetricSummary]:
    """Train and evaluate one seed on every requested task; ``run_info``, when given, receives the trained
    model's :meth:`~graphcl.models.base.GraphModel.run_info`, and ``on_fit`` every training's
    :class:`~graphcl.train.FitResult`. In a distributed run every rank trains and rank 0
    alone evaluates (the others return no metrics)."""
    from graphcl.train.distributed import rank

    _, _, ev = split_config(cfg)
    main = rank() == 0
    tasks = ev["tasks"]
    metrics: dict[str, MetricSummary] = {}
    if isinstance(data, HeteroData):  # DMGI / HeCo protocol on the shipped label-rate splits
        from graphcl.eval.hetero import evaluate_hetero

        model = train_model(
            cfg, data, seed=seed, device=device, run_dir=run_dir, show_progress=show_progress, resume=resume,
            on_fit=on_fit,
        )
        return evaluate_hetero(model, data.to(device), ev, seed=seed, run_dir=run_dir)
    if "node" in tasks or "clustering" in tasks:
        model = train_model(
            cfg, data, seed=seed, device=device, run_dir=run_dir, show_progress=show_progress, resume=resume,
            on_fit=on_fit,
        )
    if ("node" in tasks or "clustering" in tasks) and main:
        z = embed_all(model, data.to(device), cfg).cpu()
        own_clusters = "clustering" in tasks and model.predicts_clusters
        metrics.update(embedding_metrics(z, data, ev, seed=seed, clustering=not own_clusters))
        if own_clusters:
            metrics.update(own_cluster_metrics(model, data.to(device), data.y.cpu()))
        metrics.update({name: summarize([value]) for name, value in model.extra_metric_values().items()})
        if run_info is not None:
            run_info.update(model.run_info())
    if "link" in tasks:
        # Held-out edges are removed before training so the encoder never sees them.
        train_data, val_data, test_data = split_edges(
            data.cpu(), val_ratio=ev["link_val_ratio"], test_ratio=ev["link_test_ratio"], seed=seed
        )
        link_dir = None if run_dir is None else run_dir / "link"
        if main:
            logger.info("link prediction: training a separate %s on the %d edges left after holding out the "
                        "val/test edges", cfg["model"], int(train_data.edge_index.size(1)))
        model = train_model(
            cfg, train_data, seed=seed, device=device, run_dir=link_dir, show_progress=show_progress, resume=resume,
            on_fit=on_fit,
        )
        if not main:
            return metrics
        z = embed_all(model, train_data.to(device), cfg).cpu()
        scores = link_prediction(z, train_data.cpu(), val_data, test_data)
        metrics["auc"], metrics["ap"] = scores["auc"], scores["ap"]
    return metrics


def embedding_metrics(z: torch.Tensor, data: Data | HeteroData, ev: Mapping[str, Any], *, seed: int,
                      clustering: bool = True) -> dict[str, MetricSummary]:
    """The ``"node"`` and ``"clustering"`` metrics of ``ev["tasks"]`` for given embeddings of ``data``, as
    ``graphcl train`` computes them for its own models: a linear probe on random splits (``test_acc``,
    ``val_acc``) and k-means (``acc``, ``nmi``, ``ari``, ``f1``) on a homogeneous graph; the DMGI / HeCo protocol
    on a heterogeneous one's shipped label-rate splits.

    Args:
        z: ``[N, d]`` embeddings of every node (of the target type of a ``HeteroData``).
        data: The graph with its labels (and splits).
        ev: The evaluation settings of a resolved configuration (:func:`~graphcl.config.split_config`).
        seed: Seed of the probes' splits and initialisations and of k-means.
        clustering: Score k-means clusters of ``z`` when ``"clustering"`` is a task (``False`` for a model
            that predicts clusters itself).
    """
    if isinstance(data, HeteroData):
        from graphcl.eval.hetero import hetero_embedding_metrics

        return hetero_embedding_metrics(z, data, ev if clustering else
                                        {**ev, "tasks": [t for t in ev["tasks"] if t != "clustering"]}, seed=seed)
    z, y = z.detach().cpu(), data.y.cpu()
    metrics: dict[str, MetricSummary] = {}
    if "node" in ev["tasks"]:
        probe = linear_probe(
            z, y, train_ratio=ev["train_ratio"], val_ratio=ev["val_ratio"], repeats=ev["probe_repeats"], seed=seed
        )
        # val_acc (the probe's validation split, which also picks C) is what model selection may use.
        metrics["test_acc"], metrics["val_acc"] = probe["test_acc"], probe["val_acc"]
    if clustering and "clustering" in ev["tasks"]:
        metrics.update(kmeans_clustering(z, y, repeats=ev["cluster_repeats"], seed=seed))
    return metrics


def own_cluster_metrics(model: GraphModel, data: Data, y: torch.Tensor) -> dict[str, MetricSummary]:
    """Clustering metrics of a model that predicts clusters itself (``predict_clusters(data) -> [N]``).

    ``acc``/``nmi``/``ari``/``f1`` score the final model's prediction (the honest protocol). If the model's
    ``cluster_history`` holds one prediction per training epoch, ``<metric>_max_epoch`` is the maximum over the
    epochs and the final model of each metric separately — the protocol of the SDCN / SCGC / PamC code, which
    selects epochs with the labels.
    """
    scores = clustering_scores(y, model.predict_clusters(data).cpu())
    metrics = {name: summarize([value]) for name, value in scores.items()}
    history = model.cluster_history
    if history:
        # The final weights are one of the candidates, so the maximum is never below the final score.
        per_epoch = [clustering_scores(y, pred) for pred in history] + [scores]
        for name in scores:
            metrics[f"{name}_max_epoch"] = summarize([max(epoch[name] for epoch in per_epoch)])
    return metrics


def protocol(cfg: Mapping[str, Any], seeds: Sequence[int]) -> dict[str, Any]:
    """Human- and machine-readable description of how the numbers were obtained."""
    _, train_kw, ev = split_config(cfg)
    model_cls = MODELS[cfg["model"]]
    if model_cls.heterogeneous:
        from graphcl.eval.hetero import hetero_protocol

        return {"seeds": list(seeds), **hetero_protocol(cfg, model_cls.embedding_summary)}
    batching = "full-batch" if not train_kw["batch_size"] else (
        f"mini-batch ({train_kw['batch_size']} random roots per step with their neighbourhoods, "
        f"{train_kw['num_neighbors']} neighbours per hop, loss over the roots)")
    out: dict[str, Any] = {
        "seeds": list(seeds),
        "training": (
            f"{batching} Adam, {train_kw['epochs']} epochs, final weights (no model selection)"
            if train_kw["patience"] is None
            else f"{batching} Adam, up to {train_kw['epochs']} epochs, early stopping on the training loss "
            f"(patience {train_kw['patience']}), best-loss weights restored"
        ),
        "embeddings": "encoder output on the clean graph, no projection head",
    }
    if "node" in ev["tasks"]:
        out["node_classification"] = {
            "split": f"random {ev['train_ratio']:.0%}/{ev['val_ratio']:.0%}/"
            f"{1 - ev['train_ratio'] - ev['val_ratio']:.0%} train/val/test, seeded (split r of training seed s "
            "uses seed s + r, so nearby training seeds share splits)",
            "repeats_per_seed": ev["probe_repeats"],
            "classifier": "sklearn LogisticRegression on L2-normalised embeddings, C chosen on the val split",
            "metric": "test_acc = accuracy on the test split (val_acc: on the validation split, for model selection)",
        }
    if "clustering" in ev["tasks"] and model_cls.predicts_clusters:
        out["clustering"] = {
            "method": "the model's own prediction (predict_clusters), no k-means on the embeddings",
            "metrics": "acc (Hungarian matching), nmi, ari, f1 (macro, after matching) of the final model",
            "metrics_max_epoch": "<metric>_max_epoch: maximum over training epochs of each metric separately "
            "(the authors' protocol; epochs are selected with the labels, so it is optimistic)",
        }
    elif "clustering" in ev["tasks"]:
        out["clustering"] = {
            "method": "sklearn KMeans, k = number of classes",
            "repeats_per_seed": ev["cluster_repeats"],
            "metrics": "acc (Hungarian matching), nmi, ari, f1 (macro, after matching)",
        }
    if "link" in ev["tasks"]:
        out["link_prediction"] = {
            "split": f"RandomLinkSplit val {ev['link_val_ratio']}, test {ev['link_test_ratio']}, undirected, "
            "held out before training (a separate model is trained on the remaining edges)",
            "decoder": "cosine similarity of embeddings",
            "metrics": "auc, ap on test edges vs. equally many sampled non-edges",
        }
    out["values"] = "one value per seed, each the mean over that seed's repeats"
    return out


def run_experiment(
    cfg: Mapping[str, Any],
    data: Data,
    *,
    seeds: Sequence[int] = (0,),
    device: str | torch.device | None = "cpu",
    run_dir: str | Path | None = None,
    run_base: str | Path = "runs",
    show_progress: bool = True,
    resume: bool = False,
    overwrite: bool = False,
    data_source: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], Path]:
    """Train/evaluate ``cfg`` on ``data`` for every seed and write the run folder.

    Args:
        cfg: A resolved config (:func:`graphcl.config.resolve_config`).
        data: The dataset graph.
        seeds: One full training per seed.
        device: Where to train.
        run_dir: Exact run folder; default ``<run_base>/<model>-<dataset>-<time>``.
        run_base: Parent of the default run folder.
        show_progress: tqdm progress bars.
        resume: Continue every seed's training from the ``last.pt`` already in ``run_dir`` (requires
            ``run_dir`` holding a run); seeds without a checkpoint train from scratch.
        overwrite: Replace the run already in ``run_dir`` (without it, or ``resume``, such a folder is refused).
        data_source: Where ``data`` came from (``{"dataset": ..., "root": ...}``), recorded in ``run.json``.

    Returns:
        ``(results, run_dir)`` where ``results`` is what was written to ``results.json``.
    """
    from graphcl.train.distributed import rank

    dev = resolve_device(device)
    check_model_data(cfg, data)
    if resume and run_dir is not None:
        check_resume_config(cfg, run_dir)
    start = time.perf_counter()
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    with hold_run_dir(run_dir):  # one process at a time trains in a run folder
        out_dir = open_run(cfg, run_dir, run_base, seeds=seeds, resume=resume, overwrite=overwrite,
                           data_source=data_source)  # rank 0 writes it; in a process group the others wait
        per_seed, infos = [], []
        fits: list[FitResult] = []
        for seed in seeds:
            seed_dir = seed_run_dir(out_dir, seed, seeds)
            info: dict[str, Any] = {}
            per_seed.append(
                evaluate_seed(
                    cfg, data, seed=seed, device=dev, run_dir=seed_dir, show_progress=show_progress, resume=resume,
                    run_info=info, on_fit=fits.append,
                )
            )
            infos.append({"seed": seed, **info})
        extra = {"runs": infos} if any(len(info) > 1 for info in infos) else {}
        resumed_time_s = sum(fit_result.resumed_time_s for fit_result in fits)  # earlier invocations' training
        results = results_record(
            cfg, merge_summaries(per_seed), protocol(cfg, seeds), time_s=time.perf_counter() - start + resumed_time_s,
            device=dev, **extra,
        )
        if rank() == 0:
            write_results(out_dir, results)
    return results, out_dir


def format_summary(results: Mapping[str, Any]) -> str:
    """One line: ``grace on cora (5 seeds, metrics in %): test_acc 83.27 ± 0.41 | nmi ... | 123.4 s``."""
    n = len(results["protocol"]["seeds"])
    mode = results["protocol"].get("embedding_mode")  # heterogeneous models: faithful or clean embeddings
    # A model's own extra metrics are not fractions in [0, 1]: printed as they are rather than as percentages.
    model_cls = MODELS.get(results["model"])
    not_fractions = frozenset(model_cls.extra_metrics if model_cls is not None else ())
    return (
        f"{results['model']} on {results['dataset']} ({seeds_label(n)}, metrics in %): "
        + format_metrics(results["metrics"], not_fractions=not_fractions)
        + f" | {results['time_s']:.1f} s"
        + (f" | embeddings: {mode}" if mode else "")
    )
