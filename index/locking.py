"""One writer at a time: an exclusive lock file that names the process holding it.

The lock is an ``flock`` on ``.filmsearch.lock`` inside the index folder. The
kernel releases it when the holder exits, however it exits, so a writer killed
with SIGKILL never leaves a stale lock behind; the PID written in the file only
serves to say who holds it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import IndexLockedError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: Whoosh's own write lock still applies
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = ".filmsearch.lock"


@contextmanager
def writer_lock(index_dir: str) -> Iterator[None]:
    """Hold the index's write lock, or raise IndexLockedError naming the holder's PID."""
    os.makedirs(index_dir, exist_ok=True)
    fd = os.open(os.path.join(index_dir, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
                raise IndexLockedError(
                    f"the index at {index_dir} is being written by PID {holder}; "
                    "wait for it to finish and try again") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # closing the descriptor releases the flock
