"""The package as a user installs it: one ``filmsearch`` namespace, typed, runnable with -m."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import filmsearch
from tests.helpers import PROJECT


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project installed (as a wheel would be) into a folder of its own."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(PROJECT)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return target


def run_python(site: Path, code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter that sees the installed copy first, from ``cwd``."""
    env = dict(os.environ, PYTHONPATH=str(site))
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=cwd, timeout=60
    )


def test_install_holds_one_namespace_and_no_index_or_search_module(installed: Path) -> None:
    top_level = {p.name for p in installed.iterdir() if not p.name.endswith(".dist-info")}
    assert "filmsearch" in top_level
    assert not top_level & {"index", "search", "index.py", "search.py"}
    package = installed / "filmsearch"
    assert (package / "py.typed").is_file()
    assert (package / "index" / "writer.py").is_file()
    assert (package / "search" / "searcher.py").is_file()
    web = package / "search" / "web"  # filmsearch serve's page ships with the package
    assert (web / "templates" / "index.html").is_file() and (web / "static" / "app.js").is_file()


def test_installed_package_imports_as_filmsearch_only(installed: Path, tmp_path: Path) -> None:
    done = run_python(installed, "import filmsearch; print(filmsearch.__file__)", tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith(str(installed))
    for name in ("index", "search"):
        missing = run_python(installed, f"import {name}", tmp_path)
        assert "ModuleNotFoundError" in missing.stderr


def test_a_users_own_search_module_does_not_shadow_filmsearch(
    installed: Path, tmp_path: Path
) -> None:
    (tmp_path / "search.py").write_text("raise SystemExit('the user module ran')\n")
    (tmp_path / "index.py").write_text("raise SystemExit('the user module ran')\n")
    code = "from filmsearch import FilmSearch, build_index; print(FilmSearch.__module__)"
    done = run_python(installed, code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "filmsearch.search.searcher"


def test_python_dash_m_filmsearch_runs_the_cli(installed: Path, tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(installed))
    done = subprocess.run(
        [sys.executable, "-m", "filmsearch", "--help"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0
    assert "Usage: filmsearch" in done.stdout and "search" in done.stdout


def test_public_api_is_reexported_from_the_top() -> None:
    for name in ("FilmSearch", "build_index", "QueryError", "Film", "Hit", "Results",
                 "BuildReport", "BuildProgress", "IndexStats", "FilmSearchError"):  # fmt: skip
        assert name in filmsearch.__all__
        assert getattr(filmsearch, name) is not None
    assert filmsearch.__version__.count(".") >= 1
    assert issubclass(filmsearch.QueryError, ValueError)
