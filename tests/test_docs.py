"""The README stays truthful: its Python example runs, its results block matches benchmarks/results."""
import json
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_readme_python_example_runs(tmp_path):
    readme = (REPO / "README.md").read_text()
    example = re.search(r"## In Python\n\n```python\n(.*?)```", readme, re.DOTALL).group(1)
    assert len(example.strip().splitlines()) <= 15
    # Same code on the generated graph with a tiny budget, so the test needs no files and little time.
    example = example.replace('load_dataset("cora", root="../shared/data/planetoid")',
                              'load_dataset("generated", num_nodes=300)')
    example = example.replace("epochs=200", "epochs=2, show_progress=False")
    assert 'load_dataset("generated"' in example and "epochs=2" in example
    script = tmp_path / "example.py"
    script.write_text(example)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "'mean'" in out.stdout


def test_results_tables_are_up_to_date():
    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "make_tables.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_import_is_cheap_and_has_no_optional_imports():
    code = "import sys, graphcl; import graphcl.losses, graphcl.ops; " \
           "print(any(m.startswith(('sklearn', 'leidenalg', 'matplotlib', 'tensorboard')) for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


def test_results_list_cells_with_part_of_their_seeds_recorded(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
    import make_tables

    record = {"metrics": {"ndcg@20": {"mean": 0.0924, "std": 0.0, "values": [0.0924]},
                          "hr@20": {"mean": 0.2269, "std": 0.0, "values": [0.2269]}},
              "protocol": {"seeds": [2021]}}
    (tmp_path / "seeds" / "sracl-cos-ml100k").mkdir(parents=True)
    (tmp_path / "seeds" / "sracl-cos-ml100k" / "seed-2021.json").write_text(json.dumps(record))
    (tmp_path / "seeds" / "not-in-any-suite").mkdir()
    (tmp_path / "seeds" / "not-in-any-suite" / "seed-0.json").write_text(json.dumps({**record, "protocol": {"seeds": [0]}}))
    (tmp_path / "seeds" / "empty").mkdir()
    monkeypatch.setattr(make_tables, "RESULTS", tmp_path)
    lines = make_tables.in_progress()
    assert ("- `sracl-cos-ml100k`: 1 of 3 seeds recorded; goes on with `recsys bench "
            "benchmarks/suites/recsys-ml100k-sracl.yaml --only sracl-cos-ml100k` (seed 2021: hr@20 22.69, "
            "ndcg@20 9.24)") in lines
    assert "- `not-in-any-suite`: 1 seed recorded (seed 0: hr@20 22.69, ndcg@20 9.24)" in lines
    assert not any("empty" in line for line in lines)
    monkeypatch.setattr(make_tables, "RESULTS", tmp_path / "none")
    assert make_tables.in_progress() == []
