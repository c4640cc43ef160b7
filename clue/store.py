"""SQLite response cache: every completion is written the moment it lands, so a re-run resumes.

One table `completions` keyed by `Request.key` (a hash of engine, model + revision, prompt or
messages, generation parameters and protocol), and one table `runs` with each run's record.
WAL mode lets a reader (a report) look while a run writes. The runner hands over what landed in
one turn of the event loop together (`put_many`, one transaction, flushed on the loop's next turn):
a commit per completion cost ~0.04 ms of client CPU, a seventh of a request's at 64 in flight
(`make bench`), while a crash still loses only completions that landed in that same instant.
Failed requests are never stored.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

from clue.errors import UserError
from clue.types import Completion, Request

SCHEMA = """
CREATE TABLE IF NOT EXISTS completions (
    key TEXT PRIMARY KEY,
    task TEXT NOT NULL,
    sample_id TEXT NOT NULL,
    request TEXT NOT NULL,
    text TEXT NOT NULL,
    finish_reason TEXT,
    usage TEXT NOT NULL,
    latency REAL NOT NULL,
    attempts INTEGER NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    run_dir TEXT NOT NULL,
    started REAL NOT NULL,
    finished REAL,
    record TEXT NOT NULL
);
"""


_COLUMNS = "key, text, finish_reason, usage, latency, attempts"
_INSERT = "INSERT OR REPLACE INTO completions VALUES (?,?,?,?,?,?,?,?,?,?)"
_CHUNK = 500  # keys per lookup query (SQLite allows 32766 parameters)


def _completion(row: Sequence[Any]) -> Completion:
    text, finish, usage, latency, attempts = row
    if isinstance(text, bytes):  # text with lone surrogates, stored as a blob (see _row)
        text = text.decode("utf-8", "surrogatepass")
    return Completion(text=text, finish_reason=finish, usage=json.loads(usage), latency_s=latency, attempts=attempts, cached=True)


def _row(request: Request, completion: Completion) -> tuple[Any, ...]:
    text: str | bytes = completion.text or ""
    try:
        text.encode("utf-8")  # type: ignore[union-attr]  # a str here
    except UnicodeEncodeError:  # lone surrogates (a server's invalid UTF-8): kept exactly, as a blob
        text = (completion.text or "").encode("utf-8", "surrogatepass")
    return (request.key, request.task, request.sample_id, request.canonical, text, completion.finish_reason,
            json.dumps(dict(completion.usage)), completion.latency_s, completion.attempts, time.time())


class Store:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))  # owner-only from the first byte
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            # a new store's empty tables need no sync to disk (a crash there leaves a store made again next time): its
            # creation took ~5 fsyncs (~20 ms of `clue run`'s start-up) when WAL was switched on first
            self._db.execute("PRAGMA synchronous=OFF")
            self._db.executescript(SCHEMA)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # completions: each commit in the WAL, synced at checkpoints
            self._owner_only()
        except sqlite3.DatabaseError as exc:
            raise self._error(exc, "open") from None
        except OSError as exc:
            raise UserError(f"cannot open the response store {self.path} ({exc})", "pass --store PATH to a writable location") from None

    def _owner_only(self) -> None:
        """The store keeps every full prompt (credentialed text included): 0600, like the run files. A store
        written by an older version (0644) is tightened; its WAL/SHM files (same content) too."""
        for p in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm")):
            try:
                if p.exists() and p.stat().st_mode & 0o077 and p.stat().st_uid == os.getuid():
                    p.chmod(0o600)
            except OSError:
                pass  # not ours to change (a shared read-only store): reading still works

    def get(self, key: str) -> Completion | None:
        return self.get_many([key]).get(key)

    def get_many(self, keys: Iterable[str]) -> dict[str, Completion]:
        """The stored completions of `keys` (absent keys are left out): one query per `_CHUNK` keys
        (a query per key cost ~0.03 ms each, a tenth of a request's client CPU at 64 in flight, `make bench`)."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, Completion] = {}
        for i in range(0, len(wanted), _CHUNK):
            chunk = wanted[i:i + _CHUNK]
            sql = f"SELECT {_COLUMNS} FROM completions WHERE key IN ({','.join('?' * len(chunk))})"
            try:
                rows = self._db.execute(sql, chunk).fetchall()
            except sqlite3.DatabaseError as exc:  # a damaged file: one line saying so
                raise self._error(exc, "read") from None
            for row in rows:
                found[row[0]] = _completion(row[1:])
        return {k: found[k] for k in wanted if k in found}

    def put(self, request: Request, completion: Completion) -> None:
        self.put_many([(request, completion)])

    def put_many(self, pairs: Sequence[tuple[Request, Completion]]) -> None:
        """Write the answered ones of `pairs` in one transaction (all or none). Errors are never cached: a re-run retries them."""
        rows = [_row(request, completion) for request, completion in pairs if completion.error is None and completion.text is not None]
        if not rows:
            return
        try:
            self._db.execute("BEGIN")
            self._db.executemany(_INSERT, rows)
            self._db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:  # disk full, read-only file system, I/O error: one line, nothing half-written
            if self._db.in_transaction:
                with contextlib.suppress(sqlite3.DatabaseError):  # a damaged file may refuse this too: the error below says so
                    self._db.execute("ROLLBACK")
            raise self._error(exc) from None

    def _write(self, sql: str, params: Sequence[Any]) -> sqlite3.Cursor:
        try:
            return self._db.execute(sql, params)
        except sqlite3.DatabaseError as exc:  # disk full, read-only file system, I/O error: one line, nothing half-written
            raise self._error(exc) from None

    def _error(self, exc: sqlite3.DatabaseError, doing: str = "write to") -> UserError:
        """One line naming what SQLite says went wrong (damaged file, full disk, read-only, locked) and its fix."""
        name, text = getattr(exc, "sqlite_errorname", "") or "", str(exc)
        if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "malformed" in text or "not a database" in text:
            return UserError(f"the response store {self.path} is damaged ({exc})",
                             f"move it aside (mv {self.path} {self.path}.damaged) and re-run the same command (its completions "
                             f"are requested again), or pass --store PATH")
        if name.startswith("SQLITE_FULL") or "full" in text:
            return UserError(f"the disk holding the response store {self.path} is full ({exc})",
                             "free disk space, then re-run the same command (completions so far are stored)")
        if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM")) or "readonly" in text or "unable to open" in text:
            return UserError(f"cannot write to the response store {self.path} ({exc})", "pass --store PATH to a writable location")
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
            return UserError(f"the response store {self.path} is locked by another process ({exc})",
                             "wait for it to finish, or pass --store PATH to another store")
        return UserError(f"cannot {doing} the response store {self.path} ({exc})",
                         "check the disk and the file's permissions (or pass --store PATH), then re-run the same command")

    def start_run(self, run_dir: str, record: dict[str, Any]) -> int:
        cur = self._write("INSERT INTO runs (run_dir, started, record) VALUES (?,?,?)", (run_dir, time.time(), json.dumps(record, default=str)))
        return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, record: dict[str, Any]) -> None:
        self._write("UPDATE runs SET finished = ?, record = ? WHERE rowid = ?", (time.time(), json.dumps(record, default=str), run_id))

    def count(self) -> int:
        try:
            return int(self._db.execute("SELECT COUNT(*) FROM completions").fetchone()[0])
        except sqlite3.DatabaseError as exc:
            raise self._error(exc, "read") from None

    def integrity_ok(self) -> bool:
        return self._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    def close(self) -> None:
        self._db.close()
