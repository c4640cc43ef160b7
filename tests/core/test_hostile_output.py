"""Hostile model output and server messages: stored intact, shown inert.

Outputs with HTML/JS, null bytes, 1 MB of text, lone surrogates (a server's invalid UTF-8), ANSI
escape codes and Unicode line separators are kept byte-exact in the store and in samples.jsonl,
come out escaped in the HTML report (the browser-level <script> check lives in
test_report_browser.py), and never reach the terminal raw — neither model text nor a server's
error message.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from clue.store import Store
from tests.conftest import chat_template_file, run_clue
from tests.core.test_e2e import MODEL, invented_meqsum
from tests.fakeserver import FakeServer

HOSTILE = [
    '<script>alert("x")</script><img src=x onerror=alert(1)><a href="javascript:alert(2)">go</a></pre></td></table><!--',
    "before\x00after\x00",
    "A" * 1_000_000 + " MEGABYTE-END",
    "bad \ud800 utf-8 \udcff end",
    "\x1b[2J\x1b[31mRED\x1b]0;pwned title\x07\x1b[0m \x9b31m csi",
    "line\u2028separator\x85next\u2029para\x1c\x1d\x1e",
]
RAW_TERMINAL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # what must never be printed raw (tab/newline allowed)


def responder(kind: str, payload) -> str:
    """Item i of the invented workbook gets HOSTILE[i % len(HOSTILE)] (the last inquiry in the prompt is the item)."""
    numbers = re.findall(r"Invented inquiry number (\d+):", str(payload))
    return HOSTILE[int(numbers[-1]) % len(HOSTILE)]


def test_hostile_outputs_are_stored_intact_and_shown_inert(tmp_path: Path):
    data = invented_meqsum(tmp_path, n=3 + 2 * len(HOSTILE))
    args = ["run", "--engine", "tgi", "--model", MODEL, "--tasks", "meqsum", "--data-dir", str(data),
            "--chat-template", str(chat_template_file(tmp_path)), "--out", str(tmp_path / "run"),
            "--store", str(tmp_path / "s.sqlite"), "--no-progress"]
    with FakeServer(responder=responder, model_id=MODEL, max_input_tokens=4095) as srv:
        proc = run_clue(*args[:3], "--endpoint", srv.url, *args[3:])
        assert proc.returncode == 0, proc.stderr
        again = run_clue(*args[:3], "--endpoint", srv.url, *args[3:])  # every answer read back from the store
        assert again.returncode == 0, again.stderr
    lines = [json.loads(ln) for ln in (tmp_path / "run" / "samples.jsonl").read_text(encoding="utf-8").split("\n") if ln]
    assert len(lines) == 2 * len(HOSTILE)
    expected = {ln["sample_id"]: HOSTILE[int(ln["sample_id"]) % len(HOSTILE)] for ln in lines}
    assert all(ln["raw_output"] == expected[ln["sample_id"]] and ln["status"] == "ok" for ln in lines)  # exact
    assert all(ln["cached"] for ln in lines)

    store = Store(tmp_path / "s.sqlite")
    try:
        for ln in lines:
            assert store.get(ln["request_key"]).text == expected[ln["sample_id"]]
        assert store.integrity_ok()
    finally:
        store.close()

    report = run_clue("report", str(tmp_path / "run"), "--out", str(tmp_path / "report"), "--bootstrap", "20", "--max-samples", "50")
    assert report.returncode == 0, report.stderr
    html = (tmp_path / "report" / "index.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(" in html and "<script>alert" not in html
    assert "<img src=x" not in html and 'href="javascript:' not in html and "</pre></td></table><!--" not in html
    assert "\\x1b[31mRED" in html and "\x1b" not in html and "\x07" not in html
    assert "before\\x00after" in html and "\x00" not in html
    assert "bad \\ud800 utf-8" in html
    assert "MEGABYTE-END" not in html and "more characters in samples.jsonl" in html  # 1 MB clipped in the page
    assert len(html) < 2_000_000
    for out in (proc, again, report):
        assert not RAW_TERMINAL.search(out.stdout + out.stderr), repr((out.stdout + out.stderr)[:300])


class HostileErrorServer:
    """/info fails with a 500 whose message carries terminal escape codes."""

    MESSAGE = "\x1b[2J\x1b[1;31mYOUR DISK IS ON FIRE\x1b[0m\x07\r\n\x00 fake prompt $ "

    def __init__(self):
        message = self.MESSAGE

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                body = json.dumps({"error": message, "error_type": "generation"}).encode()
                self.send_response(500)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_server_messages_reach_the_terminal_escaped(tmp_path: Path, synthetic_dir: Path):
    srv = HostileErrorServer()
    try:
        proc = run_clue("run", "--engine", "tgi", "--endpoint", f"http://127.0.0.1:{srv.httpd.server_address[1]}", "--model", MODEL,
                        "--tasks", "meqsum", "--data-dir", str(synthetic_dir), "--chat-template", str(chat_template_file(tmp_path)),
                        "--out", str(tmp_path / "run"), "--store", str(tmp_path / "s.sqlite"))
    finally:
        srv.close()
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("clue: error:")]
    assert len(lines) == 1 and "HTTP 500" in lines[0] and "YOUR DISK IS ON FIRE" in lines[0], proc.stderr
    assert "\\x1b[1;31mYOUR DISK IS ON FIRE\\x1b[0m\\x07\\r\\n\\x00" in lines[0], lines[0]  # shown, escaped
    assert not RAW_TERMINAL.search(proc.stderr + proc.stdout), repr(proc.stderr)
