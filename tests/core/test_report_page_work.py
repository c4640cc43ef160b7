"""clue.perf.reporting.main_thread_work on a hand-made trace (self times worked out by hand), and page_work on a
real page in headless Chromium (skipped without chromium)."""

from __future__ import annotations

from pathlib import Path

import pytest

from clue.perf.reporting import chromium, main_thread_work, page_work

URL = "file:///r/index.html"


def span(name: str, ts: int, dur: int, pid: int = 1, **extra: object) -> dict:
    return {"name": name, "ph": "X", "ts": ts, "dur": dur, "pid": pid, "tid": pid, **extra}


def test_self_time_by_kind_on_a_hand_made_trace():
    t0 = 5_000_000  # µs
    events = [
        {"name": "thread_name", "ph": "M", "pid": 1, "tid": 1, "args": {"name": "CrRendererMain"}},
        {"name": "thread_name", "ph": "M", "pid": 2, "tid": 2, "args": {"name": "CrRendererMain"}},  # another page
        {"name": "ResourceSendRequest", "ph": "I", "pid": 1, "tid": 1, "ts": t0 - 50, "args": {"data": {"url": URL}}},
        {"name": "navigationStart", "ph": "R", "pid": 1, "tid": 1, "ts": t0 - 900_000},  # about:blank before it
        {"name": "navigationStart", "ph": "R", "pid": 1, "tid": 1, "ts": t0},
        # one 100 ms task: parse 60 ms holding a 20 ms style recalc, then a 10 ms layout; 30 ms of its own
        span("RunTask", t0 + 1_000, 100_000, tdur=80_000),
        span("ParseHTML", t0 + 10_000, 60_000),
        span("UpdateLayoutTree", t0 + 20_000, 20_000),
        span("Layout", t0 + 80_000, 10_000),
        # a 30 ms script task
        span("RunTask", t0 + 150_000, 30_000, tdur=30_000),
        span("EvaluateScript", t0 + 150_000, 30_000),
        {"name": "loadEventEnd", "ph": "R", "pid": 1, "tid": 1, "ts": t0 + 200_000},
        span("RunTask", t0 + 300_000, 500_000),  # after the load event: not counted
        span("RunTask", t0 + 1_000, 700_000, pid=2),  # the other page's thread: not counted
        {"name": "ResourceSendRequest", "ph": "I", "pid": 2, "tid": 2, "ts": t0, "args": {"data": {"url": "about:blank"}}},
    ]
    out = main_thread_work(events, URL)
    assert out == {"load_ms": 200, "busy_ms": 130, "busy_cpu_ms": 110,
                   "self_ms": {"parse": 40, "other": 30, "script": 30, "style": 20, "layout": 10}}


def test_a_trace_without_the_page_says_so():
    with pytest.raises(ValueError, match="navigationStart"):
        main_thread_work([{"name": "thread_name", "ph": "M", "pid": 1, "tid": 1, "args": {"name": "CrRendererMain"}}], URL)


@pytest.mark.skipif(chromium() is None, reason="chromium not installed (CI installs Debian chromium in .ci/run)")
def test_page_work_in_headless_chromium(tmp_path: Path):
    page = tmp_path / "page.html"
    rows = "".join(f"<tr><td>{i}</td><td>row {i}</td></tr>" for i in range(2000))
    page.write_text(f"<!doctype html><title>t</title><table>{rows}</table>", encoding="utf-8")
    out = page_work(page, tmp_path)
    assert "skipped" not in out, out
    assert out["load_ms"] > 0 and out["busy_ms"] > 0 and out["self_ms"].get("parse", 0) > 0
