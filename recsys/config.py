"""Run configuration of the recommenders: defaults < YAML file < ``key=value`` overrides, validated.

One flat mapping whose keys are the keyword arguments of the model's ``build`` classmethod (minus
``num_items``, which comes from the data), :data:`TRAINING_DEFAULTS` and :data:`EVALUATION_DEFAULTS`, plus
``model`` and ``dataset``. Unknown keys are errors with a "did you mean" hint and values are type-checked
(the helpers of :mod:`graphcl.config`). Shipped files: ``recsys/configs/<model>/<dataset>.yaml``, commented,
with the papers' values.
"""
from __future__ import annotations

import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from graphcl import config as graphcl_config
from graphcl.errors import ConfigError

CONFIG_DIR = Path(__file__).resolve().parent / "configs"

TRAINING_DEFAULTS: dict[str, Any] = {
    "epochs": 100,  # MCLRec's scripts
    "batch_size": 256,
    "lr": 0.001,
    "weight_decay": 0.0,
    "stopping_step": 10,  # RecBole: stop after stopping_step + 1 evaluations without strict improvement
    "valid_metric": "mrr@10",  # early-stopping / model-selection metric on the validation split
    "eval_every": 1,
    "checkpoint_every": 1,  # write last.pt every k epochs for --resume (0 = only at the end)
    "max_batches_per_epoch": None,  # reduced budgets: cap the optimisation steps of an epoch (None = all)
    "logger": ["csv", "jsonl"],  # csv (metrics.csv), jsonl (events.jsonl), tensorboard; e.g. logger=csv,tensorboard
    "amp": None,  # mixed-precision training on CUDA: bf16 | fp16 (None = float32; ignored on CPU)
}

EVALUATION_DEFAULTS: dict[str, Any] = {
    "ks": [5, 10, 20],
    "mask_history": False,  # both papers rank all items, history included
    "ties": "optimistic",
    "eval_chunk_size": 2048,  # users scored at once
    "eval_item_chunk_size": 4096,  # items scored at once for catalogues larger than this (None = whole catalogue)
}

RESERVED = graphcl_config.RESERVED


def model_defaults(model: str) -> dict[str, Any]:
    """Keyword defaults of ``MODELS[model].build`` (minus the data-dependent ``num_items``)."""
    from recsys.models import MODELS

    if model not in MODELS:
        raise ConfigError(graphcl_config._unknown("model", model, MODELS))
    params = inspect.signature(MODELS[model].build).parameters
    out = {}
    for name, p in params.items():
        if name == "num_items" or p.kind is not p.POSITIONAL_OR_KEYWORD or p.default is p.empty:
            continue
        out[name] = list(p.default) if isinstance(p.default, tuple) else p.default
    return out


def previous_defaults(model: str) -> dict[str, Any]:
    """The values runs recorded before some of ``model``'s options existed ran with (the model's
    :attr:`~recsys.models.base.SequentialRecommender.previous_defaults`; see :func:`graphcl.config.previous_defaults`)."""
    from recsys.models import MODELS

    if model not in MODELS:
        raise ConfigError(graphcl_config._unknown("model", model, MODELS))
    return dict(MODELS[model].previous_defaults)


def default_config(model: str, dataset: str) -> dict[str, Any]:
    cfg: dict[str, Any] = {"model": model, "dataset": dataset}
    cfg.update(model_defaults(model))
    cfg.update(TRAINING_DEFAULTS)
    cfg.update(EVALUATION_DEFAULTS)
    return cfg


def shipped_config_path(model: str, dataset: str) -> Path | None:
    """``recsys/configs/<model>/<dataset>.yaml`` if shipped, else ``.../default.yaml`` if shipped."""
    return graphcl_config.shipped_config_path(model, dataset, CONFIG_DIR)


def resolve_config(model: str, dataset: str, config_file: str | Path | None = None,
                   overrides: Mapping[str, Any] | None = None, *, recorded: bool = False) -> dict[str, Any]:
    """Merge defaults, the shipped (or given) YAML file and overrides; validate every key and value (``recorded``:
    ``config_file`` is a run's own ``config.yaml``, whose missing keys take their :func:`previous_defaults`)."""
    path = Path(config_file) if config_file is not None else shipped_config_path(model, dataset)
    from graphcl.train.loggers import logger_names

    defaults = default_config(model, dataset)
    if recorded:
        defaults.update(previous_defaults(model))
    cfg = graphcl_config.apply_layers(defaults, path, overrides)
    cfg["logger"] = logger_names(cfg["logger"])
    if isinstance(cfg["amp"], str) and cfg["amp"].lower() in ("none", "off", "false", "fp32"):
        cfg["amp"] = None
    if cfg["amp"] is False:
        cfg["amp"] = None
    if cfg["amp"] not in (None, "bf16", "fp16"):
        raise ConfigError(f"amp must be bf16, fp16 or none, got {cfg['amp']!r}")
    from recsys.eval import check_metric_names

    check_metric_names([cfg["valid_metric"]])
    return cfg


def split_config(cfg: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(model kwargs, training kwargs, evaluation kwargs) of a resolved config."""
    model_kw = {k: cfg[k] for k in model_defaults(cfg["model"])}
    return model_kw, {k: cfg[k] for k in TRAINING_DEFAULTS}, {k: cfg[k] for k in EVALUATION_DEFAULTS}
