"""``filmsearch serve``: the page and the JSON API, through FastAPI's test client and a real
server process (issue 16)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the serve extra (fastapi, uvicorn, jinja2) is not installed")

from fastapi.testclient import TestClient  # Starlette's: httpx2, or httpx (the test extra)

from filmsearch import FilmSearch, IndexNotFoundError, build_index
from filmsearch.search.query import MAX_QUERY_CHARS
from filmsearch.search.server import CSP, create_app, run_server

from .conftest import SEEDS, seed_text
from .helpers import PROJECT

RUST_AND_BONE = "000_d3cc3de14da1a221"
WHALE = "whale trainer accident"
#: A misspelt director (Jacques Audiard) and what typo correction makes of it.
MISSPELT, CORRECTED = "director:audiad", "director:audiard"
HOSTILE_ID = "hostile"
HOSTILE_TITLE = "<script>window.pwned=1</script>Zanzibar_<img src=x onerror=window.pwned=2>"
HOSTILE_SYNOPSIS = (
    'A zanzibar smuggler. <script>window.pwned = 3</script> "quoted" & <b>bold</b> ' + "z" * 300
)


def hostile_seed(folder: Path) -> Path:
    """A folder holding one film whose title and synopsis are HTML that must stay text."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{HOSTILE_ID}.txt").write_text(
        seed_text(title=HOSTILE_TITLE, content=HOSTILE_SYNOPSIS, director="<i>Eve</i>"),
        encoding="utf-8",
    )
    return folder


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled seeds and one hostile film."""
    root = tmp_path_factory.mktemp("serve")
    build_index([SEEDS, hostile_seed(root / "hostile")], root / "index")
    return root / "index"


@pytest.fixture(scope="module")
def client(index_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(index_dir)) as test_client:
        yield test_client


def hit_ids(html: str) -> list[str]:
    return re.findall(r'<li class="hit" value="\d+" data-id="([^"]+)"', html)


# ---- the page ------------------------------------------------------------------------


def test_page_without_query_is_a_search_form(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<form id="search-form" class="search" action="/" method="get"' in page.text
    assert '<input type="search" id="q" name="q"' in page.text
    assert '<label for="q">' in page.text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page.text
    assert hit_ids(page.text) == []


@pytest.mark.parametrize("path", ["/", "/?q=whale", f"/films/{RUST_AND_BONE}", "/healthz"])
def test_pages_answer_head_requests_as_get_without_a_body(client: TestClient, path: str) -> None:
    # uptime checkers and link previewers ask HEAD first
    head, get = client.head(path), client.get(path)
    assert head.status_code == get.status_code == 200
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.content == b""


def test_page_search_ranks_the_expected_film_first_with_marked_snippet(client: TestClient) -> None:
    page = client.get("/", params={"q": WHALE})
    assert page.status_code == 200
    assert hit_ids(page.text)[0] == RUST_AND_BONE
    first = page.text.split('<li class="hit"')[1]
    assert ">Rust and Bone</a>" in first
    assert "Jacques Audiard" in first
    assert "<mark>whale</mark> <mark>trainer</mark>" in first
    assert f'value="{WHALE}"' in page.text  # the box keeps the query


def test_page_has_no_external_resources_and_no_inline_code(client: TestClient) -> None:
    page = client.get("/", params={"q": WHALE}).text
    assert re.findall(r'<script src="([^"]+)"', page) == ["/static/app.js"]
    assert re.findall(r'<link rel="stylesheet" href="([^"]+)"', page) == ["/static/style.css"]
    assert not re.search(r"<script>|<style|style=|\son\w+=", page)
    assert not re.search(r'(src|href)="(https?:)?//', page)
    for asset in ("/static/app.js", "/static/style.css"):
        response = client.get(asset)
        assert response.status_code == 200
        assert "http://" not in response.text and "https://" not in response.text


def test_page_pages_through_results_with_offset(client: TestClient) -> None:
    first = client.get("/", params={"q": "love OR war OR man"}).text
    second = client.get("/", params={"q": "love OR war OR man", "offset": "10"}).text
    assert len(hit_ids(first)) == 10
    assert hit_ids(second) and not set(hit_ids(first)) & set(hit_ids(second))
    assert "showing 1\u201310." in first and "showing 11\u201320." in second
    assert 'rel="next" href="/?q=love+OR+war+OR+man&amp;offset=10"' in first
    assert 'rel="prev" href="/?q=love+OR+war+OR+man"' in second
    assert '<li class="hit" value="11"' in second
    with FilmSearch(client.app.state.pool.index_dir) as fs:  # type: ignore[attr-defined]
        assert hit_ids(second) == [hit.id for hit in fs.search("love OR war OR man", limit=20)][10:]


def test_page_filters_come_from_the_form_and_can_be_removed(client: TestClient) -> None:
    page = client.get("/", params={"q": "", "director": "audiard", "year": "2010..2015"}).text
    assert RUST_AND_BONE in hit_ids(page)
    # Active filters travel with the form and each can be taken away.
    assert '<input type="hidden" name="director" value="audiard">' in page
    assert '<a href="/?year=2010..2015" title="Remove this filter">director: audiard' in page
    assert '<a href="/?director=audiard" title="Remove this filter">year: 2010..2015' in page


def test_page_shows_the_corrected_query_and_how_to_search_as_typed(client: TestClient) -> None:
    page = client.get("/", params={"q": MISSPELT}).text
    assert (
        f'Showing results for <a href="/?q=director%3Aaudiard"><strong>{CORRECTED}</strong>' in page
    )
    assert f'href="/?q=director%3Aaudiad&amp;exact=true">Search instead for {MISSPELT}</a>' in page
    assert RUST_AND_BONE in hit_ids(page)
    as_typed = client.get("/", params={"q": MISSPELT, "exact": "true"}).text
    assert "Showing results for" not in as_typed and hit_ids(as_typed) == []
    assert "No films match." in as_typed


def test_page_suggests_other_spellings_when_little_is_found(client: TestClient) -> None:
    page = client.get("/", params={"q": "bonne", "genre": "drama"}).text
    suggested = re.search(r'<p class="suggestions">Did you mean (.*)\?</p>', page)
    assert suggested, page
    links = re.findall(r'<a href="([^"]+)">([^<]+)</a>', suggested.group(1))
    assert links and all(href.endswith("&amp;genre=drama") for href, _ in links)
    for href, text in links:  # each finds films
        assert hit_ids(client.get(href.replace("&amp;", "&")).text), text


def facet_links(page: str, facet: str) -> list[tuple[str, str, int]]:
    """(address, value, count) of each value of ``facet`` on a results page."""
    section = page.split(f'<section class="facet" data-facet="{facet}">')[1].split("</section>")[0]
    return [
        (href.replace("&amp;", "&"), value, int(count))
        for href, value, count in re.findall(
            r'<a href="([^"]+)"[^>]*>([^<]+)</a> <span class="count">(\d+)</span>', section
        )
    ]


def test_page_facets_are_links_that_filter_with_matching_counts(client: TestClient) -> None:
    page = client.get("/", params={"q": "love OR war OR man"}).text
    for facet in ("decade", "genre", "director"):
        assert facet_links(page, facet), facet
    for facet in ("genre", "decade"):
        href, value, count = facet_links(page, facet)[0]
        filtered = client.get(href).text
        assert re.search(rf"<p class=\"count\">{count} films? match", filtered), (facet, value)
        assert f"{facet}: {value}" in filtered  # shown as an active filter
        api = client.get("/api/search" + href[1:] + "&limit=100").json()
        assert api["total"] == count == len(api["hits"])
        for hit in api["hits"]:
            assert value in hit["genres"] if facet == "genre" else f"{hit['year'] // 10}0s" == value


def test_page_sort_by_year_keeps_the_order_across_pages(client: TestClient) -> None:
    params = {"q": "love OR war OR man", "sort": "year"}
    page = client.get("/", params=params).text
    assert '<option value="year" selected>' in page
    assert "; order: year, oldest first." in page
    assert 'rel="next" href="/?q=love+OR+war+OR+man&amp;sort=year&amp;offset=10"' in page
    api = client.get("/api/search", params={**params, "limit": 20}).json()
    years = [hit["year"] for hit in api["hits"]]
    assert years == sorted(years)
    assert hit_ids(page) == [hit["id"] for hit in api["hits"][:10]]


def test_page_refuses_an_unknown_sort_naming_the_choices(client: TestClient) -> None:
    page = client.get("/", params={"q": WHALE, "sort": "<rating>"})
    assert page.status_code == 400
    assert "sorts are relevance, year, -year, title, runtime, -runtime" in page.text
    assert "<rating>" not in page.text


def test_page_shows_a_bad_query_escaped(client: TestClient) -> None:
    page = client.get("/", params={"q": 'title:"<script>x'})
    assert page.status_code == 400
    assert "Bad query at position 6" in page.text
    assert "<script>x" not in page.text
    assert 'value="title:&#34;&lt;script&gt;x"' in page.text


def test_film_page_shows_every_field_and_similar_films(client: TestClient) -> None:
    page = client.get(f"/films/{RUST_AND_BONE}")
    assert page.status_code == 200
    with FilmSearch(client.app.state.pool.index_dir) as fs:  # type: ignore[attr-defined]
        film = fs.get(RUST_AND_BONE)
    assert film is not None
    assert "<h1>Rust and Bone" in page.text
    for text in (*film.cast, *film.directors, "122 min", "2012"):
        assert text in page.text
    assert "whale trainer recover her will to live" in page.text  # synopsis
    assert "Palme d&#39;Or" in page.text  # wiki text, escaped
    similar = page.text.split('<section class="similar">')[1]
    with FilmSearch(client.app.state.pool.index_dir) as fs:  # type: ignore[attr-defined]
        expected = [hit.id for hit in fs.similar(RUST_AND_BONE, limit=5)]
    assert hit_ids(similar) == expected and len(expected) == 5
    assert RUST_AND_BONE not in hit_ids(similar)


def test_unknown_film_page_is_404(client: TestClient) -> None:
    page = client.get("/films/<nope>")
    assert page.status_code == 404
    assert "text/html" in page.headers["content-type"]
    assert "<nope>" not in page.text


def test_hostile_film_text_is_shown_as_text(client: TestClient) -> None:
    results = client.get("/", params={"q": "zanzibar"}).text
    film = client.get(f"/films/{HOSTILE_ID}").text
    for page in (results, film):
        assert HOSTILE_ID in page
        assert "&lt;script&gt;window.pwned" in page
        assert "<script>window" not in page and "<img" not in page and "<i>Eve" not in page
    assert "&lt;script&gt;window.pwned = 3&lt;/script&gt;" in film
    assert "&lt;b&gt;bold&lt;/b&gt;" in film
    assert client.get(f"/api/films/{HOSTILE_ID}/similar").status_code == 200


# ---- the API -------------------------------------------------------------------------


def test_api_search_is_the_cli_json_document(client: TestClient, index_dir: Path) -> None:
    response = client.get("/api/search", params={"q": WHALE, "limit": 5})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    with FilmSearch(index_dir) as fs:
        expected = fs.search(WHALE, limit=5).to_dict()
    assert response.json() == json.loads(json.dumps(expected))
    first = response.json()["hits"][0]
    assert first["id"] == RUST_AND_BONE
    text, spans = first["snippets"]["synopsis"], first["highlights"]["synopsis"]
    assert [text[a:b].lower() for a, b in spans][:2] == ["whale", "trainer"]


def test_api_search_plain_reads_syntax_as_words(client: TestClient) -> None:
    text = "whale trainer NOT accident"
    assert client.get("/api/search", params={"q": text}).json()["hits"][0]["id"] != RUST_AND_BONE
    plain = client.get("/api/search", params={"q": text, "plain": "true"})
    assert plain.status_code == 200
    assert plain.json()["hits"][0]["id"] == RUST_AND_BONE


def test_api_search_offset_gives_the_next_films(client: TestClient, index_dir: Path) -> None:
    query = "love OR war OR man"
    page = client.get("/api/search", params={"q": query, "limit": 5, "offset": 10}).json()
    with FilmSearch(index_dir) as fs:
        whole = fs.search(query, limit=15)
    assert [hit["id"] for hit in page["hits"]] == [hit.id for hit in whole.hits[10:15]]
    assert [hit["rank"] for hit in page["hits"]] == [11, 12, 13, 14, 15]
    assert page["total"] == whole.total


def test_api_search_filters(client: TestClient) -> None:
    found = client.get(
        "/api/search", params={"director": "audiard", "year": "2010..2015", "runtime": "100.."}
    ).json()
    assert RUST_AND_BONE in [hit["id"] for hit in found["hits"]]
    assert all(2010 <= hit["year"] <= 2015 for hit in found["hits"])
    genre = client.get("/api/search", params={"q": "whale", "genre": "documentary"}).json()
    assert all("Documentary" in hit["genres"] for hit in genre["hits"]) and genre["hits"]


def test_api_search_passes_every_option_to_the_library(client: TestClient, index_dir: Path) -> None:
    params = [
        ("q", "love OR war OR man"), ("genre", "drama"), ("genre", "comedy"),
        ("decade", "2000s"), ("decade", "2010s"), ("sort", "-year"), ("offset", "2"),
        ("limit", "3"), ("facets", "decade,genre"), ("facets", "director"),
    ]  # fmt: skip
    response = client.get("/api/search", params=params)
    assert response.status_code == 200
    with FilmSearch(index_dir) as fs:
        expected = fs.search(
            "love OR war OR man",
            genre=["drama", "comedy"],
            decade=["2000s", "2010s"],
            sort="-year",
            offset=2,
            limit=3,
            facets=["decade", "genre", "director"],
        ).to_dict()
    assert response.json() == json.loads(json.dumps(expected))
    body = response.json()
    assert body["offset"] == 2 and body["sort"] == "-year"
    assert [hit["rank"] for hit in body["hits"]] == [3, 4, 5]
    assert list(body["facets"]) == ["decade", "genre", "director"]


def test_api_repeated_filters_are_or_within_a_field_and_across_fields(client: TestClient) -> None:
    def total(*pairs: tuple[str, str]) -> int:
        return int(
            client.get("/api/search", params=[("q", "love OR war OR man"), *pairs]).json()["total"]
        )

    drama, comedy = total(("genre", "drama")), total(("genre", "comedy"))
    either = total(("genre", "drama"), ("genre", "comedy"))
    assert max(drama, comedy) < either <= drama + comedy
    recent = total(("genre", "drama"), ("genre", "comedy"), ("decade", "2010s"))
    assert 0 < recent < either


def test_api_search_sorts_by_year_and_corrects_typos(client: TestClient) -> None:
    by_year = client.get(
        "/api/search", params={"q": "love OR war OR man", "sort": "year", "limit": 30}
    )
    years = [hit["year"] for hit in by_year.json()["hits"]]
    assert len(years) > 10 and years == sorted(years)
    corrected = client.get("/api/search", params={"q": MISSPELT}).json()
    assert corrected["corrected"] == CORRECTED and corrected["query"] == MISSPELT
    assert RUST_AND_BONE in [hit["id"] for hit in corrected["hits"]]
    exact = client.get("/api/search", params={"q": MISSPELT, "exact": "true"}).json()
    assert exact["corrected"] is None and exact["total"] == 0


def test_api_search_refusals_say_what_is_allowed(client: TestClient) -> None:
    def error(**params: object) -> str:
        response = client.get("/api/search", params={"q": "whale", **params})  # type: ignore[arg-type]
        assert response.status_code == 400
        return str(response.json()["error"])

    assert error(sort="rating") == (
        "unknown sort 'rating'; sorts are relevance, year, -year, title, runtime, -runtime"
    )
    assert "facets are decade, year, genre, director, cast" in error(facets="rating")
    assert "has no film vectors" in error(mode="semantic")
    assert str(client.app.state.pool.index_dir) not in error(mode="hybrid")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("params", "status", "position"),
    [
        ({"q": 'title:"unclosed quote'}, 400, 6),
        ({"q": "whale year:2015..2010"}, 400, 11),
        ({"q": "whale", "year": "abc"}, 400, None),
        ({"q": "whale", "limit": 101}, 400, None),
        ({"q": "whale", "limit": 0}, 400, None),
        ({"q": "whale", "limit": "ten"}, 400, None),
        ({"q": "whale", "offset": 10_001}, 400, None),
        ({"q": "whale", "offset": -1}, 400, None),
        ({"q": "whale", "sort": "rating"}, 400, None),
        ({"q": "whale", "facets": "decade,rating"}, 400, None),
        ({"q": "whale", "mode": "magic"}, 400, None),
        ({"q": "whale", "mode": "hybrid"}, 400, None),  # the index has no film vectors
        ({"q": ""}, 400, None),
        ({"q": "a" * (MAX_QUERY_CHARS + 1)}, 413, None),
    ],
)
def test_api_search_refusals(
    client: TestClient, params: dict[str, object], status: int, position: int | None
) -> None:
    response = client.get("/api/search", params=params)  # type: ignore[arg-type]
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error", "position"}
    assert body["error"] and body["position"] == position


def test_api_film_and_unknown_ids(client: TestClient) -> None:
    film = client.get(f"/api/films/{RUST_AND_BONE}").json()
    assert film["title"] == "Rust and Bone" and film["year"] == 2012
    assert set(film) == {
        "id", "title", "year", "runtime", "director", "directors",
        "cast", "genres", "synopsis", "wiki", "path",
    }  # fmt: skip
    assert "whale trainer" in film["synopsis"]
    for path in ("/api/films/nope", "/api/films/nope/similar", "/api/nope"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json()["error"]


def test_api_similar_films(client: TestClient, index_dir: Path) -> None:
    similar = client.get(f"/api/films/{RUST_AND_BONE}/similar", params={"limit": 4}).json()
    ids = [hit["id"] for hit in similar["hits"]]
    assert len(ids) == 4 and RUST_AND_BONE not in ids
    assert [hit["rank"] for hit in similar["hits"]] == [1, 2, 3, 4]
    with FilmSearch(index_dir) as fs:
        expected = fs.similar(RUST_AND_BONE, limit=4).to_dict()
    assert similar == json.loads(json.dumps(expected))  # as `filmsearch similar --json` prints
    later = client.get(f"/api/films/{RUST_AND_BONE}/similar", params={"offset": 2, "limit": 2})
    assert [hit["id"] for hit in later.json()["hits"]] == ids[2:]
    moby = client.get("/api/search", params={"q": 'title:"moby dick"', "limit": 1}).json()
    sea_films = client.get(f"/api/films/{moby['hits'][0]['id']}/similar").json()["hits"]
    assert "In the Heart of the Sea" in [hit["title"] for hit in sea_films]


def test_api_suggest_completes_titles_and_names(client: TestClient) -> None:
    def suggest(text: str) -> list[tuple[str, str]]:
        response = client.get("/api/suggest", params={"q": text})
        assert response.status_code == 200
        return [(s["kind"], s["text"]) for s in response.json()["suggestions"]]

    assert ("title", "Rust and Bone") in suggest("rus")
    assert ("title", "Rust and Bone") in suggest("rust and b")
    assert suggest("marion cot") == [("cast", "Marion Cotillard")]
    assert ("director", "Jacques Audiard") in suggest("audi")
    assert suggest("") == [] and suggest('"::*') == []
    # Query syntax typed in the box is read as words, never as an error.
    for text in ('"rus', "(rus", "rus)", "rus*", "NOT rus", "rus?", "rus\\"):
        assert ("title", "Rust and Bone") in suggest(text), text
    for text in ("title:rus", "[a TO", "year:>", "a" * 300, "\x00"):
        suggest(text)
    many = client.get("/api/suggest", params={"q": "a", "limit": 3}).json()["suggestions"]
    assert len(many) == 3
    assert client.get("/api/suggest", params={"q": "a", "limit": 21}).status_code == 400


def test_healthz_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    schema = client.get("/openapi.json").json()
    for path in (
        "/api/search",
        "/api/films/{film_id}",
        "/api/films/{film_id}/similar",
        "/api/suggest",
        "/healthz",
    ):
        assert path in schema["paths"]
    assert client.get("/docs").status_code == 404  # its scripts would come from a CDN


# ---- headers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/", f"/?q={WHALE}", "/api/search?q=whale", "/api/search?q=%22", "/api/films/nope",
     "/static/style.css", "/nope", "/healthz"],
)  # fmt: skip
def test_security_headers_on_every_response(client: TestClient, path: str) -> None:
    headers = client.get(path, headers={"Origin": "https://elsewhere.example"}).headers
    assert headers["content-security-policy"] == CSP
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert "access-control-allow-origin" not in headers


def test_cors_only_for_the_origin_given(index_dir: Path) -> None:
    origin = "https://films.example"
    with TestClient(create_app(index_dir, cors=origin)) as cors_client:
        allowed = cors_client.get("/api/search?q=whale", headers={"Origin": origin})
        other = cors_client.get("/api/search?q=whale", headers={"Origin": "https://evil.example"})
    assert allowed.headers["access-control-allow-origin"] == origin
    assert "access-control-allow-origin" not in other.headers


def test_allowed_hosts_refuse_other_host_names(index_dir: Path) -> None:
    app = create_app(index_dir, allowed_hosts=["127.0.0.1", "localhost"])
    with TestClient(app, base_url="http://localhost") as local:
        assert local.get("/healthz").status_code == 200
        refused = local.get("/healthz", headers={"Host": "rebound.example"})
    assert refused.status_code == 400
    assert refused.headers["content-security-policy"] == CSP


def test_a_missing_index_is_503_without_server_paths(tmp_path: Path) -> None:
    with TestClient(create_app(tmp_path / "gone")) as missing:
        api = missing.get("/api/search", params={"q": "whale"})
        page = missing.get("/", params={"q": "whale"})
    assert api.status_code == 503 and page.status_code == 503
    assert api.json()["error"] == "no index has been built yet"
    assert str(tmp_path) not in api.text + page.text


def test_odd_offsets_fall_back_to_a_page(client: TestClient) -> None:
    for number in ("0", "-3", "abc", "²", "99999999999"):
        page = client.get("/", params={"q": WHALE, "offset": number})
        assert page.status_code == 200, number


# ---- a live index --------------------------------------------------------------------

NEW_FILM = seed_text(title="Quokka_Island", content="A quokka ranger guards the island.")


def test_reindex_in_another_process_is_seen_without_restart(tmp_path: Path) -> None:
    films = tmp_path / "films"
    shutil.copytree(SEEDS, films)
    index = tmp_path / "index"
    build_index(films, index)
    (films / "new_quokka.txt").write_text(NEW_FILM, encoding="utf-8")
    code = "import sys; from filmsearch import build_index; build_index(sys.argv[1], sys.argv[2])"
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    with TestClient(create_app(index)) as live:
        assert live.get("/api/search", params={"q": "quokka"}).json()["total"] == 0
        rebuild = [sys.executable, "-c", code.replace("])", "], rebuild=True)")]
        for command in ([sys.executable, "-c", code], rebuild):
            writer = subprocess.Popen([*command, str(films), str(index)], env=env)
            answered = 0
            while writer.poll() is None or answered < 3:
                response = live.get("/api/search", params={"q": WHALE, "limit": 3})
                assert response.status_code == 200, response.text
                assert response.json()["hits"][0]["id"] == RUST_AND_BONE
                answered += 1
            assert writer.wait() == 0
            found = live.get("/api/search", params={"q": "quokka"}).json()
            assert [hit["title"] for hit in found["hits"]] == ["Quokka Island"]


# ---- the server process --------------------------------------------------------------


def test_run_server_refuses_a_missing_index(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError):
        run_server(tmp_path / "none", "127.0.0.1", 0)


def test_run_server_refuses_a_port_in_use(index_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        with pytest.raises(OSError):
            run_server(index_dir, "127.0.0.1", taken.getsockname()[1])


def get_json(url: str) -> object:
    """The JSON answer at ``url``, waiting for a server that is still starting."""
    for _ in range(200):
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return json.load(response)
        except urllib.error.HTTPError:
            raise
        except urllib.error.URLError:
            time.sleep(0.05)
    raise AssertionError(f"no answer from {url}")


@pytest.mark.parametrize("presses", [1, 2])  # a second Ctrl-C while it shuts down: still quiet
def test_server_process_serves_and_stops_cleanly_on_ctrl_c(index_dir: Path, presses: int) -> None:
    code = (
        "import sys; from filmsearch.search.server import run_server; "
        "run_server(sys.argv[1], '127.0.0.1', 0, None)"
    )
    server = subprocess.Popen(
        [sys.executable, "-c", code, str(index_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(PROJECT)),
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, line
        url = match.group(0)
        assert get_json(url + "healthz") == {"status": "ok"}
        found = get_json(url + "api/search?q=whale+trainer+accident")
        assert found["hits"][0]["id"] == RUST_AND_BONE
        with pytest.raises(urllib.error.HTTPError) as refused:  # DNS rebinding
            urllib.request.urlopen(urllib.request.Request(url, headers={"Host": "evil.example"}))
        assert refused.value.code == 400
        for _ in range(presses):
            server.send_signal(signal.SIGINT)
            time.sleep(0.02)
        _, errors = server.communicate(timeout=20)
    finally:
        if server.poll() is None:
            server.kill()
    assert server.returncode == 0, errors
    assert "Traceback" not in errors
