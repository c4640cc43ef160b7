"""Issue 23 item 5: `--batch` error paths are one line, and a batch is never paid for twice.

A server without the Files/Batch API (vLLM, llama.cpp) or a wrong base path, and a damaged batch.json, used to
end in 37- and 47-line tracebacks (one blaming --model). The batch id was written after the paid submission
in place: a failure there lost it and the re-run submitted (and paid for) a second batch. Now the batch
carries a tag in its metadata, and a re-run without batch.json finds it before submitting anything.
"""

from __future__ import annotations

import json
from pathlib import Path

from clue import cli
from clue.errors import UserError
from tests.core.test_cli_errors import assert_one_line_error
from tests.core.test_e2e import invented_meqsum, meqsum_oracle
from tests.core.test_hosted import _run
from tests.fakeserver import FakeServer

MODEL = "gpt-4o-mini"


def test_server_without_the_batch_api_is_one_line(tmp_path: Path):
    data = invented_meqsum(tmp_path, n=5)
    with FakeServer(responder=meqsum_oracle(data), model_id=MODEL, batch_api=False) as srv:
        proc = _run(srv.url, tmp_path, data, MODEL, "--batch")
        live = srv.stats.requests
    assert_one_line_error(proc, "Batch API", "without --batch")
    assert "--model" not in proc.stderr and live == 0
    assert not (tmp_path / "run" / "batch.json").exists()


def test_wrong_base_path_does_not_blame_the_model(tmp_path: Path):
    data = invented_meqsum(tmp_path, n=5)
    with FakeServer(responder=meqsum_oracle(data), model_id=MODEL) as srv:
        proc = _run(srv.url + "/api", tmp_path, data, MODEL, "--batch")  # --endpoint …/api/v1: nothing there
    assert_one_line_error(proc, "--endpoint")
    assert "--model" not in proc.stderr and "check --model" not in proc.stderr


def test_damaged_batch_json_is_one_line(tmp_path: Path):
    data = invented_meqsum(tmp_path, n=5)
    (tmp_path / "run").mkdir()
    for damaged in ('{"batch_id": "batch_0", "input_', "[1, 2]", '{"batch_id": 7}', "\x00\xff"):
        (tmp_path / "run" / "batch.json").write_text(damaged, encoding="latin-1")
        with FakeServer(responder=meqsum_oracle(data), model_id=MODEL) as srv:
            proc = _run(srv.url, tmp_path, data, MODEL, "--batch")
            submitted = len(srv.batches)
        assert_one_line_error(proc, "batch.json")
        assert submitted == 0, damaged  # nothing paid for on a guess


def test_a_lost_batch_id_is_found_by_its_tag_not_paid_twice(tmp_path: Path, monkeypatch):
    data = invented_meqsum(tmp_path, n=13)
    run = tmp_path / "run"
    argv = ["run", "--engine", "openai", "--model", MODEL, "--tasks", "meqsum", "--data-dir", str(data), "--out", str(run),
            "--store", str(tmp_path / "s.sqlite"), "--no-progress", "--batch"]
    import clue.engines.batch as batch

    real_write = batch.write_atomic

    def disk_full_after_submission(path, text, **kw):  # the write that keeps the batch id fails (full disk)
        if '"batch_id"' in text:
            raise UserError(f"cannot write {path} (No space left on device)", "free disk space")
        real_write(path, text, **kw)

    with FakeServer(responder=meqsum_oracle(data), model_id=MODEL) as srv:
        srv.batch_polls = 2  # still running at the first look after submission
        monkeypatch.setattr(batch, "write_atomic", disk_full_after_submission)
        assert cli.main([*argv[:3], "--endpoint", srv.url + "/v1", *argv[3:]]) == 2
        monkeypatch.setattr(batch, "write_atomic", real_write)
        assert len(srv.batches) == 1  # paid once
        (run / "batch.json").unlink(missing_ok=True)  # and suppose even the pre-submission note was lost
        pending = _run(srv.url, tmp_path, data, MODEL, "--batch", out="run")
        assert pending.returncode == 75 and "batch_" in pending.stderr, pending.stderr
        assert len(srv.batches) == 1  # found by its tag, not submitted again
        assert json.loads((run / "batch.json").read_text())["batch_id"] in srv.batches
        done = _run(srv.url, tmp_path, data, MODEL, "--batch", out="run")
        live = srv.stats.requests
    assert done.returncode == 0, done.stderr
    assert len(srv.batches) == 1 and live == 0 and "10 cached" in done.stdout
    assert not (run / "batch.json").exists()


def test_a_batch_id_the_server_does_not_know_is_one_line(tmp_path: Path):
    data = invented_meqsum(tmp_path, n=5)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "batch.json").write_text(json.dumps({"batch_id": "batch_elsewhere"}))
    with FakeServer(responder=meqsum_oracle(data), model_id=MODEL) as srv:
        proc = _run(srv.url, tmp_path, data, MODEL, "--batch")
        submitted = len(srv.batches)
    assert_one_line_error(proc, "knows no batch batch_elsewhere", "batch.json")
    assert submitted == 0
