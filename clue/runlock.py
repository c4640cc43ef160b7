"""One run at a time per run directory: a lock file held (flock) while a run writes there.

Two runs writing the same directory would interleave `samples.jsonl`, `run.json` and the
LongHealth draw seed. The lock dies with its process (SIGKILL included), so a crashed run
never blocks the re-run that resumes it.
"""

from __future__ import annotations

import os
from pathlib import Path

from clue.errors import UserError

LOCK_NAME = ".clue-run.lock"


class RunDirLock:
    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOCK_NAME
        self._fd: int | None = None

    def __enter__(self) -> RunDirLock:
        try:
            import fcntl
        except ImportError:  # not POSIX: no locking, as before
            return self
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise UserError(f"cannot write to the run directory {self.path.parent} ({exc.strerror})",
                            "pass --out to a writable directory") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise UserError(f"another clue run (pid {holder}) is writing the run directory {self.path.parent}",
                            "wait for it to finish, or pass a different --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # releases the lock; the file stays (unlinking it would race a waiting run)
            self._fd = None
