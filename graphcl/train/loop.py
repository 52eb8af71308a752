"""``fit()``: the training loop shared by the graph models and the sequential recommenders.

Model contract: ``loss_fn(model, batch)`` (by default ``model(batch)``) returns a scalar loss tensor or a
``dict`` of differentiable loss parts whose sum is minimised. A model that subclasses
:class:`~graphcl.train.hooks.TrainingHooks` gets ``set_epoch(epoch)`` called with the 1-based epoch before each
epoch's steps. A graph is trained full-batch (one step per epoch); a
``DataLoader`` / list / tuple of batches gives one step per batch. Preparing the data (a model's once-per-graph
computations) is the caller's step before ``fit`` (see :meth:`graphcl.models.base.GraphModel.prepare`).

Hook for models with their own per-batch optimisation schedule (e.g. MCLRec's encoder step / augmenter step /
encoder step): when no ``loss_fn`` is given and the model declares
:attr:`~graphcl.train.hooks.TrainingHooks.owns_optimizer_step`, ``fit`` calls its ``training_step(batch, optimizer)``
instead of doing ``zero_grad`` / ``backward`` / ``step`` itself. The method performs its own
updates with the given optimiser (parameters without a gradient are left alone by torch's optimisers, so one
optimiser can serve several alternating parameter groups) and returns a dict of detached scalar tensors that
contains ``"loss"`` (the value logged as the training loss) and any other parts to log. It must check its losses
for NaN / inf before stepping (raising ``FloatingPointError``); ``grad_clip`` is not applied to it.
"""
from __future__ import annotations

import contextlib
import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from graphcl.errors import ConfigError, DataError
from graphcl.train._primitives import to_primitive
from graphcl.train.checkpoint import load_checkpoint, save_checkpoint, unwrap_model
from graphcl.train.early_stopping import EarlyStopping
from graphcl.train.hooks import TrainingHooks
from graphcl.train.loggers import DEFAULT_LOGGERS, Logger, make_loggers
from graphcl.train.rng import get_rng_state, set_rng_state

LossOutput = Tensor | Mapping[str, Tensor]
LossFn = Callable[[nn.Module, Any], LossOutput]
EvalFn = Callable[[nn.Module], Mapping[str, float]]

#: Keys of a history record that are neither loss parts nor evaluation metrics.
_RESERVED = ("epoch", "loss", "time_s")


@dataclass
class FitResult:
    """What :func:`fit` returns.

    Attributes:
        history: One dict per epoch: ``epoch``, ``loss`` and each loss part (means over the epoch's batches),
            evaluation metrics on evaluation epochs, and ``time_s`` (seconds the epoch took, evaluation included).
            After a resume it also holds the epochs recorded in the checkpoint.
        best_epoch: Epoch with the best monitored value (``None`` if it was never measured).
        best_value: That value.
        stopped_early: Whether early stopping ended the run before ``epochs``.
        epochs_run: The last completed epoch (counting epochs before a resume).
        time_s: Wall-clock seconds of this ``fit`` call.
        resumed_time_s: Seconds of the epochs restored from ``resume_from`` (their recorded ``time_s``): the
            training time of earlier invocations, 0 without a resume. ``time_s + resumed_time_s`` is the
            training time of the whole run.
        run_dir: The run folder, if one was used.
    """

    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int | None = None
    best_value: float | None = None
    stopped_early: bool = False
    epochs_run: int = 0
    time_s: float = 0.0
    resumed_time_s: float = 0.0
    run_dir: Path | None = None


def fit(
    model: nn.Module,
    train_data: Any,
    *,
    epochs: int,
    optimizer: torch.optim.Optimizer | None = None,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    loss_fn: LossFn | None = None,
    device: str | torch.device | None = None,
    eval_fn: EvalFn | None = None,
    eval_every: int = 1,
    monitor: str = "loss",
    mode: str = "min",
    patience: int | None = None,
    min_delta: float = 0.0,
    restore_best: bool = True,
    run_dir: str | os.PathLike[str] | None = None,
    checkpoint_every: int = 0,
    resume_from: str | os.PathLike[str] | None = None,
    show_progress: bool = True,
    grad_clip: float | None = None,
    config: Mapping[str, Any] | None = None,
    loggers: Sequence[Logger] | str | Sequence[str] | None = None,
    amp: str | None = None,
) -> FitResult:
    """Train ``model`` with early stopping, best-weight restore, checkpoints and exact resumption.

    Each epoch: ``model.set_epoch(epoch)`` (if defined), then for every batch ``zero_grad`` ->
    ``loss_fn(model, batch)`` -> sum of the loss parts -> ``backward`` -> optional gradient clipping ->
    ``optimizer.step()``; then ``eval_fn`` every ``eval_every`` epochs and at the last epoch.

    Args:
        model: The model to train (moved to ``device`` when one is given).
        train_data: One object (a ``Data`` / ``HeteroData`` graph, ...) trained on with one step per epoch,
            or a ``DataLoader`` / list / tuple of batches, one step per batch. Batches (and their tensors,
            inside lists / tuples / dicts) are moved to ``device`` when they have ``.to``.
        epochs: Train up to this epoch (also when resuming: the run continues at the checkpoint's epoch + 1).
        optimizer: Defaults to ``Adam(trainable parameters, lr=lr, weight_decay=weight_decay)``; ``lr`` and
            ``weight_decay`` are ignored when one is given.
        lr: Learning rate of the default optimiser.
        weight_decay: Weight decay of the default optimiser.
        loss_fn: ``loss_fn(model, batch) -> Tensor | dict[str, Tensor]``; defaults to ``model(batch)``.
        device: Device to train on; ``None`` keeps the model where it is and uses its parameters' device.
        eval_fn: ``eval_fn(model) -> {name: float}``, called under ``torch.no_grad()`` in ``eval()`` mode
            (train mode is restored afterwards). Its metrics are logged and can be monitored.
        eval_every: Evaluate every this many epochs (and always at epoch ``epochs``).
        monitor: ``"loss"`` (the training loss, every epoch) or a metric returned by ``eval_fn``.
        mode: ``"min"`` or ``"max"``: whether a lower or higher monitored value is better.
        patience: Stop after this many evaluations of ``monitor`` without improvement; ``None`` never stops.
        min_delta: Smallest change of ``monitor`` counted as an improvement.
        restore_best: Keep a CPU copy of the best weights and load them back into ``model`` at the end.
        run_dir: Folder for ``best.pt`` (written whenever ``monitor`` improves), ``last.pt`` (every
            ``checkpoint_every`` epochs and at the end) and, with the default loggers, ``metrics.csv`` and
            ``events.jsonl``. Created when missing.
        checkpoint_every: Write ``last.pt`` every this many epochs (``0``: only at the end). Needs ``run_dir``.
        resume_from: A checkpoint written by ``fit`` (``last.pt`` or ``best.pt``): restores the model,
            optimiser, epoch counter, early-stopping state, history and all RNG states (Python, NumPy, torch,
            CUDA, and the data loader's / sampler's generators), so that the resumed run reproduces an
            uninterrupted one.
        show_progress: Show a tqdm progress bar with the loss and the monitored value.
        grad_clip: Clip the gradients' global L2 norm to this value before each step.
        config: The run's configuration (plain values), stored in every checkpoint.
        loggers: Loggers receiving every epoch's record, or logger names (``"csv,tensorboard"``, see
            :func:`~graphcl.train.loggers.make_loggers`) created in ``run_dir``. ``None`` means CSV + JSONL
            loggers in ``run_dir``. Named loggers (none without ``run_dir``) are closed by ``fit`` and, on resume,
            first replay the checkpoint's history; logger objects passed in are left open for the caller to close.
        amp: Mixed precision on CUDA: ``"bf16"`` or ``"fp16"`` runs the loss computations under
            :func:`torch.autocast` with that dtype (``fp16`` with a gradient scaler; the scaler's state is not
            checkpointed). ``None`` (default) trains in float32; on other devices ``amp`` is ignored. Evaluation
            always runs in float32.

    Returns:
        A :class:`FitResult`.

    Raises:
        ConfigError: An argument is invalid (e.g. ``monitor`` is not ``"loss"`` and there is no ``eval_fn``).
        FloatingPointError: A loss became NaN or infinite; the message names the epoch and the loss part.
            Raised before that step updates the weights.
    """
    started = time.perf_counter()
    _check_int(epochs, "epochs", minimum=1)
    _check_int(eval_every, "eval_every", minimum=1)
    _check_int(checkpoint_every, "checkpoint_every", minimum=0)
    if grad_clip is not None and not (isinstance(grad_clip, (int, float)) and grad_clip > 0):
        raise ConfigError(f"grad_clip must be a positive number or None, got {grad_clip!r}")
    if monitor != "loss" and eval_fn is None:
        raise ConfigError(f"monitor={monitor!r} needs an eval_fn returning it (or use monitor='loss')")
    if checkpoint_every and run_dir is None:
        raise ConfigError("checkpoint_every needs a run_dir to write last.pt to")
    if grad_clip is not None and loss_fn is None and _owns_optimizer_step(model):
        raise ConfigError(
            f"grad_clip cannot be applied to {type(unwrap_model(model)).__name__}.training_step, which steps the "
            f"optimiser itself"
        )
    try:
        config = to_primitive(dict(config or {}), "config")
    except TypeError as exc:
        raise ConfigError(str(exc)) from exc
    stopper = EarlyStopping(monitor, mode, patience, min_delta)
    if amp not in (None, "bf16", "fp16"):
        raise ConfigError(f"amp must be None, 'bf16' or 'fp16', got {amp!r}")
    if amp == "fp16" and loss_fn is None and _owns_optimizer_step(model):
        raise ConfigError(
            f"amp='fp16' needs a gradient scaler, which {type(unwrap_model(model)).__name__}.training_step (it steps "
            f"the optimiser itself) does not apply; use amp='bf16'"
        )

    if device is not None:
        device = torch.device(device)
        model.to(device)
    else:
        device = _model_device(model)
    batches = _as_batches(train_data)
    single = _to_device(train_data, device) if batches is None else None
    if optimizer is None:
        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            raise ValueError(f"{type(model).__name__} has no trainable parameters to optimise")
        optimizer = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    loss_fn = loss_fn if loss_fn is not None else _call_model
    precision = _Precision(amp, device)
    generators = _loader_generators(train_data)
    main_process = _is_main_process()

    history: list[dict[str, Any]] = []
    best_state: dict[str, Tensor] | None = None
    start_epoch, rng_state, resumed_time_s = 1, None, 0.0
    if resume_from is not None:
        checkpoint = load_checkpoint(resume_from, model, optimizer, map_location="cpu")
        start_epoch = int(checkpoint["epoch"]) + 1
        if checkpoint.get("early_stopping") is not None:
            stopper.load_state_dict(checkpoint["early_stopping"])
        else:
            stopper.best_value, stopper.best_epoch = checkpoint.get("best_value"), checkpoint.get("best_epoch")
        history = [dict(record) for record in checkpoint.get("history", [])]
        resumed_time_s = sum(float(record.get("time_s", 0.0)) for record in history)
        if restore_best:
            best_state = checkpoint.get("best_state")
            if best_state is None and stopper.best_epoch == checkpoint["epoch"]:
                best_state = checkpoint["model"]
        rng_state = checkpoint["rng"]

    if run_dir is not None:
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
    own_loggers = loggers is None or isinstance(loggers, str) or all(isinstance(item, str) for item in loggers)
    if own_loggers:
        names = DEFAULT_LOGGERS if loggers is None else loggers
        loggers = make_loggers(names, run_dir) if run_dir is not None and main_process else []
        for record in history:
            for logger in loggers:
                logger.log(record["epoch"], record)
    loggers = list(loggers)
    for i, logger in enumerate(loggers):
        if not (callable(getattr(logger, "log", None)) and callable(getattr(logger, "close", None))):
            raise TypeError(f"loggers[{i}] ({type(logger).__name__}) needs log(step, metrics) and close() methods")

    stopped_early = False
    last_epoch = start_epoch - 1
    last_saved_epoch: int | None = None

    def write_checkpoint(name: str, epoch: int, with_best_state: bool) -> None:
        save_checkpoint(
            run_dir / name, model, optimizer, epoch,
            best_value=stopper.best_value,
            best_epoch=stopper.best_epoch,
            # The best weights equal the current ones when the best epoch is this one: no need to store twice.
            best_state=best_state if with_best_state and stopper.best_epoch != epoch else None,
            config=config,
            rng=get_rng_state(generators),
            early_stopping=stopper.state_dict(),
            history=history,
            stopped_early=stopped_early,
        )

    # Restored last, so that nothing above (model construction, loader set-up) shifts the random streams.
    if rng_state is not None:
        set_rng_state(rng_state, generators)
    progress = tqdm(
        range(start_epoch, epochs + 1), total=epochs, initial=start_epoch - 1, desc=type(model).__name__,
        unit="epoch", disable=not (show_progress and main_process), dynamic_ncols=True,
    )
    try:
        for epoch in progress:
            epoch_started = time.perf_counter()
            _set_epoch(model, train_data, epoch)
            model.train()
            record: dict[str, Any] = {"epoch": epoch}
            record.update(
                _train_epoch(model, loss_fn, optimizer, batches, single, device, grad_clip, epoch, precision)
            )
            evaluated = eval_fn is not None and (epoch % eval_every == 0 or epoch == epochs)
            if evaluated:
                record.update(_evaluate(model, eval_fn, epoch, taken=record))
            improved = False
            if monitor in record:
                improved = stopper.update(record[monitor], epoch)
                if improved and restore_best:
                    best_state = _cpu_state_dict(model)
            elif evaluated:
                raise ConfigError(
                    f"monitor={monitor!r} is not among the metrics returned by eval_fn at epoch {epoch}: "
                    f"{sorted(k for k in record if k not in _RESERVED)}"
                )
            record["time_s"] = time.perf_counter() - epoch_started
            history.append(record)
            last_epoch = epoch
            stopped_early = stopper.should_stop and epoch < epochs
            if run_dir is not None and main_process:
                if improved:
                    write_checkpoint("best.pt", epoch, with_best_state=False)
                if checkpoint_every and epoch % checkpoint_every == 0:
                    write_checkpoint("last.pt", epoch, with_best_state=restore_best)
                    last_saved_epoch = epoch
            for logger in loggers:
                logger.log(epoch, record)
            progress.set_postfix(_postfix(record, monitor, stopper), refresh=False)
            if stopped_early:
                break
        if run_dir is not None and main_process and last_epoch >= start_epoch and last_saved_epoch != last_epoch:
            write_checkpoint("last.pt", last_epoch, with_best_state=restore_best)
    finally:
        progress.close()
        if own_loggers:
            for logger in loggers:
                logger.close()

    if restore_best:
        if best_state is not None:
            unwrap_model(model).load_state_dict(best_state)
        elif stopper.best_epoch is not None:
            warnings.warn(
                f"the checkpoint {resume_from} holds no best weights (epoch {stopper.best_epoch}); "
                f"the model keeps its last weights",
                stacklevel=2,
            )
    return FitResult(
        history=history,
        best_epoch=stopper.best_epoch,
        best_value=stopper.best_value,
        stopped_early=stopped_early,
        epochs_run=last_epoch,
        time_s=time.perf_counter() - started,
        resumed_time_s=resumed_time_s,
        run_dir=run_dir,
    )


def _train_epoch(
    model: nn.Module,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    batches: DataLoader | Sequence[Any] | None,
    single: Any,
    device: torch.device,
    grad_clip: float | None,
    epoch: int,
    precision: _Precision | None = None,
) -> dict[str, float]:
    """One epoch of optimisation steps; returns the mean of every loss part over the steps."""
    precision = precision or _Precision(None, device)
    sums: dict[str, Tensor] = {}
    steps = 0
    training_step = unwrap_model(model).training_step if loss_fn is _call_model and _owns_optimizer_step(model) else None
    for index, batch in enumerate([single] if batches is None else batches):
        if batches is not None:
            batch = _to_device(batch, device)
        if training_step is not None:
            with precision.autocast():
                parts = _step_parts(training_step(batch, optimizer), epoch)
            if not bool(torch.isfinite(parts["loss"])):
                raise FloatingPointError(f"non-finite loss at epoch {epoch}, batch {index}: {parts['loss'].item()}")
            for name, value in parts.items():
                sums[name] = sums[name] + value if name in sums else value
            steps += 1
            continue
        optimizer.zero_grad(set_to_none=True)
        with precision.autocast():
            parts = _loss_parts(loss_fn(model, batch), epoch)
        total = parts["loss"]
        # One host sync per step, and it must happen before backward/step so that bad values never reach
        # the weights.
        if not bool(torch.isfinite(total)):
            where = f"epoch {epoch}" + (f", batch {index}" if batches is not None else "")
            bad = [name for name, value in parts.items() if name != "loss" and not bool(torch.isfinite(value))]
            culprit = ", ".join(f"loss part {name!r} = {parts[name].item()}" for name in bad) or "the summed loss"
            raise FloatingPointError(f"non-finite loss at {where}: {culprit} (total loss = {total.item()})")
        if not total.requires_grad:
            raise ValueError(
                f"the loss at epoch {epoch} does not require grad: loss_fn must return differentiable tensors "
                f"(was it computed under torch.no_grad() or detached?)"
            )
        precision.backward(total)
        if grad_clip is not None:
            precision.unscale(optimizer)
            params = [p for group in optimizer.param_groups for p in group["params"]]
            nn.utils.clip_grad_norm_(params, grad_clip)
        precision.step(optimizer)
        for name, value in parts.items():
            detached = value.detach()
            sums[name] = sums[name] + detached if name in sums else detached
        steps += 1
    if steps == 0:
        raise DataError(f"train_data yielded no batches at epoch {epoch}")
    return {name: float(value) / steps for name, value in sums.items()}


class _Precision:
    """Autocast and (for float16) gradient scaling of the training steps; a no-op in float32 or off CUDA."""

    def __init__(self, amp: str | None, device: torch.device) -> None:
        self.dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(amp) if device.type == "cuda" else None
        self.device_type = device.type
        self.scaler = torch.amp.GradScaler("cuda") if self.dtype == torch.float16 else None

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def backward(self, loss: Tensor) -> None:
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def unscale(self, optimizer: torch.optim.Optimizer) -> None:
        if self.scaler is not None:
            self.scaler.unscale_(optimizer)

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        if self.scaler is None:
            optimizer.step()
        else:
            self.scaler.step(optimizer)
            self.scaler.update()


def _loss_parts(output: Any, epoch: int) -> dict[str, Tensor]:
    """``{"loss": total, **parts}`` from a loss function's output (a scalar tensor or a dict of them)."""
    if isinstance(output, Tensor):
        return {"loss": _scalar(output, "loss", epoch)}
    if not isinstance(output, Mapping):
        raise TypeError(
            f"the model / loss_fn must return a scalar Tensor or a dict of them, got {type(output).__name__}"
        )
    if not output:
        raise ValueError(f"the model / loss_fn returned an empty dict of loss parts at epoch {epoch}")
    if set(output) == {"loss"}:
        return {"loss": _scalar(output["loss"], "loss", epoch)}
    clashes = [name for name in output if name in _RESERVED]
    if clashes:
        raise ValueError(
            f"loss part names {clashes} are reserved (fit logs the sum as 'loss'); rename them"
        )
    parts = {str(name): _scalar(value, name, epoch) for name, value in output.items()}
    total = sum(parts.values())  # Python's sum promotes mixed dtypes, unlike torch.stack
    return {"loss": total, **parts}


def _step_parts(output: Any, epoch: int) -> dict[str, Tensor]:
    """Check what a model's ``training_step`` returned: a dict of scalar tensors containing ``"loss"``."""
    if not isinstance(output, Mapping) or "loss" not in output:
        raise TypeError(
            f"training_step must return a dict of scalar tensors containing 'loss', got {type(output).__name__}"
        )
    clashes = [name for name in output if name in _RESERVED and name != "loss"]
    if clashes:
        raise ValueError(f"training_step part names {clashes} are reserved; rename them")
    return {str(name): _scalar(value, name, epoch).detach() for name, value in output.items()}


def _scalar(value: Any, name: str, epoch: int) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"loss part {name!r} at epoch {epoch} must be a Tensor, got {type(value).__name__}")
    if value.numel() != 1:
        raise ValueError(f"loss part {name!r} at epoch {epoch} must be a scalar, got shape {tuple(value.shape)}")
    return value.reshape(())


def _evaluate(model: nn.Module, eval_fn: EvalFn, epoch: int, taken: Mapping[str, Any]) -> dict[str, float]:
    """Run ``eval_fn`` in eval mode without gradients and check its metrics."""
    model.eval()
    try:
        with torch.no_grad():
            output = eval_fn(model)
    finally:
        model.train()
    if not isinstance(output, Mapping):
        raise TypeError(f"eval_fn must return a dict of metrics, got {type(output).__name__} at epoch {epoch}")
    metrics: dict[str, float] = {}
    for name, value in output.items():
        if name in taken or name in _RESERVED:
            raise ValueError(
                f"eval_fn metric {name!r} clashes with a training-loss key; rename it (e.g. 'val_{name}')"
            )
        try:
            metrics[str(name)] = float(value)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"eval_fn metric {name!r} must be a number, got {value!r}") from exc
    return metrics


def _postfix(record: Mapping[str, Any], monitor: str, stopper: EarlyStopping) -> dict[str, str]:
    postfix = {"loss": f"{record['loss']:.4g}"}
    if monitor != "loss" and monitor in record:
        postfix[monitor] = f"{record[monitor]:.4g}"
    if stopper.best_value is not None:
        postfix["best"] = f"{stopper.best_value:.4g}@{stopper.best_epoch}"
    return postfix


def _call_model(model: nn.Module, batch: Any) -> LossOutput:
    return model(batch)


def _as_batches(train_data: Any) -> DataLoader | Sequence[Any] | None:
    """The batches to iterate over, or ``None`` for a single full-batch object.

    Only loaders, lists and tuples count as collections of batches: a ``Data`` object is iterable too (over
    its attributes), so iterability cannot be the test.
    """
    if isinstance(train_data, DataLoader):
        return train_data
    if isinstance(train_data, (list, tuple)):
        if not train_data:
            raise DataError("train_data is an empty list/tuple of batches")
        return train_data
    if train_data is None:
        raise DataError("train_data is None")
    return None


def _to_device(obj: Any, device: torch.device) -> Any:
    """Move a batch to ``device``: objects with ``.to``, and lists / tuples / dicts of them."""
    if isinstance(obj, Mapping):
        return {key: _to_device(value, device) for key, value in obj.items()}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(_to_device(value, device) for value in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_device(value, device) for value in obj)
    to = getattr(obj, "to", None)
    return to(device) if callable(to) else obj


def _model_device(model: nn.Module) -> torch.device:
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return torch.device("cpu")


def _cpu_state_dict(model: nn.Module) -> dict[str, Tensor]:
    return {name: value.detach().to("cpu", copy=True) for name, value in unwrap_model(model).state_dict().items()}


def _owns_optimizer_step(model: nn.Module) -> bool:
    """Whether the model declares that its ``training_step`` runs the optimisation step itself."""
    hooks = unwrap_model(model)
    return isinstance(hooks, TrainingHooks) and hooks.owns_optimizer_step


def _set_epoch(model: nn.Module, train_data: Any, epoch: int) -> None:
    """Tell the model (and a distributed sampler) which epoch starts."""
    hooks = unwrap_model(model)
    if isinstance(hooks, TrainingHooks):
        hooks.set_epoch(epoch)
    if isinstance(train_data, DataLoader):
        sampler_set_epoch = getattr(train_data.sampler, "set_epoch", None)
        if callable(sampler_set_epoch):
            sampler_set_epoch(epoch)


def _loader_generators(train_data: Any) -> dict[str, torch.Generator]:
    """The ``torch.Generator`` objects a data loader shuffles with, which resumption must restore."""
    if not isinstance(train_data, DataLoader):
        return {}
    generators: dict[str, torch.Generator] = {}
    if isinstance(train_data.generator, torch.Generator):
        generators["data_loader"] = train_data.generator
    sampler_generator = getattr(train_data.sampler, "generator", None)
    if isinstance(sampler_generator, torch.Generator) and sampler_generator is not train_data.generator:
        generators["sampler"] = sampler_generator
    return generators


def _is_main_process() -> bool:
    """Only rank 0 of a distributed run writes files and shows progress."""
    distributed = torch.distributed
    return not (distributed.is_available() and distributed.is_initialized()) or distributed.get_rank() == 0


def _check_int(value: Any, name: str, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ConfigError(f"{name} must be an int >= {minimum}, got {value!r}")

