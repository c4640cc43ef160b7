"""Report figures: build time and HTML size for many runs, time to first paint in headless Chromium.

Run directories are written in the layout `clue run` produces (invented text, ids SYNTHETIC-…),
one per published model, every task, scores drawn around 50 %. First paint is read from the
page's own Performance API (`first-contentful-paint`) over the DevTools protocol on a pipe
(`--remote-debugging-pipe`: NUL-separated JSON on fds 3/4, no WebSocket, no network).
`page_work` says where the page's main thread spent its time until the load event (a DevTools trace).
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from clue.perf.serving import WORDS

TASKS = {"MedNLI": "mednli", "MeQSum": "meqsum", "ProblemSummary": "problemsummary", "MeDiSumQA": "medisumqa",
         "MeDiSumCode": "medisumcode", "LongHealth": "longhealth"}
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync", "--remote-debugging-pipe"]


def _text(rng: random.Random, n: int) -> str:
    return "SYNTHETIC " + " ".join(rng.choice(WORDS) for _ in range(n))


def write_runs(root: Path, n_runs: int, n_samples: int, seed: int = 17) -> list[Path]:
    """`n_runs` run directories × 6 tasks × `n_samples` samples (LongHealth: spread over tasks 1–3)."""
    from clue.benchmarks.clue.published import PUBLISHED
    from clue.benchmarks.clue.rule import TASK_METRICS

    rng = random.Random(seed)
    names = [m.hf_id or name for name, m in PUBLISHED.models.items()][:n_runs]
    names += [f"SYNTHETIC/model-{i}" for i in range(n_runs - len(names))]
    dirs = []
    for r, model in enumerate(names):
        lines, scores = [], {}
        for title, task in TASKS.items():
            rows = []
            for i in range(n_samples):
                sid = f"SYNTHETIC-p{i // 15}/q{i % 15}/t{1 + i % 3}/r0" if task == "longhealth" else f"SYNTHETIC-{i}"
                metrics = [f"task{1 + i % 3}_acc"] if task == "longhealth" else list(TASK_METRICS[title])
                failed = r < 2 and rng.random() < 0.01  # a couple of runs with a few failed requests, as in practice
                vals = {m: (100.0 * (rng.random() < 0.5) if m.endswith("acc") else rng.uniform(20, 80)) for m in metrics}
                out = _text(rng, 40)
                rows.append({"task": task, "sample_id": sid, "request_key": f"{r:02d}{task}{i:06d}", "prompt_hash": f"{i:016x}",
                             "prompt": _text(rng, 150), "raw_output": None if failed else out, "output": None if failed else out,
                             "reference": _text(rng, 30), "scores": {} if failed else vals, "status": "failed" if failed else "ok",
                             "error": "SYNTHETIC HTTP 503 (after 6 attempts)" if failed else None, "attempts": 1, "cached": False,
                             "latency_s": 0.1, "usage": {"completion_tokens": 40}, "finish_reason": "length"})
            ok: list[dict[str, Any]] = [x for x in rows if x["status"] == "ok"]
            keys = sorted({m for x in ok for m in x["scores"]})
            means = {m: sum(x["scores"][m] for x in ok if m in x["scores"]) / max(1, sum(m in x["scores"] for x in ok)) for m in keys}
            scores[task] = {"title": title, "metrics": means, "skipped": {}, "n": len(rows), "n_scored": len(ok),
                            "n_failed": len(rows) - len(ok), "n_shots": 3}
            lines += rows
        d = root / f"run{r:02d}"
        d.mkdir(parents=True)
        (d / "scores.json").write_text(json.dumps({"model": model, "protocol": "clue-v3", "tasks": scores}), encoding="utf-8")
        (d / "samples.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
        (d / "run.json").write_text(json.dumps({"kit_version": "0.1.0", "model": model, "protocol": "clue-v3", "command": ["clue", "run"],
                                                "engine": {"kind": "tgi", "endpoint": "http://127.0.0.1:1", "describe": {}},
                                                "started": 1.7e9, "finished": 1.7e9 + 60, "tasks": list(TASKS.values()),
                                                "stats": {"requests": len(lines)}}), encoding="utf-8")
        dirs.append(d)
    return dirs


def build(run_dirs: list[Path], out: Path) -> dict[str, Any]:
    from clue.report import build_report

    t0 = time.perf_counter()
    html = build_report(run_dirs, out)
    return {"build_s": time.perf_counter() - t0, "html_bytes": html.stat().st_size, "html": str(html)}


def chromium() -> str | None:
    return shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


class _Pipe:
    """The DevTools protocol over --remote-debugging-pipe."""

    def __init__(self, exe: str, profile: str):
        to_r, self._to_w = os.pipe()
        self._from_r, from_w = os.pipe()

        def fds() -> None:  # chromium reads commands on fd 3 and writes replies on fd 4
            # the pipes may themselves be fds 3-6: moved above them first, so neither dup2 clobbers the other or is a
            # no-op that leaves close-on-exec set
            high_r, high_w = fcntl.fcntl(to_r, fcntl.F_DUPFD, 10), fcntl.fcntl(from_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self.proc = subprocess.Popen([exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"], preexec_fn=fds,
                                     close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_r)
        os.close(from_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None, timeout: float = 60) -> dict:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buf:
            if not select.select([self._from_r], [], [], max(0.0, deadline - time.monotonic()))[0]:
                raise TimeoutError("chromium did not answer on the DevTools pipe")
            chunk = os.read(self._from_r, 1 << 16)
            if not chunk:
                raise ConnectionError("chromium closed the DevTools pipe")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def close(self) -> None:
        try:
            os.write(self._to_w, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_w)
        os.close(self._from_r)


PAINT = "JSON.stringify(performance.getEntriesByType('paint').map(e => [e.name, e.startTime]))"


NAVIGATION = ("JSON.stringify((e => e && {dom_interactive: e.domInteractive, dom_content_loaded: e.domContentLoadedEventEnd, "
              "load: e.loadEventEnd})(performance.getEntriesByType('navigation')[0]))")
# one sample-browser filter change (the report's heaviest handler: it visits every listed row), timed in the page
INTERACTION = ("(() => { const el = document.getElementById('f-state'); if (!el) return null; const t = performance.now(); "
               "el.value = el.options[el.options.length - 1].value; el.dispatchEvent(new Event('change')); return performance.now() - t; })()")


def page_times(html: Path, tmp: Path) -> dict[str, Any]:
    """`html` opened in headless Chromium: first (contentful) paint, and when it is interactive — the navigation's
    load event (by then the report's one inline script has run and set `data-ready`), in ms from navigation start —
    and how long one sample-browser filter change takes (ms); or why not."""
    exe = chromium()
    if exe is None:
        return {"skipped": "chromium not installed (apt-get install chromium)"}
    try:
        out = _first_paint(exe, html, tmp, extra=True)
    except (OSError, TimeoutError, RuntimeError, ValueError) as exc:
        return {"skipped": f"chromium failed ({type(exc).__name__}: {exc})"}
    return out


def first_paint(html: Path, tmp: Path) -> dict[str, Any]:
    """Milliseconds from navigation start to first-contentful-paint (and load) of `html`, or why not."""
    exe = chromium()
    if exe is None:
        return {"skipped": "chromium not installed (apt-get install chromium)"}
    try:
        return _first_paint(exe, html, tmp)
    except (OSError, TimeoutError, RuntimeError, ValueError) as exc:  # a broken browser install is a note, not a failed bench
        return {"skipped": f"chromium failed ({type(exc).__name__}: {exc})"}


def _first_paint(exe: str, html: Path, tmp: Path, extra: bool = False) -> dict[str, Any]:
    pipe = _Pipe(exe, str(tmp / "chromium-profile"))
    try:
        target = pipe.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = pipe.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        pipe.call("Page.enable", session=session)
        t0 = time.perf_counter()
        pipe.call("Page.navigate", {"url": html.resolve().as_uri()}, session=session)
        paints: dict[str, float] = {}
        while time.perf_counter() - t0 < 60 and "first-contentful-paint" not in paints:
            value = pipe.call("Runtime.evaluate", {"expression": PAINT, "returnByValue": True}, session=session)
            paints = dict(json.loads(value.get("result", {}).get("value") or "[]"))
            if "first-contentful-paint" not in paints:
                time.sleep(0.02)
        out = {"first_contentful_paint_ms": paints.get("first-contentful-paint"), "first_paint_ms": paints.get("first-paint"),
               "wall_to_fcp_s": time.perf_counter() - t0}
        if extra:
            nav: dict[str, Any] = {}
            while time.perf_counter() - t0 < 60 and not (nav.get("load") or 0) > 0:
                value = pipe.call("Runtime.evaluate", {"expression": NAVIGATION, "returnByValue": True}, session=session)
                nav = json.loads(value.get("result", {}).get("value") or "{}") or {}
                if not (nav.get("load") or 0) > 0:
                    time.sleep(0.02)
            ready = pipe.call("Runtime.evaluate", {"expression": "document.documentElement.getAttribute('data-ready')",
                                                   "returnByValue": True}, session=session)
            acted = pipe.call("Runtime.evaluate", {"expression": INTERACTION, "returnByValue": True}, session=session)
            out.update({"dom_interactive_ms": nav.get("dom_interactive"), "dom_content_loaded_ms": nav.get("dom_content_loaded"),
                        "interactive_ms": nav.get("load"), "script_ready": ready.get("result", {}).get("value") == "1",
                        "filter_change_ms": acted.get("result", {}).get("value")})
        return out
    finally:
        pipe.close()


TRACE_CATEGORIES = ["devtools.timeline", "disabled-by-default-devtools.timeline", "blink", "blink.user_timing", "loading", "v8.execute"]
# trace event names → what the work was (first match wins); self time is counted, so nested events are not counted twice
WORK_KINDS = (("parse", ("Parse", "Tokenizer", "AppendBytes", "Decode")), ("style", ("Style", "style", "LayoutTree", "Invalidation")),
              ("layout", ("ayout", "Shape", "Svg")), ("paint", ("Paint", "Compositing", "Lifecycle", "Commit", "Raster")),
              ("script", ("Script", "v8", "V8", "Function", "Microtask", "Evaluate")))


def work_kind(name: str) -> str:
    return next((kind for kind, marks in WORK_KINDS if any(m in name for m in marks)), "other")


def main_thread_work(events: list[dict[str, Any]], url: str) -> dict[str, Any]:
    """From a DevTools trace of one page load: ms from navigation start to the load event, the renderer main thread's
    busy time (wall and CPU) in that span, and its self time by kind of work (parse, style, layout, paint, script)."""
    mains = {(e["pid"], e["tid"]) for e in events if e.get("name") == "thread_name" and e.get("args", {}).get("name") == "CrRendererMain"}
    mains = {m for m in mains if any((e["pid"], e["tid"]) == m and url in json.dumps(e.get("args", {})) for e in events)}
    mine = [e for e in events if (e.get("pid"), e.get("tid")) in mains]
    starts = [e["ts"] for e in mine if e.get("name") == "navigationStart"]
    if not starts:
        raise ValueError("no navigationStart of the page in the trace")
    t0 = max(starts)
    loads = [e["ts"] for e in mine if e.get("name") == "loadEventEnd" and e["ts"] >= t0]
    t1 = min(loads) if loads else max(e["ts"] + e.get("dur", 0) for e in mine)
    spans = sorted((e for e in mine if e.get("ph") == "X" and "dur" in e and t0 <= e["ts"] <= t1), key=lambda e: (e["ts"], -e["dur"]))
    kinds: dict[str, float] = {}
    stack: list[dict[str, Any]] = []
    for e in spans:
        while stack and e["ts"] >= stack[-1]["ts"] + stack[-1]["dur"]:
            stack.pop()
        if stack:
            parent = work_kind(stack[-1]["name"])
            kinds[parent] = kinds.get(parent, 0.0) - e["dur"]
        kind = work_kind(e["name"])
        kinds[kind] = kinds.get(kind, 0.0) + e["dur"]
        stack.append(e)
    tasks = [e for e in spans if e["name"] == "RunTask"]
    return {"load_ms": round((t1 - t0) / 1000), "busy_ms": round(sum(e["dur"] for e in tasks) / 1000),
            "busy_cpu_ms": round(sum(e.get("tdur", e["dur"]) for e in tasks) / 1000),
            "self_ms": {k: round(v / 1000) for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])}}


def page_work(html: Path, tmp: Path) -> dict[str, Any]:
    """`html` loaded in headless Chromium under a DevTools trace: where its main thread spent the time until the load
    event (`main_thread_work`), or why not."""
    exe = chromium()
    if exe is None:
        return {"skipped": "chromium not installed (apt-get install chromium)"}
    try:
        pipe = _Pipe(exe, str(tmp / "chromium-profile-trace"))
        try:
            pipe.call("Tracing.start", {"traceConfig": {"includedCategories": TRACE_CATEGORIES}, "transferMode": "ReportEvents"})
            target = pipe.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = pipe.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            pipe.call("Page.enable", session=session)
            t0 = time.perf_counter()
            pipe.call("Page.navigate", {"url": html.resolve().as_uri()}, session=session)
            while time.perf_counter() - t0 < 60:
                value = pipe.call("Runtime.evaluate", {"expression": NAVIGATION, "returnByValue": True}, session=session)
                if ((json.loads(value.get("result", {}).get("value") or "{}") or {}).get("load") or 0) > 0:
                    break
                time.sleep(0.02)
            pipe.call("Tracing.end")
            deadline = time.monotonic() + 60
            while not any(e.get("method") == "Tracing.tracingComplete" for e in pipe.events[-1:]):
                pipe.events.append(pipe._read(deadline))
            events = [x for e in pipe.events if e.get("method") == "Tracing.dataCollected" for x in e["params"]["value"]]
        finally:
            pipe.close()
        return main_thread_work(events, html.resolve().as_uri())
    except (OSError, TimeoutError, RuntimeError, ValueError, KeyError) as exc:
        return {"skipped": f"chromium trace failed ({type(exc).__name__}: {exc})"}
