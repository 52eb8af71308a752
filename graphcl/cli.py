"""``graphcl`` command line.

Examples::

    graphcl train                                   # GRACE on the generated community graph (no files needed)
    graphcl train --model grace --dataset cora --root ../shared/data/planetoid --seeds 5
    graphcl train --dataset cora --root DIR epochs=50 lr=0.001 tasks=[node,link]
    graphcl train --run-dir runs/mine --resume      # continue a run with its own settings, seeds and data
    graphcl train --run-dir runs/mine --resume epochs=400   # ... and train it longer
    graphcl train --config runs/<run>/config.yaml   # re-run a run folder's configuration (its model and dataset)
    graphcl train --dataset-option num_nodes=100000 batch_size=2048    # mini-batches on a larger generated graph
    graphcl train --nproc 2 --run-dir runs/ddp batch_size=2048          # 2 processes (torchrun), DDP
    graphcl embed --checkpoint runs/<run>/last.pt   # embeddings of a trained model -> embeddings.pt
    graphcl eval --embeddings z.npy --model meow --dataset acm --root DIR   # score embeddings made elsewhere
    graphcl datasets                                # the dataset catalog
    graphcl bench benchmarks/suites/graph-cora.yaml # a benchmark suite; rerun to resume, --dry-run to list
    graphcl plot curves runs/<run>                  # loss and validation curves (also: tsne, suite, scaling)
    graphcl config --model grace --dataset cora     # the resolved configuration, as YAML
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from graphcl.commandline import (
    add_bench_parser,
    add_run_options,
    dispatch,
    parse_args,
    run_bench,
)
from graphcl.errors import GraphCLError

log = logging.getLogger("graphcl")


#: The model names, for ``--help`` without importing the models (checked against MODELS by the tests).
MODEL_NAMES = ("grace", "csgcl", "pamc", "scgc", "meow", "adameow", "heco", "dmgi", "gca", "dgi", "bgrl", "mvgrl",
               "supervised")
DEFAULT_MODEL, DEFAULT_DATASET = "grace", "generated"


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None,
                   help=f"{' | '.join(MODEL_NAMES)} (default: the --config file's 'model', else {DEFAULT_MODEL})")
    p.add_argument("--dataset", default=None,
                   help="dataset name, see 'graphcl datasets' (default: the --config file's 'dataset', else "
                        f"{DEFAULT_DATASET}, the generated community graph)")
    p.add_argument("--config", default=None,
                   help="YAML config file (default: configs/<model>/<dataset>.yaml, else configs/<model>/default.yaml)")
    p.add_argument("overrides", nargs="*", metavar="key=value",
                   help="config overrides, e.g. lr=1e-3 epochs=50 tasks=[node,link]")


def _model_and_dataset(args: argparse.Namespace) -> tuple[str, str]:
    """``--model`` / ``--dataset``, else those named in the ``--config`` file (a run's ``config.yaml`` names
    both), else the defaults."""
    from graphcl.config import read_yaml

    stored = read_yaml(args.config) if args.config is not None else {}
    model = args.model or stored.get("model") or DEFAULT_MODEL
    dataset = args.dataset or stored.get("dataset") or DEFAULT_DATASET
    return str(model), str(dataset)


def _add_trust_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--trust-raw-files", action="store_true",
                   help="accept raw dataset files that differ from their published SHA-256 (a deliberate variant; "
                        "they are still read without running code)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="graphcl", description="Graph contrastive learning: train, embed, inspect configurations and datasets.",
        epilog="examples:" + __doc__.split("Examples::", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train, evaluate, and write runs/<run>/results.json")
    _add_common(train)
    train.add_argument("--root", default=None,
                       help="folder with the dataset's files in PyG / HeCo layout (e.g. DATA/planetoid holding "
                            "Cora/raw/, or DATA itself with planetoid/, heco/ ... inside; default: $GRAPHCL_DATA, "
                            "else datasets/ of a source checkout, else ~/.cache/graphrec-cl/datasets)")
    train.add_argument("--device", default="auto",
                       help="auto (CUDA if present, else cpu) | cpu | cuda | cuda:N (default: auto)")
    train.add_argument("--dataset-option", action="append", default=[], metavar="KEY=VALUE",
                       help="argument of the dataset's loader, repeatable: for 'generated' those of "
                            "make_community_graph, e.g. --dataset-option num_nodes=1000000 --dataset-option "
                            "avg_degree=10 (recorded in run.json, reused by --resume)")
    train.add_argument("--nproc", type=int, default=1, metavar="N",
                       help="train with N processes on this machine: relaunches the command under torchrun "
                            "(gloo on CPU, NCCL on GPU); needs batch_size > 0 and --run-dir (default: 1)")
    _add_trust_option(train)
    add_run_options(train, first_seed=0)

    embed = sub.add_parser("embed", help="write the embeddings of a trained checkpoint to a .pt file")
    embed.add_argument("--checkpoint", required=True, help="a best.pt / last.pt written by graphcl train")
    embed.add_argument("--root", default=None,
                       help="data root of the checkpoint's dataset (default: the one its run recorded)")
    embed.add_argument("--out", default=None, help="output file (default: embeddings.pt beside the checkpoint)")
    embed.add_argument("--device", default="auto",
                       help="auto (CUDA if present, else cpu) | cpu | cuda | cuda:N (default: auto)")
    _add_trust_option(embed)

    evaluate = sub.add_parser(
        "eval", help="score embeddings from a file (.npy, .pt, .pkl) as 'graphcl train' scores its own",
        description="Score embeddings computed elsewhere (another library, a method's reference code, "
                    "'graphcl embed') with the evaluation settings 'graphcl train' would use for --model on "
                    "--dataset (probe, label-rate splits, clustering; change them as key=value overrides). "
                    "Files are read without running code from them.")
    _add_common(evaluate)
    evaluate.add_argument("--embeddings", required=True,
                          help="[num_nodes, dim] matrix: .npy, .pt/.pth (a tensor, or a dict with 'embeddings'), "
                               ".pkl/.pickle (a pickled NumPy array; nothing else is unpickled)")
    evaluate.add_argument("--root", default=None, help="data root, as for 'graphcl train'")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the probes and k-means (default: 0)")
    evaluate.add_argument("--out", default=None, help="also write the metrics to this JSON file")
    _add_trust_option(evaluate)

    config = sub.add_parser("config", help="print the resolved configuration")
    _add_common(config)

    sub.add_parser("datasets", help="list the dataset catalog")
    add_bench_parser(sub, "graphcl")
    _add_plot_parser(sub)
    return parser


def _add_plot_parser(sub: Any) -> None:
    plot = sub.add_parser("plot", help="PNG pictures: training curves, t-SNE, a suite's accuracy vs time, scaling")
    kinds = plot.add_subparsers(dest="what", required=True)
    curves = kinds.add_parser("curves", help="loss and validation metrics against epochs of run folders")
    curves.add_argument("run_dirs", nargs="+",
                        help="run folders (with metrics.csv or seed-*/metrics.csv) or benchmark cells' results files")
    curves.add_argument("--out", default=None, help="PNG file (default: <first run>/curves.png)")
    curves.add_argument("--metric", dest="metrics", action="append", default=None,
                        help="validation column to draw, e.g. valid_hr@20 (repeatable; default: every "
                             "valid_*@20 / val_* column)")
    curves.add_argument("--title", default=None, help="figure title")
    tsne = kinds.add_parser("tsne", help="t-SNE of a checkpoint's embeddings, coloured by class")
    tsne.add_argument("--checkpoint", required=True, help="a best.pt / last.pt written by graphcl train")
    tsne.add_argument("--root", default=None, help="data root (default: the one its run recorded)")
    tsne.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N (default: cpu)")
    tsne.add_argument("--out", default=None, help="PNG file (default: tsne.png beside the checkpoint)")
    _add_trust_option(tsne)
    suite = kinds.add_parser("suite", help="each finished cell's headline metric against its time")
    suite.add_argument("suite", help="the suite manifest")
    suite.add_argument("--results", default="benchmarks/results", help="folder of the results files")
    suite.add_argument("--out", default=None, help="PNG file (default: <suite>-tradeoff.png)")
    scaling = kinds.add_parser("scaling", help="log-log scaling curves of a perf benchmark file")
    scaling.add_argument("file", help="a perf results file with rows of n and time_s")
    scaling.add_argument("--out", default=None, help="PNG file (default: the file with .png)")


def _cmd_train(args: argparse.Namespace) -> int:
    from graphcl.commandline import report_resume, run_request
    from graphcl.config import parse_overrides, resolve_config
    from graphcl.data import load_dataset
    from graphcl.experiment import format_summary, resolve_device, run_experiment
    from graphcl.train import hold_run_dir
    from graphcl.train.distributed import barrier, init_from_env, rank

    init_from_env(resolve_device(args.device))  # under torchrun: join the process group (gloo / NCCL)
    if rank() != 0:
        logging.getLogger().setLevel(logging.WARNING)  # rank 0 alone reports progress; warnings come from every rank
    model, dataset = _model_and_dataset(args)
    request = run_request(args, model=model, dataset=dataset, overrides=parse_overrides(args.overrides),
                          resolve=resolve_config, first_seed=0)
    cfg = request.config
    if request.finished:
        results = json.loads((Path(args.run_dir) / "results.json").read_text(encoding="utf-8"))
        print(f"{args.run_dir} has finished; nothing to resume (train it longer with --resume epochs=N)")
        print(format_summary(results))
        return 0
    root = args.root if args.root is not None else request.data.get("root")
    options = {**dict(request.data.get("options") or {}), **parse_overrides(args.dataset_option)}
    if rank() != 0:
        barrier()  # rank 0 loads first: a dataset processed on first use is written once, then read by the others
    data = load_dataset(cfg["dataset"], root=root, trust_raw_files=args.trust_raw_files, **options)
    if rank() == 0:
        barrier()
    barrier()  # every rank has checked the run folder before rank 0 writes to it
    main_rank = rank() == 0
    source = {"dataset": cfg["dataset"], "root": None if root is None else str(Path(root).absolute())}
    # A resume's record in run.json, too, is written only by the process that holds the folder to train in it.
    with hold_run_dir(args.run_dir if args.resume else None):
        if args.resume and main_rank:
            report_resume(args.run_dir, request.changes)
        results, run_dir = run_experiment(
            cfg, data, seeds=request.seeds, device=args.device, run_dir=args.run_dir,
            show_progress=not args.quiet and main_rank, resume=args.resume, overwrite=args.overwrite,
            data_source={**source, "options": options} if options else source,
        )
    if not main_rank:
        return 0
    print(format_summary(results))
    print(f"results: {run_dir / 'results.json'}")
    return 0


def _embed_checkpoint(args: argparse.Namespace) -> tuple[Any, Any, dict[str, Any]]:
    """``(z, y, config)``: the embeddings of ``--checkpoint`` on its dataset (found again through the run's
    ``run.json`` unless ``--root`` is given)."""
    from torch_geometric.data import HeteroData

    from graphcl.config import resolve_config
    from graphcl.data import load_dataset
    from graphcl.experiment import build_model, check_model_data, embed_all, resolve_device
    from graphcl.train import find_run_record, load_checkpoint

    ckpt_path = Path(args.checkpoint)
    device = resolve_device(args.device)
    stored = load_checkpoint(ckpt_path).get("config") or {}
    if not isinstance(stored, dict) or "model" not in stored or "dataset" not in stored:
        raise GraphCLError(f"{ckpt_path} holds no config with 'model' and 'dataset'; was it written by graphcl train?")
    overrides = {k: v for k, v in stored.items() if k not in ("model", "dataset")}
    cfg = resolve_config(stored["model"], stored["dataset"], overrides=overrides)
    run = find_run_record(ckpt_path.parent)
    source = (run[1].get("data") or {}) if run else {}
    root = args.root if args.root is not None else source.get("root")
    # The loader arguments the run was trained with (--dataset-option), e.g. the size of a generated graph.
    data = load_dataset(cfg["dataset"], root=root, trust_raw_files=args.trust_raw_files,
                        **dict(source.get("options") or {}))
    check_model_data(cfg, data)
    hetero = isinstance(data, HeteroData)  # heterogeneous models read their sizes and meta-paths from the graph
    model = build_model(cfg, data if hetero else data.num_features)
    load_checkpoint(ckpt_path, model)
    z = embed_all(model.to(device), data.to(device), cfg).cpu()
    y = data[data.target_type].y if hetero else data.y
    return z, y.cpu(), cfg


def _cmd_embed(args: argparse.Namespace) -> int:
    import torch

    z, y, cfg = _embed_checkpoint(args)
    out = Path(args.out) if args.out else Path(args.checkpoint).with_name("embeddings.pt")
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"embeddings": z, "y": y, "config": cfg}, out)
    print(f"{tuple(z.shape)} embeddings of {cfg['model']} on {cfg['dataset']} -> {out}")
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from torch_geometric.data import HeteroData

    from graphcl.config import parse_overrides, resolve_config, split_config
    from graphcl.data import load_dataset
    from graphcl.eval.embeddings import read_embeddings
    from graphcl.experiment import check_model_data, embedding_metrics

    model, dataset = _model_and_dataset(args)
    cfg = resolve_config(model, dataset, args.config, parse_overrides(args.overrides))
    _, _, ev = split_config(cfg)
    if not {"node", "clustering"} & set(ev["tasks"]):
        raise GraphCLError(f"tasks {list(ev['tasks'])}: 'graphcl eval' scores the node and clustering tasks of "
                           f"fixed embeddings (link prediction trains on a graph with held-out edges)")
    data = load_dataset(cfg["dataset"], root=args.root, trust_raw_files=args.trust_raw_files)
    check_model_data(cfg, data)
    hetero = isinstance(data, HeteroData)
    z = read_embeddings(args.embeddings, data[data.target_type].num_nodes if hetero else data.num_nodes)
    metrics = embedding_metrics(z, data, ev, seed=args.seed)
    line = " | ".join(f"{name} {100 * summary['mean']:.2f}" for name, summary in metrics.items())
    print(f"{args.embeddings} ({z.size(0)} x {z.size(1)}) on {cfg['dataset']}, evaluated as {cfg['model']} "
          f"(metrics in %): {line}")
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        record = {"embeddings": str(args.embeddings), "model": cfg["model"], "dataset": cfg["dataset"],
                  "seed": args.seed, "evaluation": {k: v for k, v in ev.items()}, "metrics": metrics}
        out.write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
        print(f"metrics: {out}")
    return 0


def _cmd_plot(args: argparse.Namespace) -> int:
    from graphcl import plots

    if args.what == "curves":
        out = plots.plot_training_curves(args.run_dirs, args.out or Path(args.run_dirs[0]) / "curves.png",
                                         metrics=args.metrics, title=args.title)
    elif args.what == "tsne":
        from graphcl.eval.tsne import plot_tsne

        z, y, cfg = _embed_checkpoint(args)
        out = Path(args.out or Path(args.checkpoint).with_name("tsne.png"))
        scores = plot_tsne(z, y, out, title=f"{cfg['model']} on {cfg['dataset']}")
        print(f"silhouette {scores['silhouette']:.3f}")
    elif args.what == "suite":
        from graphcl.bench import load_suite

        suite = load_suite(args.suite)
        files = [Path(args.results) / f"{name}.json" for name in suite.cells]
        out = plots.plot_suite_tradeoff([f for f in files if f.is_file()], args.out or f"{suite.name}-tradeoff.png",
                                        title=f"suite {suite.name}")
    else:
        out = plots.plot_scaling(args.file, args.out or Path(args.file).with_suffix(".png"))
    print(f"wrote {out}")
    return 0


def _cmd_config(args: argparse.Namespace) -> int:
    from graphcl.config import parse_overrides, resolve_config

    model, dataset = _model_and_dataset(args)
    cfg = resolve_config(model, dataset, args.config, parse_overrides(args.overrides))
    print(yaml.safe_dump(cfg, sort_keys=False), end="")
    return 0


def _cmd_datasets(_: argparse.Namespace) -> int:
    from graphcl.data import DATASETS

    for name, entry in DATASETS.items():
        print(f"{name:20s} {entry.description}")
        print(f"{'':20s}   files under --root{f' (or its {entry.subdir}/)' if entry.subdir else ''}: "
              f"{entry.files_summary()}")
    return 0


def _launch(nproc: int, argv: Sequence[str]) -> int:
    """Run ``graphcl <argv>`` in ``nproc`` processes under ``torchrun`` (``torch.distributed.run``, standalone on
    this machine); ``--nproc`` is removed from the relaunched command line."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import main as torchrun

    words, skip = [], False
    for word in argv:
        if skip:
            skip = False
        elif word == "--nproc":
            skip = True
        elif not word.startswith("--nproc="):
            words.append(word)
    try:
        torchrun(["--standalone", "--nproc-per-node", str(nproc), "-m", "graphcl.cli", *words])
    except ChildFailedError as error:
        _, failure = error.get_first_failure()
        print(f"graphcl: error: {len(error.failures)} of {nproc} processes failed (their messages are above)",
              file=sys.stderr)
        return failure.exitcode if failure.exitcode > 0 else 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``graphcl`` console script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(build_parser(), argv)
    if args.command == "train" and args.nproc != 1:
        import os

        if args.nproc < 1:
            print(f"graphcl: error: --nproc must be >= 1, got {args.nproc}", file=sys.stderr)
            return 2
        if "WORLD_SIZE" not in os.environ:
            if args.run_dir is None:
                print("graphcl: error: --nproc needs --run-dir (every process writes to the same run)",
                      file=sys.stderr)
                return 2
            return _launch(args.nproc, argv)
    handlers = {"train": _cmd_train, "embed": _cmd_embed, "eval": _cmd_eval, "config": _cmd_config,
                "datasets": _cmd_datasets,
                "bench": lambda a: run_bench(a, prog="graphcl", task="graph", main=main, first_seed=0),
                "plot": _cmd_plot}
    return dispatch("graphcl", handlers, args)


if __name__ == "__main__":
    sys.exit(main())
