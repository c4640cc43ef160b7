"""Secrets never reach anything the kit writes.

Distinctive fake values for OPENAI_API_KEY, TGI_API_KEY, HF_TOKEN and PHYSIONET_PASSWORD are set;
evaluations run against servers that succeed and against a hostile one that echoes the API key
in every error message (400 on generation, 401 on /info and mid-run); PhysioNet echoes the basic
auth header; a report is built from the runs. Then every byte the kit wrote — run directories,
the SQLite store (WAL included), the report, stdout and stderr — is searched for each secret.
"""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.conftest import chat_template_file, run_clue
from tests.core.test_e2e import MODEL
from tests.fakeserver import FakeServer

OPENAI_KEY = "sk-LEAKCHECK-openai-7f3a9c2e1d55"
TGI_KEY = "tgi-LEAKCHECK-9b8c7d6e5f44"
HF_TOKEN = "hf_LEAKCHECKhfTOKEN0123456789ab"
PN_USER, PN_PASSWORD = "leakcheck-user", "pn-LEAKCHECK-pass-42!"
BASIC = base64.b64encode(f"{PN_USER}:{PN_PASSWORD}".encode()).decode()
SECRETS = (OPENAI_KEY, TGI_KEY, HF_TOKEN, PN_PASSWORD, BASIC)
ENV = {"OPENAI_API_KEY": OPENAI_KEY, "TGI_API_KEY": TGI_KEY, "HF_TOKEN": HF_TOKEN,
       "PHYSIONET_USERNAME": PN_USER, "PHYSIONET_PASSWORD": PN_PASSWORD}


class EchoServer:
    """Answers like TGI / OpenAI, but every error quotes the caller's Authorization header back.

    mode "generate-400": /info and /v1/models fine, the first generation answered (so the kit does not stop
    fast on a systematic rejection, clue/runner.py), every later one a 400 quoting the key;
    mode "info-401": /info and /v1/models are 401s quoting the key;
    mode "generate-401": generation is a 401 quoting the key (the run stops);
    PhysioNet paths (/files/…, /content/…) are 401s quoting the basic auth header.
    """

    def __init__(self, mode: str):
        outer = self
        self.mode = mode
        self.posts = 0

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _json(self, status: int, body) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _echo(self, status: int) -> None:
                auth = self.headers.get("Authorization", "")
                secret = auth.split(" ", 1)[-1]
                decoded = base64.b64decode(secret + "==").decode("latin-1") if auth.startswith("Basic") else secret
                message = f"Incorrect API key provided: {secret} (header {auth!r}, decoded {decoded!r})"
                self._json(status, {"error": {"message": message, "type": "invalid_request_error", "code": "invalid_api_key"}}
                           if "/v1/" in self.path else {"error": message, "error_type": "validation"})

            def do_GET(self):
                if self.path.startswith(("/files", "/content")):
                    return self._echo(401)
                if outer.mode == "info-401":
                    return self._echo(401)
                if self.path == "/info":
                    return self._json(200, FakeServer(model_id=MODEL).info())
                if self.path.startswith("/v1/models"):
                    return self._json(200, {"object": "list", "data": [{"id": MODEL, "object": "model", "created": 0, "owned_by": "x"}]})
                self._json(404, {"error": "not found"})

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.posts += 1
                if outer.mode == "generate-400" and outer.posts == 1:
                    if "/v1/" in self.path:
                        return self._json(200, {"id": "x", "object": "chat.completion", "created": 0, "model": MODEL, "choices": [
                            {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]})
                    return self._json(200, {"generated_text": "ok", "details": {"finish_reason": "eos_token", "generated_tokens": 1}})
                self._echo(401 if outer.mode == "generate-401" else 400)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.handle_error = lambda *a: None  # clients hanging up after a fatal error are expected
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> EchoServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_no_secret_in_anything_the_kit_writes(tmp_path: Path, synthetic_dir: Path):
    template = str(chat_template_file(tmp_path))
    written = tmp_path / "written"

    def run(engine: str, url: str, out: str, *extra: str):
        endpoint = url if engine == "tgi" else url + "/v1"
        args = ["run", "--engine", engine, "--endpoint", endpoint, "--model", MODEL, "--tasks", "meqsum,mednli",
                "--data-dir", str(synthetic_dir), "--out", str(written / out), "--store", str(written / f"{out}.sqlite"), "--no-progress",
                "--max-attempts", "2", "--retry-base", "0.001", "--timeout", "10", *extra]
        if engine == "tgi":
            args += ["--chat-template", template]
        return run_clue(*args, env=ENV)

    procs = {}
    with FakeServer(model_id=MODEL, api_key=TGI_KEY) as srv:
        procs["tgi-ok"] = run("tgi", srv.url, "tgi-ok")
    with FakeServer(model_id=MODEL, api_key=OPENAI_KEY) as srv:
        procs["openai-ok"] = run("openai", srv.url, "openai-ok")
    with EchoServer("generate-400") as srv:
        procs["tgi-400"] = run("tgi", srv.url, "tgi-400")
    with EchoServer("generate-400") as srv:
        procs["openai-400"] = run("openai", srv.url, "openai-400")
    with EchoServer("info-401") as srv:
        procs["tgi-info-401"] = run("tgi", srv.url, "tgi-info-401")
        procs["openai-info-401"] = run("openai", srv.url, "openai-info-401")
    with EchoServer("generate-401") as srv:
        procs["tgi-401"] = run("tgi", srv.url, "tgi-401")
        procs["openai-401"] = run("openai", srv.url, "openai-401")
        procs["data-fetch"] = run_clue("data", "fetch", "mednli", "--data-dir", str(written / "data"),
                                       env={**ENV, "CLUE_PHYSIONET_URL": srv.url})
    procs["report"] = run_clue("report", *(str(written / r) for r in ("tgi-ok", "openai-ok", "tgi-400", "openai-400")),
                               "--out", str(written / "report"), "--bootstrap", "20", env=ENV)

    # the runs did what they should (so the search below covers real output)
    assert procs["tgi-ok"].returncode == 0 and procs["openai-ok"].returncode == 0, procs["tgi-ok"].stderr + procs["openai-ok"].stderr
    for name in ("tgi-400", "openai-400", "tgi-info-401", "openai-info-401", "tgi-401", "openai-401", "data-fetch"):
        assert procs[name].returncode != 0, name
    assert procs["report"].returncode == 0, procs["report"].stderr
    failed = [json.loads(ln) for ln in (written / "tgi-400" / "samples.jsonl").read_text().splitlines()]
    failed = [ln for ln in failed if ln["status"] == "failed"]
    assert len(failed) > 1 and all("Incorrect API key provided: ***" in ln["error"] for ln in failed)
    assert "Incorrect API key provided: ***" in procs["openai-info-401"].stderr  # the server's message, redacted
    assert "revoked" not in procs["tgi-401"].stderr and "***" in procs["tgi-401"].stderr

    files = [p for p in written.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"samples.jsonl", "run.json", "scores.json", "index.html", "results.csv", "tgi-400.sqlite"} <= names
    hits = []
    for path in files:
        data = path.read_bytes()
        hits += [(str(path.relative_to(written)), s[:12]) for s in SECRETS if s.encode() in data]
    for name, proc in procs.items():
        hits += [(f"{name} stdout/stderr", s[:12]) for s in SECRETS if s in proc.stdout + proc.stderr]
    print(f"\nsearched {len(files)} files and {len(procs)} commands' output for {len(SECRETS)} secrets: {len(hits)} found")
    assert hits == []
