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
import time
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


#: How long a writer that finds the lock taken waits for the holder to name itself.
NAME_WAIT_SECONDS = 3.0


def _holder(fd: int) -> int | None:
    """The PID the lock file names, if it names a process that is alive; else None.

    A holder writes ``PID\n`` just after taking the lock and empties the file
    just before letting go, so an empty file means the lock is changing hands.
    """
    text = os.pread(fd, 64, 0).decode("ascii", "replace")
    first, newline, _ = text.partition("\n")
    if not newline or not first.strip().isdigit():
        return None
    pid = int(first)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None  # killed without emptying the file; its lock died with it
    except OSError:
        pass  # alive, though not ours to signal
    return pid


def _take(fd: int, index_dir: str) -> None:
    """Take the flock on ``fd``, or raise IndexLockedError naming the PID of the holder.

    The holder writes its PID a moment after it takes the lock (and empties the
    file a moment before it lets go), so a writer that finds the lock taken and
    no live PID in the file tries again for up to ``NAME_WAIT_SECONDS``.
    """
    deadline = time.monotonic() + NAME_WAIT_SECONDS
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            holder = _holder(fd)
        if holder is not None or time.monotonic() > deadline:
            raise IndexLockedError(
                f"the index at {index_dir} is being written by PID {holder or 'unknown'}; "
                "wait for it to finish and try again"
            )
        time.sleep(0.01)


@contextmanager
def writer_lock(index_dir: str) -> Iterator[None]:
    """Hold the index's write lock, or raise IndexLockedError naming the holder's PID."""
    os.makedirs(index_dir, exist_ok=True)
    fd = os.open(os.path.join(index_dir, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if fcntl is not None:
            _take(fd, index_dir)
        named = f"{os.getpid()}\n".encode("ascii")
        os.pwrite(fd, named, 0)
        os.ftruncate(fd, len(named))
        _HELD.add(fd)
        try:
            yield
        finally:
            _HELD.discard(fd)
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # closing the descriptor releases the flock
