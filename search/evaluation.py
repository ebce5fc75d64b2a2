"""Measure ranking on known-item requests: MRR@10, success@1/10, nDCG@10, latency.

The request file is JSON Lines in the format of ``tot-dev.jsonl``: one object a
line with an ``id``, one or more query forms (string fields such as ``short``
and ``long``) and an ``answer`` with ``file``, ``title`` and ``year``. A hit is
the answer when its source file has the answer's file name, or when its title
and year are the answer's. Every query goes through ``FilmSearch.search`` as a
user's would; a query it refuses counts as a miss (``FormReport.refused``).

TREC files are whitespace-separated columns, so request ids, film ids and run
tags are written with ``trec_id``: whitespace, unprintable characters and
``%`` percent-encoded (``urllib.parse.unquote`` reads them back), the same way
in runs and relevance judgements.
"""

from __future__ import annotations

import json
import math
import os
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

from filmsearch.index.errors import DocumentError

from .query import QueryError
from .results import Hit, Results
from .searcher import FilmSearch

#: Rank cut-off of every measure.
K = 10


def trec_id(text: str) -> str:
    """``text`` as one TREC column: never empty, no whitespace or unprintable characters.

    Each whitespace or unprintable character (controls, format characters,
    unassigned code points, lone surrogates) and ``%`` becomes its UTF-8 bytes
    as ``%XX`` (``"my film" -> "my%20film"``), so ids stay readable and
    distinct and ``urllib.parse.unquote`` reads them back; an empty id is
    written ``%``, which no encoded id can be.
    """
    if not text:
        return "%"
    return "".join(
        char
        if char != "%" and char.isprintable() and not char.isspace()
        else "".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))
        for char in text
    )


@dataclass(frozen=True)
class Request:
    """One known-item request: its query forms and the film it is looking for."""

    id: str
    forms: dict[str, str]
    answer_file: str = ""
    answer_title: str = ""
    answer_year: int | None = None

    def is_answer(self, hit: Hit) -> bool:
        if self.answer_file and os.path.basename(hit.path) == self.answer_file:
            return True
        return (
            bool(self.answer_title)
            and hit.year == self.answer_year
            and _fold(hit.title) == _fold(self.answer_title)
        )


@dataclass
class FormReport:
    """The measures for one query form."""

    form: str
    system: str = "filmsearch"
    queries: int = 0
    mrr: float = 0.0
    success_1: float = 0.0
    success_10: float = 0.0
    ndcg: float = 0.0
    mean_ms: float = 0.0
    #: Queries refused as bad queries (each counts as a miss).
    refused: int = 0
    ranks: list[int | None] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("ranks")
        return data


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in text if c.isalnum() or c.isspace()).split())


def read_requests(path: str | os.PathLike[str]) -> list[Request]:
    """Read a request file; a malformed line raises DocumentError naming it."""
    path = os.fspath(path)
    requests = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                answer = row.get("answer") or {}
                forms = {
                    key: value
                    for key, value in row.items()
                    if isinstance(value, str) and key != "id"
                }
                if not forms or not (answer.get("file") or answer.get("title")):
                    raise ValueError("needs at least one query form and an answer")
                year = answer.get("year")
                requests.append(
                    Request(
                        id=str(row.get("id", number)),
                        forms=forms,
                        answer_file=os.path.basename(answer.get("file") or ""),
                        answer_title=answer.get("title") or "",
                        answer_year=int(year) if year else None,
                    )
                )
            except (ValueError, TypeError, AttributeError) as error:
                raise DocumentError(path, number, f"not a request: {error}") from None
    return requests


def measure(rank: int | None) -> tuple[float, float, float, float]:
    """Reciprocal rank, success@1, success@K and nDCG@K for an answer at ``rank`` (None: absent).

    With one relevant film, nDCG@K is ``1 / log2(rank + 1)``.
    """
    if rank is None or rank > K:
        return 0.0, 0.0, 0.0, 0.0
    return 1.0 / rank, float(rank == 1), 1.0, 1.0 / math.log2(rank + 1)


def evaluate(
    fs: FilmSearch,
    requests: list[Request],
    forms: Iterable[str] | None = None,
    *,
    baseline: bool = False,
    mode: str | None = None,
    run_files: dict[str, TextIO] | None = None,
    tag: str = "filmsearch",
    progress: Callable[[int, int], None] | None = None,
) -> list[FormReport]:
    """Run every request's query forms through ``fs`` and measure the rankings.

    With ``baseline``, the queries are ranked by plain BM25 instead (see
    ``FilmSearch.search``); ``mode`` is ``FilmSearch.search``'s ranking mode
    (the report's ``system`` names it). ``run_files`` maps a form to an open file that
    receives the TREC run lines (``qid Q0 docid rank score tag``).
    """
    names = list(forms) if forms else sorted({f for r in requests for f in r.forms})
    system = "bm25" if baseline else (mode or "filmsearch")
    reports = {form: FormReport(form, system) for form in names}
    total, done = len(requests) * len(names), 0
    for request in requests:
        for form in names:
            text = request.forms.get(form)
            if text is not None:
                _run_one(
                    fs,
                    request,
                    text,
                    reports[form],
                    (run_files or {}).get(form),
                    tag,
                    baseline,
                    mode,
                )
            done += 1
            if progress:
                progress(done, total)
    for report in reports.values():
        count = max(report.queries, 1)
        measures = [measure(rank) for rank in report.ranks] or [(0.0, 0.0, 0.0, 0.0)]
        sums = [sum(column) for column in zip(*measures, strict=True)]
        report.mrr, report.success_1, report.success_10, report.ndcg = (s / count for s in sums)
        report.mean_ms /= count
    return list(reports.values())


def _run_one(
    fs: FilmSearch,
    request: Request,
    text: str,
    report: FormReport,
    run_file: TextIO | None,
    tag: str,
    baseline: bool,
    mode: str | None = None,
) -> None:
    started = time.perf_counter()
    try:
        results = fs.search(
            text, limit=K, snippets=False, baseline=baseline, mode=None if baseline else mode
        )
    except QueryError:
        results = Results(query=text, total=0, hits=[])
        report.refused += 1
    report.mean_ms += (time.perf_counter() - started) * 1000
    report.queries += 1
    rank = next((hit.rank for hit in results if request.is_answer(hit)), None)
    report.ranks.append(rank)
    if run_file is not None:
        qid, run_tag = trec_id(request.id), trec_id(tag)
        for hit in results:
            run_file.write(f"{qid} Q0 {trec_id(hit.id)} {hit.rank} {hit.score:.6f} {run_tag}\n")


def write_qrels(requests: list[Request], handle: TextIO) -> None:
    """TREC relevance judgements for the requests (answers named by file)."""
    for request in requests:
        if request.answer_file:
            docno = trec_id(os.path.splitext(request.answer_file)[0])
            handle.write(f"{trec_id(request.id)} 0 {docno} 1\n")
