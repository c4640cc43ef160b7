from __future__ import annotations

import sqlite3

from clue.store import Store
from clue.types import Completion, Endpoint, GenParams, Request


def req(prompt: str = "p", **params) -> Request:
    return Request(task="meqsum", sample_id="1", params=GenParams(max_new_tokens=params.pop("n", 10), **params),
                   protocol="clue-v3", endpoint=Endpoint("tgi", "m", "sha1"), prompt=prompt)


def test_put_get_roundtrip_and_wal(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    r = req()
    store.put(r, Completion(text="answer", finish_reason="eos_token", usage={"completion_tokens": 1}, latency_s=0.5))
    hit = store.get(r.key)
    assert hit is not None and hit.text == "answer" and hit.cached and hit.usage == {"completion_tokens": 1}
    assert store.integrity_ok()
    mode = sqlite3.connect(tmp_path / "s.sqlite").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_errors_are_never_cached(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    r = req()
    store.put(r, Completion(text=None, error="HTTP 503"))
    assert store.get(r.key) is None and store.count() == 0


def test_key_covers_everything_that_changes_the_answer():
    base = req()
    variants = [
        req(prompt="q"), req(n=11), req(stop=("x",)), req(temperature=0.7), req(truncate=100), req(seed=3),
        Request(**{**base.__dict__, "protocol": "corrected"}),
        Request(**{**base.__dict__, "endpoint": Endpoint("tgi", "m", "sha2")}),
        Request(**{**base.__dict__, "endpoint": Endpoint("openai", "m", "sha1")}),
        Request(**{**base.__dict__, "endpoint": Endpoint("tgi", "other", "sha1")}),
    ]
    keys = {v.key for v in variants}
    assert base.key not in keys and len(keys) == len(variants)
    assert req().key == base.key  # stable


def test_get_many_spans_lookup_chunks_and_keeps_the_order_asked(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    reqs = [req(prompt=f"p{i}") for i in range(1200)]
    store.put_many([(r, Completion(text=f"a{i}")) for i, r in enumerate(reqs) if i % 3])
    asked = [r.key for r in reversed(reqs)] + ["not-a-key"]
    found = store.get_many(asked)
    assert list(found) == [r.key for r in reversed(reqs) if reqs.index(r) % 3]
    assert all(found[r.key].text == f"a{i}" and found[r.key].cached for i, r in enumerate(reqs) if i % 3)


def test_put_many_is_one_transaction_and_keeps_invalid_utf8_exactly(tmp_path):
    import pytest

    from clue.errors import UserError

    store = Store(tmp_path / "s.sqlite")
    odd = "caf\udce9"  # a lone surrogate: a server's invalid UTF-8 decoded with surrogateescape
    store.put_many([(req(prompt="a"), Completion(text=odd)), (req(prompt="b"), Completion(text=None, error="HTTP 500"))])
    assert store.get(req(prompt="a").key).text == odd and store.count() == 1
    bad = Completion(text="x", latency_s=None)  # violates NOT NULL: the whole batch is refused
    with pytest.raises(UserError, match="cannot write to the response store"):
        store.put_many([(req(prompt="c"), Completion(text="c")), (req(prompt="d"), bad)])
    assert store.get(req(prompt="c").key) is None and store.count() == 1 and store.integrity_ok()
    store.put(req(prompt="e"), Completion(text="e"))  # the store is still usable
    assert store.count() == 2


def test_gen_params_as_dict_names_every_field():
    """`as_dict` is written out by hand (speed): a new GenParams field must reach the cache key too."""
    from dataclasses import asdict, fields

    params = GenParams(max_new_tokens=7, stop=("a", "b"), temperature=0.5, seed=3, truncate=9)
    assert list(params.as_dict()) == [f.name for f in fields(GenParams)]
    assert params.as_dict() == {**asdict(params), "stop": ["a", "b"]}
