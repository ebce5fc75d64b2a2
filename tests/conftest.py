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


#: Test profiles, chosen with FILMSEARCH_TEST_PROFILE (or ``--stress``, the same as
#: FILMSEARCH_TEST_PROFILE=stress):
#:
#: - "ci" (the default): hypothesis runs 50 examples per property and the robustness
#:   tests run at a size that keeps the whole suite within a few minutes on 2 cores;
#: - "stress" (also "long"): 2,000 examples per property and the robustness tests at
#:   full size (more kills, more generated queries, bigger corpora), for nightly and
#:   pre-release runs.
#:
#: Tests that size themselves ask the ``stress`` fixture, or scale from
#: ``settings().max_examples``.
PROFILE_ENV = "FILMSEARCH_TEST_PROFILE"
PROFILES = {"ci": "ci", "stress": "stress", "long": "stress"}
settings.register_profile("ci", max_examples=50, deadline=None)
for _name in ("stress", "long"):
    settings.register_profile(
        _name, max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )


def profile_in_force(config: pytest.Config) -> str:
    """The profile in force: ``--stress``, else FILMSEARCH_TEST_PROFILE, else "ci"."""
    if config.getoption("--stress"):
        return "stress"
    name = os.environ.get(PROFILE_ENV, "").strip().lower() or "ci"
    if name not in PROFILES:
        raise pytest.UsageError(
            f"{PROFILE_ENV}={name!r}: not a test profile; use one of {', '.join(PROFILES)}"
        )
    return PROFILES[name]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--stress",
        action="store_true",
        help=f"run the stress profile: full-size robustness tests, long property runs "
        f"(the same as {PROFILE_ENV}=stress)",
    )


def pytest_configure(config: pytest.Config) -> None:
    settings.load_profile(profile_in_force(config))


@pytest.fixture(scope="session")
def stress(request: pytest.FixtureRequest) -> bool:
    """True when the robustness tests should run at full size (the stress profile)."""
    return profile_in_force(request.config) == "stress"


def pytest_report_header(config: pytest.Config) -> list[str]:
    profile = profile_in_force(config)
    return [
        f"shared data: {SHARED if SHARED.is_dir() else 'absent (corpus tests skip)'}",
        f"test profile: {profile} ({settings().max_examples} hypothesis examples; "
        f"{PROFILE_ENV}=stress or --stress for the long run)",
    ]


os.environ.pop("FILMSEARCH_INDEX", None)
