"""The README stays truthful: its Python example runs, its results block matches benchmarks/results."""
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
