"""A thousand broken and strange documents: every good film indexed, every bad one reported."""

from __future__ import annotations

import codecs
import os
import random
import re
from pathlib import Path

from filmsearch.search import FilmSearch
from tests.conftest import seed_text
from tests.helpers import build_in_subprocess

LOCATED = re.compile(r"^(?P<path>/.+?):(?P<line>\d+): (?P<reason>.+)$")


def good(rng: random.Random, number: int) -> bytes:
    return seed_text(
        title=f"Good_Film_{number}",
        year=str(rng.randint(1900, 2020)),
        content=f"goodmarker plot number {number}",
    ).encode()


# Each maker returns (bytes, must_be_reported). Strange-but-usable documents are
# indexed; unusable or damaged ones must be reported (skipped or with a warning).
def random_bytes(rng, n):
    data = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 3000)))
    return data, True


def truncated_utf8(rng, n):
    data = seed_text(title="Café_Ñandú", content="naïve résumé " * 5).encode()
    cut = data.index("é".encode()) + 1  # in the middle of a two-byte character
    return data[:cut] + b"\nContent: still here\n", True


def latin1(rng, n):
    return seed_text(title=f"Café_{n}", director="Agnès Varda").encode("latin-1"), True


def utf16(rng, n):
    text = seed_text(title=f"Utf16_Film_{n}")
    return (text.encode("utf-16") if n % 2 else text.encode("utf-16-le")), False


def zero_bytes(rng, n):
    return b"", True


def title_only(rng, n):
    return f"Lonely_Title_{n}\n".encode(), True


def repeated_fields(rng, n):
    text = seed_text(title=f"Twice_{n}").replace("Content:", "Released Year: 1999\nContent:")
    return text.encode(), True


def absurd_year(rng, n):
    year = rng.choice(["20122", "-5", "MMXII", "0x7DC", "1e3"])
    return seed_text(title=f"Odd_Year_{n}", year=year).encode(), True


def bad_runtime(rng, n):
    runtime = rng.choice(["long", "ninety", "-90", "2h 2m 3s"])
    return seed_text(title=f"Odd_Runtime_{n}", runtime=runtime).encode(), True


def huge_cast(rng, n):
    cast = ",".join(f"Actor{i} Surname{i}" for i in range(10_000)) + ","
    return seed_text(title=f"Crowd_{n}", cast=cast).encode(), False


def png(rng, n):
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(
        rng.getrandbits(8) for _ in range(200)
    ), True


def control_chars(rng, n):
    return (f"Ctrl_{n}\x07\x1b[31m\nContent: bell\x07 and escape\x1b\n").encode(), False


def old_mac(rng, n):
    return seed_text(title=f"Classic_Mac_{n}").replace("\n", "\r").encode(), False


def bom_only(rng, n):
    return codecs.BOM_UTF8, True


def huge_runtime(rng, n):
    return seed_text(title=f"Long_Runtime_{n}", runtime="9" * 5000).encode(), True


def requirements(rng, n):  # a title line and no known field: not a film, reported as such
    return f"package-{n}>=1.0\nother-package\n".encode(), True


def nul_inside(rng, n):
    return seed_text(title=f"Nul_{n}").encode().replace(b"plot", b"pl\x00ot") + b"\x00", True


MAKERS = [
    random_bytes,
    truncated_utf8,
    latin1,
    utf16,
    zero_bytes,
    title_only,
    repeated_fields,
    absurd_year,
    bad_runtime,
    png,
    control_chars,
    old_mac,
    bom_only,
    nul_inside,
    huge_runtime,
    requirements,
]


def test_broken_and_strange_documents(tmp_path: Path, stress: bool) -> None:
    rng = random.Random(20261124)
    count = 10_000 if stress else 1_000
    folder = tmp_path / "corpus"
    folder.mkdir()
    goods, must_report, usable = set(), set(), set()
    for number in range(count):
        if number % 3 == 0:
            path = folder / f"good_{number:05d}.txt"
            path.write_bytes(good(rng, number))
            goods.add(f"Good Film {number}")
            continue
        maker = MAKERS[number % len(MAKERS)]
        data, report = maker(rng, number)
        path = folder / f"{maker.__name__}_{number:05d}.txt"
        path.write_bytes(data)
        (must_report if report else usable).add(str(path))
    usable.add(_write(folder / "crowd.txt", huge_cast(rng, 0)[0]))
    must_report.add(
        _write(
            folder / "fifty_mb.txt", b"Huge\nContent: " + b"lorem ipsum " * (50 * 1024 * 1024 // 12)
        )
    )
    # Things that are not readable documents at all.
    (folder / "loop_a.txt").symlink_to(folder / "loop_b.txt")
    (folder / "loop_b.txt").symlink_to(folder / "loop_a.txt")
    (folder / "dangling.txt").symlink_to(folder / "nowhere.txt")
    (folder / "subdir_loop").symlink_to(folder, target_is_directory=True)
    os.mkfifo(folder / "pipe.txt")
    locked = folder / "no_permission.txt"
    locked.write_bytes(good(rng, -1))
    locked.chmod(0)
    must_report |= {
        str(folder / name) for name in ("loop_a.txt", "loop_b.txt", "dangling.txt", "pipe.txt")
    }

    report = build_in_subprocess([folder], tmp_path / "ix", timeout=600)

    problems = report["skipped"] + report["warnings"]
    parsed = [LOCATED.match(line) for line in problems]
    assert all(parsed), [line for line, m in zip(problems, parsed, strict=True) if not m][:5]
    reported = {m.group("path") for m in parsed}
    assert must_report <= reported, sorted(must_report - reported)[:10]
    assert all(int(m.group("line")) >= 1 for m in parsed)
    assert report["max_rss_mb"] < 1500
    with FilmSearch(tmp_path / "ix") as fs:
        found = {hit.title for hit in fs.search("goodmarker", limit=count)}
        assert found >= goods
        assert fs.search("title:crowd").total == 1
    print(
        f"{count + 8} documents: {report['films']} films indexed, {len(report['skipped'])} "
        f"skipped, {len(report['warnings'])} warnings, peak RSS {report['max_rss_mb']:.0f} MB"
    )


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)
