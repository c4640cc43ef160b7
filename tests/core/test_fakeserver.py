"""The loopback fake server, driven by the real clients (huggingface_hub 2.4 and openai 3.54).

What each injected fault raises in each client -- the runner's retry classifier relies on this:

fault            | hub AsyncInferenceClient.text_generation         | openai AsyncOpenAI (max_retries=0)
-----------------+--------------------------------------------------+-----------------------------------
429              | errors.OverloadedError (TextGenerationError)     | RateLimitError, no retry-after
429_retry_after  | errors.OverloadedError, Retry-After on the cause | RateLimitError, .response.headers["retry-after"]
500              | errors.IncompleteGenerationError                 | InternalServerError
503              | errors.HfHubHTTPError                            | InternalServerError
408              | errors.HfHubHTTPError                            | APIStatusError (no subclass for 408)
reset            | httpx2.ReadError (a TransportError; not wrapped) | APIConnectionError (__cause__ httpx2.ReadError)
hang             | errors.InferenceTimeoutError (a TimeoutError)    | APITimeoutError (an APIConnectionError)
malformed        | json.JSONDecodeError (a ValueError; not wrapped) | json.JSONDecodeError (not wrapped)
422 validation   | errors.ValidationError                           | UnprocessableEntityError
401 bad key      | errors.HfHubHTTPError                            | AuthenticationError
404 wrong model  | (n/a)                                            | NotFoundError

HTTP status / headers: hub TextGenerationError subclasses carry no response; TGI error bodies
(those with "error_type") are raised `from` an HfHubHTTPError, so use `e.__cause__.response`
(`.status_code`, `.headers["retry-after"]`); a plain HfHubHTTPError has `e.response` itself.
openai APIStatusError subclasses have `e.status_code` and `e.response.headers`.
NB: with HF_HUB_OFFLINE=1 (read once, at import) the hub client refuses even loopback URLs with
errors.OfflineModeIsEnabled; the autouse fixture below switches it off for these tests.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import httpx2
import openai
import pytest
from huggingface_hub import AsyncInferenceClient, constants
from huggingface_hub.errors import (
    HfHubHTTPError,
    IncompleteGenerationError,
    InferenceTimeoutError,
    OverloadedError,
    UnknownError,
    ValidationError,
)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fakeserver import FAULT_KINDS, FakeServer, OracleResponder, constant_responder, echo_responder  # noqa: E402

TIMEOUT = 5.0  # generous client timeout for answers that come (loaded CI machines)
HANG_TIMEOUT = 2.0  # client timeout against the "hang" fault (the client's own clock: the answer after it must beat it)
HANG_S = 3600.0  # a hang never ends by itself (the server's stop wakes it), so only the client's timeout can end it
USER = [{"role": "user", "content": "hello there"}]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def hub(srv: FakeServer, path: str = "", timeout: float = TIMEOUT, **kw) -> AsyncInferenceClient:
    return AsyncInferenceClient(base_url=srv.url + path, timeout=timeout, **kw)


def oai(srv: FakeServer, api_key: str = "k", timeout: float = TIMEOUT) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=srv.url + "/v1", api_key=api_key, max_retries=0, timeout=timeout)


def get_json(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


# -- TGI native generate ------------------------------------------------------------------------
@pytest.mark.anyio
async def test_generate_details_stop_and_length():
    with FakeServer(responder=constant_responder("alpha beta STOP gamma delta")) as srv:
        async with hub(srv) as c:
            out = await c.text_generation("p", details=True, max_new_tokens=10, stop=["STOP"], truncate=100)
            # TGI keeps the matched stop sequence at the end of generated_text
            assert out.generated_text == "alpha beta STOP"
            assert out.details.finish_reason == "stop_sequence" and out.details.generated_tokens == 3
            out = await c.text_generation("p", details=True, max_new_tokens=2, stop=["STOP"])
            assert (out.generated_text, out.details.finish_reason) == ("alpha beta", "length")
            out = await c.text_generation("p", details=True, max_new_tokens=50)
            assert (out.generated_text, out.details.finish_reason) == ("alpha beta STOP gamma delta", "eos_token")
            assert await c.text_generation("p", max_new_tokens=1) == "alpha"  # details=False -> str
        async with hub(srv, "/generate") as c:  # POST /generate answers one object instead of a list
            out = await c.text_generation("p", details=True, stop=["gamma"])
            assert out.generated_text == "alpha beta STOP gamma" and out.details.generated_tokens == 4
        assert srv.stats.completed == 5 and srv.stats.requests == 5


@pytest.mark.anyio
async def test_generate_validation_is_tgi_422():
    with FakeServer(max_total_tokens=20, max_input_tokens=10) as srv:
        async with hub(srv) as c:
            for kwargs in ({"max_new_tokens": 0}, {"stop": list("abcde")}, {"truncate": 11},
                           {"max_new_tokens": 15}):
                with pytest.raises(ValidationError) as exc:
                    await c.text_generation("one two three four five six", **kwargs)
                assert exc.value.__cause__.response.status_code == 422
            with pytest.raises(ValidationError):
                await c.text_generation(" ".join(["w"] * 11))
            assert await c.text_generation(" ".join(["w"] * 11), truncate=10) == " ".join(["w"] * 11)[-200:]
        assert srv.stats.completed == 1 and srv.stats.requests == 6


@pytest.mark.anyio
async def test_oracle_picks_the_rightmost_input():
    oracle = OracleResponder({"chest pain": "angina", "pain": "WRONG", "cough": "bronchitis", "": "never"})
    prompt = "Input: cough\nOutput: bronchitis\n\nInput: chest pain\nOutput:"
    assert oracle("generate", prompt) == "angina"  # same end as "pain": the longer key wins
    assert oracle("generate", "Input: cough\nInput: pain") == "WRONG"
    assert oracle("generate", "nothing known") == ""
    with FakeServer(responder=oracle) as srv:
        async with hub(srv) as c:
            out = await c.text_generation(prompt, details=True, max_new_tokens=20)
            assert out.generated_text == "angina" and out.details.generated_tokens == 1
        messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "cough"},
                    {"role": "assistant", "content": "bronchitis"}, {"role": "user", "content": "chest pain"}]
        async with oai(srv) as c:
            resp = await c.chat.completions.create(model="fake/model", messages=messages)
            assert resp.choices[0].message.content == "angina"
        assert srv.completed_inputs == [prompt, json.dumps(messages)]


def test_echo_responder():
    assert echo_responder("generate", "x" * 300) == "x" * 200
    assert echo_responder("chat", [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]) == "a"


# -- /info, /health, auth -------------------------------------------------------------------------
@pytest.mark.anyio
async def test_endpoint_info_and_health_with_hub_helpers():
    with FakeServer(model_id="org/m", model_sha="1" * 40) as srv:
        async with AsyncInferenceClient(model=srv.url, provider="hf-inference", timeout=TIMEOUT) as c:
            info = await c.get_endpoint_info()
            assert (info["model_id"], info["model_sha"]) == ("org/m", "1" * 40)
            assert info["router"] == "text-generation-router"
            assert info["version"] == "3.3.7" and info["max_total_tokens"] > info["max_input_tokens"]
            assert await c.health_check() is True
    with FakeServer(healthy=False, tgi=False) as srv:
        async with AsyncInferenceClient(model=srv.url, provider="hf-inference", timeout=TIMEOUT) as c:
            assert await c.health_check() is False
            with pytest.raises(HfHubHTTPError) as exc:
                await c.get_endpoint_info()
            assert exc.value.response.status_code == 404
        assert get_json(srv.url + "/health") == (503, {"error": "unhealthy", "error_type": "healthcheck"})
        async with hub(srv) as c:  # a non-TGI server has no native generate route either
            with pytest.raises(HfHubHTTPError):
                await c.text_generation("p")


@pytest.mark.anyio
async def test_api_key_guards_everything_but_health():
    with FakeServer(api_key="sekret") as srv:
        assert get_json(srv.url + "/health")[0] == 200
        assert get_json(srv.url + "/info")[0] == 401
        assert get_json(srv.url + "/info", {"Authorization": "Bearer sekret"})[0] == 200
        async with oai(srv, api_key="wrong") as c:
            with pytest.raises(openai.AuthenticationError) as exc:
                await c.chat.completions.create(model="fake/model", messages=USER)
            assert exc.value.status_code == 401 and exc.value.body["code"] == "invalid_api_key"
        async with oai(srv, api_key="sekret") as c:
            assert (await c.chat.completions.create(model="fake/model", messages=USER)).choices[0].message.content
        async with hub(srv, api_key="wrong") as c:
            with pytest.raises(HfHubHTTPError) as hexc:
                await c.text_generation("p")
            assert hexc.value.response.status_code == 401
        async with hub(srv, api_key="sekret") as c:
            assert await c.text_generation("p") == "p"
        assert srv.stats.completed == 2


# -- OpenAI-compatible chat -----------------------------------------------------------------------
@pytest.mark.anyio
async def test_openai_chat_usage_stop_and_length():
    with FakeServer(model_id="org/m", responder=constant_responder("one two three four")) as srv:
        async with oai(srv) as c:
            assert [m.id for m in (await c.models.list()).data] == ["org/m"]
            resp = await c.chat.completions.create(model="org/m", messages=USER)
            assert resp.object == "chat.completion" and resp.model == "org/m"
            assert resp.choices[0].message.role == "assistant"
            assert (resp.choices[0].message.content, resp.choices[0].finish_reason) == ("one two three four", "stop")
            assert (resp.usage.prompt_tokens, resp.usage.completion_tokens, resp.usage.total_tokens) == (2, 4, 6)
            resp = await c.chat.completions.create(model="tgi", messages=USER, max_tokens=2)
            assert (resp.choices[0].message.content, resp.choices[0].finish_reason) == ("one two", "length")
            resp = await c.chat.completions.create(model="org/m", messages=USER, max_completion_tokens=9, stop="three")
            assert resp.choices[0].message.content == "one two "  # OpenAI semantics: stop text dropped
            assert resp.usage.completion_tokens == 2
            with pytest.raises(openai.NotFoundError) as exc:
                await c.chat.completions.create(model="other/model", messages=USER)
            assert exc.value.body["code"] == "model_not_found" and "other/model" in exc.value.message
            with pytest.raises(openai.UnprocessableEntityError):
                await c.chat.completions.create(model="org/m", messages=[])
        assert srv.stats.completed == 3 and srv.stats.requests == 5


# -- faults ---------------------------------------------------------------------------------------
HUB_FAULTS = {
    "429": OverloadedError, "429_retry_after": OverloadedError, "500": IncompleteGenerationError,
    "503": HfHubHTTPError, "408": HfHubHTTPError, "reset": httpx2.TransportError,
    "hang": InferenceTimeoutError, "malformed": json.JSONDecodeError,
    "400": UnknownError, "401": UnknownError, "404": UnknownError,  # TGI error bodies with an unknown error_type
}
OAI_FAULTS = {
    "429": openai.RateLimitError, "429_retry_after": openai.RateLimitError, "500": openai.InternalServerError,
    "503": openai.InternalServerError, "408": openai.APIStatusError, "reset": openai.APIConnectionError,
    "hang": openai.APITimeoutError, "malformed": json.JSONDecodeError,
    "400": openai.BadRequestError, "401": openai.AuthenticationError, "404": openai.NotFoundError,
}
STATUS = {"429": 429, "429_retry_after": 429, "500": 500, "503": 503, "408": 408, "400": 400, "401": 401, "404": 404}


def hub_response(exc: BaseException):
    """The httpx2 response behind a hub error: on the error itself, or on its HfHubHTTPError cause."""
    return getattr(exc, "response", None) or getattr(exc.__cause__, "response", None)


@pytest.mark.anyio
@pytest.mark.parametrize("kind", FAULT_KINDS)
async def test_fault_in_hub_client(kind: str):
    assert set(HUB_FAULTS) == set(FAULT_KINDS)
    with FakeServer(fault_plan=[kind, None], hang_s=HANG_S, retry_after=3) as srv:
        async with hub(srv, timeout=HANG_TIMEOUT if kind == "hang" else TIMEOUT) as c:
            with pytest.raises(HUB_FAULTS[kind]) as exc:
                await c.text_generation("p", details=True)
            response = hub_response(exc.value)
            if kind in STATUS:
                assert response.status_code == STATUS[kind]
                assert response.headers.get("retry-after") == ("3" if kind == "429_retry_after" else None)
            else:
                assert response is None
            assert (await c.text_generation("again", details=True)).generated_text == "again"  # plan: then ok
        stats = srv.stats
        assert (stats.requests, stats.completed, stats.faulted) == (2, 1, {kind: 1})
        assert srv.completed_inputs == ["again"]


@pytest.mark.anyio
@pytest.mark.parametrize("kind", FAULT_KINDS)
async def test_fault_in_openai_client(kind: str):
    assert set(OAI_FAULTS) == set(FAULT_KINDS)
    with FakeServer(fault_plan=[kind, None], hang_s=HANG_S) as srv:
        async with oai(srv, timeout=HANG_TIMEOUT if kind == "hang" else TIMEOUT) as c:
            with pytest.raises(OAI_FAULTS[kind]) as exc:
                await c.chat.completions.create(model="fake/model", messages=USER)
            if kind in STATUS:
                assert exc.value.status_code == STATUS[kind]
                assert exc.value.response.headers.get("retry-after") == ("1" if kind == "429_retry_after" else None)
            if kind == "429_retry_after":
                assert exc.value.body["code"] == "rate_limit_exceeded"
            resp = await c.chat.completions.create(model="fake/model", messages=USER)
            assert resp.choices[0].message.content == "hello there"
        assert srv.stats.faulted == {kind: 1} and srv.stats.completed == 1


@pytest.mark.anyio
async def test_fault_probabilities_are_seeded_and_counted():
    async def pattern(seed: int) -> list[bool]:
        with FakeServer(faults={"429": 0.3, "500": 0.2}, seed=seed) as srv:
            failed = []
            async with hub(srv) as c:
                for i in range(40):
                    try:
                        await c.text_generation(f"prompt {i % 5}")
                        failed.append(False)
                    except (OverloadedError, IncompleteGenerationError):
                        failed.append(True)
            stats = srv.stats
            assert stats.requests == 40 and stats.completed == failed.count(False)
            assert sum(stats.faulted.values()) == failed.count(True) and set(stats.faulted) <= {"429", "500"}
            assert sum(Counter(srv.completed_inputs).values()) == stats.completed
            srv.reset_stats()
            assert srv.stats.requests == 0 and srv.completed_inputs == []
            return failed

    first = await pattern(7)
    assert 0 < first.count(True) < 40
    assert await pattern(7) == first


def test_bad_fault_configuration_is_rejected():
    with pytest.raises(ValueError):
        FakeServer(faults={"teapot": 0.1})
    with pytest.raises(ValueError):
        FakeServer(faults={"429": 0.7, "500": 0.7})


@pytest.mark.anyio
async def test_concurrent_requests_and_duplicate_counting():
    with FakeServer(latency_s=0.05, latency_per_token_s=0.001) as srv:
        async with hub(srv) as c:
            outs = await asyncio.gather(*(c.text_generation(f"item {i % 4}") for i in range(12)))
        assert sorted(set(outs)) == [f"item {i}" for i in range(4)]
        assert Counter(srv.completed_inputs) == {f"item {i}": 3 for i in range(4)}
        assert 1 <= srv.stats.max_in_flight <= 12 and srv.stats.in_flight == 0


# -- lifecycle ------------------------------------------------------------------------------------

def generate_in_a_thread(srv, *, timeout: float) -> tuple[threading.Thread, list[BaseException]]:
    """A started thread POSTing one /generate request to `srv`, and the list its error (if any) lands in."""
    errors: list[BaseException] = []

    def call() -> None:
        try:
            urllib.request.urlopen(urllib.request.Request(srv.url + "/generate", b'{"inputs": "x"}'), timeout=timeout)
        except BaseException as e:  # noqa: BLE001 - recorded for the caller's assertion
            errors.append(e)

    caller = threading.Thread(target=call)
    caller.start()
    return caller, errors


def test_stop_wakes_hanging_handlers_and_binds_loopback_only():
    srv = FakeServer(fault_plan=["hang"], hang_s=300).start()
    assert srv.url.startswith("http://127.0.0.1:") and srv._httpd.server_address[0] == "127.0.0.1"
    caller, errors = generate_in_a_thread(srv, timeout=60)
    srv.wait_until(lambda s: s.in_flight == 1, what="the request hanging in the handler")
    srv.stop()
    caller.join(timeout=60)
    assert not caller.is_alive() and errors and not isinstance(errors[0], TimeoutError)
    with pytest.raises(RuntimeError):
        _ = FakeServer().url


def test_script_mode_ready_line_and_final_stats(tmp_path: Path):
    mapping = tmp_path / "oracle.json"
    mapping.write_text(json.dumps({"question one": "answer one"}))
    script = Path(__file__).resolve().parent.parent / "fakeserver"
    proc = subprocess.Popen([sys.executable, str(script), "--port", "0", "--oracle", str(mapping),
                             "--model-id", "org/m", "--api-key", "K"], stdout=subprocess.PIPE, text=True)
    try:
        ready = proc.stdout.readline().split()
        assert ready[0] == "READY" and ready[1].startswith("http://127.0.0.1:")
        body = json.dumps({"inputs": "Q: question one\nA:", "parameters": {"details": True}}).encode()
        req = urllib.request.Request(ready[1] + "/generate", body, {"Authorization": "Bearer K"})
        with urllib.request.urlopen(req, timeout=5) as r:
            assert json.loads(r.read())["generated_text"] == "answer one"
        assert get_json(ready[1] + "/v1/models", {"Authorization": "Bearer K"})[1]["data"][0]["id"] == "org/m"
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
    finally:
        proc.kill()
    stats = json.loads(out.strip().splitlines()[-1])
    assert (stats["requests"], stats["completed"], stats["faulted"]) == (1, 1, {})
    assert proc.returncode == 0


# -- waiting without a clock ----------------------------------------------------------------------
def _generate(srv: FakeServer, text: str, out: list[str]) -> threading.Thread:
    def call() -> None:
        body = json.dumps({"inputs": text}).encode()
        with urllib.request.urlopen(urllib.request.Request(srv.url + "/generate", body), timeout=120) as r:
            out.append(json.loads(r.read())["generated_text"])

    thread = threading.Thread(target=call)
    thread.start()
    return thread


def test_answer_limit_holds_later_requests_until_released():
    answers: list[str] = []
    with FakeServer(answer_limit=1) as srv:
        _generate(srv, "first", answers).join(timeout=120)
        assert answers == ["first"]
        held = _generate(srv, "second", answers)
        stats = srv.wait_until(lambda s: s.in_flight == 1, what="the second request held")
        assert (stats.requests, stats.completed) == (2, 1) and held.is_alive() and answers == ["first"]
        srv.release()
        held.join(timeout=120)
        assert answers == ["first", "second"] and srv.stats.completed == 2 and srv.stats.in_flight == 0


def test_a_held_request_ends_unanswered_when_the_server_stops():
    srv = FakeServer(answer_limit=0).start()
    caller, errors = generate_in_a_thread(srv, timeout=120)
    srv.wait_until(lambda s: s.in_flight == 1, what="the request held")
    srv.stop()
    caller.join(timeout=120)
    assert not caller.is_alive() and errors and srv.stats.completed == 0


def test_wait_until_fails_loudly_instead_of_giving_up():
    with FakeServer() as srv:
        done = subprocess.Popen([sys.executable, "-c", "pass"])
        done.wait()
        with pytest.raises(AssertionError, match="the client exited"):
            srv.wait_until(lambda s: s.completed >= 1, done, "an answer")
        with pytest.raises(AssertionError, match="safety net"):
            srv.wait_until(lambda s: s.completed >= 1, what="an answer", safety_net_s=0)
        assert srv.wait_until(lambda s: s.requests == 0).requests == 0  # already true: returns at once
