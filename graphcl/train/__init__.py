"""The training loop shared by the graph models and the sequential recommenders.

:func:`fit` trains any ``nn.Module`` whose ``forward(batch)`` (or a given ``loss_fn``) returns a loss or a dict
of loss parts, with early stopping, best-weight restore, ``weights_only``-safe checkpoints, exact resumption,
CSV / JSONL (and optionally TensorBoard) logging and a progress bar. The run-folder helpers write the files
every run leaves behind (``config.yaml``, ``env.txt``, ``results.json``).
"""
from __future__ import annotations

from graphcl.train.checkpoint import (
    library_versions,
    load_checkpoint,
    save_checkpoint,
    unwrap_model,
)
from graphcl.train.early_stopping import EarlyStopping
from graphcl.train.loggers import (
    CSVLogger,
    JSONLLogger,
    Logger,
    TensorBoardLogger,
    default_loggers,
)
from graphcl.train.loop import FitResult, fit
from graphcl.train.rng import get_rng_state, set_rng_state
from graphcl.train.run import (
    RUN_RECORD,
    check_run_dir,
    environment_info,
    find_run_record,
    git_commit,
    hold_run_dir,
    make_run_dir,
    open_run,
    peak_memory_mb,
    read_run_record,
    record_resume,
    results_record,
    run_dir_holder,
    seed_run_dir,
    write_config,
    write_env,
    write_results,
)

__all__ = [
    "RUN_RECORD",
    "check_run_dir",
    "find_run_record",
    "read_run_record",
    "record_resume",
    "CSVLogger",
    "EarlyStopping",
    "FitResult",
    "JSONLLogger",
    "Logger",
    "TensorBoardLogger",
    "default_loggers",
    "environment_info",
    "fit",
    "get_rng_state",
    "git_commit",
    "library_versions",
    "load_checkpoint",
    "hold_run_dir",
    "make_run_dir",
    "open_run",
    "peak_memory_mb",
    "results_record",
    "run_dir_holder",
    "save_checkpoint",
    "seed_run_dir",
    "set_rng_state",
    "unwrap_model",
    "write_config",
    "write_env",
    "write_results",
]
