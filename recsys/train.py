"""Training and evaluation entry points shared by every recommender (SASRec, CL4SRec, MCLRec, SRA-CL).

:func:`train_recommender` trains any :class:`~recsys.models.SequentialRecommender` with
:func:`graphcl.train.fit` (early stopping on a validation ranking metric, best-weight restore, checkpoints,
exact resume, CSV / JSONL logs, progress bar). :func:`run_recommendation` does what ``recsys train`` does:
for every seed build the model from a config, train it, evaluate the best weights on the test split, and write
the run folder with ``results.json`` in the library's one schema (see :mod:`graphcl.experiment`), metric names
``hr@5``, ``ndcg@10``, ``mrr@20``, ...
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from graphcl.errors import ConfigError, DataError
from graphcl.eval.summary import MetricSummary, format_metrics, merge_summaries, seeds_label, summarize
from graphcl.train import (
    FitResult,
    fit,
    hold_run_dir,
    open_run,
    results_record,
    seed_run_dir,
    write_results,
)
from graphcl.train.checkpoint import unwrap_model
from graphcl.train.device import resolve_device
from graphcl.train.distributed import is_distributed, rank
from graphcl.utils import seed_everything
from recsys.config import split_config
from recsys.data.loader import batch_loader
from recsys.data.sequences import SequenceDataset
from recsys.data.split import SequenceSplit, leave_one_out
from recsys.eval import RankingProtocol, RankingResult, evaluate_ranking
from recsys.models import MODELS, SequentialRecommender

VALID_PREFIX = "valid_"

logger = logging.getLogger("recsys.train")


def train_recommender(
    model: SequentialRecommender,
    split: SequenceSplit,
    *,
    epochs: int = 100,
    batch_size: int = 256,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    stopping_step: int | None = 10,
    valid_metric: str = "mrr@10",
    eval_every: int = 1,
    protocol: RankingProtocol | None = None,
    max_batches_per_epoch: int | None = None,
    device: str | torch.device | None = None,
    run_dir: str | Path | None = None,
    checkpoint_every: int = 0,
    resume_from: str | Path | None = None,
    show_progress: bool = True,
    config: Mapping[str, Any] | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    loggers: str | Sequence[str] | None = None,
    amp: str | None = None,
) -> FitResult:
    """Train ``model`` on ``split.train`` with model selection on ``split.valid`` (RecBole's protocol).

    Args:
        model: A :class:`~recsys.models.SequentialRecommender` (``calculate_loss`` or its own ``training_step``,
            ``full_sort_predict``).
        split: From :func:`recsys.data.leave_one_out`.
        epochs: Maximum epochs.
        batch_size: Training batch size (256).
        lr: Adam learning rate (1e-3).
        weight_decay: Adam weight decay (0).
        stopping_step: RecBole's ``stopping_step``: stop after ``stopping_step + 1`` consecutive validations
            without strict improvement of ``valid_metric``; ``None`` never stops.
        valid_metric: Selection metric (``mrr@10`` in both papers' code).
        eval_every: Validate every this many epochs.
        protocol: Ranking protocol of the validation (default :class:`~recsys.eval.RankingProtocol`).
        max_batches_per_epoch: Reduced budget: each epoch sees this many random batches.
        device, run_dir, checkpoint_every, resume_from, show_progress, config, optimizer: As in
            :func:`graphcl.train.fit`.
        loggers: Logger names, e.g. ``"csv,tensorboard"`` (default: CSV + JSONL in ``run_dir``).
        amp: Mixed precision on CUDA, ``"bf16"`` or ``"fp16"`` (``None``: float32); see :func:`graphcl.train.fit`.
            Validation and test ranking run in float32.

    Returns:
        The :class:`~graphcl.train.FitResult`; ``model`` holds the best validation weights afterwards.
        Validation metrics appear in the history as ``valid_<name>``.

    A model whose loss needs ``model.min_batch_size`` samples per batch (the contrastive ones: InfoNCE needs a
    negative) drops a last batch smaller than that (one sample when the training-sample count modulo
    ``batch_size`` is 1, a different sample every epoch since batches are shuffled); every other batching is
    unchanged.

    Raises:
        ConfigError: ``batch_size`` below the model's ``min_batch_size``.
        DataError: Fewer training samples than ``min_batch_size``.
    """
    protocol = protocol or RankingProtocol()
    if valid_metric not in protocol.names:
        raise ConfigError(f"valid_metric {valid_metric!r} is not computed by the protocol ({protocol.names})")
    drop_last = _drop_small_last_batch(model, len(split.train), batch_size)
    distributed = is_distributed()
    loader = batch_loader(split.train, batch_size, shuffle=True, drop_last=drop_last,
                          max_batches=max_batches_per_epoch, shard=distributed)
    trained: nn.Module = _data_parallel(model) if distributed else model

    def validate(m: nn.Module) -> dict[str, float]:  # every rank ranks the whole split: same metric, same stop
        result = evaluate_ranking(unwrap_model(m), split.valid, protocol, split="valid")
        return {VALID_PREFIX + name: value for name, value in result.metrics.items()}

    return fit(
        trained, loader, epochs=epochs, optimizer=optimizer, lr=lr, weight_decay=weight_decay, device=device,
        eval_fn=validate, eval_every=eval_every, monitor=VALID_PREFIX + valid_metric, mode="max",
        patience=None if stopping_step is None else stopping_step + 1, restore_best=True, run_dir=run_dir,
        checkpoint_every=checkpoint_every, resume_from=resume_from, show_progress=show_progress, config=config,
        loggers=loggers, amp=amp,
    )


def _data_parallel(model: nn.Module) -> nn.Module:
    """``DistributedDataParallel`` around a model whose ``forward`` is its training loss (fit runs the step)."""
    if model.owns_optimizer_step:
        raise ConfigError(f"{type(model).__name__} runs its own optimisation steps (training_step); distributed "
                          f"training supports the models whose step the trainer runs")
    return nn.parallel.DistributedDataParallel(model)


def _drop_small_last_batch(model: SequentialRecommender, num_samples: int, batch_size: int) -> bool:
    """Whether the last training batch must be dropped: it would hold fewer than ``model.min_batch_size`` samples."""
    need = model.min_batch_size
    if need <= 1:
        return False
    name = type(model).__name__
    if isinstance(batch_size, int) and not isinstance(batch_size, bool) and batch_size < need:
        raise ConfigError(f"batch_size must be >= {need} for {name} (its contrastive loss needs {need} samples "
                          f"per batch), got {batch_size}")
    if num_samples < need:
        raise DataError(f"{name} needs at least {need} training samples (its contrastive loss needs {need} per "
                        f"batch), the split has {num_samples}")
    if not isinstance(batch_size, int) or not 0 < num_samples % batch_size < need:
        return False  # a bad batch_size is reported by batch_loader
    logger.warning("%s: %d training samples leave a last batch of %d with batch_size %d, fewer than the %d its "
                   "contrastive loss needs; dropping it every epoch (shuffled, so a different sample each time)",
                   name, num_samples, num_samples % batch_size, batch_size, need)
    return True


def build_recommender(cfg: Mapping[str, Any], num_items: int) -> SequentialRecommender:
    """Instantiate ``cfg["model"]`` through its ``build`` classmethod."""
    model_kw, _, _ = split_config(cfg)
    return MODELS[cfg["model"]].build(num_items, **model_kw)


def ranking_protocol(cfg: Mapping[str, Any]) -> RankingProtocol:
    _, _, ev = split_config(cfg)
    return RankingProtocol(ks=tuple(ev["ks"]), mask_history=ev["mask_history"], ties=ev["ties"],
                           chunk_size=ev["eval_chunk_size"], item_chunk_size=ev["eval_item_chunk_size"])


def describe_training(cfg: Mapping[str, Any]) -> str:
    _, tr, _ = split_config(cfg)
    budget = (f"at most {tr['max_batches_per_epoch']} random batches per epoch (REDUCED budget)"
              if tr["max_batches_per_epoch"] else "all training samples every epoch")
    stop = ("no early stopping" if tr["stopping_step"] is None
            else f"early stopping on valid {tr['valid_metric']} (RecBole stopping_step {tr['stopping_step']})")
    return (f"Adam lr {tr['lr']}, batch {tr['batch_size']}, up to {tr['epochs']} epochs, {budget}; {stop}; "
            f"best-validation weights evaluated once on test")


def run_recommendation(
    cfg: Mapping[str, Any],
    dataset: SequenceDataset,
    *,
    seeds: Sequence[int] = (2020,),
    device: str | torch.device | None = "cpu",
    run_dir: str | Path | None = None,
    run_base: str | Path = "runs",
    show_progress: bool = True,
    resume: bool = False,
    overwrite: bool = False,
    data_source: Mapping[str, Any] | None = None,
    on_result: Callable[[int, RankingResult], None] | None = None,
) -> tuple[dict[str, Any], Path]:
    """Train and test ``cfg`` on ``dataset`` for every seed; write ``config.yaml``, ``run.json``, ``env.txt``,
    ``results.json`` (+ per-seed logs and checkpoints) to the run folder.

    ``resume`` continues the run in ``run_dir`` from its ``last.pt`` files; ``overwrite`` replaces it (a folder
    holding a run is refused without one of them); ``data_source`` is recorded in ``run.json``.

    Returns:
        ``(results, run_dir)``; ``results["metrics"]`` holds the test metrics (mean ± std over seeds),
        ``results["validation"]`` the validation metrics of the selected epochs.
    """
    dev = resolve_device(device)
    start = time.perf_counter()
    model_kw, tr, _ = split_config(cfg)
    split = leave_one_out(dataset, max_len=model_kw["max_len"], padding=model_kw["padding"])
    protocol = ranking_protocol(cfg)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    with hold_run_dir(run_dir):  # one process at a time trains in a run folder
        out_dir = open_run(cfg, run_dir, run_base, seeds=seeds, resume=resume, overwrite=overwrite,
                           data_source=data_source)  # rank 0 writes it; in a process group the others wait
        test_runs: list[dict[str, MetricSummary]] = []
        valid_runs: list[dict[str, MetricSummary]] = []
        per_seed: list[dict[str, Any]] = []
        resumed_time_s = 0.0  # training time of earlier invocations of a resumed run
        for seed in seeds:
            seed_dir = seed_run_dir(out_dir, seed, seeds)
            seed_everything(seed)
            model = build_recommender(cfg, dataset.num_items).to(dev)
            model.prepare(dataset, split)  # data-dependent state, e.g. a semantic index; nothing for most models
            last = seed_dir / "last.pt"
            fit_result = train_recommender(
                model, split, epochs=tr["epochs"], batch_size=tr["batch_size"], lr=tr["lr"],
                weight_decay=tr["weight_decay"], stopping_step=tr["stopping_step"], valid_metric=tr["valid_metric"],
                eval_every=tr["eval_every"], protocol=protocol, max_batches_per_epoch=tr["max_batches_per_epoch"],
                device=dev, run_dir=seed_dir, checkpoint_every=tr["checkpoint_every"],
                resume_from=last if resume and last.is_file() else None, show_progress=show_progress, config=dict(cfg),
                loggers=tr["logger"], amp=tr["amp"],
            )
            resumed_time_s += fit_result.resumed_time_s
            test = evaluate_ranking(model, split.test, protocol, split="test")
            if on_result is not None:
                on_result(seed, test)
            test_runs.append({k: summarize([v]) for k, v in test.metrics.items()})
            best = next((r for r in fit_result.history if r["epoch"] == fit_result.best_epoch), {})
            valid_runs.append({k[len(VALID_PREFIX):]: summarize([v]) for k, v in best.items()
                               if k.startswith(VALID_PREFIX)})
            train_times = [r["time_s"] for r in fit_result.history]
            per_seed.append({"seed": seed, "best_epoch": fit_result.best_epoch, "epochs_run": fit_result.epochs_run,
                             "stopped_early": fit_result.stopped_early,
                             "mean_epoch_time_s": sum(train_times) / max(len(train_times), 1),
                             **model.run_info()})
        run_protocol = {
            "seeds": list(seeds),
            "data": split.describe(),
            "ranking": protocol.as_dict(),
            "training": describe_training(cfg),
            "values": "one value per seed (test split, best-validation weights)",
        }
        results = results_record(
            cfg, merge_summaries(test_runs), run_protocol, time_s=time.perf_counter() - start + resumed_time_s,
            device=dev, validation=merge_summaries(valid_runs) if all(valid_runs) else {}, runs=per_seed,
        )
        if rank() == 0:
            write_results(out_dir, results)
    return results, out_dir


def format_summary(results: Mapping[str, Any]) -> str:
    """One line, ``mclrec on beauty (3 seeds, metrics in %): hr@20 12.43 ± 0.10 | ...``, then the protocol."""
    n = len(results["protocol"]["seeds"])
    return (f"{results['model']} on {results['dataset']} ({seeds_label(n)}, metrics in %): "
            + format_metrics(results["metrics"]) + f" | {results['time_s']:.1f} s"
            + f"\n  protocol: {results['protocol']['ranking']['description']}"
            + f"\n  data: {results['protocol']['data']}\n  training: {results['protocol']['training']}")
