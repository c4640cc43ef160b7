"""Where each task's files come from (spec §8), and the sha256 values the kit knows.

A `DataFile` names one file the kit can download: its URL (host part configurable so tests can
point at a loopback server), where it lands under the data directory, whether it needs
PhysioNet credentials, and the project page where access is requested. MeDiSumCode is not
downloadable: it is built (`clue data build medisumcode`, spec §7.2) from two MIMIC-IV files
listed here as its inputs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

# Known-good sha256 values (bundled). Files without one are checked against PhysioNet's own
# SHA256SUMS.txt when the project publishes one, else recorded on first fetch (data/checksums.json).
KNOWN_SHA256: dict[str, str] = {
    # computed from the copy in the project's shared data (downloaded from the raw GitHub URL below)
    "meqsum/MeQSum_ACL2019_BenAbacha_Demner-Fushman.xlsx": "abedd939d5014306ca576522416bf69103e85dc8fcf1668a4099e8b84a39eeea",
}

PHYSIONET_ENV = "CLUE_PHYSIONET_URL"
GITHUB_RAW_ENV = "CLUE_GITHUB_RAW_URL"
PHYSIONET_HOST = "physionet.org"


def physionet_base() -> str:
    return os.environ.get(PHYSIONET_ENV, "https://physionet.org").rstrip("/")


def github_raw_base() -> str:
    return os.environ.get(GITHUB_RAW_ENV, "https://raw.githubusercontent.com").rstrip("/")


@dataclass(frozen=True)
class DataFile:
    task: str  # the task it belongs to (for MIMIC inputs: the task built from it)
    dest: str  # path under the data directory
    access: str  # "public" or "physionet"
    path: str | None  # URL path below the host base; None = no stable URL (see `pick`)
    page: str  # human page: licence / access request / manual download
    pick: str | None = None  # PhysioNet only: choose the file listed in SHA256SUMS.txt ending with this
    build_input: bool = False  # an input of `clue data build`, not a task file itself
    note: str = ""

    @property
    def credentialed(self) -> bool:
        return self.access == "physionet"

    @property
    def project_dir(self) -> str:
        """PhysioNet `files/<project>/<version>` folder of this file."""
        assert self.path is not None
        parts = self.path.split("/")
        return "/".join(parts[:3])

    def url(self) -> str | None:
        if self.path is None:
            return None
        base = physionet_base() if self.credentialed else github_raw_base()
        return f"{base}/{self.path}"

    def manual(self) -> str:
        """How to get it by hand."""
        if self.credentialed:
            return (f"sign in at {self.page} (credentialed access: completed CITI training and the signed data use "
                    f"agreement), download it and save it as data/{self.dest}")
        return f"download {self.url()} and save it as data/{self.dest}"


SOURCES: tuple[DataFile, ...] = (
    DataFile("mednli", "mednli/mli_test_v1.jsonl", "physionet", "files/mednli/1.0.0/mli_test_v1.jsonl",
             "https://physionet.org/content/mednli/1.0.0/"),
    DataFile("meqsum", "meqsum/MeQSum_ACL2019_BenAbacha_Demner-Fushman.xlsx", "public",
             "abachaa/MeQSum/master/MeQSum_ACL2019_BenAbacha_Demner-Fushman.xlsx", "https://github.com/abachaa/MeQSum",
             note="CC BY 4.0"),
    DataFile("problemsummary", "problemsummary/BioNLP2023-1A-Test.csv", "physionet",
             "files/bionlp-workshop-2023-task-1a/2.0.0/BioNLP2023-1A-Test.csv",
             "https://physionet.org/content/bionlp-workshop-2023-task-1a/2.0.0/"),
    DataFile("longhealth", "longhealth/benchmark_v5.json", "public", "kbressem/LongHealth/main/data/benchmark_v5.json",
             "https://github.com/kbressem/LongHealth"),
    # The release's file name is not known to the kit: the data file is picked from the project's
    # SHA256SUMS.txt (the one JSON file it lists) and saved under the name the task reads.
    DataFile("medisumqa", "medisumqa/MeDiSumQA.json", "physionet", "files/medisumqa/1.0.0/", "https://physionet.org/content/medisumqa/1.0.0/",
             pick=".json", note="PhysioNet release 1.0.0 (2025); the v3 paper used an earlier, unreleased version"),
    DataFile("medisumcode", "mimic-iv/hosp/diagnoses_icd.csv.gz", "physionet", "files/mimiciv/2.2/hosp/diagnoses_icd.csv.gz",
             "https://physionet.org/content/mimiciv/2.2/", build_input=True),
    DataFile("medisumcode", "mimic-iv-note/note/discharge.csv.gz", "physionet", "files/mimic-iv-note/2.2/note/discharge.csv.gz",
             "https://physionet.org/content/mimic-iv-note/2.2/", build_input=True, note="about 1 GB"),
)

BUILT: dict[str, str] = {
    "medisumcode": ("clue data build medisumcode --mimic-notes data/mimic-iv-note/note/discharge.csv.gz "
                    "--diagnoses-icd data/mimic-iv/hosp/diagnoses_icd.csv.gz"),
}


def sources_for(task: str) -> list[DataFile]:
    return [s for s in SOURCES if s.task == task]
