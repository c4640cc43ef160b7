"""Loaders on the real fixtures in ../shared/data/clinicbench (skipped when absent) and on tiny files
written here for formats without a fixture."""

from __future__ import annotations

import json
import tarfile
import zipfile
from pathlib import Path

import pytest

from clue.benchmarks.clinicbench import loaders
from clue.benchmarks.clinicbench.loaders import bio, exam, radiology, released
from clue.errors import ConfigError

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "clinicbench"
PUB, REL = SHARED / "public-samples", SHARED / "released"


def fixture(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real fixture {path} not present")
    return path


def test_medqa_real_sample() -> None:
    got = exam.load_medqa(fixture(PUB / "medqa/medqa_us_4options_test_first50.jsonl"))
    assert len(got.items) == 50 and set(got.items[0].fields["options"]) == set("ABCD")
    assert got.items[0].reference == "B" and got.pool == ()


def test_medqa_five_options_and_hf_layout(tmp_path: Path) -> None:
    five = {"question": "Q?", "options": {k: f"opt {k}" for k in "ABCDE"}, "answer_idx": "E", "answer": "opt E"}
    (tmp_path / "test.jsonl").write_text(json.dumps(five) + "\n")
    (tmp_path / "train.jsonl").write_text(json.dumps(five) + "\n")
    got = exam.load_medqa(tmp_path / "test.jsonl")
    assert got.items[0].reference == "E" and len(got.pool) == 1 and got.pool[0].split == "train"
    hf = {"sent1": "Q?", "ending0": "a", "ending1": "b", "ending2": "c", "ending3": "d", "label": 2}
    (tmp_path / "hf.jsonl").write_text(json.dumps(hf) + "\n")
    assert exam.load_medqa(tmp_path / "hf.jsonl").items[0].reference == "C"
    bad = dict(five, answer="something else")
    (tmp_path / "bad.jsonl").write_text(json.dumps(bad) + "\n")
    with pytest.raises(ConfigError, match="does not name the answer"):
        exam.load_medqa(tmp_path / "bad.jsonl")


def test_medmcqa_index_base() -> None:
    path = fixture(PUB / "medmcqa/medmcqa_dev_first50.jsonl")
    got = exam.load_medmcqa(path)
    first = json.loads(path.read_text().splitlines()[0])
    assert got.items[0].reference == "ABCD"[first["cop"] - 1]  # the release is 1-indexed
    with pytest.raises(ConfigError, match="index_base=1"):
        exam.load_medmcqa(path, index_base=0)  # cop 4 exists in the release: refused as 0-indexed


def test_medmcqa_hf_zero_indexed(tmp_path: Path) -> None:
    row = {"question": "Q", "opa": "a", "opb": "b", "opc": "c", "opd": "d", "cop": 0, "id": "x"}
    (tmp_path / "validation.jsonl").write_text(json.dumps(row) + "\n")
    assert exam.load_medmcqa(tmp_path / "validation.jsonl", index_base=0).items[0].reference == "A"
    with pytest.raises(ConfigError, match="index_base=0"):
        exam.load_medmcqa(tmp_path / "validation.jsonl")


def test_mmlu_real_sample_and_dev_pool(tmp_path: Path) -> None:
    got = exam.load_mmlu(fixture(PUB / "mmlu-professional-medicine/professional_medicine_test_first50.csv"))
    assert len(got.items) == 50 and all(it.reference in "ABCD" for it in got.items)
    (tmp_path / "test").mkdir()
    (tmp_path / "dev").mkdir()
    (tmp_path / "test/professional_medicine_test.csv").write_text('"Q?",a,b,c,d,B\n')
    (tmp_path / "dev/professional_medicine_dev.csv").write_text('"Q2?",a,b,c,d,A\n' * 5)
    got = exam.load_mmlu(tmp_path / "test/professional_medicine_test.csv")
    assert len(got.pool) == 5 and got.pool[0].split == "dev"


def test_pubmedqa_real_sample_not_in_label_order() -> None:
    got = exam.load_pubmedqa(fixture(PUB / "pubmedqa/pqal_test_sample50.json"), PUB / "pubmedqa/test_ground_truth_sample50.json")
    labels = [it.reference for it in got.items]
    assert len(labels) == 50 and labels.count("yes") == 28 and labels.count("no") == 17 and labels.count("maybe") == 5
    assert labels != sorted(labels, key=["yes", "no", "maybe"].index)  # not the label-sorted ground-truth order
    assert [int(it.id) for it in got.items] == sorted(int(it.id) for it in got.items)
    assert got.items[0].fields["contexts"] and "LONG_ANSWER" not in got.items[0].fields


def test_pubmedqa_pool_is_the_non_test_items(tmp_path: Path) -> None:
    ori = {"1": {"QUESTION": "q1", "CONTEXTS": ["c"], "final_decision": "yes"},
           "2": {"QUESTION": "q2", "CONTEXTS": ["c", "d"], "final_decision": "no"}}
    (tmp_path / "ori.json").write_text(json.dumps(ori))
    (tmp_path / "gt.json").write_text(json.dumps({"2": "no"}))
    got = exam.load_pubmedqa(tmp_path / "ori.json", tmp_path / "gt.json")
    assert [it.id for it in got.items] == ["2"] and [it.id for it in got.pool] == ["1"]
    assert got.items[0].fields["contexts"] == "c d"


def test_released_files() -> None:
    pharm = exam.load_pharmacology(fixture(REL / "Pharmacology-QA.xlsx"))
    assert len(pharm.items) == 213
    assert [it.reference for it in pharm.items].count("B") == 135
    tr = released.load_treatment(REL / "Treatment-Recommendation.csv")
    assert len(tr.items) == 796 and all(2 <= len(it.reference) <= 12 for it in tr.items)
    assert sum(len(it.reference) for it in tr.items) == 8326
    di = released.load_drug_interaction(REL / "Drug-Interaction-for-Emerging-Drugs.csv")
    assert [it.reference for it in di.items] == ["yes"] * 100 + ["no"] * 100  # the ordering trap is real


def test_hospitalization_and_patient_education_formats(tmp_path: Path) -> None:
    recs = [{"age": 1, "answer": "SYNTHETIC s", "gender": "F", "hadm_id": 7, "instruct": "Input:\nSYNTHETIC\nOutput:",
             "subject_id": 9}]
    (tmp_path / "h.json").write_text(json.dumps(recs))
    got = released.load_hospitalization(tmp_path / "h.json")
    assert got.items[0].id == "7" and got.items[0].reference == "SYNTHETIC s"
    rows = "key,discharge_summary,discharge_instruction\n" + "".join(f"0,SYNTHETIC doc {i},SYNTHETIC inst {i}\n" for i in range(300))
    (tmp_path / "p.csv").write_text(rows)
    got = released.load_patient_education(tmp_path / "p.csv")
    assert len(got.items) == 181 and len(got.pool) == 119
    assert [it.id for it in got.items] == [f"row-{i}" for i in released.patient_education_selection(300)]
    assert released.patient_education_selection(3621) == released.patient_education_selection(3621)  # deterministic


def test_iob_real_samples() -> None:
    bc5 = bio.load_iob(fixture(PUB / "bc5cdr-disease/BC5CDR-disease-IOB_test_first50_sentences.tsv"))
    ncbi = bio.load_iob(fixture(PUB / "ncbi-disease/NCBI-disease-IOB_test_first50_sentences.tsv"))
    assert len(bc5.items) == 50 and len(ncbi.items) == 50
    assert bc5.items[0].fields["tokens"][:3] == ("Torsade", "de", "pointes")
    assert bc5.items[0].reference[:3] == ("B-Disease", "I-Disease", "I-Disease")


def test_iob_rejects_other_formats(tmp_path: Path) -> None:
    (tmp_path / "test.tsv").write_text("word B-Disease\n")
    with pytest.raises(ConfigError, match="token<TAB>IOB-tag"):
        bio.load_iob(tmp_path / "test.tsv")


def test_gad_tsv(tmp_path: Path) -> None:
    (tmp_path / "test.tsv").write_text("index\tsentence\tlabel\n0\t@GENE$ and @DISEASE$ .\t1\n1\tno @GENE$ @DISEASE$\t0\n")
    (tmp_path / "train.tsv").write_text("@GENE$ x @DISEASE$\t1\n")
    got = bio.load_gad(tmp_path / "test.tsv")
    assert [it.reference for it in got.items] == ["yes", "no"] and len(got.pool) == 1


def test_hoc_blue_layouts(tmp_path: Path) -> None:
    (tmp_path / "test.tsv").write_text("index\tsentence\tlabels\n11_s0\tA .\tresisting cell death\n11_s1\tB .\tinducing angiogenesis\n"
                                       "12_s0\tC .\t\n")
    got = bio.load_hoc(tmp_path / "test.tsv")
    assert [(it.id, it.fields["text"], set(it.reference)) for it in got.items] == [
        ("11", "A . B .", {"resisting cell death", "inducing angiogenesis"}), ("12", "C .", set())]
    codes = ",".join(f"{i}_{1 if i == 8 else 0}" for i in range(10))
    (tmp_path / "codes.tsv").write_text(f"labels\tsentence\tindex\n{codes}\tD .\t13_s0\n")
    assert set(bio.load_hoc(tmp_path / "codes.tsv").items[0].reference) == {"sustaining proliferative signaling"}


DDI_XML = """<?xml version="1.0"?>
<document id="D.d1"><sentence id="D.d1.s0" text="Aspirin increases warfarin levels; ibuprofen is fine.">
<entity id="D.d1.s0.e0" charOffset="0-6" type="drug" text="Aspirin"/>
<entity id="D.d1.s0.e1" charOffset="18-25" type="drug" text="warfarin"/>
<entity id="D.d1.s0.e2" charOffset="35-43" type="drug" text="ibuprofen"/>
<pair id="D.d1.s0.p0" e1="D.d1.s0.e0" e2="D.d1.s0.e1" ddi="true" type="mechanism"/>
<pair id="D.d1.s0.p1" e1="D.d1.s0.e0" e2="D.d1.s0.e2" ddi="false"/>
</sentence></document>
"""


def test_ddi_zip_layout(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "DDICorpus-2013.zip", "w") as zf:
        zf.writestr("DDICorpus/Test/Test for DDI Extraction task/DrugBank/a.xml", DDI_XML)
        zf.writestr("DDICorpus/Test/Test for DrugNER task/DrugBank/a.xml", DDI_XML)  # not the RE test set
        zf.writestr("DDICorpus/Train/DrugBank/b.xml", DDI_XML)
    got = bio.load_ddi(tmp_path / "DDICorpus-2013.zip")
    assert [(it.id, it.reference) for it in got.items] == [("D.d1.s0.p0", "mechanism"), ("D.d1.s0.p1", "none")]
    assert got.items[0].fields["sentence"] == "@DRUG$ increases @DRUG$ levels; ibuprofen is fine."
    assert len(got.pool) == 2


def test_iu_xray_tgz_and_split(tmp_path: Path) -> None:
    src = tmp_path / "xml"
    src.mkdir()
    for i in range(1, 31):
        imp = "" if i == 30 else f"<AbstractText Label=\"IMPRESSION\">Normal {i}.</AbstractText>"
        (src / f"{i}.xml").write_text(f'<eCitation><pmcId id="{i}"/><Abstract><AbstractText Label="FINDINGS">Lungs  clear\n {i}.'
                                      f"</AbstractText>{imp}</Abstract></eCitation>")
    with tarfile.open(tmp_path / "NLMCXR_reports.tgz", "w:gz") as tar:
        tar.add(src, "ecgen-radiology")
    got = radiology.load_iu_xray(tmp_path / "NLMCXR_reports.tgz")
    assert len(got.items) == 2 and len(got.pool) == 27  # floor(10 % of 29)
    assert got.items[0].fields["findings"].startswith("Lungs clear ")
    assert len(radiology.iu_xray_split([str(i) for i in range(3419)])) == 341


def test_mimic_cxr_reports(tmp_path: Path) -> None:
    d = tmp_path / "files/p10/p100"
    d.mkdir(parents=True)
    (d / "s1.txt").write_text(" FINAL REPORT\n INDICATION: SYNTHETIC.\n FINDINGS: Lungs clear.\n\n IMPRESSION: Normal.\n")
    (d / "s2.txt").write_text(" FINAL REPORT\n IMPRESSION: Only an impression.\n")
    got = radiology.load_mimic_cxr(tmp_path)
    assert [(it.id, it.fields["findings"], it.reference) for it in got.items] == [("s1", "Lungs clear.", "Normal.")]
    assert "1 reports" in got.note


def test_missing_file_is_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        loaders.load("gad", tmp_path)
    with pytest.raises(ConfigError, match="nothing to load"):
        loaders.load("referral-qa", tmp_path)


def test_parquet_without_pyarrow_is_one_line_error(tmp_path: Path) -> None:
    pytest.importorskip("pandas")
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        (tmp_path / "test.parquet").write_bytes(b"PAR1")
        with pytest.raises(ConfigError, match="needs pyarrow"):
            exam.load_medqa(tmp_path / "test.parquet")
    else:
        pytest.skip("pyarrow installed: the Parquet path reads the file")
