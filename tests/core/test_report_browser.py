"""The demo report in headless Chromium (Debian `chromium`, installed by .ci/run): no console errors,
no network requests, no dialogs; model text with <script>/<img onerror> renders as text; the
inline script runs under the CSP; a screenshot is saved (tmp dir + /tmp/report-screenshot.png).
Layout, in both demo reports (CLUE and ClinicBench) at 1400 and 900 px: nothing wider than the page,
nothing wider than its section (wide tables scroll inside their own frame), no chart text cut off.

Talks the DevTools protocol over a minimal stdlib WebSocket client (no extra test dependency).
Skips when chromium is absent. No clock: the page itself says when a condition holds (`wait_for_page`: a
MutationObserver resolves a promise the test awaits), `settle` lets queued page tasks run before the events are
read; every wait has a generous safety net that fails the test.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlparse

import pytest

from tests.conftest import run_clue, until
from tests.core.test_report import XSS_IMG, XSS_SCRIPT

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--remote-debugging-port=0"]
SCREENSHOT_COPY = Path("/tmp/report-screenshot.png")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (CI installs Debian chromium in .ci/run)")


class DevTools:
    """Just enough of RFC 6455 + CDP: masked text frames out, (fragmented) frames in, events kept."""

    def __init__(self, ws_url: str, timeout: float = 180.0):  # a safety net: no answer in 3 min fails the test
        u = urlparse(ws_url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise ConnectionError("DevTools closed the handshake")
            head += chunk
        assert head.startswith(b"HTTP/1.1 101"), head
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def _exact(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("DevTools connection closed")
            buf += chunk
        return buf

    def _send_text(self, text: str) -> None:
        data = text.encode()
        mask = os.urandom(4)
        n = len(data)
        header = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n) if n < 65536
                                  else bytes([0x80 | 127]) + struct.pack(">Q", n))
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _recv_message(self) -> dict[str, Any]:
        parts = []
        while True:
            b1, b2 = self._exact(2)
            n = b2 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._exact(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._exact(8))[0]
            payload = self._exact(n)
            opcode = b1 & 0x0F
            if opcode == 0x9:  # ping → pong
                self.sock.sendall(bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)
                continue
            if opcode == 0x8:
                raise ConnectionError("DevTools closed the connection")
            parts.append(payload)
            if b1 & 0x80:
                return json.loads(b"".join(parts))

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self._send_text(json.dumps(msg))
        while True:
            reply = self._recv_message()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str, safety_net_s: float = 120.0) -> dict[str, Any]:
        deadline = time.monotonic() + safety_net_s
        while time.monotonic() < deadline:
            for e in self.events:
                if e.get("method") == method:
                    return e
            self.events.append(self._recv_message())
        raise AssertionError(f"no {method} event in {safety_net_s:g} s (safety net)")


@contextlib.contextmanager
def chromium(tmp_path: Path) -> Iterator[DevTools]:
    """Start headless chromium with a fresh profile; yield a DevTools connection; stop it (and only it)."""
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    proc = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        port_file = profile / "DevToolsActivePort"
        until(lambda: port_file.is_file() and len(port_file.read_text().splitlines()) >= 2,
              "chromium's DevTools endpoint (DevToolsActivePort)", proc)
        port, path = port_file.read_text().splitlines()[:2]
        yield DevTools(f"ws://127.0.0.1:{port}{path}")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # the browser this test started and its helper processes
            proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def copy_out(data: bytes, path: Path) -> None:
    """A copy for people outside the test's tmp dir; written aside and renamed into place, so runs in parallel
    (xdist workers, two checkouts) never leave a torn file there; skipped where it cannot be written."""
    aside = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        aside.write_bytes(data)
        os.replace(aside, path)
    except OSError:
        aside.unlink(missing_ok=True)


def open_page(cdp: DevTools, url: str) -> str:
    target = cdp.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = cdp.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        cdp.call(f"{domain}.enable", session=session)
    cdp.call("Emulation.setDeviceMetricsOverride", {"width": 1400, "height": 2400, "deviceScaleFactor": 1, "mobile": False},
             session=session)
    cdp.events.clear()
    cdp.call("Page.navigate", {"url": url}, session=session)
    cdp.wait_event("Page.loadEventFired")
    return session


def evaluate(cdp: DevTools, session: str, expr: str) -> Any:
    res = cdp.call("Runtime.evaluate", {"expression": expr, "returnByValue": True}, session=session)
    assert "exceptionDetails" not in res, res
    return res["result"].get("value")


def wait_for_page(cdp: DevTools, session: str, condition: str, what: str, safety_net_s: int = 120) -> None:
    """Until the JavaScript `condition` holds: the page re-checks it on every DOM change (a MutationObserver) and
    resolves the promise this call awaits; if the safety net passes first, the test fails naming `what`."""
    js = ("new Promise(function(done){var ok=function(){try{return !!(" + condition + ")}catch(e){return false}};"
          "if(ok()){return done(true);}"
          "var o=new MutationObserver(function(){if(ok()){o.disconnect();done(true);}});"
          "o.observe(document,{attributes:true,childList:true,subtree:true,characterData:true});"
          "setTimeout(function(){o.disconnect();done(ok());}," + str(safety_net_s * 1000) + ");})")
    res = cdp.call("Runtime.evaluate", {"expression": js, "awaitPromise": True, "returnByValue": True}, session=session)
    assert "exceptionDetails" not in res, res
    assert res["result"].get("value") is True, f"{what}: not reached in {safety_net_s} s (safety net)"


def wait_ready(cdp: DevTools, session: str) -> None:
    """The page's inline script has run (it sets data-ready="1" on <html>)."""
    wait_for_page(cdp, session, "document.documentElement.getAttribute('data-ready') === '1'",
                  "the page's inline script did not run (CSP hash?)")


def settle(cdp: DevTools, session: str) -> None:
    """Let the page's queued tasks run (two turns of its event loop), then take in every event sent until then."""
    cdp.call("Runtime.evaluate", {"expression": "new Promise(function(r){setTimeout(function(){setTimeout(r, 0)}, 0)})",
                                  "awaitPromise": True}, session=session)
    cdp.call("Runtime.evaluate", {"expression": "1"}, session=session)


# every section holds its content (a wide table scrolls inside its .scroll frame, never the section or the page)
SECTIONS_HOLD = ("Array.prototype.filter.call(document.querySelectorAll('main section'), function(s){"
                 "return s.scrollWidth > s.clientWidth + 1}).map(function(s){return s.id})")
# chart text drawn outside its SVG is cut off by the browser: list it (with a pixel of tolerance)
CUT_TEXT = ("Array.prototype.concat.apply([], Array.prototype.map.call(document.querySelectorAll('.chart svg'), function(svg){"
            "var b = svg.getBoundingClientRect(); return Array.prototype.filter.call(svg.querySelectorAll('text'), function(t){"
            "var r = t.getBoundingClientRect(); return r.width > 0 && (r.left < b.left - 1.5 || r.right > b.right + 1.5 || "
            "r.top < b.top - 1.5 || r.bottom > b.bottom + 1.5)}).map(function(t){return t.textContent})}))")
SCROLLING_FRAMES = "Array.prototype.filter.call(document.querySelectorAll('.scroll'), function(d){return d.scrollWidth > d.clientWidth}).length"


def assert_layout(cdp: DevTools, session: str) -> int:
    """The layout checks at 1400 px and 900 px; returns how many table frames scroll at 900 px."""
    frames = 0
    for width in (1400, 900):
        cdp.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": 2400, "deviceScaleFactor": 1, "mobile": False},
                 session=session)
        assert evaluate(cdp, session, "document.documentElement.scrollWidth <= document.documentElement.clientWidth"), width
        assert evaluate(cdp, session, SECTIONS_HOLD) == [], width
        assert evaluate(cdp, session, CUT_TEXT) == [], width
        frames = evaluate(cdp, session, SCROLLING_FRAMES)
    cdp.call("Emulation.setDeviceMetricsOverride", {"width": 1400, "height": 2400, "deviceScaleFactor": 1, "mobile": False},
             session=session)
    return frames


def test_demo_report_in_headless_chromium(tmp_path: Path):
    proc = run_clue("demo", "--out", str(tmp_path / "runs" / "demo"), "--report", str(tmp_path / "reports" / "demo"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    # a model output carrying markup: must render as text
    samples = tmp_path / "runs" / "demo" / "samples.jsonl"
    lines = [json.loads(x) for x in samples.read_text().splitlines()]
    poisoned = next(i for i, s in enumerate(lines) if s["task"] == "meqsum")
    lines[poisoned]["output"] = f"{XSS_SCRIPT} then {XSS_IMG}"
    samples.write_text("".join(json.dumps(x) + "\n" for x in lines))
    rebuilt = run_clue("report", str(tmp_path / "runs" / "demo"), "--out", str(tmp_path / "reports" / "demo"), "--accept-edited")
    assert rebuilt.returncode == 0, rebuilt.stderr
    report = tmp_path / "reports" / "demo" / "index.html"
    url = report.resolve().as_uri()

    with chromium(tmp_path) as cdp:
        session = open_page(cdp, url)
        wait_ready(cdp, session)
        # layout sanity at 1400 px: no horizontal page overflow, table rows are laid out as rows
        assert evaluate(cdp, session, "document.documentElement.scrollWidth <= document.documentElement.clientWidth")
        assert assert_layout(cdp, session) >= 1  # the leaderboard (10 columns) scrolls in its frame at 900 px
        assert evaluate(cdp, session, "Array.prototype.every.call(document.querySelectorAll('tbody tr'), "
                                      "function(r){return getComputedStyle(r).display !== 'block'})")
        # screenshot of the top of the page
        shot = cdp.call("Page.captureScreenshot", {"format": "png"}, session=session)
        png = base64.b64decode(shot["data"])
        assert png.startswith(b"\x89PNG")
        (tmp_path / "report-screenshot.png").write_bytes(png)
        copy_out(png, SCREENSHOT_COPY)
        # the page works: filters hide rows, sorting reorders them
        total = evaluate(cdp, session, "document.querySelectorAll('#samples tbody tr').length")
        wrong = evaluate(cdp, session, "document.querySelectorAll('#samples tbody tr[data-state~=\"wrong\"]').length")
        assert total > 0 and 0 < wrong < total
        shown = evaluate(cdp, session, "(function(){var s=document.getElementById('f-state'); s.value='wrong';"
                                       "s.dispatchEvent(new Event('change'));"
                                       "return document.querySelectorAll('#samples tbody tr:not(.hidden)').length;})()")
        assert shown == wrong
        evaluate(cdp, session, "(function(){var s=document.getElementById('f-state'); s.value='';"
                               "s.dispatchEvent(new Event('change'));})()")
        top = "document.querySelector('#leaderboard-table tbody tr td b').textContent"
        first = evaluate(cdp, session, top)
        evaluate(cdp, session, "document.querySelectorAll('#leaderboard-table th')[2].click()")  # Level 1: highest first
        assert evaluate(cdp, session, top) == first == "Meta-Llama-3-70B-Instruct"
        evaluate(cdp, session, "document.querySelectorAll('#leaderboard-table th')[2].click()")  # then lowest first
        assert evaluate(cdp, session, top) == "meditron-7b"
        # markup in model output is text, not DOM
        assert evaluate(cdp, session, "document.scripts.length") == 1
        assert evaluate(cdp, session, "document.images.length") == 0
        assert evaluate(cdp, session, "document.querySelectorAll('[onerror]').length") == 0
        text = evaluate(cdp, session, "document.body.textContent")
        assert XSS_SCRIPT in text and XSS_IMG in text
        assert evaluate(cdp, session, "document.querySelector('svg') !== null")
        settle(cdp, session)  # late events arrive
        events = cdp.events
        dialogs = [e for e in events if e.get("method") == "Page.javascriptDialogOpening"]
        assert not dialogs, dialogs
        errors = [e for e in events if e.get("method") == "Runtime.exceptionThrown"
                  or (e.get("method") == "Runtime.consoleAPICalled" and e["params"].get("type") in ("error", "warning", "assert"))
                  or (e.get("method") == "Log.entryAdded" and e["params"]["entry"].get("level") in ("error", "warning"))]
        assert not errors, errors
        requests = [e["params"]["request"]["url"] for e in events if e.get("method") == "Network.requestWillBeSent"]
        assert requests and all(u == url for u in requests), requests  # the document itself, nothing else

        # the ClinicBench report of the same demo: 19-column leaderboard, figures, banner
        cb = open_page(cdp, (tmp_path / "reports" / "demo" / "clinicbench" / "index.html").resolve().as_uri())
        assert assert_layout(cdp, cb) >= 1
        assert evaluate(cdp, cb, "(function(){var d = document.getElementById('leaderboard-table').parentNode;"
                                 "return d.className === 'scroll' && d.scrollWidth > d.clientWidth})()")  # 19 columns: it scrolls
        assert evaluate(cdp, cb, "document.querySelector('#scatter svg') === null")  # nothing plottable: no figure
        assert "No figure: nothing to plot" in evaluate(cdp, cb, "document.getElementById('scatter').textContent")
        assert evaluate(cdp, cb, "document.querySelectorAll('.chart svg').length") >= 16  # one per dataset
