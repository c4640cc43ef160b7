"""Bundled data for demos and tests: real public samples where the licence allows, synthetic otherwise.

`materialize(data_dir)` writes `<data_dir>/<dataset>/<file>` for the 16 runnable datasets in the
original file names and formats, so `loaders.load(name, data_dir)` reads them like real data.
`SOURCE[dataset]` says which kind each is; every synthetic item is invented (ids/text marked
SYNTHETIC), none is taken from any dataset, and the three credentialed datasets are always synthetic.
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
import zipfile
from pathlib import Path

from clue.data.lock import mark_bundled

SYNTHETIC = Path(__file__).parent  # this folder: the invented stand-ins (README.md here)
SAMPLES = SYNTHETIC.parent / "samples"  # real public samples, licences kept (samples/README.md)

# dataset → (kind, [(bundled file relative to samples/ or synthetic/, target file name in the data dir)])
SOURCE: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "medqa": ("public sample", [("medqa/medqa_us_4options_test_first10.jsonl", "phrases_no_exclude_test.jsonl")]),
    "medmcqa": ("public sample", [("medmcqa/medmcqa_dev_first10.jsonl", "dev.json")]),
    "mmlu-medicine": ("public sample", [("mmlu-medicine/professional_medicine_test_first10.csv", "professional_medicine_test.csv")]),
    "pubmedqa": ("public sample", [("pubmedqa/pqal_test_sample10.json", "ori_pqal.json"),
                                   ("pubmedqa/test_ground_truth_sample10.json", "test_ground_truth.json")]),
    "treatment-recommendation": ("public sample", [("treatment-recommendation/Treatment-Recommendation_first10.csv",
                                                    "Treatment-Recommendation.csv")]),
    "bc5-disease": ("public sample", [("bc5-disease/BC5CDR-disease-IOB_test_first10_sentences.tsv", "test.tsv")]),
    "ncbi-disease": ("public sample", [("ncbi-disease/NCBI-disease-IOB_test_first10_sentences.tsv", "test.tsv")]),
    "drug-interaction": ("synthetic", [("drug-interaction/Drug-Interaction-for-Emerging-Drugs.csv",
                                        "Drug-Interaction-for-Emerging-Drugs.csv")]),
    "pharmacology-qa": ("synthetic", []),  # xlsx written from records.jsonl
    "gad": ("synthetic", [("gad/test.tsv", "test.tsv"), ("gad/train.tsv", "train.tsv")]),
    "hoc": ("synthetic", [("hoc/test.tsv", "test.tsv"), ("hoc/train.tsv", "train.tsv")]),
    "ddi": ("synthetic", []),  # zip written from ddi/{test,train}/*.xml
    "iu-xray": ("synthetic", []),  # tgz written from iu-xray/ecgen-radiology/*.xml
    "mimic-cxr": ("synthetic", []),  # report tree copied
    "hospitalization-summarization": ("synthetic", [("hospitalization-summarization/Hospitalization-Summarization.json",
                                                     "Hospitalization-Summarization.json")]),
    "patient-education": ("synthetic", [("patient-education/Patient-Education.csv", "Patient-Education.csv")]),
}


def _atomic(target: Path, write) -> None:  # noqa: ANN001 — a callable taking the temp path
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _pharmacology_xlsx(tmp: Path) -> None:
    import pandas as pd

    rows = [json.loads(line) for line in (SYNTHETIC / "pharmacology-qa/records.jsonl").read_text(encoding="utf-8").splitlines() if line]
    with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
        pd.DataFrame(rows).to_excel(xw, sheet_name="selected", index=False)


def _ddi_zip(tmp: Path) -> None:
    with zipfile.ZipFile(tmp, "w") as zf:
        for path in sorted((SYNTHETIC / "ddi/test").glob("*.xml")):
            zf.write(path, f"DDICorpus/Test/Test for DDI Extraction task/DrugBank/{path.name}")
        for path in sorted((SYNTHETIC / "ddi/train").glob("*.xml")):
            zf.write(path, f"DDICorpus/Train/DrugBank/{path.name}")


def _iu_tgz(tmp: Path) -> None:
    with tarfile.open(tmp, "w:gz") as tar:
        for path in sorted((SYNTHETIC / "iu-xray/ecgen-radiology").glob("*.xml")):
            tar.add(path, f"ecgen-radiology/{path.name}")


def materialize(data_dir: str | Path, datasets: list[str] | None = None) -> Path:
    """Write the bundled files of `datasets` (default: all 16 runnable ones) under `data_dir`."""
    data_dir = Path(data_dir)
    for name in datasets or list(SOURCE):
        origin, files = SOURCE[name]
        base = SAMPLES if origin == "public sample" else SYNTHETIC
        for rel, target in files:
            _atomic(data_dir / name / target, lambda tmp, src=base / rel: shutil.copyfile(src, tmp))
        if name == "pharmacology-qa":
            _atomic(data_dir / name / "Pharmacology-QA.xlsx", _pharmacology_xlsx)
        elif name == "ddi":
            _atomic(data_dir / name / "DDICorpus-2013.zip", _ddi_zip)
        elif name == "iu-xray":
            _atomic(data_dir / name / "NLMCXR_reports.tgz", _iu_tgz)
        elif name == "mimic-cxr":
            dest = data_dir / name / "reports"
            if dest.exists():
                shutil.rmtree(dest)
            shutil.copytree(SYNTHETIC / "mimic-cxr/reports", dest)
    marks = {name: SOURCE[name][0] for name in datasets or list(SOURCE)}
    _atomic(data_dir / "BUNDLED.json", lambda tmp: tmp.write_text(json.dumps(marks, indent=2) + "\n", encoding="utf-8"))
    mark_bundled(data_dir, "ClinicBench bundled public samples and synthetic items")  # hashes recorded, never compared
    return data_dir
