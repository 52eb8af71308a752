"""Run folders: ``runs/<model>-<dataset>-<time>/`` with ``config.yaml``, ``env.txt`` and ``results.json``."""
from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import torch
import yaml

from graphcl.errors import ConfigError
from graphcl.train._primitives import json_safe, yaml_safe
from graphcl.train.checkpoint import library_versions

_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.+]+")


def make_run_dir(base: str | os.PathLike[str] = "runs", *, model: str, dataset: str) -> Path:
    """Create a new, unique run folder ``<base>/<model>-<dataset>-<YYYYmmdd-HHMMSS>[-n]``.

    Args:
        base: Parent folder (created when missing).
        model: Model name; characters other than letters, digits, ``_ . +`` become ``_``.
        dataset: Dataset name, sanitised the same way.

    Returns:
        The created folder. When the name is taken (two runs started in the same second), ``-1``, ``-2``, ...
        is appended; creation is atomic, so concurrent runs never share a folder.
    """
    base = Path(base)
    base.mkdir(parents=True, exist_ok=True)
    stem = "-".join((_safe_name(model, "model"), _safe_name(dataset, "dataset"),
                     datetime.now().strftime("%Y%m%d-%H%M%S")))
    suffix = 0
    while True:
        candidate = base / (stem if suffix == 0 else f"{stem}-{suffix}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            suffix += 1


def _safe_name(name: str, what: str) -> str:
    cleaned = _UNSAFE_NAME_CHARS.sub("_", str(name)).strip("_")
    if not cleaned:
        raise ValueError(f"{what} name {name!r} has no usable characters for a run folder name")
    return cleaned


def write_config(run_dir: str | os.PathLike[str], config: Mapping[str, Any]) -> Path:
    """Write ``config.yaml`` (keys in the given order; paths, tuples and NumPy values as plain YAML).

    Args:
        run_dir: The run folder.
        config: The run's configuration.

    Returns:
        The written file.
    """
    path = Path(run_dir) / "config.yaml"
    text = yaml.safe_dump(yaml_safe(dict(config), "config"), sort_keys=False, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    return path


def git_commit() -> str | None:
    """Short commit hash of the git checkout holding this package, or ``None`` (never raises).

    ``None`` when git is missing, the package is installed outside a checkout, or its files are not tracked
    by the surrounding repository (e.g. a virtual environment inside some other project).
    """
    package_dir = Path(__file__).resolve().parents[1]
    try:
        tracked = subprocess.run(
            ["git", "ls-files", "--error-unmatch", "__init__.py"],
            cwd=package_dir, capture_output=True, text=True, timeout=10, check=False,
        )
        if tracked.returncode != 0:
            return None
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=package_dir, capture_output=True, text=True, timeout=10, check=False,
        )
    except Exception:  # noqa: BLE001 - provenance is best-effort and must never break a run
        return None
    commit = head.stdout.strip()
    return commit if head.returncode == 0 and commit else None


def environment_info() -> dict[str, str]:
    """Software and hardware facts that make a run reproducible: versions, CUDA, CPU threads, git commit."""
    import numpy
    import sklearn

    cuda = torch.cuda.is_available()
    return {
        **library_versions(),
        "platform": platform.platform(),
        "numpy": numpy.__version__,
        "sklearn": sklearn.__version__,
        "cuda_available": str(cuda),
        "cuda_version": str(torch.version.cuda),
        "cuda_device": torch.cuda.get_device_name(0) if cuda else "none",
        "cpu_count": str(os.cpu_count()),
        "torch_threads": str(torch.get_num_threads()),
        "git_commit": git_commit() or "unknown",
    }


def write_env(run_dir: str | os.PathLike[str]) -> Path:
    """Write ``env.txt``: one ``key: value`` line per entry of :func:`environment_info`.

    Args:
        run_dir: The run folder.

    Returns:
        The written file.
    """
    path = Path(run_dir) / "env.txt"
    path.write_text("".join(f"{key}: {value}\n" for key, value in environment_info().items()), encoding="utf-8")
    return path


def peak_memory_mb(device: str | torch.device = "cpu") -> float:
    """Peak memory of this process, in MiB.

    Args:
        device: On a CUDA device, the peak tensor memory allocated by torch there
            (``torch.cuda.max_memory_allocated``); otherwise the peak resident set size of the process
            (``ru_maxrss``, which Linux reports in KiB and macOS in bytes). ``nan`` where unavailable (Windows).

    Returns:
        Megabytes (2**20 bytes).
    """
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    try:
        import resource
    except ImportError:
        return float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def write_results(run_dir: str | os.PathLike[str], results: Mapping[str, Any]) -> Path:
    """Write ``results.json`` (indent 2; tensors / NumPy values as numbers, NaN and ±inf as ``null``).

    Args:
        run_dir: The run folder.
        results: The run's results, e.g. metric summaries from :func:`graphcl.eval.summary.summarize`.

    Returns:
        The written file.
    """
    path = Path(run_dir) / "results.json"
    path.write_text(json.dumps(json_safe(dict(results), "results"), indent=2, allow_nan=False) + "\n",
                    encoding="utf-8")
    return path


def open_run(
    config: Mapping[str, Any],
    run_dir: str | os.PathLike[str] | None,
    run_base: str | os.PathLike[str] = "runs",
    *,
    seeds: Sequence[int] = (0,),
    resume: bool = False,
) -> Path:
    """Create the run folder (``run_dir``, or a fresh ``<run_base>/<model>-<dataset>-<time>``) and write its
    ``config.yaml`` and ``env.txt``; shared by ``graphcl train`` and ``recsys train``.

    Args:
        config: The resolved configuration (with ``model`` and ``dataset``).
        run_dir: Exact folder to use (created if missing), or ``None``.
        run_base: Parent of the generated folder when ``run_dir`` is ``None``.
        seeds: The seeds the run will train (checked: at least one).
        resume: Whether the run continues an interrupted one (checked: needs ``run_dir``).

    Returns:
        The run folder.

    Raises:
        ConfigError: No seeds, or ``resume`` without ``run_dir``.
    """
    if not seeds:
        raise ConfigError("at least one seed is needed")
    if resume and run_dir is None:
        raise ConfigError("resuming needs the run folder of the interrupted run (--run-dir)")
    out = Path(run_dir) if run_dir is not None else make_run_dir(run_base, model=config["model"], dataset=config["dataset"])
    out.mkdir(parents=True, exist_ok=True)
    write_config(out, dict(config))
    write_env(out)
    return out


def seed_run_dir(run_dir: Path, seed: int, seeds: Sequence[int]) -> Path:
    """Where one seed's logs and checkpoints go: ``run_dir/seed-<s>`` for multi-seed runs, else ``run_dir``."""
    return run_dir / f"seed-{seed}" if len(seeds) > 1 else run_dir


def results_record(
    config: Mapping[str, Any],
    metrics: Mapping[str, Any],
    protocol: Mapping[str, Any],
    *,
    time_s: float,
    device: str | torch.device = "cpu",
    **extra: Any,
) -> dict[str, Any]:
    """The ``results.json`` record every command writes: ``model``, ``dataset``, ``metrics``, ``protocol``,
    then ``extra`` (e.g. per-seed details), ``config``, ``time_s``, ``peak_mem_mb`` and ``commit``."""
    return {
        "model": config["model"],
        "dataset": config["dataset"],
        "metrics": dict(metrics),
        "protocol": dict(protocol),
        **extra,
        "config": dict(config),
        "time_s": time_s,
        "peak_mem_mb": peak_memory_mb(device),
        "commit": git_commit(),
    }
