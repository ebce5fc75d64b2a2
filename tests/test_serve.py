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


def test_page_pages_through_results(client: TestClient) -> None:
    first = client.get("/", params={"q": "love OR war OR man"}).text
    second = client.get("/", params={"q": "love OR war OR man", "page": "2"}).text
    assert len(hit_ids(first)) == 10
    assert hit_ids(second) and not set(hit_ids(first)) & set(hit_ids(second))
    assert 'rel="next" href="/?q=love+OR+war+OR+man&amp;page=2"' in first
    assert 'rel="prev" href="/?q=love+OR+war+OR+man&amp;page=1"' in second
    assert '<li class="hit" value="11"' in second


def test_page_filters_come_from_the_form(client: TestClient) -> None:
    page = client.get("/", params={"q": "", "director": "audiard", "year": "2010..2015"}).text
    assert RUST_AND_BONE in hit_ids(page)
    assert '<input name="director" value="audiard">' in page


def test_page_shows_a_bad_query_escaped(client: TestClient) -> None:
    page = client.get("/", params={"q": '"<script>x'})
    assert page.status_code == 400
    assert "Bad query at position 0" in page.text
    assert "<script>x" not in page.text
    assert 'value="&#34;&lt;script&gt;x"' in page.text


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
    assert len(hit_ids(similar)) >= 3
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
    text = 'whale "trainer (accident:'
    assert client.get("/api/search", params={"q": text}).status_code == 400
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


@pytest.mark.parametrize(
    ("params", "status", "position"),
    [
        ({"q": '"unclosed quote'}, 400, 0),
        ({"q": "whale (trainer"}, 400, 6),
        ({"q": "whale", "year": "abc"}, 400, None),
        ({"q": "whale", "limit": 101}, 400, None),
        ({"q": "whale", "limit": 0}, 400, None),
        ({"q": "whale", "limit": "ten"}, 400, None),
        ({"q": "whale", "offset": 95, "limit": 10}, 400, None),
        ({"q": "whale", "sort": "year"}, 400, None),
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


def test_api_similar_films(client: TestClient) -> None:
    similar = client.get(f"/api/films/{RUST_AND_BONE}/similar", params={"limit": 4}).json()
    ids = [hit["id"] for hit in similar["hits"]]
    assert len(ids) == 4 and RUST_AND_BONE not in ids
    assert [hit["rank"] for hit in similar["hits"]] == [1, 2, 3, 4]
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


def test_odd_page_numbers_fall_back_to_a_page(client: TestClient) -> None:
    for number in ("0", "-3", "abc", "²", "99999999999"):
        page = client.get("/", params={"q": WHALE, "page": number})
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


def test_server_process_serves_and_stops_cleanly_on_ctrl_c(index_dir: Path) -> None:
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
        server.send_signal(signal.SIGINT)
        _, errors = server.communicate(timeout=20)
    finally:
        if server.poll() is None:
            server.kill()
    assert server.returncode == 0, errors
    assert "Traceback" not in errors
