"""The `Engine` interface declares every capability a run reads of an engine: `identity` (it feeds the request key)
and `fingerprints` (run.json) have defaults an engine inherits; every shipped engine implements the interface; the
OpenAI-compatible engine's identity (its normalised base URL and model) reaches the request keys, so the same model
name on another server is asked again instead of answered from the store."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from clue.engines.azure import AzureEngine
from clue.engines.base import Engine
from clue.engines.baseline import BaselineEngine
from clue.engines.openai_api import OpenAIEngine
from clue.engines.tgi import TGIEngine
from clue.types import Completion, Request
from tests.conftest import run_clue
from tests.core.test_e2e import invented_meqsum
from tests.fakeserver import FakeServer


class Minimal(Engine):
    kind = "minimal"

    async def generate(self, request: Request) -> Completion:
        return Completion(text="x")

    async def describe(self) -> dict[str, Any]:
        return {}

    async def close(self) -> None:
        return None


def test_the_optional_capabilities_default_to_nothing():
    engine = Minimal()
    assert engine.identity() is None and engine.fingerprints() == []


def test_every_shipped_engine_implements_the_interface():
    for cls in (TGIEngine, OpenAIEngine, AzureEngine, BaselineEngine):
        assert Engine in cls.__mro__, cls  # inherits the defaults (Engine is a Protocol: no issubclass)
        for name in ("generate", "describe", "close", "identity", "fingerprints"):
            assert callable(getattr(cls, name)), (cls, name)


def test_identity_of_the_shipped_engines():
    openai = OpenAIEngine("HTTP://LocalHost:8000/v1/", "org/Model-7B", api_key="k")
    tgi = TGIEngine("http://127.0.0.1:8080")
    try:
        assert openai.identity() == "http://localhost:8000/v1#org/Model-7B"  # scheme and host lower-cased, no trailing /
        assert openai.fingerprints() == []  # nothing answered yet
        assert tgi.identity() is None and tgi.fingerprints() == []  # TGI: model id + sha pin the answers (old keys stay)
        assert BaselineEngine({}, {}, {}).identity() is None
    finally:
        asyncio.run(openai.close())
        asyncio.run(tgi.close())


def _keys(run_dir: Path) -> set[str]:
    return {json.loads(line)["request_key"] for line in (run_dir / "samples.jsonl").read_text().splitlines()}


def test_another_server_with_the_same_model_name_is_asked_again(tmp_path):
    data = invented_meqsum(tmp_path, n=6)  # k = 3 shots + 3 evaluated
    asked: dict[str, int] = {"a": 0, "b": 0}

    def counting(name: str):
        def responder(kind: str, payload: Any) -> str:
            asked[name] += 1
            return "What helps knee pain?"
        return responder

    def run(url: str, out: str):
        proc = run_clue("run", "--engine", "openai", "--endpoint", url + "/v1", "--model", "m", "--tasks", "meqsum",
                        "--data-dir", str(data), "--out", str(tmp_path / out), "--store", str(tmp_path / "s.sqlite"),
                        "--no-progress", "--max-attempts", "1")
        assert proc.returncode == 0, proc.stderr
        return json.loads((tmp_path / out / "run.json").read_text())

    with FakeServer(responder=counting("a"), model_id="m", tgi=False) as a, FakeServer(responder=counting("b"), model_id="m", tgi=False) as b:
        first = run(a.url, "a1")
        run(a.url, "a2")  # same server: every answer from the store
        run(b.url, "b1")  # same model name, another server: asked again
    assert asked == {"a": 3, "b": 3}
    assert _keys(tmp_path / "a1") == _keys(tmp_path / "a2") and not _keys(tmp_path / "a1") & _keys(tmp_path / "b1")
    assert first["engine"]["system_fingerprints"] == ["3.3.7-native"]  # the fake's system_fingerprint, via fingerprints()
