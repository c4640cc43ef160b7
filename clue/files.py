"""Writing files: whole or not at all, private when they hold credentialed text, one clear line on failure.

- `write_atomic(path, text, private=)`: one file replaced by a rename (a crash leaves the old file or the new one).
- `write_folder(folder, files, private=)`: several files that must agree (a report's index.html and results.csv)
  staged in a temporary sibling folder and swapped into place in one step, so a crash or a full disk leaves the
  old complete set or the new one, never a truncated or 0-byte file and never a mix.
- `private` (decided by the caller from the tasks' access level): files 0600 and folders 0700, else 0644/0755.
- `file_sha256(path)`: the sha256 of a file's bytes, the one hash every data check and cache key uses.
A read-only file system, a missing permission, a full disk, or a file where a folder is expected (and the
reverse) is the user's to fix: it becomes a `UserError` naming the option and the path.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Mapping

from clue.errors import UserError


def file_sha256(path: Path | str) -> str:
    """Hex sha256 of the file's bytes, read in 1 MiB blocks; OSError when it cannot be read."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
    """Write `text` to `path` (its folder created) whole or not at all (`_replace`, 0644); any OS error is one
    line naming `what`."""
    if path.is_dir():
        raise UserError(f"{what} {path} is a folder", f"pass {what} a file name")
    try:
        _replace(path, text, private=False)
    except OSError as exc:
        raise _fail(path, what, exc) from None


def write_atomic(path: Path, text: str | bytes, *, private: bool = True) -> None:
    """Replace `path` whole or not at all (`_replace`). `private` (the default): owner-only (0600), as run files
    can hold credentialed text; else 0644. A disk-full or read-only error is one line."""
    try:
        _replace(path, text, private=private)
    except OSError as exc:  # disk full, read-only: the old file stays whole, the completions stay in the store
        raise UserError(f"cannot write {path} ({exc.strerror or exc})",
                        "free disk space or fix permissions, then re-run the same command (completions are in the store)") from None


def _replace(path: Path, data: str | bytes, *, private: bool) -> None:
    """The one staging step of both single-file writers: a temporary file in the same folder (the folder created),
    written in full, then renamed over `path`; on any OSError the temporary file is removed and the error raised.
    (No fsync: a crash of the process leaves the old file or the new one; `write_folder` syncs, being one unit.)"""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        if not private:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _put(path: Path, data: str | bytes, private: bool) -> None:
    """Write a new file in full and flush it to disk (the caller renames it into place)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data.encode("utf-8", "backslashreplace") if isinstance(data, str) else data)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(path, 0o600 if private else 0o644)  # whatever the umask said


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one step (Linux renameat2 RENAME_EXCHANGE); False where the system cannot."""
    import ctypes  # only where a folder is swapped in (reports, exports): not on `clue run`'s start-up path

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _swap_in(stage: Path, folder: Path) -> None:
    """Put `stage` at `folder`; the old folder (if any) ends at `stage` for the caller to remove."""
    if not folder.exists():
        os.rename(stage, folder)
    elif not _exchange(stage, folder):  # no atomic exchange here: two renames (the old set stays whole beside it)
        old = stage.with_name(stage.name + ".old")
        os.rename(folder, old)
        os.rename(stage, folder)
        os.rename(old, stage)


def _folders(root: Path, sub: Path, private: bool) -> None:
    """Create root/sub folder by folder (0700 when private, else 0755)."""
    at = root
    for part in sub.parts:
        at = at / part
        at.mkdir(exist_ok=True)
        os.chmod(at, 0o700 if private else 0o755)


def write_together(files: Mapping[Path, str | bytes], *, private: bool, what: str) -> None:
    """Files in several folders that must agree (one ratings import across runs): each is staged in full beside
    its target first, then all are renamed into place. A failure while staging (full disk, permissions) leaves
    every old file as it was; readers tell a set cut short between the renames apart by an id the files share."""
    staged: list[tuple[Path, Path]] = []
    try:
        for path, data in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            if private:
                os.chmod(path.parent, 0o700)
            for stale in path.parent.glob(glob.escape(f".{path.name}.") + "*.tmp"):  # left by a crash
                stale.unlink(missing_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.unlink(missing_ok=True)
            staged.append((tmp, path))
            _put(tmp, data, private)
        for tmp, path in staged:
            os.replace(tmp, path)
    except OSError as exc:
        for tmp, _ in staged:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
        raise UserError(f"cannot write {what} ({exc.strerror or exc}: {getattr(exc, 'filename', '') or ''})",
                        "free disk space or fix permissions, then run the same command again; the previous files are unchanged") from None


def write_folder(folder: Path, files: Mapping[str, str | bytes], *, private: bool, what: str = "--out") -> None:
    """Replace `files` (name → content) in `folder` as one unit: staged in a temporary sibling folder, then swapped
    into place. A folder that also holds other files (not written here), or is a mount point, keeps them: then
    everything is staged inside it and each file renamed into place in turn. Private: files 0600, folders 0700."""
    folder = Path(folder)
    if folder.is_symlink():  # reports/latest -> reports/2026-…: replace what it points at, keep the link
        folder = folder.resolve()
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{what} {folder} is an existing file, not a folder", f"pass {what} a folder (new or existing)")
    stage = None
    prefix = f".{folder.name}."
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        for base in (folder.parent, folder) if folder.is_dir() else (folder.parent,):
            for stale in base.glob(glob.escape(prefix) + "*.tmp"):  # left by a crash (owner-only, as staged)
                shutil.rmtree(stale, ignore_errors=True)
        tops = {Path(name).parts[0] for name in files}
        in_place = folder.is_dir() and (os.path.ismount(folder) or any(p.name not in tops for p in folder.iterdir()))
        stage = Path(tempfile.mkdtemp(dir=folder if in_place else folder.parent, prefix=prefix, suffix=".tmp"))  # 0700
        for name, data in files.items():  # a name may hold subfolders ("key/key.json")
            _folders(stage, Path(name).parent, private)
            _put(stage / name, data, private)
        if in_place:
            for name in files:
                _folders(folder, Path(name).parent, private)
                os.replace(stage / name, folder / name)
            if private:
                os.chmod(folder, 0o700)
        else:
            os.chmod(stage, 0o700 if private else 0o755)
            _swap_in(stage, folder)
    except OSError as exc:  # disk full, read-only, permissions: the old files stay whole
        raise UserError(f"cannot write {what} {folder} ({exc.strerror or exc})",
                        f"free disk space or fix permissions, or pass {what} another folder; the previous files are unchanged") from None
    finally:
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)
