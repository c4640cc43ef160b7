"""Crash suite: SIGKILL `python -m clue run` at a dozen seeded random points, re-run each time.

Kill points: during start-up (at once after the launch; when the run first looks at the server), after
N completions observed at the fake server (the client is then receiving answers and writing them to the
store), and right after the last completion (while scoring and writing the run files). Each point is an
event (the server's counters, woken on every change), never a duration. After every kill the SQLite store passes
`PRAGMA integrity_check`, and no run ever has the server generate a completion the store already
held. The final samples.jsonl and scores equal those of an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, run_clue
from tests.core.test_e2e import MODEL, invented_meqsum, meqsum_oracle, outputs, scores, tgi_args
from tests.fakeserver import FakeServer

KILLS = 12
TOTAL = 120  # requests of the run (123 items, 3 shots)


def stored_prompts(store: Path) -> set[str]:
    if not store.exists():
        return set()
    with sqlite3.connect(store) as db:
        return {json.loads(r)["prompt"] for (r,) in db.execute("SELECT request FROM completions")}


def integrity(store: Path) -> str:
    with sqlite3.connect(store) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


def env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "HF_"))}
    out.update(HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    return out


def test_sigkill_at_random_points_never_corrupts_or_pays_twice(tmp_path):
    data = invented_meqsum(tmp_path, n=TOTAL + 3)
    rng = random.Random(20240611)
    store = tmp_path / "s.sqlite"
    survived, duplicates, generated = 0, 0, 0
    with FakeServer(responder=meqsum_oracle(data), model_id=MODEL, latency_s=0.02) as srv:
        args = [*tgi_args(srv, tmp_path, data), "--concurrency", "6"]
        for i in range(KILLS):
            before = stored_prompts(store)
            left = TOTAL - len(before)
            srv.reset_stats()
            proc = subprocess.Popen([sys.executable, "-m", "clue", *args], env=env(), cwd=ROOT,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if i == 0:  # during start-up: imports, before anything else
                point = "start-up (imports)"
            elif i == 5:  # during start-up: the run's first look at the server (/info), before any generation
                srv.wait_until(lambda s: s.lookups >= 1, proc, "the run's first GET")
                point = "start-up (first GET)"
            elif i == KILLS - 1:  # everything answered: scoring and writing the run files
                srv.wait_until(lambda s, left=left: s.completed >= left, proc, f"{left} completions")
                point = "after the last completion"
            else:  # answers landing and being written to the store
                target = rng.randint(1, max(1, left // 4))
                srv.wait_until(lambda s, target=target: s.completed >= target, proc, f"{target} completions")
                point = f"after {target} completions"
            proc.send_signal(signal.SIGKILL)
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == -signal.SIGKILL, f"kill {i} ({point}): the run ended by itself: {err.decode()[-500:]}"
            srv.wait_until(lambda s: s.in_flight == 0, what="the dead client's requests finishing server-side")
            generated += srv.stats.completed
            duplicates += len(set(srv.completed_inputs) & before)  # generated again although already stored
            if store.exists():
                assert integrity(store) == "ok", f"kill {i} ({point})"
            survived += 1

        srv.reset_stats()
        before = stored_prompts(store)
        final = run_clue(*args)
        assert final.returncode == 0, final.stderr
        assert srv.stats.completed == TOTAL - len(before)  # only what the store lacked
        duplicates += len(set(srv.completed_inputs) & before)
        generated += srv.stats.completed
        assert integrity(store) == "ok" and len(stored_prompts(store)) == TOTAL

        srv.reset_stats()  # an uninterrupted run into a fresh store
        clean = run_clue(*tgi_args(srv, tmp_path, data, out="clean", store="clean.sqlite"), "--concurrency", "6")
        assert clean.returncode == 0, clean.stderr
    print(f"\nkill points survived: {survived}; generations: {generated} for {TOTAL} requests; duplicates: {duplicates}")
    assert survived == KILLS and duplicates == 0
    assert outputs(tmp_path / "run") == outputs(tmp_path / "clean")
    assert scores(tmp_path / "run") == scores(tmp_path / "clean")
