"""Bad-input matrix: every case is one line naming the problem and the fix, a non-zero exit, no
traceback, and nothing corrupted (the store passes its integrity check, an earlier run's files are
untouched). Driven in-process through `clue.cli.main` (an unexpected exception fails the test the
way a traceback would); `--debug` and two concurrent runs go through a subprocess. The cases in
tests/core/test_cli_errors.py are not repeated here.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

from clue.cli import main
from tests.conftest import ROOT, chat_template_file, run_clue
from tests.core.test_cli_errors import assert_one_line_error
from tests.core.test_e2e import MODEL, invented_meqsum
from tests.fakeserver import FakeServer

XLSX = "MeQSum_ACL2019_BenAbacha_Demner-Fushman.xlsx"


@dataclass
class Case:
    """argv (after `clue`), built by `setup(tmp_path, data_dir)`; the error line must contain every needle."""

    setup: Callable[[Path, Path], list[str]]
    needles: tuple[str, ...]
    monkey: Callable[[pytest.MonkeyPatch, Path], None] | None = None
    server: dict = field(default_factory=dict)  # FakeServer options, when the case needs an endpoint


def run_args(tmp: Path, data: Path, task: str = "meqsum", *extra: str) -> list[str]:
    return ["run", "--engine", "baseline", "--tasks", task, "--data-dir", str(data), "--out", str(tmp / "run"),
            "--store", str(tmp / "s.sqlite"), "--no-progress", *extra]


def write(data: Path, task: str, name: str, content: bytes | str) -> None:
    target = data / task / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    target.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)


def data_case(task: str, name: str, content: Callable[[Path], bytes | str]) -> Callable[[Path, Path], list[str]]:
    def setup(tmp: Path, data: Path) -> list[str]:
        write(data, task, name, content(data / task / name))
        return run_args(tmp, data, task)

    return setup


def xlsx(rows: list[dict], columns: list[str] | None = None) -> Callable[[Path], bytes]:
    def make(path: Path) -> bytes:
        import io

        import pandas as pd

        buf = io.BytesIO()
        pd.DataFrame(rows, columns=columns).to_excel(buf, index=False, engine="openpyxl")
        return buf.getvalue()

    return make


def truncated(path: Path) -> bytes:
    data = path.read_bytes()
    return data[: len(data) // 2]


def jsonl(records: list) -> Callable[[Path], str]:
    return lambda _: "".join(json.dumps(r) + "\n" for r in records)


NLI = {"sentence1": "Invented premise.", "sentence2": "Invented hypothesis.", "gold_label": "entailment"}


def roster(text: str) -> Callable[[Path, Path], list[str]]:
    def setup(tmp: Path, data: Path) -> list[str]:
        (tmp / "roster.yaml").write_text(text)
        return ["models", "--roster", str(tmp / "roster.yaml")]

    return setup


ROSTER_ENTRY = ("models:\n- name: m\n  published: null\n  hf_id: org/m\n  revision: null\n  instruct: true\n  has_system: true\n"
                "  context_length: {ctx}\n  num_shard: 1\n  type: general\n{extra}")


def template(config: str) -> Callable[[Path, Path], list[str]]:
    def setup(tmp: Path, data: Path) -> list[str]:
        (tmp / "tokenizer_config.json").write_text(config)
        return ["run", "--engine", "tgi", "--endpoint", "{url}", "--model", MODEL, "--tasks", "meqsum", "--data-dir", str(data),
                "--chat-template", str(tmp / "tokenizer_config.json"), "--out", str(tmp / "run"), "--store", str(tmp / "s.sqlite"),
                "--no-progress"]

    return setup


def tgi_run(tmp: Path, data: Path, *extra: str) -> list[str]:
    return ["run", "--engine", "tgi", "--endpoint", "{url}", "--model", MODEL, "--tasks", "meqsum", "--data-dir", str(data),
            "--chat-template", str(chat_template_file(tmp)), "--out", str(tmp / "run"), "--store", str(tmp / "s.sqlite"),
            "--no-progress", "--max-attempts", "2", "--retry-base", "0.001", "--timeout", "5", *extra]


def openai_run(tmp: Path, data: Path, *extra: str) -> list[str]:
    return ["run", "--engine", "openai", "--endpoint", "{url}/v1", "--model", MODEL, "--tasks", "meqsum", "--data-dir", str(data),
            "--out", str(tmp / "run"), "--store", str(tmp / "s.sqlite"), "--no-progress", "--max-attempts", "2",
            "--retry-base", "0.001", "--timeout", "5", *extra]


def huge_field(tmp: Path, data: Path) -> list[str]:
    """A 5 MB premise: the chat route has no `truncate`, so the server rejects it (422) — failed, not retried."""
    records = [dict(NLI, sentence1=f"Invented premise {i}. " + ("very long " * 500_000 if i == 5 else "")) for i in range(8)]
    write(data, "mednli", "mli_test_v1.jsonl", jsonl(records)(tmp))
    args = openai_run(tmp, data)
    args[args.index("meqsum")] = "mednli"
    return args


def html_server(tmp: Path, data: Path) -> list[str]:
    return tgi_run(tmp, data)


def store_garbage(tmp: Path, data: Path) -> list[str]:
    (tmp / "s.sqlite").write_bytes(b"this is not a database, just text " * 100)
    return run_args(tmp, data)


def store_is_dir(tmp: Path, data: Path) -> list[str]:
    (tmp / "s.sqlite").mkdir()
    return run_args(tmp, data)


def disk_full_store(mp: pytest.MonkeyPatch, tmp: Path) -> None:
    """The store's file system is full: SQLite's own SQLITE_FULL, by capping the database at its current size."""
    from clue.store import Store

    original = Store.__init__

    def full(self, path):
        original(self, path)
        pages = self._db.execute("PRAGMA page_count").fetchone()[0]
        self._db.execute(f"PRAGMA max_page_count = {max(pages, 1)}")

    mp.setattr(Store, "__init__", full)


def disk_full_files(mp: pytest.MonkeyPatch, tmp: Path) -> None:
    """Writing the run directory's files fails with ENOSPC."""
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, text):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    mp.setattr(os, "fdopen", lambda fd, *a, **k: Full(real_fdopen(fd, *a, **k)))


def read_only(mp: pytest.MonkeyPatch, tmp: Path) -> None:
    """A read-only run directory (chmod; as root, where chmod does not bind, the write fails with EROFS)."""
    out = tmp / "run"
    out.mkdir(exist_ok=True)
    if os.geteuid() != 0:
        out.chmod(0o555)
        return
    real = Path.write_text

    def refuse(self, *a, **k):
        if self.parent == out:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
        return real(self, *a, **k)

    mp.setattr(Path, "write_text", refuse)


def locked(mp: pytest.MonkeyPatch, tmp: Path) -> None:
    """Another run holds the run directory's lock (an flock from another open file: conflicts even in-process)."""
    import fcntl

    out = tmp / "run"
    out.mkdir(exist_ok=True)
    fd = os.open(out / ".clue-run.lock", os.O_RDWR | os.O_CREAT)
    os.write(fd, b"4242\n")
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    HELD.append(fd)  # closed by the test


HELD: list[int] = []


CASES: dict[str, Case] = {
    # data files
    "meqsum-truncated-xlsx": Case(data_case("meqsum", XLSX, truncated), ("not a readable xlsx", "re-download")),
    "meqsum-empty-xlsx": Case(data_case("meqsum", XLSX, lambda _: b""), ("not a readable xlsx", "re-download")),
    "meqsum-wrong-columns": Case(data_case("meqsum", XLSX, xlsx([{"Question": "q", "Answer": "a"}] * 5)),
                                 ("lacks column(s) CHQ, Summary", "expected the MeQSum release")),
    "meqsum-header-only": Case(data_case("meqsum", XLSX, xlsx([], ["File", "CHQ", "Summary"])), ("fewer than k+1", "check the data file")),
    "mednli-truncated-line": Case(data_case("mednli", "mli_test_v1.jsonl", lambda p: p.read_text()[:-40]), ("mli_test_v1.jsonl",)),
    "mednli-missing-key": Case(data_case("mednli", "mli_test_v1.jsonl", jsonl([{k: v for k, v in NLI.items() if k != "gold_label"}] * 5)),
                               ("lacks field(s) gold_label", "expected the MedNLI test split")),
    "mednli-not-utf8": Case(data_case("mednli", "mli_test_v1.jsonl", lambda _: b'{"sentence1": "caf\xe9 \xff\xfe"}\n' * 5), ("UTF-8",)),
    "mednli-empty": Case(data_case("mednli", "mli_test_v1.jsonl", lambda _: b""), ("mli_test_v1.jsonl",)),
    "mednli-not-objects": Case(data_case("mednli", "mli_test_v1.jsonl", jsonl([[1, 2], "text", 3, None, True])), ("mli_test_v1.jsonl",)),
    "longhealth-truncated": Case(data_case("longhealth", "benchmark_v5.json", truncated), ("not valid JSON", "re-download")),
    "longhealth-wrong-shape": Case(data_case("longhealth", "benchmark_v5.json", lambda _: "[1, 2, 3]"), ("not a JSON object of patients",)),
    "longhealth-wrong-keys": Case(data_case("longhealth", "benchmark_v5.json", lambda _: json.dumps({"p1": {"texts": {}, "qs": []}})),
                                  ("lacks list field 'questions'",)),
    "problemsummary-wrong-columns": Case(data_case("problemsummary", "BioNLP2023-1A-Test.csv", lambda _: "a,b\n1,2\n"), ("lacks column(s)",)),
    "problemsummary-not-utf8": Case(data_case("problemsummary", "BioNLP2023-1A-Test.csv", lambda p: p.read_bytes() + b"\xff\xfe\xfa\n"),
                                    ("not UTF-8",)),
    "medisumqa-wrong-keys": Case(data_case("medisumqa", "MeDiSumQA.json", jsonl([{"note": "x", "q": "y"}] * 5)), ("MeDiSumQA.json",)),
    "medisumcode-bad-codes": Case(data_case("medisumcode", "MeDiSumCode.json", lambda _: json.dumps([{"hadm_id": 1, "text": "t",
                                                                                                      "icd_codes": 5}] * 5)),
                                  ("MeDiSumCode.json",)),
    "data-dir-is-a-file": Case(lambda tmp, data: run_args(tmp, data / "meqsum" / XLSX), ("missing",)),
    "huge-field": Case(huge_field, ("1 request(s) failed", "http_422", "re-run")),
    # roster, protocol, options
    "roster-unknown-key": Case(roster(ROSTER_ENTRY.format(ctx=8192, extra="  colour: blue\n")), ("colour",)),
    "roster-bad-type": Case(roster(ROSTER_ENTRY.format(ctx='"big"', extra="")), ("context_length",)),
    "roster-not-yaml": Case(roster("- name: [unclosed\n  : :\n"), ("roster",)),
    "roster-not-a-list": Case(roster("just a string\n"), ("roster",)),
    "protocols-show-unknown": Case(lambda tmp, data: ["protocols", "--show", "clue-v9"], ("unknown protocol",)),
    "endpoint-not-http": Case(lambda tmp, data: ["run", "--engine", "tgi", "--model", MODEL, "--endpoint", "ftp://127.0.0.1/x",
                                                 "--synthetic", "--out", str(tmp / "run"), "--store", str(tmp / "s.sqlite")],
                              ("not an http(s) URL",)),
    "concurrency-zero": Case(lambda tmp, data: run_args(tmp, data, "meqsum", "--concurrency", "0"), ("--concurrency", "at least 1")),
    # chat templates
    "template-undefined-variable": Case(template(json.dumps({"chat_template": "{{ bos_token }}{{ nosuch.attribute.deeper }}"})),
                                        ("cannot be rendered", "'nosuch' is undefined", "--chat-template"), server={}),
    "template-syntax-error": Case(template(json.dumps({"chat_template": "{% for m in messages %}{{ m.content }}"})),
                                  ("cannot be rendered", "TemplateSyntaxError"), server={}),
    "template-not-json": Case(template("{not json"), ("not valid JSON",), server={}),
    "template-missing": Case(template(json.dumps({"bos_token": "<s>"})), ("chat_template",), server={}),
    # endpoints
    "endpoint-not-tgi": Case(lambda tmp, data: tgi_run(tmp, data), ("not a TGI server", "--engine openai"), server={"tgi": False}),
    "endpoint-html-tgi": Case(html_server, ("did not return TGI's Info JSON", "root URL of a TGI server"), server={"html": True}),
    "endpoint-html-openai": Case(lambda tmp, data: openai_run(tmp, data), ("{url}/v1/models did not return OpenAI-compatible JSON", "/v1"),
                                 server={"html": True}),
    "credentials-revoked-mid-run": Case(lambda tmp, data: tgi_run(tmp, data, "--concurrency", "1"),
                                        ("the API key was revoked", "TGI_API_KEY"), server={"fault_plan": [None, None, "401"]}),
    # store and run directory
    "store-not-a-database": Case(store_garbage, ("response store", "--store")),
    "store-is-a-directory": Case(store_is_dir, ("response store", "--store")),
    "disk-full-store": Case(lambda tmp, data: run_args(tmp, data), ("response store", "full", "re-run the same command"), disk_full_store),
    "disk-full-run-files": Case(lambda tmp, data: run_args(tmp, data), ("No space left on device", "free disk space"), disk_full_files),
    "read-only-run-dir": Case(lambda tmp, data: run_args(tmp, data), ("run directory", "--out"), read_only),
    "run-dir-locked": Case(lambda tmp, data: run_args(tmp, data), ("another clue run (pid 4242)", "different --out"), locked),
}


class _HTMLHandler:
    """A web server that answers every path with an HTML page (a login portal, a proxy's error page)."""

    def __init__(self):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _page(self):
                if self.command == "POST":
                    self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = b"<!doctype html><html><head><title>Sign in</title></head><body><h1>Welcome</h1></body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _page

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def fingerprint(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file() and p.name != ".clue-run.lock"}


@pytest.fixture
def data(tmp_path: Path) -> Path:
    from clue.benchmarks.clue.synthetic import materialize

    return materialize(tmp_path / "data")


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input(name: str, tmp_path: Path, data: Path, monkeypatch, capsys):
    case = CASES[name]
    for var in ("OPENAI_API_KEY", "TGI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    argv = case.setup(tmp_path, data)
    earlier = case.monkey in (disk_full_store, disk_full_files, locked)
    if earlier:  # an earlier run lives in the store and the run directory
        assert main(run_args(tmp_path, data)) == 0
        before = fingerprint(tmp_path / "run")
        capsys.readouterr()
    if case.monkey is not None:
        case.monkey(monkeypatch, tmp_path)
    server = None
    if "html" in case.server:
        server = _HTMLHandler()
    elif case.server or "{url}" in " ".join(argv):
        server = FakeServer(model_id=MODEL, **case.server)
    try:
        if server is not None:
            server.__enter__()
            argv = [a.replace("{url}", server.url) for a in argv]
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse
            code = exc.code
        finally:
            while HELD:
                os.close(HELD.pop())
        needles = [n.replace("{url}", server.url) if server else n for n in case.needles]
    finally:
        if server is not None:
            server.__exit__(None, None, None)
    monkeypatch.undo()
    out, err = capsys.readouterr()
    lines = [ln for ln in err.splitlines() if ln.startswith("clue: error:")]
    assert code not in (0, None), f"exit {code}; stderr: {err}"
    assert len(lines) == 1 and " — " in lines[0], err  # the problem — the fix
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert "Traceback" not in err + out
    print(lines[0])
    store = tmp_path / "s.sqlite"
    if store.is_file() and name != "store-not-a-database":
        with sqlite3.connect(store) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    if earlier:
        assert fingerprint(tmp_path / "run") == before, "the earlier run's files were changed"
        assert not [p for p in (tmp_path / "run").iterdir() if p.name.endswith(".tmp")]
    elif name != "huge-field":
        assert not (tmp_path / "run" / "samples.jsonl").exists()


def test_the_matrix_is_large_enough():
    assert len(CASES) >= 25


def test_debug_shows_the_traceback(tmp_path, data):
    args = run_args(tmp_path, data, "meqsum", "--protocol", "clue-v9")
    plain = run_clue(*args)
    assert_one_line_error(plain, "unknown protocol")
    debug = run_clue("--debug", *args)
    assert debug.returncode != 0 and "Traceback" in debug.stderr and "unknown protocol" in debug.stderr


def test_two_runs_into_the_same_directory_at_once(tmp_path):
    """The second starts while the first is mid-run (the server holds its requests until the second has ended):
    it stops with the lock error; the first then finishes, whole."""
    data = invented_meqsum(tmp_path, n=23)
    from tests.core.test_crash import env

    with FakeServer(model_id=MODEL, answer_limit=0) as srv:
        args = [*tgi_run(tmp_path, data, "--concurrency", "2")]
        args = [a.replace("{url}", srv.url) for a in args]

        def start() -> subprocess.Popen:
            return subprocess.Popen([sys.executable, "-m", "clue", *args], env=env(), cwd=ROOT, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)

        first = start()
        srv.wait_until(lambda s: s.in_flight >= 1, first, "the first run's first request")  # it holds the directory
        second = start()
        results = [(second, *second.communicate(timeout=120))]
        srv.release()
        results.insert(0, (first, *first.communicate(timeout=120)))
    assert [r[0].returncode == 0 for r in results] == [True, False], [r[2] for r in results]
    proc, out, err = results[1]
    assert_one_line_error(subprocess.CompletedProcess(args, proc.returncode, out, err), "another clue run", "different --out")
    lines = [json.loads(ln) for ln in (tmp_path / "run" / "samples.jsonl").read_text().splitlines()]
    assert len(lines) == 20 and all(ln["status"] == "ok" for ln in lines)
    shutil.rmtree(tmp_path / "run")

