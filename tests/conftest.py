"""Shared fixtures: the bundled seeds, an index built from them, and helpers."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from filmsearch.index import build_index
from filmsearch.search import FilmSearch

PROJECT = Path(__file__).resolve().parent.parent
SEEDS = PROJECT / "seeds"
SHARED = PROJECT.parent / "shared"

SEED_TEMPLATE = """{title}
Released Year: {year}
Running time: {runtime}
Director: {director}
Cast: {cast}
Content: {content}
Wiki info:
{wiki}
"""


def seed_text(
    title: str = "Test_Film",
    year: str = "2001",
    runtime: str = "90",
    director: str = "Some Director",
    cast: str = "Actor One,Actor Two,",
    content: str = "A synopsis.",
    wiki: str = "Wiki text.",
) -> str:
    """The text of one seed-format document."""
    return SEED_TEMPLATE.format(
        title=title,
        year=year,
        runtime=runtime,
        director=director,
        cast=cast,
        content=content,
        wiki=wiki,
    )


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    return SEEDS


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the bundled seeds, built once per test run."""
    target = tmp_path_factory.mktemp("seed-index") / "index"
    build_index([SEEDS], target)
    return target


@pytest.fixture(scope="session")
def seed_cli(seed_index: Path):
    """``seed_cli("search", "whale")``: the filmsearch command on the seed index, in-process."""
    from click.testing import CliRunner

    from filmsearch.search.cli import cli

    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, [*args, "--index", str(seed_index)], catch_exceptions=False)

    return invoke


@pytest.fixture(scope="session")
def seed_search(seed_index: Path):
    with FilmSearch(seed_index) as fs:
        yield fs


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the seeds folder."""
    target = tmp_path / "films"
    shutil.copytree(SEEDS, target)
    return target


@pytest.fixture(scope="session")
def shared_corpora() -> Path:
    films = SHARED / "corpora" / "films"
    if not films.is_dir():
        pytest.skip(f"{films} is absent: the real corpora live in ../shared beside the project")
    return films


#: Hypothesis profiles: "ci" keeps the default suite fast; "long" (FILMSEARCH_TEST_PROFILE=long,
#: or --stress) is for nightly and pre-release runs. Tests that want a size of their own
#: scale it from settings().max_examples.
settings.register_profile("ci", max_examples=50, deadline=None)
settings.register_profile(
    "long", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("FILMSEARCH_TEST_PROFILE", "ci"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--stress", action="store_true", help="run the robustness tests at full size (slow)"
    )


@pytest.fixture(scope="session")
def stress(request: pytest.FixtureRequest) -> bool:
    """True when the robustness tests should run at full size."""
    return bool(request.config.getoption("--stress"))


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--stress"):
        settings.load_profile("long")


def pytest_report_header(config: pytest.Config) -> str:
    return f"shared data: {SHARED if SHARED.is_dir() else 'absent (corpus tests skip)'}"


os.environ.pop("FILMSEARCH_INDEX", None)
