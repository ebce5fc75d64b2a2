"""Incremental updates always give what a fresh build of the same files gives.

A hypothesis state machine edits a small folder of seed documents at random —
add, edit, revert to an earlier text, move away and back, delete, empty the
folder and restore it — and updates the index after every step, with one
process and with two. After each step the index must hold exactly the films,
ids and text of a fresh build of the folder, its searches must find the same
films, and an immediate rerun must change nothing.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from filmsearch.index import build_index, open_index
from filmsearch.search import FilmSearch
from tests.conftest import seed_text

NAMES = ("a.txt", "b.txt", "c.txt", "d.txt")
VERSIONS = st.integers(min_value=0, max_value=3)


def version_text(name: str, version: int) -> str:
    """Version ``version`` of file ``name``: its words say which version it is."""
    stem = name.removesuffix(".txt")
    return seed_text(
        title=f"Film_{stem}_v{version}",
        year=str(1990 + version),
        content=f"the story of {stem} in version{version} with the word marker{version}",
        wiki=f"notes {version}",
    )


def index_contents(index_dir: Path, folder: Path) -> list[tuple[object, ...]]:
    """Every live film's stored fields (paths relative to ``folder``), sorted."""
    ix = open_index(index_dir)
    try:
        with ix.reader() as reader:
            return sorted(
                (
                    doc["id"],
                    str(Path(doc["path"]).relative_to(folder)),
                    doc["title"],
                    doc.get("year"),
                    doc["synopsis"],
                    doc["wiki"],
                )
                for doc in reader.all_stored_fields()
            )
    finally:
        ix.close()


def search_results(index_dir: Path) -> dict[str, list[str]]:
    """The ids each version's marker word finds, and the films of each year."""
    with FilmSearch(index_dir) as fs:
        found = {}
        for version in range(4):
            for query in (f"marker{version}", f"year:{1990 + version}"):
                found[query] = sorted(hit.id for hit in fs.search(query, limit=100))
        return found


#: What a fresh build of a folder holds, by the folder's (name, text) pairs: states recur.
_FRESH: dict[tuple[tuple[str, str], ...], tuple[object, object]] = {}


class IncrementalIndex(RuleBasedStateMachine):
    jobs = 1

    def __init__(self) -> None:
        super().__init__()
        self.base = Path(tempfile.mkdtemp(prefix="filmsearch-state-"))
        self.films = self.base / "films"  # the folder that is indexed
        self.away = self.base / "away"  # files moved out of it for a while
        self.stash = self.base / "stash"  # the whole folder, while it is "unmounted"
        for folder in (self.films, self.away, self.stash):
            folder.mkdir()
        self.index_dir = self.base / "ix"
        self.history: dict[str, list[int]] = {}  # versions each file has had
        self.built = False

    def teardown(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)

    def names_in(self, folder: Path) -> list[str]:
        return sorted(path.name for path in folder.iterdir())

    def write(self, name: str, version: int) -> None:
        (self.films / name).write_text(version_text(name, version))
        self.history.setdefault(name, []).append(version)

    def update(self) -> None:
        build_index([self.films], self.index_dir, jobs=self.jobs)
        self.built = True

    @rule(data=st.data(), version=VERSIONS)
    def add(self, data: st.DataObject, version: int) -> None:
        taken = {*self.names_in(self.films), *self.names_in(self.away), *self.names_in(self.stash)}
        free = [name for name in NAMES if name not in taken]
        if free:
            self.write(data.draw(st.sampled_from(free), label="add"), version)
        self.update()

    @precondition(lambda self: any(self.films.iterdir()))
    @rule(data=st.data(), version=VERSIONS)
    def edit(self, data: st.DataObject, version: int) -> None:
        self.write(data.draw(st.sampled_from(self.names_in(self.films)), label="edit"), version)
        self.update()

    @precondition(lambda self: any(self.films.iterdir()))
    @rule(data=st.data())
    def revert(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(self.names_in(self.films)), label="revert")
        self.write(name, data.draw(st.sampled_from(self.history[name]), label="to"))
        self.update()

    @precondition(lambda self: any(self.films.iterdir()))
    @rule(data=st.data())
    def move_away(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(self.names_in(self.films)), label="move away")
        (self.films / name).rename(self.away / name)
        self.update()

    @precondition(lambda self: any(self.away.iterdir()))
    @rule(data=st.data())
    def move_back(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(self.names_in(self.away)), label="move back")
        if not (self.films / name).exists():
            (self.away / name).rename(self.films / name)
        self.update()

    @precondition(lambda self: any(self.films.iterdir()))
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(self.names_in(self.films)), label="delete")
        (self.films / name).unlink()
        self.update()

    @precondition(lambda self: any(self.films.iterdir()) and not any(self.stash.iterdir()))
    @rule()
    def empty_folder(self) -> None:
        for name in self.names_in(self.films):
            (self.films / name).rename(self.stash / name)
        self.update()

    @precondition(lambda self: any(self.stash.iterdir()))
    @rule()
    def restore(self) -> None:
        for name in self.names_in(self.stash):
            if (self.films / name).exists():
                (self.stash / name).unlink()  # replaced meanwhile; the newer file stays
            else:
                (self.stash / name).rename(self.films / name)
        self.update()

    @invariant()
    def the_index_is_a_fresh_build_of_the_folder(self) -> None:
        if not self.built:
            return
        files = tuple((name, (self.films / name).read_text()) for name in self.names_in(self.films))
        if files not in _FRESH:
            fresh = self.base / "fresh"
            shutil.rmtree(fresh, ignore_errors=True)
            build_index([self.films], fresh, jobs=1)
            _FRESH[files] = (index_contents(fresh, self.films), search_results(fresh))
        contents, found = _FRESH[files]
        assert index_contents(self.index_dir, self.films) == contents
        assert search_results(self.index_dir) == found
        again = build_index([self.films], self.index_dir, jobs=self.jobs)
        films = len(list(self.films.iterdir()))
        assert (again.unchanged, again.added, again.replaced, again.removed) == (films, 0, 0, 0)


class IncrementalIndexTwoJobs(IncrementalIndex):
    jobs = 2


# Sizes scale with the hypothesis profile: "ci" (50 examples) keeps this file near 30 s;
# "long" (2000) runs 400 and 100 examples.
_EXAMPLES = settings().max_examples

TestIncrementalOneJob = IncrementalIndex.TestCase
TestIncrementalOneJob.settings = settings(
    max_examples=max(10, _EXAMPLES // 5),
    stateful_step_count=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

TestIncrementalTwoJobs = IncrementalIndexTwoJobs.TestCase
TestIncrementalTwoJobs.settings = settings(
    max_examples=max(5, _EXAMPLES // 20),
    stateful_step_count=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
