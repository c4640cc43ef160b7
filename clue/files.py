"""Writing files a user named (--out, --json, --report): one clear line instead of a traceback.

A read-only file system, a missing permission, or a file where a folder is expected (and the
reverse) is the user's to fix: it becomes a `UserError` naming the option and the path.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from clue.errors import UserError


def _fail(path: Path, what: str, exc: OSError) -> UserError:
    reason = exc.strerror or str(exc)
    return UserError(f"cannot write {what} {path} ({reason})", f"pass {what} a writable path")


def ensure_dir(path: Path, what: str) -> Path:
    """`path` as an existing, writable folder (created if needed)."""
    if path.exists() and not path.is_dir():
        raise UserError(f"{what} {path} is an existing file, not a folder", f"pass {what} a folder (new or existing)")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise _fail(path, what, exc) from None
    return path


def write_text(path: Path, text: str, *, what: str) -> None:
    """Write `text` to `path` (its folder created); any OS error is one line naming `what`."""
    if path.is_dir():
        raise UserError(f"{what} {path} is a folder", f"pass {what} a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise _fail(path, what, exc) from None


def write_atomic(path: Path, text: str, *, private: bool = True) -> None:
    """Replace `path` whole or not at all (a temporary file in the same folder, then a rename; the folder is
    created). `private` (the default): owner-only (0600), as run files can hold credentialed text; else 0644.
    A disk-full or read-only error is one line."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")  # 0600
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        if not private:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:  # disk full, read-only: the old file stays whole, the completions stay in the store
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise UserError(f"cannot write {path} ({exc.strerror or exc})",
                        "free disk space or fix permissions, then re-run the same command (completions are in the store)") from None
