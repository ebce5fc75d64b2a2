"""A fast start: the stems stay nltk's without importing nltk, and a search loads only
what it uses (no nltk, no numpy, no torch for a lexical search)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nltk.stem import SnowballStemmer

from filmsearch.index.analysis import MAX_PORTED_YS, snowball_english, text_analyzer

from .conftest import SEEDS

NLTK_ENGLISH = SnowballStemmer("english").stem

#: nltk's special cases, words at its length rules, apostrophes, y's, capitals.
TRICKY = [
    "a", "at", "ats", "sky", "skies", "dying", "lying", "news", "gently", "early", "only",
    "inning", "outings", "succeeding", "proceed", "generously", "'tis", "o'brien's",
    "dog\u2019s", "yelling", "player", "Rayleigh", "SAYING", "İstanbul", "\u0131y", "crying",
    "sayyid", "y", "yy", "yyy", "ay" * (MAX_PORTED_YS + 1), "ay" * MAX_PORTED_YS,
]  # fmt: skip


def test_the_snowball_stems_are_nltks_on_the_seeds_and_tricky_words() -> None:
    words = set(TRICKY)
    for path in SEEDS.iterdir():
        text = path.read_text(encoding="utf-8", errors="replace")
        words.update(text.split())
        words.update(token.text for token in text_analyzer("none")(text))
    assert len(words) > 5_000
    assert {w: snowball_english(w) for w in words} == {w: NLTK_ENGLISH(w) for w in words}


@given(st.text(alphabet="aeiouyAYbcdglnrst'\u2019\u0131İéß", max_size=14))
def test_the_snowball_stems_are_nltks_on_any_word(word: str) -> None:
    assert snowball_english(word) == NLTK_ENGLISH(word)


def test_a_crafted_word_of_many_ys_is_stemmed_as_nltk_does() -> None:
    word = "ay" * 20_000  # the port would rebuild these 40,000 letters 20,000 times
    assert snowball_english(word) == NLTK_ENGLISH(word)


def loaded_modules(code: str, *argv: str) -> set[str]:
    """The modules a fresh Python has loaded after running ``code`` with ``argv``."""
    script = (
        "import atexit, json, sys\n"
        "atexit.register(lambda: sys.stderr.write('\\nMODULES ' + json.dumps(sorted(sys.modules))))"
        "\n"
        f"sys.argv = ['filmsearch', *{list(argv)!r}]\n" + code
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stderr.rpartition("MODULES ")[2]))


HEAVY = ("nltk", "numpy", "torch", "sentence_transformers", "scipy", "sklearn")


def heavy(modules: set[str]) -> set[str]:
    return {name for name in modules if name.split(".")[0] in HEAVY}


def test_importing_filmsearch_loads_no_heavy_library() -> None:
    modules = loaded_modules("import filmsearch\nfilmsearch.FilmSearch, filmsearch.build_index")
    assert heavy(modules) == set()


#: Modules a one-shot lexical search has no use for: the other commands' (the exporter,
#: the evaluation, the web server) and the Snowball stemmers of languages but English.
NOT_FOR_A_SEARCH = (
    "filmsearch.search.export",
    "filmsearch.search.evaluation",
    "filmsearch.search.server",
    "whoosh.lang.snowball.danish",
    "whoosh.lang.snowball.russian",
    # the builder, and what only it uses
    "filmsearch.index.writer",
    "filmsearch.index.formats",
    "filmsearch.index.tabular",
    "filmsearch.index.locking",
    "multiprocessing",
    "whoosh.multiproc",
    # the query parser (plain words need none), explanations, statistics, hybrid ranking
    "whoosh.qparser",
    "filmsearch.search.parser",
    "filmsearch.search.explain",
    "filmsearch.search.stats",
    "filmsearch.search.fusion",
)


def test_a_lexical_search_from_the_command_line_loads_only_what_it_uses(
    seed_index: Path,
) -> None:
    modules = loaded_modules(
        "from filmsearch.search.cli import main\nmain()",
        "search", "whale trainer accident", "--index", str(seed_index), "--mode", "lexical",
    )  # fmt: skip
    assert "filmsearch.search.searcher" in modules  # it did search
    assert "whoosh.lang.snowball.english" in modules  # it did stem
    assert heavy(modules) == set()
    assert modules.isdisjoint(NOT_FOR_A_SEARCH)


def test_a_search_with_query_syntax_loads_the_parser(seed_index: Path) -> None:
    modules = loaded_modules(
        "from filmsearch.search.cli import main\nmain()",
        "search", "director:audiard year:2010..2015", "--index", str(seed_index),
    )  # fmt: skip
    assert {"whoosh.qparser", "filmsearch.search.parser"} <= modules


def test_the_parser_s_names_are_still_importable_from_query() -> None:
    from filmsearch.search import parser, query
    from filmsearch.search.query import make_parser, parse_query

    assert make_parser is parser.make_parser and parse_query is parser.parse_query
    assert query.ValidationPlugin is parser.ValidationPlugin
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = query.no_such_name


def test_the_snowball_stemmers_of_other_languages_load_when_asked_for() -> None:
    code = (
        "import sys\n"
        "import filmsearch.index\n"
        "from whoosh.lang.snowball.english import EnglishStemmer\n"
        "assert 'whoosh.lang.snowball.french' not in sys.modules\n"
        "from whoosh.lang import stemmer_for_language\n"
        "assert stemmer_for_language('fr')('chevaux') == 'cheval'\n"
        "import whoosh.lang.snowball as snowball\n"
        "assert snowball.EnglishStemmer is EnglishStemmer and len(snowball.classes) == 14\n"
        "assert not hasattr(snowball, 'no_such_name')\n"
    )
    assert "whoosh.lang.snowball.french" in loaded_modules(code)


def test_whoosh_s_porter_stemmer_double_metaphone_and_morph_en_run_when_first_called() -> None:
    code = (
        "import pickle, sys\n"
        "import filmsearch.index\n"
        "import whoosh.analysis\n"
        "porter = sys.modules['whoosh.lang.porter']\n"
        "assert '_step2' not in vars(porter)  # imported by whoosh.analysis, not run\n"
        "from whoosh.lang.porter import stem\n"
        "assert stem('generously') == 'gener' and '_step2' in vars(porter)\n"
        "assert porter.stem is stem and whoosh.analysis.StemFilter().stemfn is stem\n"
        "assert pickle.loads(pickle.dumps(whoosh.analysis.StemFilter())).stemfn is stem\n"
        "from whoosh.lang.dmetaphone import double_metaphone\n"
        "assert double_metaphone('Thompson') == ('TMPSN', None)\n"
        "import whoosh.query\n"
        "morph = sys.modules['whoosh.lang.morph_en']\n"
        "assert '__getattr__' in vars(morph)  # imported by whoosh.query.terms, not run\n"
        "from whoosh.lang.morph_en import variations\n"
        "assert 'runner' in variations('run') and '__getattr__' not in vars(morph)\n"
    )
    loaded_modules(code)


@pytest.mark.parametrize("enabled", [True, False])
def test_importing_the_command_leaves_garbage_collection_as_it_was(enabled: bool) -> None:
    code = (
        "import gc\n"
        f"{'gc.enable()' if enabled else 'gc.disable()'}\n"
        "import filmsearch.search.cli\n"
        f"assert gc.isenabled() is {enabled}\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("stemmer", ["porter", "lancaster"])
def test_other_stemmers_load_nltk_only_when_they_stem(stemmer: str) -> None:
    code = (
        "import sys\n"
        "from filmsearch.index.analysis import text_analyzer\n"
        f"analyzer = text_analyzer({stemmer!r})\n"
        "assert 'nltk' not in sys.modules\n"
        "assert [t.text for t in analyzer('trainers')]\n"
    )
    assert "nltk" in loaded_modules(code)


def test_every_public_name_is_re_exported_as_before() -> None:
    import filmsearch
    import filmsearch.index
    import filmsearch.search
    from filmsearch.index import writer
    from filmsearch.search import searcher, term_scores  # submodules still import this way

    for package in (filmsearch, filmsearch.index, filmsearch.search):
        for name in package.__all__:
            assert getattr(package, name) is not None, (package.__name__, name)
            assert name in dir(package)
    assert filmsearch.FilmSearch is filmsearch.search.FilmSearch is searcher.FilmSearch
    assert filmsearch.build_index is filmsearch.index.build_index is writer.build_index
    assert term_scores.__name__ == "filmsearch.search.term_scores"
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = filmsearch.no_such_name
    with pytest.raises(ImportError):
        from filmsearch import no_such_name  # noqa: F401
