"""Why a film ranked where it did: its score taken apart the way the ranking put it together.

``explain_lexical`` follows the query as the scorers do (``bm25f``,
``term_scores``): a keyword's BM25F score, split over the fields in proportion
to each field's share of the word's weighted, length-normalised frequency
(BM25F adds the fields up before saturating, so that is the only exact split);
the keywords' sum times the coordination factor (``ranking.coordination``; a
whole name is a bonus outside it) and the year and genre hint boosts, with each
word's part scaled by them so that the parts add up; a phrase (a name) as the
sum of its words, each scored in its field alone (``term_scores.FieldBM25``);
field clauses, wildcards and filters as their matchers score them; ``AND``
and ``OR`` as sums. ``explain_fused`` puts a hybrid or semantic score together
from its words part and its meaning part. A part that could not be taken apart
further is shown whole, and any difference from the score (there should be
none) as "other".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

from whoosh import query as wq

from . import ranking, term_scores
from .bm25f import FieldedWord, Keywords, NameMatch, ScoredOr, clause_share

#: Scores closer than this count as equal.
TOLERANCE = 1e-6


@dataclass(frozen=True)
class Part:
    """One part of a score: what it is, how much it adds, and its own parts (which add up
    to it). ``factor`` notes a multiplier already applied to the parts (coordination, hints)."""

    what: str
    score: float
    parts: tuple[Part, ...] = ()
    factor: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"what": self.what, "score": round(self.score, 4)}
        if self.factor:
            out["factor"] = self.factor
        if self.parts:
            out["parts"] = [part.to_dict() for part in self.parts]
        return out

    def lines(self, depth: int = 0) -> Iterator[str]:
        """The part as an indented tree, one line each."""
        factor = f"  ({self.factor})" if self.factor else ""
        yield f"{'  ' * depth}{self.score:8.4f}  {self.what}{factor}"
        for part in self.parts:
            yield from part.lines(depth + 1)

    def scaled(self, by: float) -> Part:
        return Part(
            self.what, self.score * by, tuple(p.scaled(by) for p in self.parts), self.factor
        )


def _word(q: FieldedWord) -> str:
    """The keyword a FieldedWord stands for, as typed (its unstemmed title_exact term)."""
    subs = [getattr(sub, "child", sub) for sub in q.subqueries]  # wildcards are wrapped
    for sub in sorted(subs, key=lambda sub: getattr(sub, "fieldname", "") != "title_exact"):
        words = getattr(sub, "text", None) or " ".join(getattr(sub, "words", ()))
        if words:
            return str(words) + ("*" if isinstance(sub, wq.Prefix) else "")
    return str(q)


def _score_at(q: wq.Query, searcher: Any, context: Any, doc: int) -> float | None:
    """``q``'s score of the segment's document ``doc``, None if it does not match."""
    matcher = q.matcher(searcher, context)
    if not matcher.is_active():
        return None
    if matcher.id() < doc:
        matcher.skip_to(doc)
    if matcher.is_active() and matcher.id() == doc:
        return float(matcher.score())
    return None


def _frequency(reader: Any, fieldname: str, text: str, doc: int) -> float:
    """How often the segment's document ``doc`` holds ``text`` in ``fieldname``."""
    if (fieldname, text) not in reader:
        return 0.0
    postings = reader.postings(fieldname, text)
    postings.skip_to(doc)
    if postings.is_active() and postings.id() == doc:
        return float(postings.weight())
    return 0.0


def _fielded_word(q: FieldedWord, searcher: Any, context: Any, doc: int) -> Part | None:
    score = q.scores(searcher, context).get(doc)
    if score is None:
        return None
    what = f"word {_word(q)!r}"
    if not all(isinstance(sub, wq.Term) for sub in q.subqueries):
        parts = [_part(sub, searcher, context, doc) for sub in q.subqueries]
        return Part(what, score, tuple(p for p in parts if p is not None))
    reader = searcher.reader()
    parent = searcher.get_parent()
    shares: dict[str, float] = {}
    for term in cast("list[wq.Term]", q.subqueries):  # checked above
        fieldname = term.fieldname
        if fieldname not in searcher.schema or not searcher.schema[fieldname].scorable:
            continue
        freq = _frequency(reader, fieldname, term.text, doc)
        if freq:
            factors = term_scores.field_factors(
                reader,
                fieldname,
                term.boost,
                ranking.field_b(fieldname),
                parent.avg_field_length(fieldname) or 1.0,
            )
            shares[fieldname] = shares.get(fieldname, 0.0) + freq * factors[doc]
    total = sum(shares.values())
    if not total:
        return Part(what, score)
    fields = tuple(Part(f"in {name}", score * share / total) for name, share in shares.items())
    return Part(what, score, fields)


def _scored_or(q: ScoredOr, searcher: Any, context: Any, doc: int) -> Part | None:
    parts: list[Part] = []
    matched = 0.0
    for sub in q.subqueries:
        part = _part(sub, searcher, context, doc)
        if part is not None:
            parts.append(part)
            matched += clause_share(sub)
    if not parts:
        return None
    factor, notes = 1.0, []
    if isinstance(q, Keywords):
        subs = q.subqueries
        weight = sum(clause_share(sub) for sub in subs) or 1.0
        coordination = ranking.coordination(matched, weight, len(subs))
        if abs(coordination - 1.0) > TOLERANCE:
            factor *= coordination
            notes.append(f"x{coordination:.3g} for matching {matched:g} of {weight:g} words")
        hints = [
            (wq.NumericRange("year", low, high), ranking.YEAR_HINT_BOOST, "year")
            for low, high in q.hints.years
        ] + [
            (wq.Term("genre", genre), ranking.GENRE_HINT_BOOST, "genre") for genre in q.hints.genres
        ]
        for hinted, boost, kind in hints:
            if boost and _score_at(hinted, searcher, context, doc) is not None:
                factor *= 1.0 + boost
                notes.append(f"x{1.0 + boost:g} for fitting a {kind} hint")
                break
    total = sum(part.score for part in parts) * factor
    what = "keywords" if isinstance(q, Keywords) else "any of"
    return Part(what, total, tuple(p.scaled(factor) for p in parts), ", ".join(notes))


def _part(q: wq.Query, searcher: Any, context: Any, doc: int) -> Part | None:
    """The explanation of ``q``'s score of ``doc`` (a segment document), None if no match."""
    if isinstance(q, FieldedWord):
        return _fielded_word(q, searcher, context, doc)
    if isinstance(q, ScoredOr):
        return _scored_or(q, searcher, context, doc)
    if isinstance(q, NameMatch):
        names = [_part(sub, searcher, context, doc) for sub in q.subqueries]
        found = tuple(p for p in names if p is not None)
        return Part("as a name", sum(p.score for p in found), found) if found else None
    if isinstance(q, (wq.AndNot, wq.Require)):
        return _part(q.a, searcher, context, doc)
    if isinstance(q, wq.AndMaybe):
        first = _part(q.a, searcher, context, doc)
        if first is None:
            return None
        maybe = _part(q.b, searcher, context, doc)
        both = (first,) if maybe is None else (first, maybe)
        return Part("and maybe", sum(p.score for p in both), both)
    if isinstance(q, (wq.And, wq.Or)) and not isinstance(q, (wq.DisjunctionMax,)):
        parts = [_part(sub, searcher, context, doc) for sub in q.subqueries]
        found = tuple(p for p in parts if p is not None)
        if not found or (isinstance(q, wq.And) and len(found) < len(parts)):
            return None
        what = "all of" if isinstance(q, wq.And) else "any of"
        score = _score_at(q, searcher, context, doc)
        total = sum(p.score for p in found)
        if score is not None and abs(score - total) > TOLERANCE * max(1.0, abs(score)):
            return Part(what, score)  # whoosh scored it otherwise: shown whole
        return Part(what, total, found)
    score = _score_at(q, searcher, context, doc)
    if score is None:
        return None
    inner = getattr(q, "child", q)  # term_scores.Scored wraps phrases
    if isinstance(inner, wq.Phrase):
        return _phrase(inner, searcher, context, doc, Part(_leaf_name(q), score))
    return Part(_leaf_name(q), score)


def _phrase(q: wq.Phrase, searcher: Any, context: Any, doc: int, whole: Part) -> Part:
    """A phrase's score as its words' (each scored in the phrase's field alone, as
    ``term_scores.FieldBM25`` scores them and Whoosh adds them up)."""
    parts = []
    for word in q.words:
        score = _score_at(wq.Term(q.fieldname, word, boost=q.boost), searcher, context, doc)
        if score is None:
            return whole
        parts.append(Part(f"{word!r} in {q.fieldname}", score))
    if abs(sum(p.score for p in parts) - whole.score) > TOLERANCE * max(1.0, abs(whole.score)):
        return whole  # scored otherwise: shown whole
    return Part(whole.what, whole.score, tuple(parts))


def _leaf_name(q: wq.Query) -> str:
    if isinstance(q, wq.NumericRange):
        return f"filter {q}"
    inner = getattr(q, "child", None)
    return str(inner if inner is not None else q)


def explain_lexical(q: wq.Query, searcher: Any, docnum: int, score: float) -> Part:
    """``score`` (the film's ranking score for ``q``) taken apart (see the module docstring)."""
    context = searcher.context()
    part: Part | None = None
    for leaf, offset in searcher.leaf_searchers():
        if offset <= docnum < offset + leaf.reader().doc_count_all():
            part = _part(q, leaf, context, docnum - offset)
            break
    parts: tuple[Part, ...] = (part,) if part is not None else ()
    return _balanced(Part("words (BM25F)", score, parts))


def _balanced(part: Part) -> Part:
    """``part`` with an "other" part for any difference between its score and its parts'."""
    if not part.parts:
        return part
    rest = part.score - sum(p.score for p in part.parts)
    if abs(rest) <= TOLERANCE * max(1.0, abs(part.score)):
        return part
    return Part(part.what, part.score, (*part.parts, Part("other", rest)), part.factor)


def explain_fused(
    mode: str,
    score: float,
    lexical: Part | None,
    bm25: float,
    top_bm25: float,
    cosine: float,
    semantic_weight: float,
) -> Part:
    """A hybrid (``(1 - w) * bm25 / max bm25 + w * cosine``) or semantic (cosine) score."""
    if mode == "semantic":
        return Part("meaning (cosine similarity)", score)
    words = (1.0 - semantic_weight) * (bm25 / top_bm25 if top_bm25 > 0 else 0.0)
    parts = []
    if lexical is not None and bm25:
        scale = words / bm25
        parts.append(
            Part(
                "words",
                words,
                tuple(p.scaled(scale) for p in lexical.parts),
                f"BM25F {bm25:.4g} / best {top_bm25:.4g} x {1.0 - semantic_weight:.2g}",
            )
        )
    else:
        parts.append(Part("words", words, factor="not among the best films by words"))
    parts.append(
        Part(
            "meaning",
            semantic_weight * cosine,
            factor=f"cosine {cosine:.4g} x {semantic_weight:.2g}",
        )
    )
    return _balanced(Part(f"{mode} score", score, tuple(parts)))
