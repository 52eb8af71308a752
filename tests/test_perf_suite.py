"""The perf suite (benchmarks/perf): its helper measures as documented, and every benchmark runs in --quick mode
and writes a file in the one schema that make_tables renders and graphcl plot scaling reads."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.perf import harness, run


def test_time_calls_alternates_and_rotates_the_order() -> None:
    calls: list[str] = []
    rows = harness.time_calls({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")},
                              repeats=3, warmup=1, case="toy")
    assert calls == ["a", "b", "b", "a", "a", "b", "b", "a"]  # warm-up round, then rotated rounds
    assert [r["variant"] for r in rows] == ["a", "b"] and all(r["case"] == "toy" for r in rows)
    assert all(len(r["times_s"]) == 3 and r["min_s"] <= r["time_s"] for r in rows)
    rows[0]["time_s"], rows[1]["time_s"] = 2.0, 0.5
    assert harness.ratio(rows, "a", "b") == 4.0
    with pytest.raises(KeyError, match="variant 'c'"):
        harness.ratio(rows, "c", "b")
    with pytest.raises(ValueError, match="repeats"):
        harness.time_calls({"a": lambda: None}, repeats=0)


def _peak_of_a_64_mib_block() -> harness.PeakMemory:
    import torch

    with harness.PeakMemory() as memory:
        block = torch.ones(64 * 2**20 // 4)  # 64 MiB, touched
        del block
    return memory


def test_peak_memory_sees_an_allocation_and_isolated_runs_in_a_fresh_process() -> None:
    import os

    # In a fresh process: in a long pytest process the C allocator may serve the block from pages it kept
    # resident after earlier tests, which the resident-set peak then cannot see.
    memory = harness.isolated(_peak_of_a_64_mib_block)
    assert memory.method in ("rss-hwm", "rss-lifetime")
    if memory.method == "rss-hwm":
        assert memory.peak_mb > 48
    assert harness.isolated(os.getpid) != os.getpid()


def test_write_record_checks_the_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="benchmark name"):
        harness.write_record("Bad_Name", title="t", description="d", command="c", rows=[], environment={},
                             load_average={}, out_dir=tmp_path)


def test_every_benchmark_runs_quick_and_writes_the_perf_schema(tmp_path: Path, capsys) -> None:
    from graphcl.plots import plot_scaling

    names = list(run.available())
    assert {"csgcl-speed", "infonce-scaling", "pamc-scaling", "grace-pamc-epoch", "meow-dblp",
            "recsys-scale"} <= set(names)
    for name in names:
        assert run.main([name, "--quick", "--out", str(tmp_path)]) == 0
        record = json.loads((tmp_path / f"perf-{name}.json").read_text())
        assert record["schema"] == harness.SCHEMA and record["benchmark"] == name
        assert record["rows"] and all("variant" in row for row in record["rows"])
        assert record["environment"]["threads"] == 1 and record["command"].startswith("python -m benchmarks.perf")
        text = "\n".join(harness.render_markdown(record, f"perf-{name}.json"))
        assert f"(`perf-{name}.json`)" in text and "| time (median)" in text
        if any("n" in row for row in record["rows"]):
            assert plot_scaling(tmp_path / f"perf-{name}.json", tmp_path / f"{name}.png").is_file()
    assert run.main([]) == 0 and "csgcl-speed" in capsys.readouterr().out


def test_committed_perf_files_follow_the_schema() -> None:
    results = Path(harness.RESULTS)
    files = sorted(results.glob("perf-*.json"))
    assert files
    for path in files:
        record = json.loads(path.read_text())
        if record.get("schema") != harness.SCHEMA:
            continue  # a file of a script not (yet) in the suite
        assert record["command"].startswith("python -m benchmarks.perf ")
        assert path.stem.removeprefix("perf-") in run.available(), f"{path.name}: no benchmark regenerates it"
        assert set(record["columns"]) <= {key for row in record["rows"] for key in row}
