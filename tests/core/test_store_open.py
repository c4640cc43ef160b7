"""A store is created unsynced (its empty tables) and then runs as before: WAL, each commit synced at checkpoints."""

from __future__ import annotations

import sqlite3

from clue.store import Store
from clue.types import Completion, Endpoint, GenParams, Request


def test_a_new_store_is_in_wal_mode_with_normal_sync_and_keeps_what_was_put(tmp_path):
    path = tmp_path / "s.sqlite"
    store = Store(path)
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    req = Request(task="t", sample_id="1", params=GenParams(max_new_tokens=3), protocol="p", endpoint=Endpoint("e", "m"), prompt="q")
    store.put_many([(req, Completion(text="a"))])
    store.close()
    with sqlite3.connect(path) as db:  # another reader sees it, and the file says WAL
        assert db.execute("SELECT text FROM completions").fetchall() == [("a",)]
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    again = Store(path)
    assert again.get(req.key).text == "a" and again._db.execute("PRAGMA synchronous").fetchone()[0] == 1
    again.close()
