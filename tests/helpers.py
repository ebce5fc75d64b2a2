"""Helpers for tests that run filmsearch in other processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent

BUILD_SCRIPT = """
import json, resource, sys
from filmsearch.index import build_index
report = build_index(sys.argv[1:-1], sys.argv[-1])
print(json.dumps({
    "films": report.films, "added": report.added,
    "skipped": [str(e) for e in report.skipped],
    "warnings": [str(e) for e in report.warnings],
    "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def python(
    code: str, *args: str, timeout: float = 300, check: bool = True, **kwargs
) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter that imports the project."""
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
        env=env,
        **kwargs,
    )


def build_in_subprocess(paths: list[Path], index_dir: Path, timeout: float = 300) -> dict:
    """build_index in another process (so hangs time out); its report and peak memory."""
    done = python(BUILD_SCRIPT, *map(str, paths), str(index_dir), timeout=timeout)
    return json.loads(done.stdout)
