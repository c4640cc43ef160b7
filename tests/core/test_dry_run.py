"""`clue run --dry-run` builds the exact requests a run would send, writes them and their counts,
and sends nothing; the real run that follows sends exactly those requests."""

from __future__ import annotations

import json

from tests.conftest import chat_template_file, run_clue
from tests.fakeserver import FakeServer

MODEL = "meta-llama/Meta-Llama-3-8B-Instruct"


def test_dry_run_writes_the_requests_and_sends_none(tmp_path, synthetic_dir):
    seen: list[str] = []

    def recording(kind, payload):
        seen.append(str(payload))
        return "answer"

    with FakeServer(responder=recording, model_id=MODEL) as srv:
        args = ["run", "--engine", "tgi", "--endpoint", srv.url, "--model", MODEL, "--tasks", "meqsum,mednli",
                "--data-dir", str(synthetic_dir), "--chat-template", str(chat_template_file(tmp_path)),
                "--out", str(tmp_path / "run"), "--store", str(tmp_path / "s.sqlite"), "--no-progress"]
        dry = run_clue(*args, "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert seen == []  # nothing generated
        planned = [json.loads(x) for x in (tmp_path / "run" / "requests.jsonl").read_text().splitlines()]
        plan = json.loads((tmp_path / "run" / "plan.json").read_text())["plan"]
        assert plan["meqsum"]["to_send"] == plan["meqsum"]["requests"] > 0 and plan["meqsum"]["cached"] == 0
        assert len(planned) == plan["meqsum"]["requests"] + plan["mednli"]["requests"]
        assert "MeQSum:" in dry.stdout and "nothing sent" in dry.stdout
        assert not (tmp_path / "run" / "scores.json").exists()

        real = run_clue(*args)
        assert real.returncode == 0, real.stderr
        again = run_clue(*args, "--dry-run")  # everything is cached now
    assert again.returncode == 0 and "0 to send" in again.stdout, again.stderr
    assert sorted(seen) == sorted(p["prompt"] for p in planned)  # the dry run showed exactly what was sent
    sent = [json.loads(x) for x in (tmp_path / "run" / "samples.jsonl").read_text().splitlines()]
    assert {s["request_key"] for s in sent} == {p["request_key"] for p in planned}
