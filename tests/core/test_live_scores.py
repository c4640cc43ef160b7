"""Completions scored as they land (clue/live_scores.py) give the files that scoring at the end gives.

The worker is forked only from a process running one thread, so each check runs in a fresh
`python` process (pytest and its fake servers run threads): a whole `clue run` against a fake
server whose answers land out of order, and the worker driven directly — fed out of order, fed
twice, killed midway, or declining a task whose scores are batched.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_clue
from tests.core.test_e2e import invented_meqsum, tgi_args
from tests.fakeserver import FakeServer

MODEL = "meta-llama/Meta-Llama-3-8B-Instruct"


def _answers(kind: str, payload: object) -> str:
    """Answers of varied length and overlap with the reference (so ROUGE is neither 0 nor 100), some empty."""
    text = json.dumps(payload)
    n = sum(map(ord, text)) % 7
    return "" if n == 0 else " ".join(["What", "helps", "knee", "pain", "after", "running", "miles?"][:n] + ["please"] * (n % 3))


def _lines(run: Path, drop: tuple[str, ...] = ()) -> list[dict]:
    return [{k: v for k, v in json.loads(ln).items() if k not in drop} for ln in (run / "samples.jsonl").read_text().splitlines()]


def test_a_run_scored_as_answers_land_writes_what_scoring_at_the_end_writes(tmp_path):
    data = invented_meqsum(tmp_path, n=90)
    # answers wait 0–6 ms per word: with 16 in flight they land out of the order they were sent
    with FakeServer(responder=_answers, model_id=MODEL, latency_per_token_s=0.001) as srv:
        live = run_clue(*tgi_args(srv, tmp_path, data, out="live", store="live.sqlite"), "--concurrency", "16")
        assert live.returncode == 0, live.stderr
        at_end = run_clue(*tgi_args(srv, tmp_path, data, out="end", store="end.sqlite"), "--concurrency", "16",
                          env={"CLUE_SCORE_WORKERS": "1"})
        assert at_end.returncode == 0, at_end.stderr
        # both again from their stores (every answer cached, handed to the worker at once): byte for byte the same files
        again = run_clue(*tgi_args(srv, tmp_path, data, out="live2", store="live.sqlite"))
        again_end = run_clue(*tgi_args(srv, tmp_path, data, out="end2", store="live.sqlite"), env={"CLUE_SCORE_WORKERS": "1"})
        assert again.returncode == 0 and again_end.returncode == 0, again.stderr + again_end.stderr
    assert (tmp_path / "live" / "scores.json").read_bytes() == (tmp_path / "end" / "scores.json").read_bytes()
    timing = ("latency_s",)  # the one field that differs between two runs of the same answers
    assert _lines(tmp_path / "live", timing) == _lines(tmp_path / "end", timing)
    for name in ("samples.jsonl", "scores.json"):
        assert (tmp_path / "live2" / name).read_bytes() == (tmp_path / "end2" / name).read_bytes()
    metrics = json.loads((tmp_path / "live" / "scores.json").read_text())["tasks"]["meqsum"]["metrics"]
    assert 0 < metrics["rougeL"] < 100 and metrics["rouge1"] != metrics["rouge2"]


# Drives LiveScorer in a process of its own: the rows it returns, and score_task's lines with and without them.
DRIVER = textwrap.dedent("""
    import asyncio, json, os, random, signal, sys
    from pathlib import Path
    from clue import parsed_cache
    from clue.benchmark import get_benchmark
    from clue.live_scores import LiveScorer
    from clue.task_scores import score_task
    from clue.types import Completion, Endpoint, GenParams, Request

    data, mode = Path(sys.argv[1]), set(sys.argv[2].split(","))
    bench = get_benchmark("clue")
    profile, task = bench.get_protocol(None), bench.get_tasks("meqsum")[0]
    if "batched" in mode:  # as if BERTScore were installed: the rows are a batch's, not each item's
        type(task).scores_item_by_item = lambda self, profile: False
    with parsed_cache.caching(data / "parsed"):
        split = task.prepare(data, profile)
    endpoint = Endpoint("tgi", "m")
    requests = [Request(task="meqsum", sample_id=s.id, params=GenParams(max_new_tokens=8), protocol=profile.name,
                        endpoint=endpoint, prompt=f"p{s.id}") for s in split.evaluated]
    words = ["what", "helps", "knee", "pain", "after", "running", "miles", "?"]
    done = {}
    for i, r in enumerate(requests):
        failed = i % 11 == 5
        text = " ".join(words[: i % 9]) + (" and more words" * 300 if "big" in mode else "")  # big: 250 kB, beyond a pipe's 64
        done[r.key] = Completion(text=None if failed else text, error="HTTP 500" if failed else None)
    scorer = LiveScorer.start([task], {"meqsum": split}, profile, "m")
    assert scorer is not None, "no worker forked"
    pairs = list(zip(requests, (done[r.key] for r in requests)))
    random.Random(7).shuffle(pairs)  # landing out of order, in batches of uneven size, one batch twice
    cut = [0, 1, 4, 20, 21, 50, len(pairs)]
    batches = [pairs[a:b] for a, b in zip(cut, cut[1:])]
    batches.insert(3, batches[1])

    async def feed_all():  # "loop": from an event loop, as a run feeds it (a full pipe is written on when it has room)
        for batch in batches[:-1]:
            scorer.feed(batch)
            await asyncio.sleep(0)
        if "killed" in mode:  # the worker dies before the last batch: whatever it had not sent is scored at the end
            os.kill(scorer._process.pid, signal.SIGKILL)
            scorer._process.join()
        scorer.feed(batches[-1])
        await asyncio.sleep(0)

    if "loop" in mode:
        asyncio.run(feed_all())
    else:  # from plain code: a full pipe is waited on
        for batch in batches[:-1]:
            scorer.feed(batch)
        if "killed" in mode:
            os.kill(scorer._process.pid, signal.SIGKILL)
            scorer._process.join()
        scorer.feed(batches[-1])
    ready = scorer.collect("meqsum")
    scorer.stop()  # as a run does once every task is collected: killed at once (close waits for it)
    scorer.stop()
    scorer._process.join(60)  # a safety net: ends at once when stop killed it
    assert scorer._process.exitcode == -signal.SIGKILL
    scorer.close()
    lines, scores = score_task(task, split, requests, done, profile, "m", ready)
    lines_end, scores_end = score_task(task, split, requests, done, profile, "m")
    print(json.dumps({"ready": len(ready), "answered": sum(c.text is not None for c in done.values()),
                      "same_lines": json.dumps(lines) == json.dumps(lines_end), "same_scores": json.dumps(scores) == json.dumps(scores_end),
                      "rougeL": scores["metrics"]["rougeL"]}))
""")


def _drive(tmp_path: Path, mode: str) -> dict:
    data = invented_meqsum(tmp_path, n=60)
    proc = subprocess.run([sys.executable, "-c", DRIVER, str(data), mode], capture_output=True, text=True, cwd=ROOT,
                          env={"PYTHONPATH": str(ROOT), "CLUE_SKIP_METRICS": "bertscore,umls", "PATH": "/usr/bin:/bin"}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_the_worker_scores_every_answered_completion_fed_out_of_order_and_twice(tmp_path):
    got = _drive(tmp_path, "live")
    assert got["ready"] == got["answered"] == 52  # 57 evaluated items (3 are the shots), 5 failed: never scored
    assert got["same_lines"] and got["same_scores"] and 0 < got["rougeL"] < 100


@pytest.mark.parametrize("mode", ["big", "loop,big", "loop"])
def test_texts_beyond_what_the_pipe_holds_reach_the_worker_whole(tmp_path, mode):
    got = _drive(tmp_path, mode)
    assert got["ready"] == got["answered"] == 52
    assert got["same_lines"] and got["same_scores"]


@pytest.mark.parametrize("mode", ["killed", "loop,killed,big"])
def test_a_worker_killed_midway_leaves_the_scoring_to_the_end(tmp_path, mode):
    got = _drive(tmp_path, mode)
    assert got["ready"] == 0
    assert got["same_lines"] and got["same_scores"]


def test_the_worker_declines_a_task_whose_scores_are_batched(tmp_path):
    got = _drive(tmp_path, "batched")
    assert got["ready"] == 0
    assert got["same_lines"] and got["same_scores"]


def test_no_worker_where_it_is_switched_off_or_threads_run(monkeypatch):
    from clue import live_scores

    monkeypatch.setenv("CLUE_SCORE_WORKERS", "1")
    assert not live_scores.enabled()
    monkeypatch.delenv("CLUE_SCORE_WORKERS")
    with FakeServer():  # a thread of its own: forking now could copy a lock that thread holds
        assert not live_scores.enabled()


def test_every_clue_task_in_one_run_scores_the_same_live_and_at_the_end(tmp_path):
    """The baseline engine on the bundled synthetic items of every task: several tasks, each collected in turn."""
    common = ("run", "--engine", "baseline", "--tasks", "all", "--synthetic", "--no-progress")
    live = run_clue(*common, "--out", str(tmp_path / "live"), "--store", str(tmp_path / "live.sqlite"))
    (tmp_path / "end").mkdir()  # the same unseeded LongHealth draw (the run directory's draw seed): the same prompts
    (tmp_path / "end" / "draw_seed.json").write_bytes((tmp_path / "live" / "draw_seed.json").read_bytes())
    at_end = run_clue(*common, "--out", str(tmp_path / "end"), "--store", str(tmp_path / "end.sqlite"), env={"CLUE_SCORE_WORKERS": "1"})
    assert live.returncode == 0 and at_end.returncode == 0, live.stderr + at_end.stderr
    assert (tmp_path / "live" / "scores.json").read_bytes() == (tmp_path / "end" / "scores.json").read_bytes()
    timing = ("latency_s",)
    assert _lines(tmp_path / "live", timing) == _lines(tmp_path / "end", timing)
    assert len({ln["task"] for ln in _lines(tmp_path / "live")}) >= 5
