"""`clue data fetch --benchmark clinicbench` against a loopback mirror of GitHub raw, the Hugging Face Hub,
NLM Open-i and the MMLU / BLUE release archives (tests/data_mirror.py; never the internet).

The mirror serves invented SYNTHETIC bytes, so the benchmark's known sha256 values are swapped for the
fixtures' in a registered copy of the benchmark; files without a known hash keep None and must be
recorded in the lock file. Where each file is fetched from is written out by hand below (the pinned
commits and revisions of shared/research/clinicbench.md and the CABA manifests), not derived from the
declarations under test.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from clue import cli
from clue.benchmark import get_benchmark, register_benchmark, unregister_benchmark
from clue.data.fetch import fetch
from clue.data.sources import HubFile
from clue.errors import DataError
from tests.data_mirror import Mirror

PUBLIC = ("medqa", "medmcqa", "mmlu-medicine", "pubmedqa", "treatment-recommendation", "iu-xray", "bc5-disease",
          "ncbi-disease", "ddi", "gad", "hoc", "pharmacology-qa", "drug-interaction")
BY_HAND = ("mimic-cxr", "hospitalization-summarization", "patient-education")
GH = "https://raw.githubusercontent.com"

# dest -> where the real file lives (worked out from the research notes, not read from datasets.py)
PLAIN: dict[str, str] = {
    "medmcqa/dev.json": f"{GH}/Teddy-XiongGZ/MIRAGE/392943af99cd94cafd50a0de2e7fca24bbf65494/rawdata/medmcqa/data/dev.json",
    "mmlu-medicine/professional_medicine_test.csv":
        f"{GH}/Teddy-XiongGZ/MIRAGE/392943af99cd94cafd50a0de2e7fca24bbf65494/rawdata/mmlu/data/test/professional_medicine_test.csv",
    "pubmedqa/ori_pqal.json": f"{GH}/pubmedqa/pubmedqa/1cbae8e92f72f20c8d3747cbb3bf5bc53554d997/data/ori_pqal.json",
    "pubmedqa/test_ground_truth.json": f"{GH}/pubmedqa/pubmedqa/1cbae8e92f72f20c8d3747cbb3bf5bc53554d997/data/test_ground_truth.json",
    "treatment-recommendation/Treatment-Recommendation.csv":
        f"{GH}/AI-in-Health/ClinicBench/f55f454dc150d1e0312d17a178e8bd8459a4fcf7/Treatment-Recommendation.csv",
    "iu-xray/NLMCXR_reports.tgz": "https://openi.nlm.nih.gov/imgs/collections/NLMCXR_reports.tgz",
    "bc5-disease/test.tsv": f"{GH}/cambridgeltl/MTL-Bioinformatics-2016/df0df02fae6dbb87d88ffcf323b9096528f06f84/data/BC5CDR-disease-IOB/test.tsv",
    "bc5-disease/train.tsv": f"{GH}/cambridgeltl/MTL-Bioinformatics-2016/df0df02fae6dbb87d88ffcf323b9096528f06f84/data/BC5CDR-disease-IOB/train.tsv",
    "ncbi-disease/test.tsv": f"{GH}/cambridgeltl/MTL-Bioinformatics-2016/df0df02fae6dbb87d88ffcf323b9096528f06f84/data/NCBI-disease-IOB/test.tsv",
    "ncbi-disease/train.tsv": f"{GH}/cambridgeltl/MTL-Bioinformatics-2016/df0df02fae6dbb87d88ffcf323b9096528f06f84/data/NCBI-disease-IOB/train.tsv",
    "ddi/DDICorpus-2013.zip": f"{GH}/isegura/DDICorpus/819b0fa538ed83ab2a8b4f5417bba3c03249b7f3/DDICorpus-2013.zip",
    "pharmacology-qa/Pharmacology-QA.xlsx": f"{GH}/AI-in-Health/ClinicBench/f55f454dc150d1e0312d17a178e8bd8459a4fcf7/Pharmacology-QA.xlsx",
    "drug-interaction/Drug-Interaction-for-Emerging-Drugs.csv":
        f"{GH}/AI-in-Health/ClinicBench/f55f454dc150d1e0312d17a178e8bd8459a4fcf7/Drug-Interaction-for-Emerging-Drugs.csv",
}
# dest -> (Hub dataset repo, revision, file)
GBAKER = ("GBaker/MedQA-USMLE-4-options", "0fb93dd23a7339b6dcd27e241cb9b5eca62d4d18")
HUB: dict[str, tuple[str, str, str]] = {
    "medqa/phrases_no_exclude_test.jsonl": (*GBAKER, "phrases_no_exclude_test.jsonl"),
    "medqa/phrases_no_exclude_train.jsonl": (*GBAKER, "phrases_no_exclude_train.jsonl"),
    "medmcqa/train.parquet": ("openlifescienceai/medmcqa", "91c6572c454088bf71b679ad90aa8dffcd0d5868", "data/train-00000-of-00001.parquet"),
}
GAD_ZIP = ("bigbio/gad", "8950f534f8012eef317e1b90b2a8b13fbec8746d", "data/REdata.zip")
BLUE_ZIP = "https://github.com/ncbi-nlp/BLUE_Benchmark/releases/download/0.1/bert_data.zip"
MMLU_TAR = "https://people.eecs.berkeley.edu/~hendrycks/data.tar"
# dest -> (archive, member path inside it)
MEMBERS: dict[str, tuple[str, str]] = {
    "gad/test.tsv": ("gad", "REdata/GAD/1/test.tsv"), "gad/train.tsv": ("gad", "REdata/GAD/1/train.tsv"),
    "hoc/test.tsv": ("blue", "bert_data/hoc/test.tsv"), "hoc/train.tsv": ("blue", "bert_data/hoc/train.tsv"),
    "mmlu-medicine/professional_medicine_dev.csv": ("mmlu", "data/dev/professional_medicine_dev.csv"),
}


def body(dest: str) -> bytes:
    return f"SYNTHETIC fixture bytes for {dest}\n".encode() * 40


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _tar(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def archives() -> dict[str, bytes]:
    decoys = {"gad": {"REdata/GAD/2/test.tsv": b"other fold"}, "blue": {"bert_data/chemprot/test.tsv": b"other task"},
              "mmlu": {"data/dev/anatomy_dev.csv": b"other subject"}}
    out = {}
    for kind in ("gad", "blue", "mmlu"):
        entries = {member: body(dest) for dest, (k, member) in MEMBERS.items() if k == kind} | decoys[kind]
        out[kind] = _tar(entries) if kind == "mmlu" else _zip(entries)
    return out


@pytest.fixture
def mirror(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    srv = Mirror()
    packed = archives()
    for dest, url in PLAIN.items():
        srv.serve_url(url, body(dest))
    for dest, key in HUB.items():
        srv.hub[key] = body(dest)
    srv.hub[GAD_ZIP] = packed["gad"]
    srv.serve_url(BLUE_ZIP, packed["blue"])
    srv.serve_url(MMLU_TAR, packed["mmlu"])
    monkeypatch.setenv("CLUE_DATA_MIRROR", srv.url + "/mirror")
    monkeypatch.setenv("HF_ENDPOINT", srv.url + "/hf")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")
    for var in ("CLUE_GITHUB_RAW_URL", "CLUE_PHYSIONET_URL", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)  # read at import: a loopback Hub is allowed here
    real = get_benchmark("clinicbench")

    def fixture_hashes(f):  # noqa: ANN001, ANN202 — the known hashes, for the fixture bytes
        src = f.fetcher
        if isinstance(src, HubFile) and src.sha256:
            src = replace(src, sha256=sha(packed["gad"]))
        return replace(f, fetcher=src, sha256=sha(body(f.dest)) if f.sha256 else None)

    register_benchmark(replace(real, data=tuple(fixture_hashes(f) for f in real.data)))
    yield srv, packed
    unregister_benchmark("clinicbench")
    srv.close()


def test_fetch_gets_every_public_file_from_its_pinned_source(mirror, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    srv, _ = mirror
    data = tmp_path / "data"
    assert cli.main(["data", "fetch", "--benchmark", "clinicbench", "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out
    expected_files = set(PLAIN) | set(HUB) | set(MEMBERS)
    assert {d.split("/")[0] for d in expected_files} == set(PUBLIC)  # all 13 public datasets
    for dest in expected_files:
        assert (data / dest).read_bytes() == body(dest), dest
    # hashes the kit does not know were recorded on first download; the known ones were checked, not recorded
    lock = json.loads((data / "clue-data.lock.json").read_text())["files"]
    assert set(lock) == {"medqa/phrases_no_exclude_train.jsonl", "medmcqa/train.parquet", "mmlu-medicine/professional_medicine_dev.csv",
                         "gad/train.tsv", "hoc/test.tsv", "hoc/train.tsv"}
    assert all(entry["sha256"] == sha(body(dest)) for dest, entry in lock.items())
    # the Hub was asked at the pinned revisions
    hub_gets = {p for m, p, _ in srv.requests if m == "GET" and p.startswith("/hf/")}
    assert "/hf/datasets/GBaker/MedQA-USMLE-4-options/resolve/0fb93dd23a7339b6dcd27e241cb9b5eca62d4d18/phrases_no_exclude_test.jsonl" in hub_gets
    assert "/hf/datasets/bigbio/gad/resolve/8950f534f8012eef317e1b90b2a8b13fbec8746d/data/REdata.zip" in hub_gets
    # credentialed files: listed with their real path, not failures; no placeholder path anywhere
    for name in BY_HAND:
        assert f"{name}: to place by hand: {(data / name).resolve()}" in out
    assert "<data-dir>" not in out and "failed" not in out
    assert "21 of 21 downloadable file(s) in place; 3 to place by hand" in out
    for name in PUBLIC:  # licence and citation per dataset
        line = next(ln for ln in out.splitlines() if ln.startswith(f"{name}: licence "))
        assert "; cite " in line
    unpinned = [ln.split(":")[0] for ln in out.splitlines() if "source not pinned" in ln]
    assert sorted(unpinned) == ["hoc", "iu-xray", "mmlu-medicine"]
    # a second fetch downloads nothing and checks every file again
    srv.requests.clear()
    assert cli.main(["data", "fetch", "--benchmark", "clinicbench", "--data-dir", str(data)]) == 0
    assert not srv.requests


def test_a_flipped_byte_is_refused(mirror, tmp_path: Path) -> None:
    srv, packed = mirror
    data = tmp_path / "data"
    fetch(["drug-interaction", "hoc"], data, say=lambda _: None, benchmark="clinicbench")
    url = PLAIN["drug-interaction/Drug-Interaction-for-Emerging-Drugs.csv"]
    good = body("drug-interaction/Drug-Interaction-for-Emerging-Drugs.csv")
    flipped = bytes([good[0] ^ 1]) + good[1:]
    srv.serve_url(url, flipped)
    with pytest.raises(DataError) as info:
        fetch(["drug-interaction"], data, say=lambda _: None, force=True, benchmark="clinicbench")
    line = info.value.line()
    assert f"is {sha(flipped)}, expected {sha(good)}" in line and "discarded" in line
    assert (data / "drug-interaction/Drug-Interaction-for-Emerging-Drugs.csv").read_bytes() == good
    assert not list((data / "drug-interaction").glob("*.part"))
    # a Hub file with a known hash
    srv.hub[HUB["medqa/phrases_no_exclude_test.jsonl"]] = b"x" + body("medqa/phrases_no_exclude_test.jsonl")[1:]
    with pytest.raises(DataError, match="expected"):
        fetch(["medqa"], tmp_path / "other", say=lambda _: None, benchmark="clinicbench")
    assert not (tmp_path / "other" / "medqa" / "phrases_no_exclude_test.jsonl").exists()
    # a file whose hash was recorded in the lock file on first fetch: a changed file is refused later
    entries = {"bert_data/hoc/test.tsv": b"changed upstream", "bert_data/hoc/train.tsv": body("hoc/train.tsv")}
    srv.serve_url(BLUE_ZIP, _zip(entries))
    with pytest.raises(DataError) as info:
        fetch(["hoc"], data, say=lambda _: None, force=True, benchmark="clinicbench")
    assert "recorded on first fetch" in info.value.line()
    assert (data / "hoc/test.tsv").read_bytes() == body("hoc/test.tsv")


def test_an_interrupted_download_resumes(mirror, tmp_path: Path) -> None:
    srv, _ = mirror
    data = tmp_path / "data"
    dest = "treatment-recommendation/Treatment-Recommendation.csv"
    part = data / (dest + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(body(dest)[:100])  # what an interrupted fetch left
    said: list[str] = []
    assert fetch(["treatment-recommendation"], data, say=said.append, benchmark="clinicbench") == {dest: "fetched"}
    assert (data / dest).read_bytes() == body(dest) and not part.exists()
    assert ("GET", "/mirror/" + PLAIN[dest].split("://")[1], "bytes=100-") in srv.requests
    assert any("resuming after 100 bytes" in s for s in said)


def test_a_present_file_that_differs_is_reported_not_replaced(mirror, tmp_path: Path) -> None:
    data = tmp_path / "data"
    target = data / "pubmedqa" / "ori_pqal.json"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"{}")
    with pytest.raises(DataError) as info:
        fetch(["pubmedqa"], data, say=lambda _: None, benchmark="clinicbench")
    assert f"sha256 {sha(b'{}')} differs from {sha(body('pubmedqa/ori_pqal.json'))}" in info.value.line()
    assert target.read_bytes() == b"{}"
