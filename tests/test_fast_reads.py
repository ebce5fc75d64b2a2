"""The film ids and field lengths read at once (for a fast first search) equal the
per-document reads, after updates and deletions across segments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from whoosh.util.numeric import byte_to_length

from filmsearch.index import build_index, open_index, whoosh_compat
from filmsearch.index.schema import TEXT_FIELDS
from filmsearch.search.searcher import film_ids

from .conftest import SEEDS, seed_text


def postings_ids(reader: Any) -> list[str]:
    ids = [""] * reader.doc_count_all()
    for term in reader.lexicon("id"):
        for docnum in reader.postings("id", term).all_ids():
            ids[docnum] = term.decode("utf-8")
    return ids


def test_film_ids_and_lengths_equal_the_per_document_reads(tmp_path: Path) -> None:
    films = tmp_path / "films"
    films.mkdir()
    for number in range(30):
        text = seed_text(title=f"Film_{number}", content=f"whale {number}")
        (films / f"f{number:03}.txt").write_text(text)
    index_dir = tmp_path / "ix"
    build_index([SEEDS, films], index_dir)
    for number in range(0, 30, 3):  # updated: their old documents are deleted
        (films / f"f{number:03}.txt").write_text(seed_text(title=f"Film_{number}", content="orca"))
    for number in range(1, 30, 7):  # gone
        (films / f"f{number:03}.txt").unlink()
    build_index([SEEDS, films], index_dir)
    index = open_index(index_dir)
    with index.searcher() as searcher:
        reader = searcher.reader()
        assert reader.has_deletions() and len(reader.leaf_readers()) > 1
        assert film_ids(reader) == postings_ids(reader)
        for segment, _ in reader.leaf_readers():
            for field in (*TEXT_FIELDS, "nothing"):
                stored = whoosh_compat.length_bytes(segment, field)
                assert stored is not None
                assert [byte_to_length(byte) if byte else None for byte in stored] == [
                    segment.doc_field_length(doc, field, None)
                    for doc in range(segment.doc_count_all())
                ]
    index.close()
