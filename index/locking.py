"""One writer at a time: an exclusive lock file that names the process holding it.

The lock is an ``flock`` on ``.filmsearch.lock`` inside the index folder. The
kernel releases it when the holder exits, however it exits, so a writer killed
with SIGKILL never leaves a stale lock behind; the PID written in the file only
serves to say who holds it. The worker processes of a parallel build are forked
while the lock is held: they close their copy of it at once (else they would
keep holding it after the writer died) and, on Linux, are killed with the writer.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import IndexLockedError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: Whoosh's own write lock still applies
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = ".filmsearch.lock"
#: Descriptors of the locks this process holds.
_HELD: set[int] = set()
_PR_SET_PDEATHSIG = 1


def _after_fork_in_child() -> None:
    """In a process forked by a lock holder: let go of the lock, and die with the holder."""
    if not _HELD:
        return
    for fd in _HELD:
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD.clear()
    with contextlib.suppress(Exception):  # Linux only; elsewhere workers end on their own
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


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
                    "wait for it to finish and try again"
                ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
        _HELD.add(fd)
        try:
            yield
        finally:
            _HELD.discard(fd)
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # closing the descriptor releases the flock
