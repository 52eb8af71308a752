"""Run configuration: defaults < YAML file < ``key=value`` overrides, validated against a known set of keys.

A configuration is one flat mapping. Its keys are

* the keyword arguments of the model's ``build`` classmethod (e.g. :meth:`graphcl.models.GRACE.build`),
* the training keys of :data:`TRAINING_DEFAULTS`,
* the evaluation keys of :data:`EVALUATION_DEFAULTS`,

plus the bookkeeping keys ``model`` and ``dataset``. Unknown keys are errors with a "did you mean" suggestion;
values are type-checked against the default's type. The library never reads ``sys.argv``: only
:mod:`graphcl.cli` turns command-line words into overrides.

Shipped files live in ``graphcl/configs/<model>/<dataset>.yaml`` (the repository's top-level ``configs/`` is a
link to it) with the papers' hyper-parameters and a comment on every key, RecBole style.
"""
from __future__ import annotations

import difflib
import inspect
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

import yaml

from graphcl.errors import ConfigError

CONFIG_DIR = Path(__file__).resolve().parent / "configs"

TRAINING_DEFAULTS: dict[str, Any] = {
    "epochs": 200,  # optimisation steps (full-batch: one per epoch)
    "lr": 0.001,
    "weight_decay": 0.0,
    "patience": None,  # early stopping on the training loss; None = off
    "grad_clip": None,
    "checkpoint_every": 50,  # also write last.pt every k epochs, for --resume (0 = only at the end)
    "logger": ["csv", "jsonl"],  # csv (metrics.csv), jsonl (events.jsonl), tensorboard; e.g. logger=csv,tensorboard
    # Mini-batches for large graphs (models with supports_minibatch: grace, csgcl, pamc): random roots with their
    # sampled neighbourhoods, the loss over the roots (graphcl.data.sampling). 0 = full batch, one step per epoch.
    "batch_size": 0,
    "num_neighbors": [10, 10],  # neighbours kept per node and hop (-1 = all); one entry per hop (= GCN layers)
    "sampler": "auto",  # auto (PyG's NeighborLoader when pyg-lib / torch-sparse is installed, else k_hop) | pyg | k_hop
}

EVALUATION_DEFAULTS: dict[str, Any] = {
    "tasks": ["node", "clustering"],  # any of node, clustering, link
    "train_ratio": 0.1,  # node classification split (GRACE protocol 10/10/80)
    "val_ratio": 0.1,
    "probe_repeats": 5,  # random splits per trained model
    "cluster_repeats": 10,  # k-means runs (seeds seed, seed + 1, ...), each keeping the best of 10 restarts
    "link_val_ratio": 0.05,  # held out before training for link prediction
    "link_test_ratio": 0.1,
    # Heterogeneous graphs (MEOW, AdaMEOW): the DMGI / HeCo linear protocol on the shipped label-rate splits.
    "probe_lr": 0.01,  # Adam learning rate of the linear classifier
    "probe_weight_decay": 0.0,
    "probe_iterations": 200,  # Adam steps; test read at the best validation step
    "tsne": False,  # also save a t-SNE PNG of the embeddings per seed (needs the plot extra)
    # Rows per chunk of the layer-wise inference of all embeddings; None = one pass after full-batch training,
    # 65536 rows after mini-batch training.
    "inference_chunk_size": None,
}

RESERVED = ("model", "dataset")


class ConfigResolver(Protocol):
    """A package's ``resolve_config`` (:func:`resolve_config` here, :func:`recsys.config.resolve_config`), as the
    shared command-line and benchmark code receive it."""

    def __call__(self, model: str, dataset: str, config_file: str | Path | None = None,
                 overrides: Mapping[str, Any] | None = None, *, recorded: bool = False) -> dict[str, Any]: ...


def model_defaults(model: str) -> dict[str, Any]:
    """Keyword defaults of ``MODELS[model].build`` (minus the data-dependent ``in_channels``)."""
    from graphcl.models import MODELS

    if model not in MODELS:
        raise ConfigError(_unknown("model", model, MODELS))
    params = inspect.signature(MODELS[model].build).parameters
    return {
        name: p.default
        for name, p in params.items()
        if name != "in_channels" and p.kind is p.POSITIONAL_OR_KEYWORD and p.default is not p.empty
    }


def previous_defaults(model: str) -> dict[str, Any]:
    """The values a run recorded before some of ``model``'s options existed ran with (the model's
    :attr:`~graphcl.models.base.GraphModel.previous_defaults`): a recorded configuration that lacks one of these
    keys is read with this value, not with today's default, so that resuming or comparing it never silently
    changes what it trained."""
    from graphcl.models import MODELS

    if model not in MODELS:
        raise ConfigError(_unknown("model", model, MODELS))
    return dict(MODELS[model].previous_defaults)


def default_config(model: str, dataset: str) -> dict[str, Any]:
    """All keys with their library defaults for ``model`` on ``dataset``."""
    cfg: dict[str, Any] = {"model": model, "dataset": dataset}
    cfg.update(model_defaults(model))
    cfg.update(TRAINING_DEFAULTS)
    cfg.update(EVALUATION_DEFAULTS)
    return cfg


def shipped_config_path(model: str, dataset: str, config_dir: Path = CONFIG_DIR) -> Path | None:
    """``<config_dir>/<model>/<dataset>.yaml`` if shipped, else ``<config_dir>/<model>/default.yaml`` if shipped."""
    for name in (dataset, "default"):
        path = config_dir / model / f"{name}.yaml"
        if path.is_file():
            return path
    return None


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Parse a YAML mapping, with errors that name the file (and line, for syntax errors)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not a text YAML file (byte {exc.start} is not UTF-8)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigError(f"malformed YAML in {path}{where}: {getattr(exc, 'problem', exc)}") from exc
    if content is None:
        return {}
    if not isinstance(content, dict):
        raise ConfigError(f"{path} must contain a mapping of key: value, got {type(content).__name__}")
    return content


def parse_overrides(words: Iterable[str]) -> dict[str, Any]:
    """``["lr=0.01", "tasks=[node,link]"]`` → ``{"lr": 0.01, "tasks": ["node", "link"]}`` (values parsed as YAML)."""
    out: dict[str, Any] = {}
    for word in words:
        key, sep, raw = word.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {word!r} is not of the form key=value")
        try:
            out[key.strip()] = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError as exc:
            raise ConfigError(f"cannot parse the value of override {word!r}: {exc}") from exc
    return out


def _unknown(kind: str, key: str, known: Iterable[str]) -> str:
    known = sorted(known)
    close = difflib.get_close_matches(key, known, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"unknown {kind} {key!r}.{hint} Valid: {', '.join(known)}"


# Numbers in exponent notation without a dot (``1e-3``, ``5E4``): YAML 1.1, which PyYAML implements, reads them
# as strings, although they are the usual way to write learning rates.
_EXPONENT_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def _exponent_numbers_as_floats(value: Any) -> Any:
    """``"1e-3"`` -> ``0.001`` (also inside lists); every other value is returned unchanged."""
    if isinstance(value, str) and _EXPONENT_NUMBER.fullmatch(value.strip()):
        return float(value)
    if isinstance(value, list):
        return [_exponent_numbers_as_floats(item) for item in value]
    return value


def _coerce(key: str, value: Any, default: Any, source: str) -> Any:
    """Check ``value`` against the default's type; ints are accepted for floats, and for keys that are not
    strings ``1e-3``-style words (strings to YAML 1.1) are read as floats."""
    if not isinstance(default, str):
        value = _exponent_numbers_as_floats(value)
    if default is None or value is None:
        return value
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
    elif isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(default, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif isinstance(default, str):
        if isinstance(value, str):
            return value
    elif isinstance(default, (list, tuple)):
        if isinstance(value, (list, tuple)):
            return list(value)
        if isinstance(value, str):
            return [value]
    else:
        return value
    raise ConfigError(
        f"{source}: key {key!r} expects {type(default).__name__} (e.g. {default!r}), got {value!r}"
    )


def resolve_config(
    model: str,
    dataset: str,
    config_file: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    recorded: bool = False,
) -> dict[str, Any]:
    """Merge defaults, the shipped (or given) YAML file and overrides; validate every key and value.

    Args:
        model: Model name (a key of :data:`graphcl.models.MODELS`).
        dataset: Dataset name.
        config_file: YAML file to use instead of the shipped ``configs/<model>/<dataset>.yaml``.
        overrides: Final ``key: value`` overrides (e.g. from ``key=value`` command-line words).
        recorded: ``config_file`` is the ``config.yaml`` a run recorded: the keys it lacks take their
            :func:`previous_defaults` (the values the run had) instead of today's defaults. (default: ``False``)

    Returns:
        The complete configuration.
    """
    path = Path(config_file) if config_file is not None else shipped_config_path(model, dataset)
    from graphcl.train.loggers import logger_names

    defaults = default_config(model, dataset)
    if recorded:
        defaults.update(previous_defaults(model))
    cfg = apply_layers(defaults, path, overrides)
    cfg["logger"] = logger_names(cfg["logger"])
    tasks = cfg["tasks"]
    bad = [t for t in tasks if t not in ("node", "clustering", "link")]
    if bad or not tasks:
        raise ConfigError(f"tasks must be a non-empty subset of [node, clustering, link], got {tasks}")
    check_ranges(cfg)
    return cfg


# Valid ranges of the training and evaluation keys: (lowest, highest, lowest excluded, highest excluded).
_RANGES: dict[str, tuple[float, float, bool, bool]] = {
    "epochs": (1, math.inf, False, True),
    "lr": (0.0, math.inf, True, True),
    "weight_decay": (0.0, math.inf, False, True),
    "patience": (1, math.inf, False, True),
    "grad_clip": (0.0, math.inf, True, True),
    "checkpoint_every": (0, math.inf, False, True),
    "batch_size": (0, math.inf, False, True),
    "inference_chunk_size": (1, math.inf, False, True),
    "train_ratio": (0.0, 1.0, True, True),
    "val_ratio": (0.0, 1.0, False, True),
    "probe_repeats": (1, math.inf, False, True),
    "cluster_repeats": (1, math.inf, False, True),
    "link_val_ratio": (0.0, 1.0, False, True),
    "link_test_ratio": (0.0, 1.0, True, True),
    "probe_lr": (0.0, math.inf, True, True),
    "probe_weight_decay": (0.0, math.inf, False, True),
    "probe_iterations": (1, math.inf, False, True),
}


def check_ranges(cfg: Mapping[str, Any]) -> None:
    """Reject out-of-range training / evaluation values before any data is loaded or any model trained.

    The loop and the evaluators check their arguments too, but only once they run: a bad ``probe_repeats``
    would otherwise surface after the whole training. Model keys are checked by the models' ``build``.

    Raises:
        ConfigError: The first offending key, with its valid range.
    """
    for key, (low, high, open_low, open_high) in _RANGES.items():
        value = cfg.get(key)
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue  # None = off (patience, grad_clip); types were checked by apply_layers
        too_low = value <= low if open_low else value < low
        too_high = value >= high if open_high else value > high
        if too_low or too_high or math.isnan(value):
            bounds = f"{'(' if open_low else '['}{low:g}, {high:g}{')' if open_high else ']'}"
            raise ConfigError(f"{key} must lie in {bounds}, got {value!r}")
    chunk = cfg.get("inference_chunk_size")
    if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, int)):
        raise ConfigError(f"inference_chunk_size must be a positive int or null, got {chunk!r}")
    if "num_neighbors" in cfg:
        from graphcl.data.sampling import check_num_neighbors

        check_num_neighbors(cfg["num_neighbors"])
    if cfg.get("sampler", "auto") not in ("auto", "pyg", "k_hop"):
        raise ConfigError(f"sampler must be one of auto, pyg, k_hop, got {cfg['sampler']!r}")
    for a, b in (("train_ratio", "val_ratio"), ("link_val_ratio", "link_test_ratio")):
        if a in cfg and b in cfg and cfg[a] + cfg[b] >= 1.0:
            raise ConfigError(f"{a} + {b} must be < 1 so that a test split remains, got {cfg[a]} + {cfg[b]}")


def apply_layers(
    defaults: Mapping[str, Any], path: Path | None, overrides: Mapping[str, Any] | None
) -> dict[str, Any]:
    """``defaults`` < the YAML file at ``path`` < ``overrides``; every key must exist in ``defaults`` and every
    value is coerced to its default's type (errors name the file or "command line"). Shared by the ``graphcl``
    and ``recsys`` configurations; ``model`` / ``dataset`` are set by their own flags, never by a layer."""
    cfg = dict(defaults)
    layers: list[tuple[str, Mapping[str, Any]]] = []
    if path is not None:
        layers.append((str(path), read_yaml(path)))
    if overrides:
        layers.append(("command line", overrides))
    for source, layer in layers:
        for key, value in layer.items():
            if key in RESERVED:
                if value != cfg[key] and source == "command line":
                    raise ConfigError(f"{source}: set {key!r} with --{key}, not as an override")
                if key == "model" and value != cfg[key]:
                    # A run's config.yaml names its model; its keys are that model's (the dataset may differ).
                    raise ConfigError(
                        f"{source} is a configuration of model {value!r}, but the model is {cfg[key]!r}; "
                        f"pass --model {value} (or a configuration of {cfg[key]!r})"
                    )
                continue
            if key not in cfg:
                raise ConfigError(f"{source}: " + _unknown("config key", key, [k for k in cfg if k not in RESERVED]))
            cfg[key] = _coerce(key, value, defaults[key], source)
    return cfg


def split_config(cfg: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Split a resolved config into (model kwargs, training kwargs, evaluation kwargs)."""
    model_keys = model_defaults(cfg["model"])
    model_kw = {k: cfg[k] for k in model_keys}
    train_kw = {k: cfg[k] for k in TRAINING_DEFAULTS}
    eval_kw = {k: cfg[k] for k in EVALUATION_DEFAULTS}
    return model_kw, train_kw, eval_kw
