"""``recsys`` command line.

Examples::

    recsys train                                              # SASRec on the generated dataset (no files)
    recsys train --model mclrec --data beauty --root ../shared/data/seqrec --seeds 3
    recsys train --model cl4srec --data path/to/Amazon_Beauty.inter epochs=20 max_batches_per_epoch=100
    recsys train --data generated --dataset-option num_users=100000 --run-dir runs/big   # loader arguments
    recsys train --run-dir runs/mine --resume                 # continue a run with its own settings and data
    recsys train --run-dir runs/mine --resume epochs=200      # ... and allow it more epochs
    recsys eval --recbole-checkpoint model.pth --data Amazon_Beauty.inter
    recsys eval --run-dir runs/<run>                          # re-evaluate a run of recsys train (best.pt)
    recsys eval --run-dir runs/<run>/seed-2021                # one seed of a multi-seed run
    recsys config --model mclrec --data sports                # resolved configuration as YAML
    recsys bench benchmarks/suites/recsys-beauty-full.yaml    # a benchmark suite; rerun to resume

``--data`` takes a ``.txt`` / ``.inter`` path, a dataset name (``beauty``, ``sports``, ... under ``--root``) or
``generated``. ``key=value`` words override config keys anywhere on the line.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from graphcl.commandline import add_bench_parser, add_run_options, dispatch, parse_args, run_bench
from graphcl.errors import ConfigError, GraphCLError

log = logging.getLogger("recsys")
FIRST_SEED = 2020  # MCLRec's
DEFAULT_MODEL, DEFAULT_DATA = "sasrec", "generated"
#: The model names, for ``--help`` without importing the models (checked against MODELS by the tests).
MODEL_NAMES = ("sasrec", "cl4srec", "mclrec", "sracl", "gru4rec", "duorec", "bert4rec")


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None, help=f"{' | '.join(MODEL_NAMES)} (default: {DEFAULT_MODEL})")
    p.add_argument("--data", "--dataset", dest="data", default=None,
                   help=".txt / .inter file, dataset name under --root, or 'generated' (default; with --resume, "
                        "the run's own)")
    p.add_argument("--root", default=None, help="folder holding the named datasets, e.g. ../shared/data/seqrec")
    p.add_argument("--config", default=None, help="YAML config (default: recsys/configs/<model>/<dataset>.yaml)")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. epochs=20")


def _add_dataset_option(p: argparse.ArgumentParser, recorded_by: str) -> None:
    p.add_argument("--dataset-option", action="append", default=[], metavar="KEY=VALUE",
                   help="argument of the dataset's loader, repeatable: for 'generated' those of "
                        "make_sequence_dataset, e.g. --dataset-option num_users=100000; for a .txt / .inter file "
                        f"min_length; for ml-100k min_rating, k_core ({recorded_by})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="recsys", description="Sequential recommendation with contrastive learning.",
        epilog="examples:" + __doc__.split("Examples::", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train, validate, test, and write runs/<run>/results.json")
    _add_common(train)
    train.add_argument("--device", default="auto",
                       help="auto (CUDA if present, else cpu) | cpu | cuda | cuda:N (default: auto)")
    _add_dataset_option(train, "recorded in run.json; --resume and eval --run-dir reload the same data")
    add_run_options(train, first_seed=FIRST_SEED)

    ev = sub.add_parser("eval", help="full-ranking evaluation of a RecBole checkpoint or a recsys run")
    ev.add_argument("--recbole-checkpoint", default=None, help="RecBole SASRec-family {'state_dict': ...} file")
    ev.add_argument("--run-dir", default=None,
                    help="a run folder of recsys train (config.yaml + best.pt), or a seed-<n> folder of a "
                         "multi-seed run")
    ev.add_argument("--data", "--dataset", dest="data", default=None, help="data file / name (as for train)")
    ev.add_argument("--root", default=None, help="folder holding the named datasets")
    _add_dataset_option(ev, "default with --run-dir: the options the run was trained with")
    ev.add_argument("--num-heads", type=int, default=2, help="attention heads of the checkpoint (default: 2)")
    ev.add_argument("--padding", default="right", choices=("right", "left"),
                    help="input alignment: right = RecBole (default), left = most recent item last")
    ev.add_argument("--split", default="both", choices=("valid", "test", "both"), help="which split(s) to score")
    ev.add_argument("--out", default=None, help="folder for results.json (default: beside the checkpoint)")
    ev.add_argument("--device", default="auto",
                    help="auto (CUDA if present, else cpu) | cpu | cuda | cuda:N (default: auto)")

    config = sub.add_parser("config", help="print the resolved configuration")
    _add_common(config)
    sub.add_parser("datasets", help="list the dataset names --data understands")
    add_bench_parser(sub, "recsys")
    return parser


def _load(data: str | None, root: str | None, options: dict[str, Any] | None = None):
    from recsys.data import load_sequences

    if data is None:
        raise GraphCLError("--data is required (a .txt / .inter file, a dataset name, or 'generated')")
    return load_sequences(data, root=root, **(options or {}))


def _data_source(data: str, root: str | None, options: dict[str, Any]) -> dict[str, Any]:
    """What ``run.json`` records: a data file as an absolute path (a name as it is), the root, and the loader
    options (``--dataset-option``) when there are any."""
    path = Path(data)
    source: dict[str, Any] = {"data": str(path.absolute()) if path.is_file() else data,
                              "root": None if root is None else str(Path(root).absolute())}
    return {**source, "options": options} if options else source


def _same_data(data: str | None, recorded: dict[str, Any]) -> bool:
    """Whether ``--data`` (``None``: not given) names the data a run recorded."""
    return data is None or _data_source(data, None, {})["data"] == recorded.get("data")


def _dataset_options(args: argparse.Namespace, recorded: dict[str, Any], same_data: bool) -> dict[str, Any]:
    """The loader options: those the run recorded (when it reloads the same data) updated by ``--dataset-option``.

    Raises:
        ConfigError: ``--resume`` with an option that changes the run's recorded data.
    """
    from graphcl.config import parse_overrides

    stored = dict(recorded.get("options") or {}) if same_data else {}
    given = parse_overrides(args.dataset_option)
    if getattr(args, "resume", False):
        changed = sorted(key for key, value in given.items() if key not in stored or stored[key] != value)
        if changed:
            raise ConfigError(f"--dataset-option {', '.join(f'{k}={given[k]!r}' for k in changed)} would change the data "
                              f"of the run in {args.run_dir} (trained with {stored or 'no options'}); drop it to resume")
    return {**stored, **given}


def _cmd_train(args: argparse.Namespace) -> int:
    from graphcl.commandline import report_resume, run_request
    from graphcl.config import parse_overrides
    from graphcl.train import check_run_dir, hold_run_dir, read_run_record
    from graphcl.train.device import resolve_device
    from graphcl.train.distributed import barrier, init_from_env, rank
    from recsys.config import resolve_config
    from recsys.train import format_summary, run_recommendation

    init_from_env(resolve_device(args.device))  # under torchrun: join the process group (gloo / NCCL)
    check_run_dir(args.run_dir, resume=args.resume, overwrite=args.overwrite)
    recorded = (read_run_record(args.run_dir).get("data") or {}) if args.resume else {}
    data = args.data or recorded.get("data") or DEFAULT_DATA
    root = args.root if args.root is not None else recorded.get("root")
    options = _dataset_options(args, recorded, _same_data(args.data, recorded))
    dataset = _load(data, root, options)
    request = run_request(args, model=args.model or DEFAULT_MODEL, dataset=dataset.name,
                          overrides=parse_overrides(args.overrides), resolve=resolve_config, first_seed=FIRST_SEED)
    cfg = request.config
    if args.resume and cfg["dataset"] != dataset.name:
        raise GraphCLError(f"--data {data} is dataset {dataset.name!r}, but the run in {args.run_dir} trained on "
                           f"{cfg['dataset']!r}; drop --data to resume it")
    if request.finished:
        print(f"{args.run_dir} has finished; nothing to resume (allow it more epochs with --resume epochs=N)")
        print(format_summary(json.loads((Path(args.run_dir) / "results.json").read_text(encoding="utf-8"))))
        return 0
    barrier()  # every rank has checked the run folder before rank 0 writes to it
    main_rank = rank() == 0
    if main_rank:
        log.info("%r", dataset)
    # A resume's record in run.json, too, is written only by the process that holds the folder to train in it.
    with hold_run_dir(args.run_dir if args.resume else None):
        if args.resume and main_rank:
            report_resume(args.run_dir, request.changes)
        results, run_dir = run_recommendation(
            cfg, dataset, seeds=request.seeds, device=args.device, run_dir=args.run_dir,
            show_progress=not args.quiet and main_rank, resume=args.resume, overwrite=args.overwrite,
            data_source=_data_source(data, root, options),
            on_result=lambda seed, result: print(f"seed {seed}: {result}") if main_rank else None,
        )
    if not main_rank:
        return 0
    print(format_summary(results))
    print(f"results: {run_dir / 'results.json'}")
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from graphcl.eval.summary import summarize
    from graphcl.train import find_run_record, git_commit, load_checkpoint, peak_memory_mb, write_results
    from graphcl.train.device import resolve_device
    from recsys.config import resolve_config
    from recsys.data import leave_one_out
    from recsys.eval import RankingProtocol, evaluate_ranking
    from recsys.models import SASRec
    from recsys.nn import load_recbole_sasrec
    from recsys.train import build_recommender, ranking_protocol

    if (args.recbole_checkpoint is None) == (args.run_dir is None):
        raise GraphCLError("give exactly one of --recbole-checkpoint and --run-dir")
    start = time.perf_counter()
    device = resolve_device(args.device)
    if args.recbole_checkpoint is not None:
        dataset = _load(args.data, args.root, _dataset_options(args, {}, same_data=False))
        encoder, info = load_recbole_sasrec(args.recbole_checkpoint, num_heads=args.num_heads,
                                            num_items=dataset.num_items, padding=args.padding)
        model = SASRec.from_encoder(encoder)
        protocol, max_len, padding = RankingProtocol(), encoder.max_len, args.padding
        source = {"recbole_checkpoint": str(args.recbole_checkpoint), "sizes": info.sizes,
                  "ignored_keys": info.ignored_keys, "placeholder_classes": info.placeholder_classes}
        name, out_dir = "recbole-sasrec", Path(args.out or Path(args.recbole_checkpoint).parent)
        if info.ignored_keys:
            print(f"ignored checkpoint keys: {', '.join(info.ignored_keys)}")
    else:
        run_dir = Path(args.run_dir)
        stored = _run_config(run_dir)
        checkpoint = run_dir / "best.pt"
        if not checkpoint.is_file():
            seeds = sorted(p.name for p in run_dir.glob("seed-*") if (p / "best.pt").is_file())
            hint = (f"this is a multi-seed run: pass one of its seed folders, e.g. --run-dir {run_dir / seeds[0]}"
                    if seeds else "was the run interrupted before its first validation?")
            raise GraphCLError(f"{checkpoint} not found; {hint}")
        cfg = resolve_config(stored["model"], stored["dataset"],
                             overrides={k: v for k, v in stored.items() if k not in ("model", "dataset")})
        run = find_run_record(run_dir)
        recorded = ((run[1].get("data") or {}) if run else {})
        options = _dataset_options(args, recorded, _same_data(args.data, recorded))
        args.data = args.data or recorded.get("data") or stored["dataset"]
        root = args.root if args.root is not None else recorded.get("root")
        dataset = _load(args.data, root, options)
        model = build_recommender(cfg, dataset.num_items)
        skipped = _load_ranking_weights(model, load_checkpoint(checkpoint)["model"], checkpoint)
        if skipped:
            print(f"not needed for ranking (built from the data during training): {', '.join(skipped)}")
        protocol, max_len, padding = ranking_protocol(cfg), cfg["max_len"], cfg["padding"]
        source = {"run_dir": str(run_dir)}
        name, out_dir = cfg["model"], Path(args.out or run_dir / "eval")
    model.to(device)
    split = leave_one_out(dataset, max_len=max_len, padding=padding)
    metrics = {}
    splits = ("valid", "test") if args.split == "both" else (args.split,)
    for which in splits:
        result = evaluate_ranking(model, getattr(split, which), protocol, split=which)
        print(result)
        prefix = "" if which == "test" else "valid_"
        metrics.update({prefix + k: summarize([v]) for k, v in result.metrics.items()})
    out_dir.mkdir(parents=True, exist_ok=True)
    results = {
        "model": name, "dataset": dataset.name, "metrics": metrics,
        "protocol": {"seeds": [], "data": split.describe(), "ranking": protocol.as_dict(),
                     "training": "none (evaluation of a given checkpoint)", **source},
        "config": {"data": str(args.data), "num_heads": args.num_heads, "padding": padding},
        "time_s": time.perf_counter() - start, "peak_mem_mb": peak_memory_mb(device), "commit": git_commit(),
    }
    path = write_results(out_dir, results)
    print(f"results: {path}")
    return 0


def _load_ranking_weights(model, state: dict, path: Path) -> list[str]:
    """Load a run's weights into a freshly built model; returns the checkpoint keys that were skipped.

    A model may add parameters from the data at training time (SRA-CL's synthesiser, created by
    ``prepare`` once the semantic index exists); ranking does not use them, so their keys are skipped. Every
    parameter of the fresh model must be in the file, and a skipped key must not belong to one of its modules.
    """
    own = model.state_dict()
    children = {name for name, _ in model.named_children()}
    extra = [k for k in state if k not in own]
    missing = [k for k in own if k not in state]
    clash = [k for k in extra if k.split(".", 1)[0] in children]
    if missing or clash:
        raise GraphCLError(f"{path} does not match the {type(model).__name__} built from the run's config.yaml: "
                           f"missing {missing[:5]}, unexpected {clash[:5]}")
    try:
        model.load_state_dict({k: state[k] for k in own})
    except RuntimeError as exc:
        raise GraphCLError(f"{path} does not match the model: {exc}") from None
    return extra


def _run_config(run_dir: Path) -> dict:
    """The ``config.yaml`` of a ``recsys train`` run folder (a ``seed-<n>`` folder uses its parent's)."""
    cfg_file = run_dir / "config.yaml"
    if not cfg_file.is_file() and run_dir.name.startswith("seed-") and (run_dir.parent / "config.yaml").is_file():
        cfg_file = run_dir.parent / "config.yaml"
    if not cfg_file.is_file():
        raise GraphCLError(f"{cfg_file} not found; --run-dir must be a folder written by recsys train")
    try:
        stored = yaml.safe_load(cfg_file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise GraphCLError(f"{cfg_file}: not valid YAML ({exc})") from None
    if not isinstance(stored, dict):
        raise GraphCLError(f"{cfg_file}: expected a mapping of config keys, got {type(stored).__name__}")
    missing = [key for key in ("model", "dataset") if key not in stored]
    if missing:
        keys = " / ".join(repr(k) for k in missing)
        raise GraphCLError(f"{cfg_file}: no {keys} key; was it written by recsys train?")
    return stored


def _cmd_config(args: argparse.Namespace) -> int:
    from graphcl.config import parse_overrides
    from recsys.config import resolve_config
    from recsys.data import canonical_name

    data = args.data or DEFAULT_DATA
    name = "generated" if data == "generated" else canonical_name(Path(data).stem)
    cfg = resolve_config(args.model or DEFAULT_MODEL, name, args.config, parse_overrides(args.overrides))
    print(yaml.safe_dump(cfg, sort_keys=False), end="")
    return 0


def _cmd_datasets(_: argparse.Namespace) -> int:
    from recsys.data import DATASET_FILES

    print(f"{'generated':12s} the generated sequence dataset (latent item clusters, drifting interests, titles)")
    for name, files in DATASET_FILES.items():
        print(f"{name:12s} one of {', '.join(files)} under --root")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``recsys`` console script; returns the exit code."""
    args = parse_args(build_parser(), argv)
    handlers = {"train": _cmd_train, "eval": _cmd_eval, "config": _cmd_config, "datasets": _cmd_datasets,
                "bench": lambda a: run_bench(a, prog="recsys", task="recsys", main=main, first_seed=FIRST_SEED)}
    return dispatch("recsys", handlers, args)


if __name__ == "__main__":
    sys.exit(main())
