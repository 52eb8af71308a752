"""The documentation site covers the public API, every guide's code is an example the tests run, and every nav
page exists (the build itself runs in CI: ``mkdocs build --strict``)."""
from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"


def _documented_modules() -> set[str]:
    return {m for page in (DOCS / "api").glob("*.md") for m in re.findall(r"^::: ([\w.]+)$", page.read_text(), re.M)}


def _nav_pages(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [p for value in node.values() for p in _nav_pages(value)]
    return [p for item in node for p in _nav_pages(item)]


def test_every_public_subpackage_is_in_the_api_reference() -> None:
    documented = _documented_modules()
    for package in ("graphcl", "recsys"):
        root = importlib.import_module(package)
        for info in pkgutil.iter_modules(root.__path__, prefix=f"{package}."):
            if info.name.rsplit(".", 1)[1].startswith("_") or not info.ispkg:
                continue
            module = importlib.import_module(info.name)
            if getattr(module, "__all__", None):
                assert info.name in documented, f"{info.name} is missing from docs/api"
    for module in ("recsys.train", "recsys.eval", "recsys.augment", "recsys.losses", "graphcl.bench"):
        assert module in documented


def test_nav_pages_exist_and_guides_include_the_tested_examples() -> None:
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text().replace("!!python", "#"))
    for page in _nav_pages(config["nav"]):
        assert (DOCS / page).is_file(), page
    included = {m for page in (DOCS / "guides").glob("*.md")
                for m in re.findall(r'--8<-- "(examples/\w+\.py)"', page.read_text())}
    assert included == {f"examples/{p.name}" for p in (REPO / "examples").glob("*.py")}


def test_method_pages_link_to_the_results_instead_of_copying_numbers() -> None:
    for page in (DOCS / "methods").glob("*.md"):
        text = page.read_text()
        assert "results.md" in text, page.name
        assert not re.search(r"\d+\.\d+ ± \d", text), f"{page.name} copies a measured number"
