"""Packaging: both packages ship ``py.typed`` (PEP 561) and their YAML configs; ruff is configured."""
from __future__ import annotations

import configparser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_py_typed_markers_exist_and_are_packaged() -> None:
    setup = configparser.ConfigParser()
    setup.read(REPO / "setup.cfg")
    package_data = setup["options.package_data"]
    for package in ("graphcl", "recsys"):
        assert (REPO / package / "py.typed").is_file()
        patterns = [p.strip() for p in package_data[package].split(",")]
        assert "py.typed" in patterns and "configs/*/*.yaml" in patterns


def test_dev_extra_has_the_tools_ci_runs() -> None:
    setup = configparser.ConfigParser()
    setup.read(REPO / "setup.cfg")
    dev = setup["options.extras_require"]["dev"]
    for tool in ("pytest", "ruff", "mkdocs-material", "mkdocstrings-python"):
        assert tool in dev


def test_ruff_is_configured_and_run_by_ci() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert config["tool"]["ruff"]["lint"]["select"]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert ci.index("ruff check") < ci.index("&& pytest")
    assert "-eq 5" in ci  # no test collected is a failure
