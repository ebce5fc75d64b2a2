"""Building and updating an index: counts, incremental updates, atomicity, settings."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from whoosh.fields import ID, Schema

from filmsearch.index import (
    BuildProgress,
    DocumentError,
    IndexMismatchError,
    IndexNotFoundError,
    build_index,
    open_index,
    read_manifest,
    writer,
)
from filmsearch.index.writer import MANIFEST
from filmsearch.search import FilmSearch
from filmsearch.search.cli import cli
from tests.conftest import seed_text


def titles(index_dir: Path) -> set[str]:
    with FilmSearch(index_dir) as fs:
        return {hit.title for hit in fs.search("", year="1800..2100", limit=1000, snippets=False)}


def test_first_build_indexes_every_seed(seeds_dir: Path, tmp_path: Path) -> None:
    report = build_index([seeds_dir], tmp_path / "ix")
    count = len(list(seeds_dir.glob("*.txt")))
    assert (report.added, report.films, report.skipped) == (count, count, [])
    assert read_manifest(tmp_path / "ix")["stemmer"] == "snowball"


def test_reindexing_skips_unchanged_replaces_changed_removes_deleted(
    corpus_copy: Path, tmp_path: Path
) -> None:
    index_dir = tmp_path / "ix"
    first = build_index([corpus_copy], index_dir)
    again = build_index([corpus_copy], index_dir)
    assert (again.unchanged, again.added, again.replaced, again.removed) == (first.films, 0, 0, 0)

    seed = corpus_copy / "000_d3cc3de14da1a221.txt"
    seed.write_text(seed.read_text().replace("Rust_and_Bone", "Rust_and_Bone_Redux"))
    gone = sorted(corpus_copy.glob("0[1-9]*.txt"))[0]
    gone.unlink()
    (corpus_copy / "new.txt").write_text(seed_text(title="Brand_New_Film"))
    update = build_index([corpus_copy], index_dir)
    assert (update.replaced, update.removed, update.added) == (1, 1, 1)
    assert update.unchanged == first.films - 2
    assert update.films == first.films
    names = titles(index_dir)
    assert "Rust and Bone Redux" in names and "Rust and Bone" not in names
    assert "Brand New Film" in names


def test_indexing_a_single_file_leaves_other_films_alone(corpus_copy: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "ix"
    build_index([corpus_copy], index_dir)
    extra = tmp_path / "extra.txt"
    extra.write_text(seed_text(title="Lonely_Extra"))
    report = build_index([extra], index_dir)
    assert report.added == 1 and report.removed == 0
    assert "Lonely Extra" in titles(index_dir) and "Rust and Bone" in titles(index_dir)


def test_broken_documents_are_reported_and_skipped_the_rest_indexed(tmp_path: Path) -> None:
    folder = tmp_path / "films"
    folder.mkdir()
    (folder / "good.txt").write_text(seed_text(title="Good_Film"))
    (folder / "empty.txt").write_bytes(b"")
    (folder / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00IHDR")
    (folder / "latin1.txt").write_bytes(b"Caf\xe9_Noir\nReleased Year: 1950\n")
    seen: list[tuple[str, bool]] = []
    report = build_index(
        [folder],
        tmp_path / "ix",
        on_problem=lambda error, skipped: seen.append((str(error), skipped)),
    )
    assert report.films == 2
    assert sorted(Path(e.path).name for e in report.skipped) == ["empty.txt", "image.txt"]
    assert all(isinstance(e, DocumentError) and e.line >= 1 for e in report.skipped)
    assert [w.path for w in report.warnings] == [str(folder / "latin1.txt")]
    assert len(seen) == 3 and {s for _, s in seen} == {True, False}


def test_a_build_interrupted_midway_leaves_the_committed_index_intact(
    corpus_copy: Path, tmp_path: Path
) -> None:
    index_dir = tmp_path / "ix"
    build_index([corpus_copy], index_dir)
    before = titles(index_dir)
    for path in corpus_copy.glob("*.txt"):
        path.write_text(seed_text(title="Overwritten_" + path.stem))

    def interrupt(state: BuildProgress) -> None:
        if state.files_done == state.files_total // 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_index([corpus_copy], index_dir, progress=interrupt)
    assert titles(index_dir) == before
    assert build_index([corpus_copy], index_dir).replaced == len(before)


def test_an_interrupted_first_build_leaves_no_half_index(corpus_copy: Path, tmp_path: Path) -> None:
    def interrupt(state: BuildProgress) -> None:
        raise KeyboardInterrupt

    index_dir = tmp_path / "ix"
    with pytest.raises(KeyboardInterrupt):
        build_index([corpus_copy], index_dir, progress=interrupt)
    assert not [p for p in index_dir.iterdir() if p.name.startswith(".filmsearch-build")]
    with pytest.raises(IndexNotFoundError):
        FilmSearch(index_dir)
    assert build_index([corpus_copy], index_dir).films > 60


def test_stemmer_is_recorded_and_a_different_one_needs_rebuild(
    seeds_dir: Path, tmp_path: Path
) -> None:
    index_dir = tmp_path / "ix"
    build_index([seeds_dir], index_dir, stemmer="porter")
    assert json.loads((index_dir / MANIFEST).read_text())["stemmer"] == "porter"
    assert build_index([seeds_dir], index_dir).unchanged > 0  # keeps porter by default
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        build_index([seeds_dir], index_dir, stemmer="lancaster")
    report = build_index([seeds_dir], index_dir, stemmer="lancaster", rebuild=True)
    assert report.added == report.films
    assert read_manifest(index_dir)["stemmer"] == "lancaster"


def test_refuses_to_write_into_a_folder_that_is_not_an_index(
    seeds_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "precious.txt").write_text("do not delete")
    with pytest.raises(IndexMismatchError, match="not a filmsearch index"):
        build_index([seeds_dir], tmp_path)
    assert (tmp_path / "precious.txt").read_text() == "do not delete"


def test_opening_a_missing_index_says_how_to_build_one(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError, match="filmsearch index PATH --index"):
        FilmSearch(tmp_path / "nowhere")


def test_real_corpus_sample_indexes_without_skips(shared_corpora: Path, tmp_path: Path) -> None:
    sample = tmp_path / "sample"
    sample.mkdir()
    for path in sorted(shared_corpora.iterdir())[::40]:
        (sample / path.name).symlink_to(path)
    report = build_index([sample], tmp_path / "ix")
    assert report.skipped == []
    assert report.films == len(list(sample.iterdir()))


def live_films(index_dir: Path) -> list[tuple[str, str, str]]:
    """Every live document of the index as (id, title, path), sorted."""
    ix = open_index(index_dir)
    try:
        with ix.reader() as reader:
            return sorted((d["id"], d["title"], d["path"]) for d in reader.all_stored_fields())
    finally:
        ix.close()


def test_a_file_reached_twice_is_indexed_once(seeds_dir: Path, tmp_path: Path) -> None:
    films = tmp_path / "films"  # five seed films: what is counted is films, not their number
    films.mkdir()
    for seed in sorted(seeds_dir.glob("*.txt"))[:5]:
        shutil.copy(seed, films)
    count = 5
    one = sorted(films.glob("*.txt"))[3]
    link = tmp_path / "link"
    link.symlink_to(films, target_is_directory=True)
    for number, paths in enumerate(
        [[films, films], [films, one], [one, films], [films, link / one.name]]
    ):
        index_dir = tmp_path / f"ix{number}"
        report = build_index(paths, index_dir)
        assert (report.added, report.films) == (count, count), paths
        found = live_films(index_dir)
        assert len(found) == count and len({film_id for film_id, _, _ in found}) == count
        assert build_index(paths, index_dir).unchanged == count


def test_two_records_with_one_id_give_one_film_and_a_report(tmp_path: Path) -> None:
    folder = tmp_path / "dumps"
    folder.mkdir()
    (folder / "films.csv").write_text(
        "id,title,year,overview\n"
        "7,First Seven,2001,a plot\n"
        "8,Eight,2002,a plot\n"
        '7,"Second Seven",2003,"a plot\nover two lines"\n'
        "9,Nine,2004,a plot\n"
        "7,Third Seven,2005,a plot\n"
    )
    (folder / "more.jsonl").write_text(
        '{"id": "a", "title": "First A"}\n'
        '{"id": "b", "title": "B"}\n'
        '{"id": "a", "title": "Second A"}\n'
    )
    seen: list[str] = []
    report = build_index(
        [folder], tmp_path / "ix", on_problem=lambda error, skipped: seen.append(str(error))
    )
    films = live_films(tmp_path / "ix")
    assert [(film_id, title) for film_id, title, _ in films] == [
        ("films:7", "First Seven"),
        ("films:8", "Eight"),
        ("films:9", "Nine"),
        ("more:a", "First A"),
        ("more:b", "B"),
    ]
    assert report.films == 5
    csv_path, jsonl_path = folder / "films.csv", folder / "more.jsonl"
    assert sorted(seen) == [
        f"{csv_path}:4: duplicate id 'films:7', first on line 2; skipped",
        f"{csv_path}:7: duplicate id 'films:7', first on line 2; skipped",
        f"{jsonl_path}:3: duplicate id 'more:a', first on line 1; skipped",
    ]
    assert len(report.skipped) == 3


def test_a_folder_that_is_not_empty_and_not_an_index_is_refused(
    seeds_dir: Path, tmp_path: Path
) -> None:
    hidden = tmp_path / "dotfiles"
    hidden.mkdir()
    (hidden / ".bashrc").write_text("export PATH")
    (hidden / ".config").mkdir()
    with pytest.raises(IndexMismatchError) as caught:
        build_index([seeds_dir], hidden)
    message = str(caught.value)
    assert str(hidden) in message and "not empty" in message
    assert "not a filmsearch index" in message
    assert sorted(p.name for p in hidden.iterdir()) == [".bashrc", ".config"]  # untouched

    result = CliRunner().invoke(
        cli, ["index", str(seeds_dir)], env={"FILMSEARCH_INDEX": str(hidden)}
    )
    assert result.exit_code == 2 and "not a filmsearch index" in result.output
    assert sorted(p.name for p in hidden.iterdir()) == [".bashrc", ".config"]

    empty = tmp_path / "empty"
    empty.mkdir()
    assert build_index([seeds_dir], empty).films > 60
    assert build_index([seeds_dir], tmp_path / "new" / "ix").films > 60


def test_an_index_from_before_sources_were_stored_updates_from_live_documents(
    corpus_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Indexes built before the ``source`` field was stored count live postings instead."""

    build_schema = writer.build_schema

    def schema_of_old(stemmer: str) -> Schema:
        schema = build_schema(stemmer)
        schema.remove("source")
        schema.add("source", ID)
        return schema

    monkeypatch.setattr(writer, "build_schema", schema_of_old)
    index_dir = tmp_path / "ix"
    count = build_index([corpus_copy], index_dir).films
    monkeypatch.undo()
    stash = tmp_path / "stash"
    corpus_copy.rename(stash)
    corpus_copy.mkdir()
    assert build_index([corpus_copy], index_dir).removed == count
    corpus_copy.rmdir()
    stash.rename(corpus_copy)
    assert build_index([corpus_copy], index_dir).added == count
    assert len(live_films(index_dir)) == count
    again = build_index([corpus_copy], index_dir)
    assert (again.unchanged, again.changed) == (count, False)


def test_updating_an_index_with_vectors_without_the_semantic_extra_says_what_to_do(
    seeds_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from filmsearch.index import SemanticUnavailableError
    from filmsearch.index.writer import VECTORS_META

    target = tmp_path / "ix"
    build_index(seeds_dir, target)
    (target / VECTORS_META).write_text("{}", encoding="utf-8")  # as if built with --semantic
    import filmsearch.index

    # As without numpy: the module cannot be imported (nor found on its package).
    monkeypatch.setitem(sys.modules, "filmsearch.index.embedding", None)
    monkeypatch.delattr(filmsearch.index, "embedding", raising=False)
    with pytest.raises(SemanticUnavailableError) as refused:
        build_index(seeds_dir, target)
    assert "pip install 'filmsearch[semantic]'" in str(refused.value)
    assert "--no-semantic" in str(refused.value)
    report = build_index(seeds_dir, target, semantic=False)  # the way out: drop the vectors
    assert not report.vectors and not (target / VECTORS_META).exists()
    with FilmSearch(target) as fs:
        assert fs.search("whale").mode == "lexical"
