"""A build too big for its posting buffer spills sorted runs to disk and still indexes every
posting as a build that fits in memory does."""

from __future__ import annotations

import json
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from benchmarks.synthetic import generate_films
from filmsearch.index import build_index, writer
from filmsearch.index.writer import open_index


def index_content(index_dir: Path) -> dict[str, Any]:
    """Every term's postings (by film id) and every film's stored fields and field lengths."""
    content: dict[str, Any] = {}
    ix = open_index(index_dir)
    with closing(ix), ix.reader() as reader:
        ids = {docnum: fields["id"] for docnum, fields in reader.iter_docs()}
        content["stored"] = sorted(repr(sorted(fields.items())) for _, fields in reader.iter_docs())
        for field, term in reader.all_terms():
            matcher = reader.postings(field, term)
            postings = []
            while matcher.is_active():
                postings.append((ids[matcher.id()], matcher.weight(), matcher.value()))
                matcher.next()
            content[f"{field}:{term!r}"] = sorted(postings)
        for field in reader.schema.scorable_names():
            content[f"length:{field}"] = sorted(
                (ids[docnum], reader.doc_field_length(docnum, field)) for docnum in ids
            )
    return content


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("films") / "films.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for film in generate_films(300, seed=5):
            handle.write(json.dumps(film) + "\n")
    return path


@pytest.mark.parametrize("jobs", [1, 2])
def test_spilled_build_equals_one_in_memory(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    build_index([corpus], tmp_path / "memory", jobs=1)
    monkeypatch.setattr(writer, "WRITER_MB", 2)  # a few runs of postings per process
    report = build_index([corpus], tmp_path / "spilled", jobs=jobs)
    assert report.films == 300
    assert index_content(tmp_path / "spilled") == index_content(tmp_path / "memory")
