"""The analyzer pipelines: folding, stop words, stemming, and name lists."""

from __future__ import annotations

import pickle

import nltk
import pytest

from filmsearch.index.analysis import (
    STEMMERS,
    join_names,
    name_analyzer,
    text_analyzer,
)


def words(analyzer, text: str) -> list[str]:
    return [token.text for token in analyzer(text)]


def test_text_is_lowercased_folded_stopped_and_stemmed() -> None:
    assert words(text_analyzer(), "The Trainers' ACCIDENTS in Antibes") == [
        "trainer",
        "accid",
        "antib",
    ]


def test_accents_fold_in_text_and_names() -> None:
    assert words(text_analyzer("none"), "Céline Almodóvar Kieślowski Noël") == [
        "celine",
        "almodovar",
        "kieslowski",
        "noel",
    ]
    assert words(name_analyzer(), "Céline Sallette") == ["celine", "sallette"]


@pytest.mark.parametrize(
    "stemmer, expected",
    [
        ("snowball", ["trainer", "generous"]),
        ("porter", ["trainer", "gener"]),
        ("lancaster", ["train", "gen"]),
        ("none", ["trainers", "generously"]),
    ],
)
def test_each_stemmer_can_be_chosen(stemmer: str, expected: list[str]) -> None:
    assert stemmer in STEMMERS
    assert words(text_analyzer(stemmer), "trainers generously") == expected


def test_names_are_not_stemmed() -> None:
    assert words(name_analyzer(), "Matthias Schoenaerts") == ["matthias", "schoenaerts"]


def test_name_lists_leave_a_gap_between_people() -> None:
    names = join_names(["Matthias Schoenaerts", "George C. Scott", "Marion Cotillard"])
    positions = {token.text: token.pos for token in name_analyzer()(names, positions=True)}
    assert positions["scott"] - positions["george"] == 1  # the initial leaves no hole
    assert positions["cotillard"] - positions["marion"] == 1
    assert positions["marion"] - positions["schoenaerts"] > 10


def test_analyzers_survive_pickling_as_the_schema_does() -> None:
    analyzer = pickle.loads(pickle.dumps(text_analyzer("porter")))
    assert words(analyzer, "generously") == ["gener"]


def test_no_nltk_data_is_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("nltk.download must never be called")

    monkeypatch.setattr(nltk, "download", refuse)
    monkeypatch.setattr(nltk.data, "path", [])
    for stemmer in STEMMERS:
        assert words(text_analyzer(stemmer), "running")
