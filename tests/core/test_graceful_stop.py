"""Ctrl-C (SIGINT) during `python -m clue run`.

The first Ctrl-C sends nothing more, lets the requests in flight land in the store, prints how to
resume (the same command) and exits 130; the store stays consistent and a re-run completes without
generating anything twice. A second Ctrl-C stops at once, without waiting for the requests in flight.

No clock: the fake server holds requests in flight (``answer_limit``) until the test releases them, and the
test waits on the server's counters and on the run's own "stopping" line, never on a duration.
"""

from __future__ import annotations

import json
import select
import shlex
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, run_clue
from tests.core.test_crash import env, integrity, stored_prompts
from tests.core.test_e2e import MODEL, invented_meqsum, meqsum_oracle, tgi_args
from tests.fakeserver import FakeServer

TOTAL = 40


def start(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "clue", *args], env=env(), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def read_line_containing(proc: subprocess.Popen, needle: str, safety_net_s: float = 120.0) -> list[str]:
    """The stderr lines up to the first one holding `needle`; fails if stderr ends first (or after the safety net)."""
    lines: list[str] = []
    ready, _, _ = select.select([proc.stderr], [], [], safety_net_s)  # the first line; later ones follow at once
    while ready:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        if needle in line:
            return lines
        ready, _, _ = select.select([proc.stderr], [], [], safety_net_s)
    raise AssertionError(f"no line with {needle!r} on stderr: {lines}")


def resume_line(stderr: str, args: list[str]) -> str:
    assert "Traceback" not in stderr, stderr
    lines = [ln for ln in stderr.splitlines() if "resume" in ln]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("clue: interrupted") and lines[0].endswith(shlex.join(["clue", *args])), lines[0]
    return lines[0]


def test_first_ctrl_c_finishes_requests_in_flight_and_says_how_to_resume(tmp_path: Path):
    data = invented_meqsum(tmp_path, n=TOTAL + 3)
    store = tmp_path / "s.sqlite"
    with FakeServer(responder=meqsum_oracle(data), model_id=MODEL, answer_limit=6) as srv:  # then holds the rest
        args = [*tgi_args(srv, tmp_path, data), "--concurrency", "4"]
        proc = start(args)
        srv.wait_until(lambda s: s.completed == 6 and s.in_flight >= 2, proc, "6 answers, then 2 requests held in flight")
        proc.send_signal(signal.SIGINT)
        first = read_line_containing(proc, "stopping")  # the run has stopped sending
        srv.release()  # the requests in flight are answered now; the run must store them before it exits
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 130, err
        resume_line("".join(first) + err, args)
        server = srv.stats
        kept = stored_prompts(store)
        assert server.in_flight == 0 and server.requests == server.completed < TOTAL  # nothing abandoned mid-request
        assert kept == set(srv.completed_inputs)  # every answer the server generated was stored
        assert integrity(store) == "ok"
        assert not (tmp_path / "run" / "samples.jsonl").exists()
        with sqlite3.connect(store) as db:
            assert db.execute("SELECT finished FROM runs").fetchone()[0] is None  # the interrupted run is not marked finished

        srv.reset_stats()
        again = run_clue(*args)
        assert again.returncode == 0, again.stderr
        assert srv.stats.completed == TOTAL - len(kept) and not set(srv.completed_inputs) & kept
    lines = [json.loads(ln) for ln in (tmp_path / "run" / "samples.jsonl").read_text().splitlines()]
    assert len(lines) == TOTAL and all(ln["status"] == "ok" for ln in lines)
    assert integrity(store) == "ok" and len(stored_prompts(store)) == TOTAL


def test_second_ctrl_c_stops_at_once(tmp_path: Path):
    data = invented_meqsum(tmp_path, n=TOTAL + 3)
    store = tmp_path / "s.sqlite"
    with FakeServer(responder=meqsum_oracle(data), model_id=MODEL, answer_limit=0) as srv:  # never answers
        args = [*tgi_args(srv, tmp_path, data), "--concurrency", "4"]
        proc = start(args)
        # until a first answer arrives requests go one at a time (the fail-fast probe), so one is in flight, held
        srv.wait_until(lambda s: s.in_flight >= 1, proc, "a request in flight")
        proc.send_signal(signal.SIGINT)
        first = read_line_containing(proc, "stopping")
        proc.send_signal(signal.SIGINT)
        # the request in flight is never answered: a run that waited for it would not end (the safety net fails it)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 130, err
        resume_line("".join(first) + err, args)
        assert srv.stats.completed == 0
    assert integrity(store) == "ok" and stored_prompts(store) == set()
