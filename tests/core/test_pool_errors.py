"""The kit's connection pool (clue/engines/pool.py) fails with its own `PoolError`, so a loopback run needs no httpx2.
Each kind of failure must reach the runner as the same EngineError (kind, label, message, cause) as the httpx2
exception it stands for did, in both engines; the httpx2 transport over the pool must raise exactly that httpx2
exception (the SDK routes); real failures must come out as the right kind; and the pool reads every URL as httpx2.URL."""

from __future__ import annotations

import asyncio
import random

import httpx2
import pytest

from clue.engines.base import EngineError
from clue.engines.openai_api import OpenAIEngine
from clue.engines.pool import ConnectionPool, DirectClient, PoolError, target
from clue.engines.tgi import translate
from clue.engines.transport import LeanTransport
from tests.core.test_cli_errors import free_port

URL = "http://127.0.0.1:8080"

# Written out by hand: the httpx2 class each kind stands for, and the EngineError the runner got for it
# (kind, label, message: the words `clue run` shows and counts retries by, as the httpx2 route gives them today).
EXPECTED = {
    "connect": (httpx2.ConnectError, "transient", "connection", f"connection to {URL} failed (ConnectError)"),
    "connect_timeout": (httpx2.ConnectTimeout, "transient", "timeout", f"{URL} timed out"),
    "read_timeout": (httpx2.ReadTimeout, "transient", "timeout", f"{URL} timed out"),
    "remote_protocol": (httpx2.RemoteProtocolError, "transient", "connection", f"connection to {URL} failed (RemoteProtocolError)"),
    "read": (httpx2.ReadError, "transient", "connection", f"connection to {URL} failed (ReadError)"),
}


def fields(err: EngineError) -> tuple:
    return err.kind, err.label, err.status, err.retry_after, err.message, err.cause


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_each_pool_failure_is_the_engine_error_its_httpx2_exception_was(kind):
    cls, engine_kind, label, message = EXPECTED[kind]
    ours = PoolError(kind, "the server went away")
    theirs = cls("the server went away", request=httpx2.Request("POST", URL + "/generate"))
    openai = OpenAIEngine(URL, "m", api_key="k")
    for mapping in (lambda e: translate(e, URL), openai._transport_error):  # the tgi engine's, the openai engine's
        expected = fields(mapping(theirs))  # the httpx2 route's answer
        assert expected == (engine_kind, label, None, None, message, label)
        assert fields(mapping(ours)) == expected


def test_an_unknown_kind_is_refused_and_other_errors_are_not_connection_failures():
    with pytest.raises(AssertionError):
        PoolError("write", "no such kind")
    assert fields(translate(ValueError("x"), URL))[:2] == ("transient", "malformed")  # unchanged: not a connection error
    assert fields(OpenAIEngine(URL, "m", api_key="k")._transport_error(RuntimeError("x")))[:2] == ("permanent", None)


@pytest.mark.anyio
@pytest.mark.parametrize("kind", sorted(EXPECTED))
async def test_the_httpx2_transport_raises_the_httpx2_exception_with_the_pools_words(kind, monkeypatch):
    """SDK-facing behaviour: the class httpx2's route raised, the same message, the request attached."""
    async def failing(*args, **kwargs):
        raise PoolError(kind, f"words for {kind}")

    transport = LeanTransport()
    monkeypatch.setattr(transport.pool, "roundtrip", failing)
    async with httpx2.AsyncClient(transport=transport) as client:
        with pytest.raises(httpx2.TransportError) as raised:
            await client.post(URL + "/generate", json={})
    assert type(raised.value) is EXPECTED[kind][0] and str(raised.value) == f"words for {kind}"
    assert raised.value.request.url == URL + "/generate"


@pytest.mark.anyio
async def test_real_failures_come_out_as_their_kind(monkeypatch):
    pool = ConnectionPool()
    dead = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(PoolError) as refused:
        await DirectClient(pool).get(dead + "/info", headers={}, timeout=5.0)
    assert refused.value.kind == "connect" and refused.value.name == "ConnectError"

    async def silent(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        await asyncio.Event().wait()  # never answers

    async def cut(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n{}")
        await writer.drain()
        writer.close()

    for script, kind in ((silent, "read_timeout"), (cut, "remote_protocol")):
        server = await asyncio.start_server(script, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        async with server:
            with pytest.raises(PoolError) as failed:
                await DirectClient(pool).get(url + "/info", headers={}, timeout=0.2)
            assert failed.value.kind == kind
            server.close()

    async def never(*args, **kwargs):
        await asyncio.Event().wait()

    monkeypatch.setattr(asyncio, "open_connection", never)  # a connect that never completes
    with pytest.raises(PoolError) as slow:
        await ConnectionPool().roundtrip("127.0.0.1", 9, b"GET / HTTP/1.1\r\n\r\n", 0.05, 5.0)
    assert slow.value.kind == "connect_timeout" and slow.value.timeout


@pytest.mark.anyio
async def test_a_describe_answer_reads_like_the_httpx2_response():
    """What describe() reads: status, JSON; an error answer's headers and raise_for_status are httpx2's own."""
    heads = []

    async def answer(reader, writer):
        while True:  # keep-alive: the pool sends the second request on the same connection
            try:
                heads.append(await reader.readuntil(b"\r\n\r\n"))
            except asyncio.IncompleteReadError:
                return writer.close()
            status = b"200 OK" if heads[-1].startswith(b"GET /info ") else b"429 Too Many Requests"
            await reader.readexactly(2 if status != b"200 OK" else 0)  # the POST's body, b"{}"
            writer.write(b"HTTP/1.1 %s\r\nRetry-After: 7\r\ncontent-length: 15\r\n\r\n{\"model_id\": 1}" % status)
            await writer.drain()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    async with server:
        client = DirectClient(ConnectionPool())
        ok = await client.get(url + "/info", headers={"Authorization": "Bearer k"}, timeout=5.0)
        assert ok.raise_for_status() is ok and ok.json() == {"model_id": 1}
        busy = await client.post(url + "/tokenize", content=b"{}", headers={}, timeout=5.0)
        assert busy.status_code == 429 and busy.headers.get("retry-after") == "7"
        with pytest.raises(httpx2.HTTPStatusError, match=r"^Client error '429 Too Many Requests' for url '.*/tokenize'"):
            busy.raise_for_status()
        await client.pool.aclose()
        server.close()
    host = url.split("//")[1].encode()
    assert heads == [b"GET /info HTTP/1.1\r\nhost: %s\r\nauthorization: Bearer k\r\n\r\n" % host,
                     b"POST /tokenize HTTP/1.1\r\nhost: %s\r\ncontent-length: 2\r\n\r\n" % host]


ADVERSARIAL = [
    "http://127.0.0.1:8080/generate", "http://localhost/v1/models", "http://localhost:80/v1", "http://LOCALHOST:8080/v1",
    "http://[::1]:8080/v1/models", "http://[0:0:0:0:0:0:0:1]:81/x", "http://127.1:5/x", "http://localhost:0/x",
    "http://localhost:08080/x", "http://127.0.0.1:8080/a b", "http://127.0.0.1:8080/a/../b", "http://127.0.0.1:8080/./b",
    "http://127.0.0.1:8080/v1/x?api-version=1&a=%20b", "http://u:p@127.0.0.1:9/x", "http://127.0.0.1:9/x#f",
    "http://127.0.0.1:9", "http://127.0.0.1:9?q=1", "http://127.0.0.1:9/a'b(c)*!$,;=:@~/?q=[x]", "http://127.0.0.01:9/x",
    "http://256.0.0.1:9/x", "http://127.0.0.1:65535/x", "http://127.0.0.1:65536/x", "https://127.0.0.1/x",
    "http://api.example.com/v1", "http://127.0.0.1:8080/é", "http://127.0.0.1:8080/%7e/x", "http://127.0.0.1:8080/a..b/.c",
]


def httpx2_target(url: str) -> tuple:
    parsed = httpx2.URL(url)
    return parsed.scheme, parsed.host, parsed.port, parsed.netloc.decode(), parsed.raw_path.decode(), parsed.userinfo.decode()


def test_the_pool_reads_every_url_as_httpx2_does():
    rng = random.Random(25)
    alphabet = "abz09-._~!$&'()*+,;=:@/?%# [].é"
    generated = [f"http://{rng.choice(['127.0.0.1', 'localhost', '[::1]'])}{rng.choice(['', ':80', ':8080', ':1'])}/"
                 + "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 12))) for _ in range(500)]
    for url in ADVERSARIAL + generated:
        try:
            expected = httpx2_target(url)
        except httpx2.InvalidURL:
            with pytest.raises(httpx2.InvalidURL):
                target(url)
            continue
        assert tuple(target(url)) == expected, url


@pytest.mark.anyio
@pytest.mark.parametrize("server", ["tgi", "vllm", "llama.cpp"])
async def test_describe_over_the_pool_records_what_httpx2_did(server, monkeypatch):
    """Both engines' describe() — /info; /v1/models, the server's provenance and the /tokenize BOS probe — give the
    same record over the kit's pool as over httpx2's own client (CLUE_HTTP_TRANSPORT=httpx), and send the same probes."""
    from clue.engines.tgi import TGIEngine
    from tests.fakeserver import FakeServer, LlamaTokenizer

    opts = {"vllm": {"vllm_version": "0.8.5"},
            "llama.cpp": {"props": {"model_path": "/m.gguf", "bos_token": "<s>", "default_generation_settings": {"n_ctx": 4096}}}}
    tokenizer = LlamaTokenizer({"<s>": 1}, bos="<s>") if server != "tgi" else None
    records, probes = {}, {}
    with FakeServer(model_id="org/m", tgi=server == "tgi", tokenizer=tokenizer, **opts.get(server, {})) as srv:
        for transport in ("lean", "httpx"):
            monkeypatch.setenv("CLUE_HTTP_TRANSPORT", transport)
            engines = [OpenAIEngine(srv.url + "/v1", "org/m", api_key="EMPTY", route="completions")]
            engines += [TGIEngine(srv.url)] if server == "tgi" else []
            records[transport] = [await e.describe() for e in engines]
            probes[transport] = list(srv.tokenize_bodies)
            srv.tokenize_bodies.clear()
            for e in engines:
                await e.close()
    assert records["lean"] == records["httpx"] and probes["lean"] == probes["httpx"]
    kind = records["lean"][0]["server"]["kind"]
    assert kind == server and (server == "tgi" or records["lean"][0]["server"]["bos"]["adds_in_front"] == ["<s>"])


def test_describe_leaves_to_httpx2_a_url_it_cannot_read_or_one_with_a_password():
    """The pool carries describe()'s requests only for plain loopback URLs httpx2 reads without a user:password@ part:
    for a URL httpx2 refuses, its client reports the problem as before (a user error when the engine asks, not a
    traceback when it is made), and a password in the URL goes as httpx2's Basic auth, as before."""
    from clue.engines.openai_api import OpenAIEngine
    from clue.engines.pool import ConnectionPool

    pool = ConnectionPool()
    assert pool.carries("http://127.0.0.1:8080/v1") and pool.carries("http://localhost:8080/v1")
    assert not pool.carries("http://u:p@127.0.0.1:8080/v1")
    assert not pool.carries("http://localhost:8O80/v1") and not pool.carries("http://localhost:8080/v1 x\n")
    assert not pool.carries("https://127.0.0.1:8080/v1") and not pool.carries("http://10.1.2.3:8080/v1")
    OpenAIEngine("http://localhost:8O80/v1", "m", api_key="k")  # made: describe() says what is wrong (below)


def test_a_run_with_an_endpoint_httpx2_cannot_read_is_one_line_not_a_traceback(tmp_path, synthetic_dir):
    from tests.conftest import run_clue

    for extra in ([], ["--dry-run"]):
        proc = run_clue("run", "--engine", "openai", "--endpoint", "http://localhost:8O80/v1", "--model", "m", "--tasks", "meqsum",
                        "--data-dir", str(synthetic_dir), "--out", str(tmp_path / "run"), "--store", str(tmp_path / "s.sqlite"),
                        "--no-progress", *extra, env={"OPENAI_API_KEY": "sk-test"})
        lines = [ln for ln in proc.stderr.splitlines() if not ln.startswith("clue: note:")]
        if extra:  # a dry run goes on without a server, saying why
            assert proc.returncode == 0 and "dry run without a server (cannot reach http://localhost:8O80/v1" in proc.stderr
            continue
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert lines == ["clue: error: cannot reach http://localhost:8O80/v1 (InvalidURL: Invalid port: '8O80') — "
                         "start the server or fix --endpoint"], proc.stderr
