"""The engines filmsearch is compared with, on the same films and queries.

- plain Whoosh with its defaults: one text field (title, synopsis and wiki
  text) with ``StemmingAnalyzer``, BM25F, words OR-ed (Whoosh's default AND
  finds nothing for a paragraph-long request);
- bm25s: BM25 (k1=1.5, b=0.75, Lucene variant) over the same text, tokenized
  by bm25s with English stop words and nltk's Snowball stemmer;
- tantivy: one text field with its ``en_stem`` tokenizer, words OR-ed.

Each engine has ``build(films, folder)`` and ``search(text, k) -> [film id]``.
bm25s and tantivy come from the ``bench`` extra (``pip install '.[bench]'``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from filmsearch.index.documents import Film

_WORDS = re.compile(r"\w+")


def film_text(film: Film) -> str:
    """What every anchor indexes: the title, synopsis and wiki text as one field."""
    return "\n".join((film.title, film.synopsis, film.wiki))


def words_only(text: str) -> str:
    """A request as lower-case words: no query syntax for any parser to trip on."""
    return " ".join(_WORDS.findall(text.lower()))


class Anchor(Protocol):
    """What run.py needs of an engine it compares filmsearch with."""

    name: str

    def build(self, films: Iterable[Film], folder: Path) -> None: ...

    def search(self, text: str, k: int = 10) -> list[str]: ...


class PlainWhoosh:
    name = "plain Whoosh"

    @staticmethod
    def schema() -> Any:
        """One text field of title, synopsis and wiki text, Whoosh's StemmingAnalyzer."""
        from whoosh import fields
        from whoosh.analysis import StemmingAnalyzer

        return fields.Schema(
            id=fields.ID(stored=True, unique=True), text=fields.TEXT(analyzer=StemmingAnalyzer())
        )

    def build(self, films: Iterable[Film], folder: Path) -> None:
        from whoosh import index

        folder.mkdir(parents=True, exist_ok=True)
        writer = index.create_in(str(folder), self.schema()).writer()
        for film in films:
            writer.add_document(id=film.id, text=film_text(film))
        writer.commit()

    def open(self, folder: Path) -> None:
        from whoosh import index
        from whoosh.qparser import OrGroup, QueryParser

        # The schema given, not unpickled from the index: filmsearch's safe unpickler (in
        # force once filmsearch.index is imported) refuses the StemmingAnalyzer's classes.
        self.searcher = index.open_dir(str(folder), schema=self.schema()).searcher()
        self.parser = QueryParser("text", self.searcher.schema, group=OrGroup)

    def search(self, text: str, k: int = 10) -> list[str]:
        results = self.searcher.search(self.parser.parse(words_only(text)), limit=k)
        return [hit["id"] for hit in results]


class Bm25s:
    name = "bm25s"

    def _tokenize(self, texts: list[str]) -> Any:
        import bm25s
        from nltk.stem import SnowballStemmer

        stem = SnowballStemmer("english").stem
        return bm25s.tokenize(
            texts,
            stopwords="en",
            show_progress=False,
            stemmer=lambda words: [stem(word) for word in words],
        )

    def build(self, films: Iterable[Film], folder: Path) -> None:
        import bm25s

        ids, texts = [], []
        for film in films:
            ids.append(film.id)
            texts.append(film_text(film))
        retriever = bm25s.BM25()
        retriever.index(self._tokenize(texts), show_progress=False)
        retriever.save(str(folder))
        (folder / "ids.txt").write_text("\n".join(ids), encoding="utf-8")

    def open(self, folder: Path) -> None:
        import bm25s

        self.retriever = bm25s.BM25.load(str(folder))
        self.ids = (folder / "ids.txt").read_text(encoding="utf-8").split("\n")

    def search(self, text: str, k: int = 10) -> list[str]:
        tokens = self._tokenize([words_only(text)])
        if not tokens.vocab:
            return []
        found, _ = self.retriever.retrieve(tokens, k=min(k, len(self.ids)), show_progress=False)
        return [self.ids[int(doc)] for doc in found[0]]


class Tantivy:
    name = "tantivy"

    def _schema(self) -> Any:
        import tantivy

        builder = tantivy.SchemaBuilder()
        builder.add_text_field("id", stored=True, tokenizer_name="raw")
        builder.add_text_field("text", stored=False, tokenizer_name="en_stem")
        return builder.build()

    def build(self, films: Iterable[Film], folder: Path) -> None:
        import tantivy

        folder.mkdir(parents=True, exist_ok=True)
        writer = tantivy.Index(self._schema(), path=str(folder)).writer()
        for film in films:
            writer.add_document(tantivy.Document(id=film.id, text=film_text(film)))
        writer.commit()
        writer.wait_merging_threads()

    def open(self, folder: Path) -> None:
        import tantivy

        self.index = tantivy.Index(self._schema(), path=str(folder))
        self.index.reload()
        self.searcher = self.index.searcher()

    def search(self, text: str, k: int = 10) -> list[str]:
        words = [w for w in words_only(text).split() if w not in ("and", "or", "not")]
        if not words:
            return []
        query = self.index.parse_query(" ".join(words), ["text"])
        hits = self.searcher.search(query, k).hits
        return [self.searcher.doc(address)["id"][0] for _, address in hits]


ANCHORS: dict[str, type[Anchor]] = {"whoosh": PlainWhoosh, "bm25s": Bm25s, "tantivy": Tantivy}
