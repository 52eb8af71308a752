"""The perf suite's one timing / memory helper and its one results format.

Every perf benchmark measures through these functions and writes one ``benchmarks/results/perf-<name>.json`` with
:func:`write_record`; ``python benchmarks/make_tables.py`` renders every such file the same way in RESULTS.md and
``graphcl plot scaling`` draws its rows. ``benchmarks/perf/README.md`` documents the API and the schema.

Timing: :func:`time_calls` runs the variants of a comparison *alternately* in one process (one call of each
variant per round, the order rotated every round) and reports medians, so load on a shared machine hits every
variant alike and their ratios hold even when absolute times are inflated. Memory: :class:`PeakMemory` measures
one way everywhere: the peak above the level at entry — resident set size on CPU (the kernel's high-water mark,
reset at entry through ``/proc/self/clear_refs`` where Linux allows it), allocated tensor memory on CUDA;
:func:`isolated` runs a function in a fresh process so that one variant's peak is its own.
"""
from __future__ import annotations

import math
import multiprocessing
import os
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parents[1] / "results"
SCHEMA = "perf/1"
ROW_KEYS = ("case", "variant", "n")  # what identifies a row; everything else in a row is a measurement
LABELS = {"n": "N", "nnz": "edges (nnz)", "time_s": "time (median)", "min_s": "min", "mean_s": "mean",
          "cpu_s": "CPU time (median)", "first_s": "first", "peak_mem_mb": "peak memory (above start)",
          "peak_rss_mb": "peak RSS (process)", "bytes_per_edge": "bytes / edge"}  # table headers of common keys


def time_calls(fns: Mapping[str, Callable[[], Any]], *, repeats: int = 5, warmup: int = 1,
               **fields: Any) -> list[dict[str, Any]]:
    """Time the variants of one comparison alternately in this process.

    Each round calls every variant once; the order is rotated by one every round (so no variant always runs
    first or right after the same neighbour). ``warmup`` rounds are run untimed first.

    Args:
        fns: Variant name -> a callable with no arguments (one training step, one loss pass, ...).
        repeats: Timed rounds.
        warmup: Untimed rounds before them.
        **fields: Extra keys copied into every row (e.g. ``case="cora"``, ``n=2708``).

    Returns:
        One row per variant, in the order of ``fns``: ``variant``, ``time_s`` (median wall time), ``min_s``,
        ``times_s`` (all rounds), ``cpu_s`` (median CPU time of this process: the less contended measure on a
        shared machine for single-threaded work), ``cpu_times_s``, ``repeats`` and ``fields``.
    """
    if not fns:
        raise ValueError("time_calls needs at least one variant")
    if repeats < 1 or warmup < 0:
        raise ValueError(f"repeats must be >= 1 and warmup >= 0, got {repeats} and {warmup}")
    names = list(fns)
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(warmup + repeats):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            start_wall, start_cpu = time.perf_counter(), time.process_time()
            fns[name]()
            elapsed_wall, elapsed_cpu = time.perf_counter() - start_wall, time.process_time() - start_cpu
            if round_index >= warmup:
                wall[name].append(elapsed_wall)
                cpu[name].append(elapsed_cpu)
    return [fields | {"variant": name, "time_s": statistics.median(wall[name]), "min_s": min(wall[name]),
                      "times_s": wall[name], "cpu_s": statistics.median(cpu[name]), "cpu_times_s": cpu[name],
                      "repeats": repeats} for name in names]


def time_once(fn: Callable[[], Any]) -> tuple[Any, dict[str, float]]:
    """``fn()``'s result and its ``{"time_s", "cpu_s"}`` (for one-off steps that cannot be repeated)."""
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, {"time_s": time.perf_counter() - start_wall, "cpu_s": time.process_time() - start_cpu}


def ratio(rows: Sequence[Mapping[str, Any]], numerator: str, denominator: str, *, key: str = "time_s",
          **match: Any) -> float:
    """``key`` of variant ``numerator`` divided by that of ``denominator`` among the rows matching ``match``."""
    def pick(variant: str) -> float:
        found = [r for r in rows if r.get("variant") == variant and all(r.get(k) == v for k, v in match.items())]
        if len(found) != 1:
            raise KeyError(f"expected one row of variant {variant!r} with {match}, found {len(found)}")
        return float(found[0][key])

    return pick(numerator) / pick(denominator)


def _status_mb(field: str) -> float | None:
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
            handle.write("5")  # resets VmHWM to the current RSS
        return True
    except OSError:
        return False


class PeakMemory:
    """Peak memory of a block above the level at its start, in MiB: ``with PeakMemory() as mem: ...; mem.peak_mb``.

    On CPU: the process's resident set size — at entry the kernel's high-water mark is reset to the current RSS
    (``/proc/self/clear_refs``) and the peak read back from ``VmHWM`` at exit. Where that reset is not possible
    (not Linux, or not permitted) the process-lifetime peak (``ru_maxrss``) is used and ``method`` says so; run
    the block in a fresh process (:func:`isolated`) for a per-variant number then. On CUDA: torch's peak
    allocated tensor memory after ``reset_peak_memory_stats``.

    Attributes:
        peak_mb: Peak above the level at entry (``>= 0``), set on exit.
        method: How it was measured (``"rss-hwm"``, ``"rss-lifetime"`` or ``"cuda-allocated"``).
    """

    def __init__(self, device: str = "cpu") -> None:
        self.device = str(device)
        self.peak_mb = math.nan
        self.method = ""
        self._base = 0.0

    def __enter__(self) -> PeakMemory:
        import gc

        gc.collect()
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._base = torch.cuda.memory_allocated(self.device) / 2**20
            self.method = "cuda-allocated"
        else:
            self.method = "rss-hwm" if _reset_peak_rss() else "rss-lifetime"
            self._base = _status_mb("VmRSS") or 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.synchronize(self.device)
            peak = torch.cuda.max_memory_allocated(self.device) / 2**20
        elif self.method == "rss-hwm":
            peak = _status_mb("VmHWM") or math.nan
        else:
            from graphcl.train import peak_memory_mb

            peak = peak_memory_mb("cpu")
        self.peak_mb = max(0.0, peak - self._base)


def process_peak_rss_mb() -> float:
    """This process's own peak resident set size since it started (``VmHWM``), in MiB.

    ``ru_maxrss`` is only the fallback (not Linux): Linux carries the pre-``exec`` high-water mark over into it,
    so a child spawned by a large benchmark process would report the parent's size."""
    peak = _status_mb("VmHWM")
    if peak is not None:
        return peak
    from graphcl.train import peak_memory_mb

    return peak_memory_mb("cpu")


def _call_in_child(threads: int | None, fn: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    return fn(*args, **kwargs)


def isolated(fn: Callable[..., Any], *args: Any, threads: int | None = None, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` run in a fresh Python process (``spawn``), its result returned.

    For memory: a fresh process starts with nothing but the interpreter and its imports, so a
    :class:`PeakMemory` inside ``fn`` sees only that variant. ``fn`` must be a module-level function and its
    arguments and result picklable. ``threads`` sets torch's thread count in the child.
    """
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(_call_in_child, (threads, fn, args, kwargs))


def load_average() -> list[float]:
    """The 1-, 5- and 15-minute load averages (``[]`` where the platform has none)."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return []


def environment(threads: int) -> dict[str, Any]:
    """Where a benchmark ran: :func:`graphcl.train.environment_info`, torch's thread count, ``OMP_NUM_THREADS``,
    the process's nice value and the logical CPUs."""
    from graphcl.train import environment_info

    return environment_info() | {"threads": threads, "omp_num_threads": os.environ.get("OMP_NUM_THREADS", ""),
                                 "nice": os.nice(0) if hasattr(os, "nice") else 0, "python": sys.version.split()[0]}


def load_note(before: Sequence[float], after: Sequence[float], threads: int) -> str:
    """One sentence on how busy the machine was, from the load averages around a run."""
    if not before or not after:
        return "load average not available"
    busy = max(before[0], after[0]) > threads + 0.5
    text = (f"1/5/15-min load average {'/'.join(f'{v:.1f}' for v in before)} before and "
            f"{'/'.join(f'{v:.1f}' for v in after)} after, {threads} thread(s)")
    return text + (": other jobs shared the cores, so absolute times are inflated; the same-run ratios hold"
                   if busy else ": quiet machine")


def summary_item(label: str, value: float | None, unit: str = "", **extra: Any) -> dict[str, Any]:
    """One line of a record's ``summary``: a derived number (ratio, slope, reference) with its unit.

    ``extra`` may carry ``source`` (where a reference number comes from) or ``target``."""
    return {"label": label, "value": None if value is None else float(value), "unit": unit, **extra}


def write_record(name: str, *, title: str, description: str, command: str, rows: Sequence[Mapping[str, Any]],
                 environment: Mapping[str, Any], load_average: Mapping[str, Sequence[float]],
                 columns: Sequence[str] = (), summary: Sequence[Mapping[str, Any]] = (),
                 settings: Mapping[str, Any] | None = None, note: str = "", provenance: str = "measured",
                 out_dir: str | Path = RESULTS) -> Path:
    """Write ``<out_dir>/perf-<name>.json`` in the perf schema (``benchmarks/perf/README.md``) and return its path.

    Args:
        name: Benchmark name (``[a-z0-9-]``), also the file name.
        title: Heading of its RESULTS.md section.
        description: What is measured and how, in a few sentences (rendered under the heading).
        command: The command that regenerates the file.
        rows: Measurements, one dict per (case, variant, n): ``time_s`` / ``cpu_s`` / ``peak_mem_mb`` and any
            benchmark-specific numbers.
        environment: :func:`environment`.
        load_average: ``{"before": [...], "after": [...]}`` around the run (:func:`load_average`).
        columns: Row keys shown in the table, in order (default: the identifying keys present, then
            ``time_s``, ``cpu_s``, ``peak_mem_mb`` where present).
        summary: Derived numbers (:func:`summary_item`).
        settings: The benchmark's parameters.
        note: Free text (what the numbers mean, what was not run and why).
        provenance: ``"measured"``, or where the numbers come from when they were converted from an older file.
        out_dir: Folder (default: ``benchmarks/results``).
    """
    import json

    if not name or not all(c.isalnum() or c == "-" for c in name) or name != name.lower():
        raise ValueError(f"benchmark name must be lower-case letters, digits and '-', got {name!r}")
    if not columns:
        present = {key for row in rows for key in row}
        columns = [k for k in (*ROW_KEYS, "time_s", "cpu_s", "peak_mem_mb") if k in present]
    record = {
        "benchmark": name, "schema": SCHEMA, "title": title, "description": description, "command": command,
        "provenance": provenance, "environment": dict(environment), "load_average": dict(load_average),
        "settings": dict(settings or {}), "columns": list(columns), "rows": [dict(r) for r in rows],
        "summary": [dict(s) for s in summary], "note": note,
    }
    path = Path(out_dir) / f"perf-{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, default=_jsonable) + "\n", encoding="utf-8")
    return path


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def fmt_value(key: str, value: Any) -> str:
    """A row value as the tables show it, by the key's unit suffix (``_s``, ``_mb``, ``_gb``, ``ratio`` / ``x``)."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, float) and math.isnan(value):
        return "—"
    if key.endswith("_s"):
        return f"{1000 * value:.3g} ms" if abs(value) < 1 else f"{value:.3g} s"
    if key.endswith("_mb"):
        return f"{value:,.0f} MB" if value >= 10 else f"{value:.2g} MB"
    if key.endswith("_gb"):
        return f"{value:.2f} GB"
    if key.endswith("ratio") or key.endswith("_x") or key.startswith("speedup"):
        return f"{value:.2f}×"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.3g}"


def fmt_summary(item: Mapping[str, Any]) -> str:
    """One summary line: ``label: value unit (source)``."""
    value, unit = item.get("value"), item.get("unit", "")
    if value is None:
        shown = "—"
    elif unit == "x":
        shown = f"{value:.2f}×"
    elif unit in ("s", "ms", "MB", "GB", "B"):
        shown = f"{value:,.3g} {unit}" if value < 1000 else f"{value:,.0f} {unit}"
    elif float(value).is_integer() and abs(value) >= 1000:
        shown = f"{value:,.0f}" + (f" {unit}" if unit else "")
    else:
        shown = f"{value:.3g}" + (f" {unit}" if unit else "")
    extras = [f"target {item['target']}" if "target" in item else "", item.get("source", "")]
    extras = [e for e in extras if e]
    return f"{item['label']}: {shown}" + (f" ({'; '.join(extras)})" if extras else "")


def render_markdown(record: Mapping[str, Any], file_name: str) -> list[str]:
    """The RESULTS.md section of one perf record: heading, description, command, environment, table, summary."""
    env, load = record.get("environment", {}), record.get("load_average", {})
    lines = [f"### {record['title']} (`{file_name}`)", "", record.get("description", ""), "",
             f"- command: `{record['command']}`"]
    if record.get("provenance", "measured") != "measured":
        lines.append(f"- provenance: {record['provenance']}")
    machine = ", ".join(x for x in (f"{env.get('threads', '?')} thread(s)", env.get("cuda_device", "")
                                    if env.get("cuda_device") not in (None, "none") else "", env.get("platform", ""),
                                    f"torch {env['torch']}" if env.get("torch") else "") if x)
    lines.append(f"- machine: {machine}")
    if load.get("before"):
        lines.append(f"- {load_note(load['before'], load.get('after') or load['before'], int(env.get('threads', 1)))}")
    columns = list(record.get("columns") or [])
    if record.get("rows") and columns:
        lines += ["", "| " + " | ".join(LABELS.get(c, c) for c in columns) + " |", "|" + "---|" * len(columns)]
        for row in record["rows"]:
            cells = ["failed: " + str(row["error"])[:60] if "error" in row and c not in ROW_KEYS
                     else fmt_value(c, row.get(c)) for c in columns]
            lines.append("| " + " | ".join(cells) + " |")
    if record.get("summary"):
        lines += [""] + [f"- {fmt_summary(item)}" for item in record["summary"]]
    if record.get("note"):
        lines += ["", record["note"]]
    return lines + [""]
