"""The run record's environment computed ahead (in a forked child, or a thread where this process already runs
several, while `clue run` starts up) is the one computed on demand, and never holds the first request back."""

from __future__ import annotations

import json
import os
import select
import threading

import pytest

from clue import provenance


def test_a_prefetched_environment_is_the_one_computed_on_demand():
    provenance.prefetch_environment()
    ahead = provenance.environment()
    assert ahead == provenance.environment()  # the second call computes it afresh
    assert ahead["packages"]["clue-kit"] and ahead["python"]


def test_with_another_thread_running_it_is_computed_in_a_thread_and_is_the_same():
    """A process running several threads is never forked (the child would inherit their held locks): a thread then."""
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        provenance.prefetch_environment()
        assert "thread" in provenance._prefetched and "child" not in provenance._prefetched
        ahead = provenance.environment()
    finally:
        stop.set()
        other.join()
    assert ahead == provenance.environment()


def test_a_prefetch_that_fails_is_made_again_and_fails_the_usual_way(monkeypatch):
    parent = os.getpid()

    def flaky() -> dict:
        if os.getpid() != parent:  # the forked child (where this process runs one thread): fails
            raise OSError("no git here")
        if threading.current_thread() is not threading.main_thread():  # the thread (several threads running): fails
            raise OSError("no git here")
        return {"kit_version": "made again"}

    monkeypatch.setattr(provenance, "_environment", flaky)
    provenance.prefetch_environment()
    assert provenance.environment() == {"kit_version": "made again"}


def test_the_first_request_goes_out_before_the_environment_is_computed(tmp_path, synthetic_dir, monkeypatch):
    """The record's environment (git calls, package look-ups) is computed meanwhile and joins the record at the end:
    run.json still starts with it. Here computing it waits until a request was sent (a byte on a pipe, which the
    forked child or the thread shares with the engine) — had the run waited for the environment before its first
    request (as it once did, holding that request back), it would wait in vain: a safety timeout, then run.json
    says so and the test fails."""
    from clue import cli
    from clue.engines.baseline import BaselineEngine

    sent_r, sent_w = os.pipe()
    answer = BaselineEngine.generate

    async def generate(self, request):
        os.write(sent_w, b"x")
        return await answer(self, request)

    def environment() -> dict:
        ready, _, _ = select.select([sent_r], [], [], 60)
        order = "after a request was sent" if ready else "before any request was sent"
        return {"kit_version": "env-of-the-test", "git_sha": None, "python": "3", "platform": order, "packages": {}}

    monkeypatch.setattr(provenance, "_environment", environment)
    monkeypatch.setattr(BaselineEngine, "generate", generate)
    out = tmp_path / "run"
    try:
        code = cli.main(["run", "--engine", "baseline", "--tasks", "meqsum", "--data-dir", str(synthetic_dir),
                         "--out", str(out), "--store", str(tmp_path / "s.sqlite"), "--no-progress", "--limit", "4"])
    finally:
        os.close(sent_r)
        os.close(sent_w)
    assert code == 0
    record = json.loads((out / "run.json").read_text())
    assert record["platform"] == "after a request was sent"
    assert list(record)[:5] == ["kit_version", "git_sha", "python", "platform", "packages"]
    assert record["kit_version"] == "env-of-the-test" and record["engine"]["kind"] == "baseline"


def test_a_prefetch_never_taken_leaves_no_child_behind_the_next_one():
    """A run that fails before its record is written never takes its prefetch: the next prefetch reaps that child."""
    provenance.prefetch_environment()
    first = provenance._prefetched.get("child")
    if first is None:
        pytest.skip(f"{threading.active_count()} threads run in this test process: a thread, no child, was started")
    provenance.prefetch_environment()
    with pytest.raises(ChildProcessError):  # gone, and waited for (a zombie or a live child would still answer)
        os.waitpid(first[0], os.WNOHANG)
    assert provenance.environment()["python"]


CHILD_SCRIPT = r"""
import json, os, signal, sys
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # as a launcher may leave it: the kernel reaps children itself
from clue import provenance
r, w = os.pipe()  # descriptors of this process's (a run's output, a pipe to its scoring worker): not the child's
def held():
    out = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            st = os.fstat(int(name))
        except OSError:  # listdir's own, closed by now
            continue
        out[name] = [st.st_dev, st.st_ino]
    return {"fds": out, "pid": os.getpid()}
provenance._environment = held
provenance.prefetch_environment()
forked = "child" in provenance._prefetched
mine = [[os.fstat(fd).st_dev, os.fstat(fd).st_ino] for fd in (r, w)]
print(json.dumps({"forked": forked, "value": provenance.environment(), "parent": os.getpid(), "mine": mine,
                  "null": [os.stat(os.devnull).st_dev, os.stat(os.devnull).st_ino]}))
"""


def test_in_a_one_thread_process_the_child_computes_it_holding_none_of_the_run_s_descriptors():
    """A fresh process (one thread: the fork path, whatever threads this test process runs), with SIGCHLD ignored:
    the environment comes from the child, which kept only its standard streams and its own pipe."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    proc = subprocess.run([sys.executable, "-c", CHILD_SCRIPT], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["forked"] is True and got["value"]["pid"] != got["parent"]
    fds = got["value"]["fds"]
    assert all(fds[fd] == got["null"] for fd in ("0", "1", "2")), fds  # standard streams on /dev/null
    others = [ident for fd, ident in fds.items() if fd not in ("0", "1", "2")]
    assert len(others) == 1 and others[0] not in got["mine"], fds  # its own pipe only
