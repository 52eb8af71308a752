"""Run folders: ``runs/<model>-<dataset>-<time>/`` with ``config.yaml``, ``run.json``, ``env.txt`` and
``results.json``.

``run.json`` records what is not a configuration key but identifies the run: the seeds, where the data came from
(so ``embed`` / ``eval`` / ``--resume`` find it again without repeating options), and every resume with the
settings it changed. A folder that holds a run is never reused silently: continuing it needs ``resume``,
replacing it ``overwrite`` (:func:`check_run_dir`), and one process at a time trains in it (:func:`hold_run_dir`).
"""
from __future__ import annotations

import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import torch
import yaml

from graphcl.errors import ConfigError
from graphcl.train._primitives import json_safe, yaml_safe
from graphcl.train.checkpoint import library_versions
from graphcl.train.distributed import barrier, is_distributed, rank

try:  # POSIX advisory locks; elsewhere run folders are not locked
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.+-]+")
RUN_RECORD = "run.json"
#: The file a training process holds locked in its run folder (:func:`hold_run_dir`).
LOCK_FILE = ".lock"
#: Run folders this process holds, with how deeply :func:`hold_run_dir` is nested in each.
_HELD: dict[Path, int] = {}
#: Settings a resumed run may change: they extend, checkpoint or log the same training, they do not alter it.
RESUMABLE_KEYS = ("epochs", "checkpoint_every", "logger")
#: Files and folders whose presence makes a folder a run folder (what ``overwrite`` may remove).
_RUN_ENTRIES = ("config.yaml", RUN_RECORD, "env.txt", "results.json", "last.pt", "best.pt", "metrics.csv",
                "events.jsonl", "tensorboard", "link", "eval", "embeddings.pt")


def make_run_dir(base: str | os.PathLike[str] = "runs", *, model: str, dataset: str) -> Path:
    """Create a new, unique run folder ``<base>/<model>-<dataset>-<YYYYmmdd-HHMMSS>[-n]``.

    Args:
        base: Parent folder (created when missing).
        model: Model name; characters other than letters, digits, ``_ . + -`` become ``_``.
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


def _run_entries(folder: Path) -> list[Path]:
    return [path for path in folder.iterdir()
            if path.name in _RUN_ENTRIES or path.name.startswith("seed-") or path.name.startswith(".last.pt")]


def check_run_dir(run_dir: str | os.PathLike[str] | None, *, resume: bool = False, overwrite: bool = False) -> None:
    """Refuse to reuse a run folder silently; called before any data is loaded or any file written.

    Args:
        run_dir: The requested folder (``None``: a fresh one will be made, nothing to check).
        resume: Continue the run in ``run_dir``: it must hold one (``config.yaml``).
        overwrite: Replace the run in ``run_dir`` (its run files are removed by :func:`open_run`).

    Raises:
        ConfigError: ``resume`` without a run to resume, ``resume`` with ``overwrite``, or a folder that already
            holds a run (or other files) without ``resume`` / ``overwrite``; each message names the option.
    """
    if resume and overwrite:
        raise ConfigError("--resume and --overwrite exclude each other: continue the run, or replace it")
    if run_dir is None:
        if resume:
            raise ConfigError("resuming needs the run folder of the interrupted run (--run-dir)")
        return
    folder = Path(run_dir)
    if resume:
        if not (folder / "config.yaml").is_file():
            what = "does not exist" if not folder.exists() else "holds no run (no config.yaml)"
            raise ConfigError(f"--resume: {folder} {what}; drop --resume to start a new run there")
        return
    if not folder.exists():
        return
    if not folder.is_dir():
        raise ConfigError(f"--run-dir {folder} is a file, not a folder")
    entries = [entry for entry in folder.iterdir() if entry.name != LOCK_FILE]
    if not entries:
        return
    if not (folder / "config.yaml").is_file():
        raise ConfigError(f"--run-dir {folder} is not empty and is not a run folder; choose another --run-dir")
    if not overwrite:
        raise ConfigError(f"{folder} already holds a run; continue it with --resume or replace it with --overwrite")


@contextmanager
def hold_run_dir(run_dir: str | os.PathLike[str] | None) -> Iterator[None]:
    """Hold ``run_dir`` for one process while a run is opened and trained in it.

    A second process that trains, resumes or overwrites the same folder meanwhile is refused with a one-line
    error naming the holder, instead of writing the same checkpoints and logs at the same time. The lock is an
    exclusive advisory ``flock`` on ``run_dir/.lock``. The operating system releases it when the holder exits, so
    a killed run leaves no stale lock. Nothing is locked for ``run_dir=None`` (a fresh folder is made), for a
    path that is not a folder (:func:`check_run_dir` reports it), on non-zero ranks, or without POSIX ``fcntl``.
    Within one process the hold nests: on ``--resume`` the command lines hold the folder from the resume record
    they write to ``run.json`` until the end, and the training functions inside hold it again.

    Raises:
        ConfigError: Another process holds ``run_dir``.
    """
    folder = None if run_dir is None else Path(run_dir)
    if folder is None or fcntl is None or rank() != 0 or (folder.exists() and not folder.is_dir()):
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    key = folder.resolve()
    if key in _HELD:  # this process holds it already
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    with open(folder / LOCK_FILE, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(f"{folder} is in use by another run ({_holder(handle)}); wait for it to end or "
                              f"choose another --run-dir") from None
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
            handle.flush()
            _HELD[key] = 1
            yield
        finally:
            _HELD.pop(key, None)
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_dir_holder(run_dir: str | os.PathLike[str]) -> str | None:
    """Who holds ``run_dir`` with :func:`hold_run_dir` in another process (e.g. ``"pid 812 on host"``), or
    ``None`` when nobody does (also for a folder without a lock file, and without POSIX ``fcntl``)."""
    path = Path(run_dir) / LOCK_FILE
    if fcntl is None or not path.is_file() or Path(run_dir).resolve() in _HELD:
        return None
    with open(path, encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _holder(handle)
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def _holder(handle: IO[str]) -> str:
    handle.seek(0)
    return handle.read().strip() or "another process"


def read_run_record(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``run.json`` of a run folder (``{}`` for folders written before it existed).

    Raises:
        ConfigError: The file exists but is not a JSON object.
    """
    path = Path(run_dir) / RUN_RECORD
    if not path.is_file():
        return {}
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a valid run record ({exc})") from None
    if not isinstance(record, dict):
        raise ConfigError(f"{path}: expected a JSON object, got {type(record).__name__}")
    return record


def find_run_record(path: str | os.PathLike[str]) -> tuple[Path, dict[str, Any]] | None:
    """The run folder holding ``path`` (a checkpoint, a ``seed-<s>`` or ``link`` folder) and its ``run.json``."""
    start = Path(path).absolute()
    for folder in [start, *start.parents][:4]:
        if (folder / RUN_RECORD).is_file():
            return folder, read_run_record(folder)
    return None


def record_resume(run_dir: str | os.PathLike[str], changes: Mapping[str, tuple[Any, Any]]) -> None:
    """Append one resume (time and changed settings, ``{key: [old, new]}``) to the run's ``run.json``."""
    record = read_run_record(run_dir)
    record.setdefault("resumes", []).append({
        "time": datetime.now().isoformat(timespec="seconds"),
        "changes": {key: [old, new] for key, (old, new) in changes.items()},
    })
    _write_json(Path(run_dir) / RUN_RECORD, record)


def _write_json(path: Path, value: Mapping[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(json_safe(dict(value), str(path)), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def open_run(
    config: Mapping[str, Any],
    run_dir: str | os.PathLike[str] | None,
    run_base: str | os.PathLike[str] = "runs",
    *,
    seeds: Sequence[int] = (0,),
    resume: bool = False,
    overwrite: bool = False,
    data_source: Mapping[str, Any] | None = None,
) -> Path:
    """Create the run folder (``run_dir``, or a fresh ``<run_base>/<model>-<dataset>-<time>``) and write its
    ``config.yaml``, ``run.json`` and ``env.txt``; shared by ``graphcl train`` and ``recsys train``.

    Args:
        config: The resolved configuration (with ``model`` and ``dataset``).
        run_dir: Exact folder to use (created if missing), or ``None``.
        run_base: Parent of the generated folder when ``run_dir`` is ``None``.
        seeds: The seeds the run will train (checked: at least one).
        resume: Whether the run continues an interrupted one (``run_dir`` must hold it).
        overwrite: Replace the run already in ``run_dir`` (its run files and seed folders are removed).
        data_source: Where the data came from (e.g. ``{"dataset": "cora", "root": "/data/planetoid"}``), kept in
            ``run.json`` so later commands find the data again.

    In a ``torch.distributed`` run, rank 0 alone creates and writes the folder and the other ranks wait for it, so
    every rank returns the same folder (``run_dir`` must then be given).

    Returns:
        The run folder.

    Raises:
        ConfigError: No seeds, a folder that :func:`check_run_dir` refuses, or a distributed run without
            ``run_dir``.
    """
    if not seeds:
        raise ConfigError("at least one seed is needed")
    if is_distributed():
        if run_dir is None:
            raise ConfigError("a distributed run needs its run folder named (--run-dir): every rank must use the "
                              "same")
        if rank() != 0:
            barrier()  # until rank 0 has written the folder
            return Path(run_dir)
    check_run_dir(run_dir, resume=resume, overwrite=overwrite)
    out = Path(run_dir) if run_dir is not None else make_run_dir(run_base, model=config["model"], dataset=config["dataset"])
    if overwrite and out.is_dir():
        for entry in _run_entries(out):
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    out.mkdir(parents=True, exist_ok=True)
    record = read_run_record(out) if resume else {}
    record.update({"model": config["model"], "dataset": config["dataset"], "seeds": [int(s) for s in seeds]})
    if data_source is not None:
        record["data"] = dict(data_source)
    write_config(out, dict(config))
    _write_json(out / RUN_RECORD, record)
    write_env(out)
    if is_distributed():
        barrier()
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
    then ``extra`` (e.g. per-seed details), ``config``, ``time_s``, ``peak_mem_mb`` and ``commit``.

    ``time_s`` is the run's wall-clock time: for a resumed run, this invocation's plus the recorded epoch times of
    the invocations before it (:attr:`~graphcl.train.loop.FitResult.resumed_time_s`)."""
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
