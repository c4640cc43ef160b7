"""Issue 23 item 2: the key the kit was told to use is redacted by value, whatever variable holds it.

`--api-key-env MY_GATEWAY_AUTH` (a name that does not look secret) against servers that echo the key in their
error text ("Incorrect API key provided: <key>"): every byte the runs and the report wrote, and every command's
stdout/stderr, is searched for the key. An explicitly named variable that is not set is one line, not ignored.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import chat_template_file, run_clue
from tests.core.test_e2e import MODEL
from tests.core.test_secrets_leak import EchoServer

KEY = "gw-CUSTOMVAR-5e1b7c9d2a83f0"
VAR = "MY_GATEWAY_AUTH"


def test_custom_key_variable_is_redacted_by_value(tmp_path: Path, synthetic_dir: Path):
    template = str(chat_template_file(tmp_path))
    written = tmp_path / "written"

    def run(engine: str, url: str, out: str):
        endpoint = url if engine == "tgi" else url + "/v1"
        args = ["run", "--engine", engine, "--endpoint", endpoint, "--model", MODEL, "--tasks", "meqsum,mednli",
                "--data-dir", str(synthetic_dir), "--out", str(written / out), "--store", str(written / f"{out}.sqlite"),
                "--no-progress", "--max-attempts", "2", "--retry-base", "0.001", "--timeout", "10", "--api-key-env", VAR]
        if engine == "tgi":
            args += ["--chat-template", template]
        return run_clue(*args, env={VAR: KEY})

    procs = {}
    with EchoServer("generate-400") as srv:
        procs["openai-400"] = run("openai", srv.url, "openai-400")
    with EchoServer("generate-400") as srv:
        procs["tgi-400"] = run("tgi", srv.url, "tgi-400")
    with EchoServer("info-401") as srv:
        procs["openai-info-401"] = run("openai", srv.url, "openai-info-401")
    with EchoServer("generate-401") as srv:
        procs["tgi-401"] = run("tgi", srv.url, "tgi-401")
    procs["report"] = run_clue("report", str(written / "openai-400"), str(written / "tgi-400"),
                               "--out", str(written / "report"), "--bootstrap", "20", env={VAR: KEY})

    for name in ("openai-400", "tgi-400", "openai-info-401", "tgi-401"):
        assert procs[name].returncode != 0, name
    assert procs["report"].returncode == 0, procs["report"].stderr
    samples = (written / "openai-400" / "samples.jsonl").read_text()
    assert "Incorrect API key provided: ***" in samples  # the server's echo reached the file, redacted
    assert "Incorrect API key provided: ***" in procs["openai-info-401"].stderr

    files = [p for p in written.rglob("*") if p.is_file()]
    assert {"samples.jsonl", "run.json", "index.html", "openai-400.sqlite"} <= {p.name for p in files}
    hits = [str(p.relative_to(written)) for p in files if KEY.encode() in p.read_bytes()]
    hits += [f"{name} output" for name, proc in procs.items() if KEY in proc.stdout + proc.stderr]
    assert hits == []


def test_unset_api_key_env_is_one_line(tmp_path: Path, synthetic_dir: Path):
    for engine, suffix in (("openai", "/v1"), ("tgi", "")):
        with EchoServer("generate-400") as srv:
            proc = run_clue("run", "--engine", engine, "--endpoint", srv.url + suffix, "--model", MODEL, "--tasks", "meqsum",
                            "--data-dir", str(synthetic_dir), "--out", str(tmp_path / engine), "--store",
                            str(tmp_path / "s.sqlite"), "--no-progress", "--api-key-env", "MY_UNSET_GATEWAY_VAR",
                            "--chat-template", str(chat_template_file(tmp_path)))
            posts = srv.posts
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode != 0 and len(lines) == 1, (engine, proc.stderr)
        assert "MY_UNSET_GATEWAY_VAR" in lines[0] and "not set" in lines[0], lines[0]
        assert posts == 0  # refused before anything was sent
